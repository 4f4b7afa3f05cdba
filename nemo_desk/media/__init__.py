"""Media input: locate ffmpeg, probe files, decode them to 16 kHz mono float32.

No Qt, torch or NeMo here: this package is used by the CLI, the GUI worker and tests.
"""
from nemo_desk.media.discover import MEDIA_EXTENSIONS, find_media_files, is_media_file
from nemo_desk.media.ffmpeg import ENV_VAR as FFMPEG_ENV_VAR
from nemo_desk.media.ffmpeg import Ffmpeg, find_ffmpeg
from nemo_desk.media.windowless import no_window_kwargs

_LAZY = {"decode": "nemo_desk.media.decoding", "probe": "nemo_desk.media.probing",
         "MediaInfo": "nemo_desk.media.probing"}


def __getattr__(name: str):
    """decode/probe pull in numpy: load them on first use, not when the window starts."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FFMPEG_ENV_VAR",
    "MEDIA_EXTENSIONS",
    "Ffmpeg",
    "MediaInfo",
    "decode",
    "find_ffmpeg",
    "find_media_files",
    "is_media_file",
    "no_window_kwargs",
    "probe",
]
