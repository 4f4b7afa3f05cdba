"""Which output files nemo_desk wrote, so that it only ever replaces its own.

A file at an output path is "ours" when the ledger has a record for that path and the
file still has the recorded size and SHA-256. A user's own file of the same name, or our
file after the user edited it, fails that test and is left alone.

Paths are keyed by `os.path.normcase(os.path.abspath(path))`: on Windows "C:\\A\\x.srt"
and "c:\\a\\X.SRT" are the same file and must be the same record.

The ledger lives in one JSON file in the app's data folder, written atomically through
`FileOps`. Before saving, the file is read again and merged, so a second nemo_desk
process writing at the same time loses at most a record, not the whole ledger; losing a
record is the safe direction (the file is then treated as the user's). A damaged ledger
file is treated as empty for the same reason. The oldest records beyond `max_entries`
are dropped so the file cannot grow without bound.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from nemo_desk.core.longpaths import long_path
from nemo_desk.export.atomic import atomic_write_bytes
from nemo_desk.locks.fileops import FileOps

LEDGER_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LedgerEntry:
    sha256: str
    size: int
    written_at: float
    # The media file this is the transcript of (absolute, as given); "" in records from
    # before it was kept. Two sources with one output name must not replace each other.
    source: str = ""

    def is_for(self, source: str | os.PathLike[str]) -> bool:
        return not self.source or ledger_key(self.source) == ledger_key(source)


def ledger_key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def sha256_bytes(data: bytes) -> str:
    import hashlib  # lazily: the window imports this package before it shows

    return hashlib.sha256(data).hexdigest()


class OutputLedger:
    def __init__(self, path: str | os.PathLike[str], fileops: FileOps | None = None, max_entries: int = 10_000) -> None:
        self.path = Path(path)
        self.fileops = fileops or FileOps()
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, LedgerEntry] | None = None
        self._stamp: tuple[int, int] | None = None

    # -- queries -----------------------------------------------------------------
    def entry(self, path: str | os.PathLike[str]) -> LedgerEntry | None:
        with self._lock:
            return self._loaded().get(ledger_key(path))

    def owns(self, path: str | os.PathLike[str]) -> bool:
        """True when the file at `path` is exactly what nemo_desk last wrote there."""
        entry = self.entry(path)
        if entry is None:
            return False
        try:
            if os.path.getsize(long_path(path)) != entry.size:
                return False
            import hashlib

            digest = hashlib.sha256()
            with self.fileops.open(path, "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            # Unreadable is not provably ours; the caller will then write elsewhere.
            return False
        return digest.hexdigest() == entry.sha256

    # -- updates -----------------------------------------------------------------
    def record(self, path: str | os.PathLike[str], data: bytes, source: str | os.PathLike[str] = "") -> None:
        self.record_many([(path, data)], source)

    def record_many(self, items: Iterable[tuple[str | os.PathLike[str], bytes]],
                    source: str | os.PathLike[str] = "") -> None:
        """Remember these files as written with this content (for `source`), and save the ledger."""
        now = time.time()
        origin = os.path.abspath(os.fspath(source)) if source else ""
        new = {ledger_key(p): LedgerEntry(sha256_bytes(d), len(d), now, origin) for p, d in items}
        if not new:
            return
        with self._lock:
            merged = self._read()
            merged.update(new)
            self._save(merged)

    def forget(self, path: str | os.PathLike[str]) -> None:
        with self._lock:
            merged = self._read()
            if merged.pop(ledger_key(path), None) is not None:
                self._save(merged)

    # -- storage -----------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _loaded(self) -> dict[str, LedgerEntry]:
        # Re-read when another nemo_desk process (CLI next to the GUI) has saved since.
        stamp = self._file_stamp()
        if self._entries is None or stamp != self._stamp:
            self._entries = self._read()
            self._stamp = stamp
        return self._entries

    def _read(self) -> dict[str, LedgerEntry]:
        try:
            with self.fileops.open(self.path, "rb") as handle:
                doc = json.loads(handle.read().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError):
            return {}  # damaged: start afresh (see module docstring)
        entries: dict[str, LedgerEntry] = {}
        raw = doc.get("entries") if isinstance(doc, dict) else None
        for key, value in (raw or {}).items():
            try:
                entries[key] = LedgerEntry(str(value["sha256"]), int(value["size"]),
                                           float(value.get("written_at", 0)), str(value.get("source", "")))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
        return entries

    def _save(self, entries: dict[str, LedgerEntry]) -> None:
        if len(entries) > self.max_entries:
            newest = sorted(entries.items(), key=lambda kv: kv[1].written_at)[-self.max_entries :]
            entries = dict(newest)
        doc = {
            "version": LEDGER_VERSION,
            "entries": {
                key: {"sha256": e.sha256, "size": e.size, "written_at": round(e.written_at, 3),
                      **({"source": e.source} if e.source else {})}
                for key, e in sorted(entries.items())
            },
        }
        # ASCII: a key from a name that is not valid UTF-8 survives as \udcXX escapes.
        data = (json.dumps(doc, ensure_ascii=True, indent=1) + "\n").encode("ascii")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, data, self.fileops)
        self._entries = entries
        self._stamp = self._file_stamp()
