"""Any media file -> mono float32 samples at the model's sample rate, in memory.

Two routes, both streaming in blocks so progress can be reported and cancel honoured:
- WAV/FLAC already at the target rate: read with soundfile (no process start, exact).
- everything else (other rates, compressed audio, video): ffmpeg writes raw f32le to a
  pipe that we read. Never via a temporary WAV: large files would double disk use, and
  temp files are what antivirus scanners lock on Windows.
"""
from __future__ import annotations

import os
import subprocess
import sys

import ffmpeg as ffmpeg_python  # the ffmpeg-python package, only to build the arguments
import numpy as np
import soundfile as sf

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.errors import FfmpegUnavailableError, NotDecodableError, ZeroLengthAudioError
from nemo_desk.core.events import ObserverFn, Progress, null_observer
from nemo_desk.core.longpaths import long_path
from nemo_desk.core.states import Stage
from nemo_desk.media.ffmpeg import Ffmpeg, FfmpegLike, as_ffmpeg, input_arg
from nemo_desk.media.ffmpeg_messages import StderrTail, useful_error_line
from nemo_desk.media.probing import MediaInfo, check_file, probe
from nemo_desk.media.windowless import no_window_kwargs

_BLOCK_SECONDS = 2.0  # progress/cancel granularity; decoding 2 s takes milliseconds
_SOUNDFILE_SUFFIXES = {".wav", ".flac"}
_BYTES_PER_SAMPLE = 4  # f32le
# Upper bound for trusting a declared length up front (3 h = 690 MB at 16 kHz).
_MAX_PREALLOC_S = 3 * 3600


def decode(
    path: str | os.PathLike[str],
    ffmpeg: FfmpegLike,
    *,
    sample_rate: int = 16000,
    cancel: CancelToken | None = None,
    observer: ObserverFn = null_observer,
    info: MediaInfo | None = None,
    audio_track: int | None = None,
) -> np.ndarray:
    """Mono float32 samples of `path` at `sample_rate` (stereo: mean of L and R).

    `info`: the caller's own `probe()` of this file, so ffmpeg is not started twice.
    `audio_track`: which audio track, counting from 1 (default 1, not ffmpeg's own pick,
    which prefers the track with most channels: the user is told which one is used).

    Raises FileMissingError / EmptyFileError / NotDecodableError / NoAudioStreamError /
    ZeroLengthAudioError / FfmpegUnavailableError, or Cancelled when `cancel` is set.
    """
    path = os.fspath(path)
    check_file(path)
    if cancel is not None:
        cancel.raise_if_cancelled()
    if os.path.splitext(path)[1].lower() in _SOUNDFILE_SUFFIXES and (audio_track or 1) == 1:
        samples = _read_with_soundfile(path, sample_rate, cancel, observer)
        if samples is not None:
            return samples
    return _decode_with_ffmpeg(path, as_ffmpeg(ffmpeg), sample_rate, cancel, observer, info, audio_track or 1)


def _soundfile_name(path: str | os.PathLike) -> str | bytes:
    """soundfile encodes a str name strictly; a Linux name that is not valid UTF-8 (kept as
    lone surrogates) goes as its original bytes instead. Windows names are always valid str,
    and stay str there (soundfile opens them with the wide-character API)."""
    name = long_path(path)
    try:
        name.encode(sys.getfilesystemencoding())
    except UnicodeEncodeError:
        return os.fsencode(name)
    return name


def _read_with_soundfile(
    path: str, sample_rate: int, cancel: CancelToken | None, observer: ObserverFn
) -> np.ndarray | None:
    """Samples via libsndfile, or None to let ffmpeg handle the file instead.

    None for: other sample rates (ffmpeg's resampler is good and already needed), files
    libsndfile rejects (e.g. WAV holding MP3 data), and a header claiming 0 frames (a
    recorder that crashed before fixing the header; ffmpeg reads such files to EOF).
    """
    try:
        f = sf.SoundFile(_soundfile_name(path))
    except RuntimeError:  # LibsndfileError: a format or variant libsndfile can't read
        return None
    with f:
        if f.samplerate != sample_rate or f.frames <= 0:
            return None
        total_s = f.frames / sample_rate
        block = max(1, int(_BLOCK_SECONDS * sample_rate))
        # Capped: a broken header can claim billions of frames; the buffer grows if real.
        out = np.empty(min(f.frames, _MAX_PREALLOC_S * sample_rate), dtype=np.float32)
        n = 0
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                data = f.read(block, dtype="float32", always_2d=True)
            except RuntimeError:  # damaged past the header: ffmpeg is more forgiving
                return None
            if len(data) == 0:
                break
            mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
            if n + len(mono) > len(out):
                out = _grown(out, n + len(mono))
            out[n : n + len(mono)] = mono
            n += len(mono)
            observer(Progress(Stage.DECODING, n / sample_rate, total_s))
    if n == 0:
        return None
    return _trimmed(out, n)


def _decode_with_ffmpeg(
    path: str, ff: Ffmpeg, sample_rate: int, cancel: CancelToken | None, observer: ObserverFn,
    info: MediaInfo | None = None,
    audio_track: int = 1,
) -> np.ndarray:
    if info is None:
        info = probe(path, ff)  # also raises NotDecodable / NoAudioStream with clear reasons
    total_s = info.duration or 0.0
    name = input_arg(path)
    args = (
        ffmpeg_python.input(name)[f"a:{audio_track - 1}"]
        .output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=sample_rate, vn=None, sn=None)
        # Only errors on stderr: they become the message; the banner would be noise.
        .compile(cmd=[ff.exe, "-hide_banner", "-nostdin", "-loglevel", "error"])
    )
    # Preallocate for the expected length (+1 s slack) so samples are copied once.
    expected_s = min(total_s + 1.0, _MAX_PREALLOC_S) if total_s else 60.0
    out = np.empty(int(expected_s * sample_rate), dtype=np.float32)
    block_bytes = int(_BLOCK_SECONDS * sample_rate) * _BYTES_PER_SAMPLE
    filled = 0  # bytes

    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,  # a windowed app has no valid stdin handle to inherit
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **no_window_kwargs(),
        )
    except OSError as exc:  # the executable vanished since check() (e.g. quarantined)
        raise FfmpegUnavailableError(ff.exe, f"ffmpeg cannot be started ({exc})") from exc
    tail = StderrTail(proc.stderr)  # type: ignore[arg-type]
    try:
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            raw = out.view(np.uint8)
            if filled + block_bytes > len(raw):
                out = _grown(out, (filled + block_bytes) // _BYTES_PER_SAMPLE + 1)
                raw = out.view(np.uint8)
            got = proc.stdout.readinto(raw[filled : filled + block_bytes])  # type: ignore[union-attr]
            if not got:
                break
            filled += got
            observer(Progress(Stage.DECODING, filled / _BYTES_PER_SAMPLE / sample_rate, total_s))
        returncode = proc.wait()
    finally:
        # Always reap: kill if we leave early (cancel, observer error), then wait so no
        # zombie/orphan ffmpeg keeps the file open (Windows would block deleting it).
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        lines = tail.join()

    if returncode != 0:
        reason = useful_error_line(lines, name) or f"ffmpeg exited with code {returncode}"
        error = NotDecodableError(path, "decoding failed part way: the file is damaged; check that it plays "
                                        "to the end in a media player, or convert it")
        error.technical = f"ffmpeg: {reason}"  # for the log file
        raise error
    n = filled // _BYTES_PER_SAMPLE
    if n == 0:
        raise ZeroLengthAudioError(path, "the audio track contains no samples")
    return _trimmed(out, n)


def _grown(arr: np.ndarray, needed: int) -> np.ndarray:
    # Doubling keeps the total copying linear when the length estimate was too small.
    bigger = np.empty(max(needed, 2 * len(arr)), dtype=arr.dtype)
    bigger[: len(arr)] = arr
    return bigger


def _trimmed(arr: np.ndarray, n: int) -> np.ndarray:
    # A view keeps the whole buffer alive; copy when the slack is worth freeing.
    return arr[:n] if len(arr) - n <= max(n // 10, 1) else arr[:n].copy()
