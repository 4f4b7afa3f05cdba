"""Replace a file's content all at once, or not at all; or several files together.

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
from typing import Callable

from nemo_desk.core.errors import NemoDeskError
from nemo_desk.core.longpaths import long_path
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


def atomic_write_all(items: list[tuple[Path, bytes]], fileops: FileOps,
                     describe: Callable[[OSError, Path], Exception] | None = None) -> None:
    """Replace every file in `items` or none: a job's SRT, TXT and JSON are all new or all old.

    Every new content is written and fsynced to its temporary file first, so a full disk
    (the usual failure) stops before any target changes. Then each existing target gets a
    second name (a hard link: no copy, no space, and the target never goes missing) and the
    new file is renamed over it; if a later rename still fails (a lock outlasting the retry
    budget), the targets already replaced get their old content back from those links.
    `describe(error, target)` turns an OSError into what the caller raises instead.
    """
    temps: list[Path] = []
    kept: list[Path | bool] = []  # per target: a link to its old content; False: none before; True: no link
    replaced: list[Path] = []
    path = items[0][0] if items else Path()
    try:
        for path, data in items:
            tmp = temp_path_for(path)
            with fileops.open(tmp, "xb") as handle:
                temps.append(tmp)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for (path, _), tmp in zip(items, temps):
            kept.append(_link_aside(path))
            fileops.replace(tmp, path)
            replaced.append(path)
    except OSError as exc:
        _roll_back(replaced, kept, temps, fileops)
        if describe is None:
            raise
        raise describe(exc, path) from exc
    except BaseException:
        _roll_back(replaced, kept, temps, fileops)
        raise
    for link in kept:
        if isinstance(link, Path):
            _remove_quietly(link, fileops)
    for folder in dict.fromkeys(p.parent for p, _ in items):
        _sync_folder(folder)


def _link_aside(path: Path) -> Path | bool:
    """A second name for `path`'s current content; False when there is no file yet; True
    when there is one but the drive has no hard links (FAT): that one cannot be rolled back."""
    if not os.path.lexists(long_path(path)):
        return False
    aside = temp_path_for(path)
    try:
        os.link(long_path(path), long_path(aside))
    except OSError:
        return True
    return aside


def _roll_back(replaced: list[Path], kept: list[Path | bool], temps: list[Path], fileops: FileOps) -> None:
    # Cleanup must not replace the error that explains what went wrong.
    for path, link in zip(replaced, kept):
        with contextlib.suppress(OSError, NemoDeskError):
            if link is False:
                fileops.unlink(path, missing_ok=True)  # there was nothing before
            elif isinstance(link, Path):
                fileops.replace(link, path)
    for leftover in [*temps, *(k for k in kept if isinstance(k, Path))]:
        _remove_quietly(leftover, fileops)


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
