"""Media input: locate ffmpeg, probe files, decode them to 16 kHz mono float32.

No Qt, torch or NeMo here: this package is used by the CLI, the GUI worker and tests.
"""
from nemo_desk.media.discover import MEDIA_EXTENSIONS, find_media_files, is_media_file
from nemo_desk.media.windowless import no_window_kwargs

_LAZY = {"decode": ("nemo_desk.media.decoding", "decode"), "probe": ("nemo_desk.media.probing", "probe"),
         "MediaInfo": ("nemo_desk.media.probing", "MediaInfo"), "Ffmpeg": ("nemo_desk.media.ffmpeg", "Ffmpeg"),
         "find_ffmpeg": ("nemo_desk.media.ffmpeg", "find_ffmpeg"),
         "FFMPEG_ENV_VAR": ("nemo_desk.media.ffmpeg", "ENV_VAR")}


def __getattr__(name: str):
    """decode/probe pull in numpy and ffmpeg pulls in subprocess: load them on first use,
    not while the window starts."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
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
