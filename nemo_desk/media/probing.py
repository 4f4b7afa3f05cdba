"""What is in a media file: duration and its audio/video streams.

imageio-ffmpeg ships no ffprobe, so this runs `ffmpeg -hide_banner -i FILE` (no output
file, so ffmpeg only prints the input description and exits) and parses its stderr.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from nemo_desk.core.errors import (
    EmptyFileError,
    FileMissingError,
    NoAudioStreamError,
    NotDecodableError,
)
from nemo_desk.core.longpaths import long_path
from nemo_desk.media.ffmpeg import FfmpegLike, as_ffmpeg, input_arg
from nemo_desk.media.ffmpeg_messages import useful_error_line
from nemo_desk.media.windowless import no_window_kwargs

# Reading headers is quick; a long stall means a dead network share or similar.
_PROBE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration: float | None  # seconds; None when the container does not say
    has_audio: bool
    has_video: bool
    sample_rate: int | None  # of the first audio stream
    channels: int | None
    audio_codec: str | None
    size_bytes: int
    # Frames per second of the first video stream (subtitle timing); None without video.
    fps: float | None = None
    # One line per audio track, as ffmpeg describes it ("eng: aac (LC), 48000 Hz, stereo").
    audio_tracks: tuple[str, ...] = ()

    def track_note(self, track: int | None) -> str | None:
        """Which of several audio tracks is used (None for a file with one); raises
        NoAudioStreamError for a track number the file does not have."""
        chosen = track or 1
        if chosen > max(1, len(self.audio_tracks)):
            raise NoAudioStreamError(self.path, f"has {len(self.audio_tracks)} audio track(s); there is no "
                                                f"track {chosen}")
        if len(self.audio_tracks) < 2:
            return None
        return (f"{os.path.basename(self.path)} has {len(self.audio_tracks)} audio tracks; using track {chosen} "
                f"({self.audio_tracks[chosen - 1]}). Another can be chosen (--audio-track N on the command line).")


def ends_early_note(info: MediaInfo, decoded_s: float, slack_s: float = 1.0) -> str | None:
    """A warning when less audio was decoded than the file's header promised (a download or
    copy cut short): the transcript then silently lacks the end. None when it matches."""
    if info.duration is None or info.duration - decoded_s <= slack_s:
        return None
    return (f"the file ends early at {_clock(decoded_s)} (its header says {_clock(info.duration)}); "
            "it may be truncated, and the transcript stops there")


def _clock(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    h, m, sec = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def check_file(path: str) -> int:
    """Raise the right MediaError for a missing, non-file or empty path; return its size."""
    try:
        st = os.stat(long_path(path))
    except FileNotFoundError as exc:
        raise FileMissingError(path, "file not found") from exc
    except OSError as exc:  # e.g. permission denied on a parent folder
        raise FileMissingError(path, f"cannot access the file ({exc.strerror or exc})") from exc
    if os.path.isdir(long_path(path)):
        raise NotDecodableError(path, "is a folder, not a media file")
    if st.st_size == 0:
        raise EmptyFileError(path, "file is empty (0 bytes)")
    return st.st_size


def probe(path: str | os.PathLike[str], ffmpeg: FfmpegLike) -> MediaInfo:
    """Describe `path`; raises a MediaError subclass when it holds no usable audio."""
    path = os.fspath(path)
    size = check_file(path)
    ff = as_ffmpeg(ffmpeg)
    ff.check()
    name = input_arg(path)
    try:
        done = subprocess.run(
            [ff.exe, "-hide_banner", "-nostdin", "-i", name],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
            **no_window_kwargs(),
        )
    except subprocess.TimeoutExpired as exc:  # run() has killed and reaped it
        raise NotDecodableError(path, "ffmpeg took too long to read the file") from exc
    # Without an output file ffmpeg always exits non-zero, so only the text tells.
    text = done.stderr.decode("utf-8", "replace")
    return parse_probe_output(text, path, size, input_name=name)


_INPUT = re.compile(r"^Input #0,", re.MULTILINE)
_DURATION = re.compile(r"^\s+Duration:\s*(?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)", re.MULTILINE)
_STREAM = re.compile(r"^\s+Stream #0:\d+(\S*):\s*(Audio|Video):\s*(.*)$", re.MULTILINE)
_LANGUAGE = re.compile(r"\((\w+)\)")
_CODEC = re.compile(r"^([\w.-]+)")
_RATE_LAYOUT = re.compile(r"(\d+) Hz(?:,\s*([^,]+))?")
_FPS = re.compile(r"(\d+(?:\.\d+)?)(k?) (fps|tbr)\b")
# ffmpeg prints NTSC rates rounded to two decimals; subtitle timing needs the exact ones.
_NTSC = {23.98: 24000 / 1001, 29.97: 30000 / 1001, 47.95: 48000 / 1001, 59.94: 60000 / 1001,
         119.88: 120000 / 1001}


def frame_rate(desc: str) -> float | None:
    """The frame rate in an ffmpeg video stream line: its "fps", else its "tbr"."""
    rates = {kind: float(num) * (1000 if k else 1) for num, k, kind in _FPS.findall(desc)}
    rate = rates.get("fps") or rates.get("tbr")
    if not rate or not 1 <= rate <= 300:  # "1k tbr" is a WebM time base, not a frame rate
        return None
    return _NTSC.get(round(rate, 2), rate)

# Layout names ffmpeg prints that are not "N channels" or "X.Y[.Z]".
_NAMED_LAYOUTS = {
    "mono": 1, "stereo": 2, "downmix": 2, "binaural": 2, "quad": 4,
    "hexagonal": 6, "octagonal": 8, "cube": 8, "hexadecagonal": 16,
}


def channels_from_layout(layout: str) -> int | None:
    """Channel count from ffmpeg's layout text: 'mono', '5.1(side)', '7.1.4', '3 channels'."""
    text = layout.strip().lower()
    count = re.match(r"^(\d+) channels", text)
    if count:
        return int(count.group(1))
    base = re.split(r"[\s(]", text, maxsplit=1)[0]
    if base in _NAMED_LAYOUTS:
        return _NAMED_LAYOUTS[base]
    if re.fullmatch(r"\d+(\.\d+)+", base):  # "5.1" = 5 + 1 LFE; "7.1.4" adds 4 height
        return sum(int(part) for part in base.split("."))
    return None


def parse_probe_output(text: str, path: str, size_bytes: int, input_name: str = "") -> MediaInfo:
    """MediaInfo from `ffmpeg -i` stderr; raises when ffmpeg could not read the file."""
    if not _INPUT.search(text):
        reason = useful_error_line(text.splitlines(), input_name) or "ffmpeg could not open it"
        error = NotDecodableError(path, "not a readable audio/video file: it is damaged or not audio or "
                                        "video; check that it plays in a media player")
        error.technical = f"ffmpeg: {reason}"  # for the log file: people get the sentence above
        raise error

    duration: float | None = None
    m = _DURATION.search(text)
    if m and m.group(1) is not None:
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))

    audio: list[str] = []
    tracks: list[str] = []
    has_video = False
    fps: float | None = None
    for ident, kind, desc in _STREAM.findall(text):
        if kind == "Audio":
            audio.append(desc)
            language = _LANGUAGE.search(ident)
            summary = ", ".join(part.strip() for part in desc.split(",")[:3])
            tracks.append(f"{language.group(1)}: {summary}" if language else summary)
        elif "(attached pic)" not in desc:  # cover art in an mp3/m4a is not a video
            if not has_video:
                fps = frame_rate(desc)
            has_video = True
    if not audio:
        raise NoAudioStreamError(path, "has no audio track")

    first = audio[0]
    codec = _CODEC.match(first)
    rate_layout = _RATE_LAYOUT.search(first)
    sample_rate = int(rate_layout.group(1)) if rate_layout else None
    layout = rate_layout.group(2) if rate_layout else None
    return MediaInfo(
        path=path,
        duration=duration,
        has_audio=True,
        has_video=has_video,
        sample_rate=sample_rate,
        channels=channels_from_layout(layout) if layout else None,
        audio_codec=codec.group(1) if codec else None,
        size_bytes=size_bytes,
        fps=fps,
        audio_tracks=tuple(tracks),
    )
