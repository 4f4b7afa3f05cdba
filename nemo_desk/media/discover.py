"""Which files are media we can transcribe, and finding them in a dropped folder."""
from __future__ import annotations

import os
import stat

from nemo_desk.core.errors import FileMissingError
from nemo_desk.core.longpaths import long_path

# In the order a file dialog filter should list them.
MEDIA_EXTENSIONS: tuple[str, ...] = (
    "wav", "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus", "wma",
    "mp4", "m4v", "mkv", "mov", "webm", "avi", "wmv", "mpg", "mpeg", "ts",
)
_SUFFIXES = frozenset("." + ext for ext in MEDIA_EXTENSIONS)

# Folders Windows (and USB sticks written by macOS) fill with things nobody dropped on
# purpose; the recycle bin in particular holds renamed copies of deleted media.
_SYSTEM_FOLDERS = frozenset(
    name.casefold()
    for name in ("$RECYCLE.BIN", "System Volume Information", "RECYCLER", "__MACOSX",
                 "$Windows.~BT", "$Windows.~WS", "found.000")
)
_HIDDEN_OR_SYSTEM = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(stat, "FILE_ATTRIBUTE_SYSTEM", 4)


def is_media_file(path: str | os.PathLike[str]) -> bool:
    """True for a name with a media extension, any case ("TALK.MP3")."""
    return os.path.splitext(os.fspath(path))[1].lower() in _SUFFIXES


def _skipped(entry: os.DirEntry[str]) -> bool:
    # Dot names: hidden on Unix, and macOS "._talk.mp3" resource forks are not audio.
    if entry.name.startswith(".") or entry.name.casefold() in _SYSTEM_FOLDERS:
        return True
    try:
        attrs = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return True
    return bool(attrs & _HIDDEN_OR_SYSTEM)  # Windows hidden/system attribute


def find_media_files(folder: str | os.PathLike[str]) -> list[str]:
    """Media files under `folder`, recursively, sorted case-insensitively by path.

    Hidden and system folders/files are skipped, symlinked folders are not followed
    (no loops), and unreadable folders are passed over silently.
    """
    root = os.fspath(folder)
    if not os.path.isdir(long_path(root)):
        raise FileMissingError(root, "folder not found")
    found: list[str] = []
    pending = [root]
    while pending:
        current = pending.pop()
        try:
            # long_path: a project folder nested past Windows' 260 characters is still
            # searched; the paths returned stay in the form the user knows.
            with os.scandir(long_path(current)) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            if _skipped(entry):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(os.path.join(current, entry.name))
                elif entry.is_file() and is_media_file(entry.name):
                    found.append(os.path.join(current, entry.name))
            except OSError:
                continue
    return sorted(found, key=lambda p: [part.casefold() for part in os.path.relpath(p, root).split(os.sep)])
