"""Replace a file's content all at once, or not at all.

The new content goes to a temporary file in the same folder (a rename is only atomic
within one volume), is flushed and fsynced (so a power cut cannot leave a renamed but
empty file), and then renamed over the target through `FileOps`, which waits out
Windows scanners and sync clients holding the target. On any failure the temporary file
is removed and the previous version of the target is untouched.

OS errors are raised as they are; the caller knows what they mean to the user.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from nemo_desk.core.errors import NemoDeskError
from nemo_desk.locks.fileops import FileOps

TEMP_MARKER = ".nemo_desk-"
TEMP_SUFFIX = ".tmp"


# NTFS, ext4 and APFS allow 255 characters per name; a long source name plus our
# temporary suffix must not exceed it.
MAX_NAME = 255


def temp_path_for(path: Path) -> Path:
    # Dot-prefixed so it is hidden on Linux/macOS; the marker makes leftovers from a
    # crash recognisable as ours. A long name is shortened: the temporary name only has
    # to be unique, the final name is the one the user asked for.
    tail = f"{TEMP_MARKER}{secrets.token_hex(6)}{TEMP_SUFFIX}"
    return path.with_name(f".{path.name[:MAX_NAME - 1 - len(tail)]}{tail}")


def atomic_write_bytes(path: Path, data: bytes, fileops: FileOps) -> None:
    tmp = temp_path_for(path)
    created = False
    try:
        # "xb": never clobber anything that already has the temporary name.
        with fileops.open(tmp, "xb") as handle:
            created = True
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        fileops.replace(tmp, path)
        created = False
    except BaseException:
        if created:
            _remove_quietly(tmp, fileops)
        raise
    _sync_folder(path.parent)


def _remove_quietly(tmp: Path, fileops: FileOps) -> None:
    # Cleanup must not replace the error that explains what went wrong.
    with contextlib.suppress(OSError, NemoDeskError):
        fileops.unlink(tmp, missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable on POSIX; Windows has no folder handles for this."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
