"""Watched folders: new media files are queued once they have stopped growing (no Qt).

A watched folder is an inbox: every media file in it (subfolders included) that has not
been queued before is queued, those already there when the watch starts too. A file is
ready when its size and modification time have not changed for `settle_s` seconds (a
recorder, a copy from a camera card or a network share writes for minutes) and it can
be opened for reading (Windows: the copier may still hold it). Polling, not OS change
notifications: it works the same on network drives, synced folders and USB sticks,
where notifications are missing or unreliable.

Never queued: non-media names (our own outputs, .srt/.txt/.json..., are not media),
partial and temporary files of browsers, sync clients and copiers, hidden files, and
anything under an excluded folder (the output folder, when it lies inside a watched
one). What was queued is remembered in the journal (path, size, modification time), so
a restart does not queue it again; a file replaced by a different one (new size or
time) is new.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol

from nemo_desk.core.errors import FileMissingError
from nemo_desk.core.longpaths import long_path
from nemo_desk.export.atomic import TEMP_MARKER
from nemo_desk.media import find_media_files

DEFAULT_SETTLE_S = 5.0
DEFAULT_POLL_S = 2.0
# Names of files still being written by browsers, sync clients, copiers and editors.
_PARTIAL_SUFFIXES = (
    ".part",
    ".partial",
    ".crdownload",
    ".download",
    ".tmp",
    ".temp",
    ".filepart",
    ".opdownload",
    ".!qb",
    ".!ut",
    ".sb-",
    ".icloud",
)
_PARTIAL_INFIXES = (".part.", ".tmp.", ".temp.", TEMP_MARKER)
Warn = Callable[[str], None]


def is_partial_name(name: str) -> bool:
    """A temporary or partial file by its name ("talk.mp4.part", "~$talk.wav", ".talk.mp4")."""
    low = name.lower()
    return (
        low.startswith(("~", ".")) or low.endswith(_PARTIAL_SUFFIXES) or any(part in low for part in _PARTIAL_INFIXES)
    )


class WatchRecord(Protocol):
    """What was queued already; the Journal is one (its `watched` table)."""

    def watched(self, path: str) -> tuple[int, int] | None: ...

    def remember_watched(self, path: str, size: int, mtime_ns: int) -> None: ...


class MemoryRecord:
    """For a queue without a journal: remembers for this run only."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}

    def watched(self, path: str) -> tuple[int, int] | None:
        return self._seen.get(path)

    def remember_watched(self, path: str, size: int, mtime_ns: int) -> None:
        self._seen[path] = (size, mtime_ns)


@dataclass
class _Growing:
    stamp: tuple[int, int]  # size, mtime_ns
    since: float  # when this stamp was first seen


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def _prefix(folder: str | os.PathLike[str]) -> str:
    """What every path inside `folder` starts with (a drive or root too: "c:\\", "/")."""
    return _key(folder).rstrip(os.sep) + os.sep


class FolderWatcher:
    def __init__(
        self,
        folders: Iterable[str | os.PathLike[str]],
        settle_s: float = DEFAULT_SETTLE_S,
        record: WatchRecord | None = None,
        warn: Warn = lambda _m: None,
        exclude: Iterable[str | os.PathLike[str]] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folders = [Path(f) for f in folders]
        self.settle_s = settle_s
        self.record: WatchRecord = record if record is not None else MemoryRecord()
        self.warn = warn
        self.clock = clock
        self._inside = [_prefix(f) for f in self.folders]
        self._exclude = [_prefix(e) for e in exclude]
        self._growing: dict[str, _Growing] = {}
        self._unreadable: set[str] = set()  # folders we warned about: said once until they are back
        self._record_warned = False

    def watches(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path` lies in a watched folder (and not in an excluded one): an
        unfinished file there is continued by the watch (watch_cli)."""
        key = _key(path)
        inside = any(key.startswith(p) for p in self._inside)
        return inside and not any(key.startswith(e) for e in self._exclude)

    def claim(self, path: str | os.PathLike[str]) -> None:
        """Remember `path` as queued, as it is now: a file continued from the journal (which
        `transcribe` or the window may have queued) is not queued again by the next poll."""
        if (stamp := _stamp(path)) is not None:  # gone: nothing to queue again either
            self._remember(_key(path), stamp)

    def poll(self) -> list[Path]:
        """Files that became ready since the last poll; each is remembered as queued."""
        now = self.clock()
        ready: list[Path] = []
        present: set[str] = set()
        for folder in self.folders:
            for name in self._scan(folder):
                key = _key(name)
                if key in present or any(key.startswith(e) for e in self._exclude):
                    continue
                present.add(key)
                if self._settled(key, name, now):
                    ready.append(Path(name))
        for key in set(self._growing) - present:  # gone (moved away, renamed) before it settled
            del self._growing[key]
        return ready

    def _scan(self, folder: Path) -> list[str]:
        label = str(folder)
        try:
            files = find_media_files(folder)
        except (OSError, FileMissingError) as exc:  # unplugged, renamed, a network drive away
            if label not in self._unreadable:
                self._unreadable.add(label)
                self.warn(f"Cannot read the watched folder {folder} ({_why(exc)}); still watching for it to come back")
            return []
        if label in self._unreadable:
            self._unreadable.discard(label)
            self.warn(f"The watched folder {folder} is back")
        return [f for f in files if not is_partial_name(os.path.basename(f))]

    def _settled(self, key: str, name: str, now: float) -> bool:
        stamp = _stamp(name)
        if stamp is None:
            self._growing.pop(key, None)
            return False
        if stamp[0] == 0 or self._known(key) == stamp:
            return False  # empty (just created) or queued before
        seen = self._growing.get(key)
        if seen is None or seen.stamp != stamp:
            self._growing[key] = _Growing(stamp, now)
            return False
        if now - seen.since < self.settle_s or not _readable(name):
            return False
        del self._growing[key]
        self._remember(key, stamp)
        return True

    def _known(self, key: str) -> tuple[int, int] | None:
        try:
            found = self.record.watched(key)
        except (sqlite3.Error, OSError) as exc:
            self._fall_back(exc)
            found = self.record.watched(key)
        return tuple(found) if found is not None else None  # type: ignore[return-value]

    def _remember(self, key: str, stamp: tuple[int, int]) -> None:
        try:
            self.record.remember_watched(key, *stamp)
        except (sqlite3.Error, OSError) as exc:
            self._fall_back(exc)
            self.record.remember_watched(key, *stamp)

    def _fall_back(self, exc: BaseException) -> None:
        """A journal that cannot be used: remember for this run, and say a restart may repeat."""
        self.record = MemoryRecord()
        if not self._record_warned:
            self._record_warned = True
            self.warn(
                f"Could not record watched files in the queue journal ({exc}); after a restart "
                "files already done may be queued again"
            )


def _stamp(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(size, mtime_ns) of a file, None when it cannot be read (gone, moved)."""
    try:
        st = os.stat(long_path(path))
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _why(exc: BaseException) -> str:
    return "folder not found" if isinstance(exc, FileMissingError) else (getattr(exc, "strerror", None) or str(exc))


def _readable(name: str) -> bool:
    """Windows: a file still being copied is often opened without read sharing."""
    try:
        with open(long_path(name), "rb"):
            return True
    except OSError:
        return False
