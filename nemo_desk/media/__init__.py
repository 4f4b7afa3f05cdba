"""Media input: locate ffmpeg, probe files, decode them to 16 kHz mono float32.

No Qt, torch or NeMo here: this package is used by the CLI, the GUI worker and tests.
"""
from nemo_desk.media.decode import decode
from nemo_desk.media.discover import MEDIA_EXTENSIONS, find_media_files, is_media_file
from nemo_desk.media.ffmpeg import ENV_VAR as FFMPEG_ENV_VAR
from nemo_desk.media.ffmpeg import Ffmpeg, find_ffmpeg
from nemo_desk.media.probe import MediaInfo, probe
from nemo_desk.media.windowless import no_window_kwargs

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
