"""Typed errors that cross layers and threads as data.

Every error a user can cause or meet has a one-line `user_message`; the CLI prints it
without a traceback and the GUI shows it in the row.
"""
from __future__ import annotations

import errno

# Windows error codes for a full disk (ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL): Python
# maps both to ENOSPC, but not on every path (some network redirectors report only the
# winerror). errno.EDQUOT (quota exceeded) does not exist on Windows.
_WINERROR_DISK_FULL = frozenset({39, 112})
_ERRNO_DISK_FULL = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)


def is_disk_full_os(exc: BaseException) -> bool:
    """An OSError that says the disk (or the user's quota) is full."""
    return isinstance(exc, OSError) and (
        exc.errno in _ERRNO_DISK_FULL or getattr(exc, "winerror", None) in _WINERROR_DISK_FULL)


class NemoDeskError(Exception):
    """Base of all expected failures. str() is a one-line message meant for the user;
    `technical` (ffmpeg's or the OS's own words) goes to the log file only."""

    technical: str = ""

    @property
    def user_message(self) -> str:
        return str(self)


class MediaError(NemoDeskError):
    """The input file cannot be turned into audio."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class FileMissingError(MediaError):
    pass


class EmptyFileError(MediaError):
    pass


class NotDecodableError(MediaError):
    pass


class NoAudioStreamError(MediaError):
    pass


class ZeroLengthAudioError(MediaError):
    pass


class FfmpegUnavailableError(MediaError):
    pass


class ExportError(NemoDeskError):
    pass


class ModelError(NemoDeskError):
    """A model cannot be found, downloaded, unpacked or loaded."""


class DeviceError(NemoDeskError):
    pass


class EnvironmentBroken(NemoDeskError):
    """torch or NeMo cannot be imported in this process: no job can run until the install
    is repaired. Detected once; every later job gets the same failure without a retry."""
