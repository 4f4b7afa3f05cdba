"""Make real test media with espeak-ng, sox and ffmpeg (no binary fixtures in the repo).

Every helper fails loudly (RuntimeError) when a tool is missing: CI installs them via
tools/bootstrap.sh, and a silently skipped media test would hide real breakage.
All outputs are written to the given path; helpers return it (as a Path) unless noted.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000

# Codecs chosen per container so each file is what a user would really have.
_AUDIO_CODECS = {
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    ".m4a": ["-c:a", "aac", "-b:a", "64k"],
    ".aac": ["-c:a", "aac", "-b:a", "64k"],
    ".ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    ".oga": ["-c:a", "libvorbis", "-q:a", "3"],
    ".opus": ["-c:a", "libopus", "-b:a", "32k"],
    ".flac": ["-c:a", "flac"],
    ".wma": ["-c:a", "wmav2", "-b:a", "64k"],
    ".wav": ["-c:a", "pcm_s16le"],
}
_H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
# Audio codecs whose encoder delay the container records where possible (so decoded
# audio lines up with the source): Opus in mkv/webm, PCM in avi (as cameras write it).
_VIDEO_CODECS = {
    ".mp4": [*_H264, "-c:a", "aac"],
    ".m4v": [*_H264, "-c:a", "aac"],
    ".mov": [*_H264, "-c:a", "aac"],
    ".mkv": [*_H264, "-c:a", "libopus"],
    ".webm": ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "100k", "-c:a", "libopus"],
    ".avi": ["-c:v", "mjpeg", "-c:a", "pcm_s16le"],
    ".wmv": ["-c:v", "wmv2", "-c:a", "wmav2"],
    ".mpg": ["-c:v", "mpeg2video", "-c:a", "mp2"],
    ".mpeg": ["-c:v", "mpeg2video", "-c:a", "mp2"],
    ".ts": [*_H264, "-c:a", "aac"],
}
# Tiny, low frame rate picture: the tests care about the audio track only.
_PICTURE = "color=c=navy:s=96x64:r=10"


def tool(name: str) -> str:
    """Absolute path of a required command-line tool, or a loud failure."""
    found = shutil.which(name)
    if found:
        return found
    if name == "ffmpeg":  # the copy bundled with imageio-ffmpeg will do
        try:
            import imageio_ffmpeg

            return imageio_ffmpeg.get_ffmpeg_exe()
        except Exception:
            pass
    raise RuntimeError(f"the tests need `{name}`; install it (tools/bootstrap.sh does)")


def run_tool(args: Sequence[str | os.PathLike[str]], input: bytes | None = None) -> bytes:
    """Run a tool (args as a list: any file name works), return stdout, fail with stderr."""
    argv = [os.fspath(a) for a in args]
    done = subprocess.run(argv, input=input, capture_output=True)
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {err}")
    return done.stdout


def _ffmpeg(*args: str | os.PathLike[str]) -> None:
    run_tool([tool("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args])


def _out(dst: str | os.PathLike[str]) -> Path:
    path = Path(dst)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def speak(text: str, path: str | os.PathLike[str], voice: str = "en-us", speed: int = 150) -> Path:
    """Speech for `text` as a 16 kHz mono 16-bit WAV (espeak-ng speaks at 22.05 kHz)."""
    out = _out(path)
    wav = run_tool([tool("espeak-ng"), "-v", voice, "-s", str(speed), "--stdout", "--", text])
    # espeak-ng's streamed WAV header has no length; sox reads to EOF regardless.
    run_tool([tool("sox"), "-q", "-t", "wav", "-", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", out], input=wav)
    return out


def to_stereo_44k(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """The same sound as 44.1 kHz stereo 16-bit (both channels equal)."""
    out = _out(dst)
    run_tool([tool("sox"), "-q", src, "-r", "44100", "-c", "2", "-b", "16", out])
    return out


def encode_audio(wav: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """`wav` re-encoded into the audio format named by dst's extension (mp3, m4a, ogg...)."""
    out = _out(dst)
    codec = _AUDIO_CODECS.get(out.suffix.lower())
    if codec is None:
        raise ValueError(f"no audio codec configured for {out.suffix!r}")
    _ffmpeg("-i", wav, "-vn", *codec, out)
    return out


def make_video_with_audio(
    wav: str | os.PathLike[str], dst: str | os.PathLike[str], audio_codec: str | None = None,
    rate: str | None = None,
) -> Path:
    """A small video (plain colour picture) with `wav` as its soundtrack.

    `rate` is the picture's frame rate as ffmpeg takes it ("24000/1001", "30"); the
    default is ffmpeg's (25). The container comes from dst's extension: mp4/mov/m4v/ts H.264 + AAC, mkv H.264 +
    Opus, webm VP8 + Opus, avi MJPEG + PCM, wmv WMV2 + WMA, mpg MPEG-2 + MP2.
    `audio_codec` overrides the audio encoder (e.g. "aac" in mkv, "libmp3lame" in avi:
    common too, but those containers cannot record the encoder's start delay).
    """
    out = _out(dst)
    codecs = _VIDEO_CODECS.get(out.suffix.lower())
    if codecs is None:
        raise ValueError(f"no video codecs configured for {out.suffix!r}")
    if audio_codec is not None:
        codecs = [*codecs[: codecs.index("-c:a")], "-c:a", audio_codec]
    seconds = sf.info(os.fspath(wav)).duration
    # Picture exactly as long as the sound (not -shortest, which can clip the audio).
    picture = f"{_PICTURE}:d={seconds:.3f}" + (f":r={rate}" if rate else "")
    _ffmpeg("-f", "lavfi", "-i", picture, "-i", wav, *codecs, out)
    return out


def make_mp4_with_audio(wav: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """H.264 + AAC MP4 (or another container by extension) with `wav` as soundtrack."""
    return make_video_with_audio(wav, dst)


def make_video_without_audio(dst: str | os.PathLike[str], seconds: float) -> Path:
    """A video file with no audio stream at all (mp4/mkv/... by extension)."""
    out = _out(dst)
    codecs = _VIDEO_CODECS.get(out.suffix.lower(), _VIDEO_CODECS[".mp4"])
    video_only = codecs[: codecs.index("-c:a")]
    _ffmpeg("-f", "lavfi", "-i", f"{_PICTURE}:d={seconds:.3f}", *video_only, "-an", out)
    return out


def make_silence(dst: str | os.PathLike[str], seconds: float) -> Path:
    """Digital silence as a 16 kHz mono 16-bit WAV."""
    out = _out(dst)
    run_tool([tool("sox"), "-q", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", out,
              "trim", "0", f"{seconds:.6f}"])
    return out


def make_tone(dst: str | os.PathLike[str], seconds: float, frequency: float = 440.0) -> Path:
    """A sine tone of `seconds`, encoded by dst's extension (fast way to get long files)."""
    out = _out(dst)
    codec = _AUDIO_CODECS.get(out.suffix.lower())
    if codec is None:
        raise ValueError(f"no audio codec configured for {out.suffix!r}")
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={SAMPLE_RATE}:duration={seconds}",
            *codec, out)
    return out


def concat_with_pauses(
    wavs: Sequence[str | os.PathLike[str]],
    pauses_s: float | Sequence[float],
    dst: str | os.PathLike[str],
    *,
    lead_in_s: float = 0.0,
    noise_level: float = 0.0,
) -> list[float]:
    """Join 16 kHz mono WAVs with silence between them; return each piece's start (s).

    `pauses_s` is one gap for all joins or one per join (len(wavs) - 1). Gaps are digital
    silence unless `noise_level` (RMS, full scale = 1.0) adds steady seeded noise to the
    whole file, which is closer to a real room. Repeating a few `speak()` pieces gives a
    multi-minute file with quiet points at known times.
    """
    gaps = [float(pauses_s)] * (len(wavs) - 1) if isinstance(pauses_s, (int, float)) else list(pauses_s)
    if len(gaps) != len(wavs) - 1:
        raise ValueError(f"need {len(wavs) - 1} pauses for {len(wavs)} pieces, got {len(gaps)}")
    parts: list[np.ndarray] = [np.zeros(round(lead_in_s * SAMPLE_RATE), dtype=np.float32)]
    starts: list[float] = []
    position = len(parts[0])
    for i, wav in enumerate(wavs):
        data, rate = sf.read(os.fspath(wav), dtype="float32", always_2d=True)
        if rate != SAMPLE_RATE:
            raise ValueError(f"{wav}: {rate} Hz, expected {SAMPLE_RATE} (make it with speak())")
        starts.append(position / SAMPLE_RATE)
        parts.append(data.mean(axis=1))
        position += len(data)
        if i < len(gaps):
            gap = np.zeros(round(gaps[i] * SAMPLE_RATE), dtype=np.float32)
            parts.append(gap)
            position += len(gap)
    signal = np.concatenate(parts)
    if noise_level > 0:
        signal = signal + np.random.default_rng(0).normal(0.0, noise_level, len(signal)).astype(np.float32)
    sf.write(os.fspath(_out(dst)), np.clip(signal, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16")
    return starts


def make_corrupt(dst: str | os.PathLike[str], size: int = 8192) -> Path:
    """Bytes that no demuxer accepts, under whatever (audio) extension dst has.

    Seeded random bytes after a text line, like a renamed document: deterministic, so a
    chance resemblance to some format cannot make a test flaky.
    """
    out = _out(dst)
    rng = np.random.default_rng(1234)
    out.write_bytes(b"This is not audio, just a renamed text file.\n" + rng.bytes(size))
    return out


def make_empty(dst: str | os.PathLike[str]) -> Path:
    """A 0-byte file."""
    out = _out(dst)
    out.write_bytes(b"")
    return out


def envelope(samples: np.ndarray, hop_s: float = 0.01) -> np.ndarray:
    """RMS loudness per `hop_s` frame: compares speech across lossy codecs, unlike samples."""
    hop = max(1, round(hop_s * SAMPLE_RATE))
    n = len(samples) // hop
    frames = np.asarray(samples[: n * hop], dtype=np.float64).reshape(n, hop)
    return np.sqrt((frames**2).mean(axis=1))


def envelope_correlation(decoded: np.ndarray, source: np.ndarray, max_lag_s: float = 0.0) -> tuple[float, float]:
    """Best envelope correlation of `decoded` vs `source` (both 16 kHz) and its lag in s.

    A positive lag means `decoded` starts late (encoder delay the container did not
    record); lags are searched in 1 ms steps within ±max_lag_s.
    """
    step = SAMPLE_RATE // 1000
    best = (-2.0, 0.0)
    for lag in range(-round(max_lag_s * SAMPLE_RATE), round(max_lag_s * SAMPLE_RATE) + 1, step):
        a, b = (decoded[lag:], source) if lag >= 0 else (decoded, source[-lag:])
        n = min(len(a), len(b))
        corr = float(np.corrcoef(envelope(a[:n]), envelope(b[:n]))[0, 1])
        if corr > best[0]:
            best = (corr, lag / SAMPLE_RATE)
    return best


def copy_slowly(source: str | os.PathLike[str], target: str | os.PathLike[str], pieces: int = 5,
                pause_s: float = 0.5) -> float:
    """Like a copy from a slow card: written in pieces, the file growing all along. Returns
    when the last piece was written (time.monotonic())."""
    import time

    data = Path(source).read_bytes()
    step = len(data) // pieces + 1
    with open(target, "wb") as f:
        for i in range(0, len(data), step):
            f.write(data[i : i + step])
            f.flush()
            time.sleep(pause_s)
    return time.monotonic()
