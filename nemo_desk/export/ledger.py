"""Which output files nemo_desk wrote, so that it only ever replaces its own.

A file at an output path is "ours" when the ledger has a record for that path and the
file still has the recorded size and SHA-256. A user's own file of the same name, or our
file after the user edited it, fails that test and is left alone.

Paths are keyed by `os.path.normcase(os.path.abspath(path))`: on Windows "C:\\A\\x.srt"
and "c:\\a\\X.SRT" are the same file and must be the same record.

The ledger is a small SQLite file in the app's data folder (opened like the queue
journal: `core/sqlite_db.py`). Each record is one row written on its own, so a write
costs the same with ten records or ten thousand, and a second nemo_desk process writing
at the same time (the CLI next to the window) loses nothing: SQLite serialises the two.
A damaged ledger is set aside and a new one starts; a ledger that cannot be opened at all
(full disk, unwritable folder) owns nothing. Both are the safe direction: a file the
ledger does not know is treated as the user's and never replaced. The oldest records
beyond `max_entries` are dropped so the file cannot grow without bound.

Versions before 0.4 kept the ledger in `outputs.json` beside it; its records are taken
over once, and the old file is renamed `outputs.json.imported`.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from nemo_desk.core.longpaths import long_path
from nemo_desk.core.sqlite_db import connect, is_damaged, set_aside
from nemo_desk.locks.fileops import FileOps

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# Paths are BLOBs: UTF-8 that lets lone surrogates through, so a name that is not valid
# UTF-8 on Linux (surrogate escapes) or valid UTF-16 on Windows is a key like any other.
SCHEMA = """
CREATE TABLE IF NOT EXISTS outputs (
    path BLOB PRIMARY KEY,        -- ledger_key(path)
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    written_at REAL NOT NULL,
    source BLOB NOT NULL          -- the media file it transcribes (absolute), b'' if unknown
);
CREATE INDEX IF NOT EXISTS outputs_age ON outputs (written_at);
"""
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


def _blob(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(blob: bytes) -> str:
    return bytes(blob).decode("utf-8", "surrogatepass")


class OutputLedger:
    def __init__(self, path: str | os.PathLike[str], fileops: FileOps | None = None, max_entries: int = 10_000) -> None:
        self.path = Path(path)
        self.fileops = fileops or FileOps()
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._open_failed = False

    # -- queries -----------------------------------------------------------------
    def entry(self, path: str | os.PathLike[str]) -> LedgerEntry | None:
        with self._lock:
            db = self._connection()
            if db is None:
                return None
            row = db.execute("SELECT sha256, size, written_at, source FROM outputs WHERE path=?",
                             (_blob(ledger_key(path)),)).fetchone()
        return None if row is None else LedgerEntry(row[0], int(row[1]), float(row[2]), _text(row[3]))

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
        """Remember these files as written with this content (for `source`). Raises OSError
        when the ledger cannot be written (the caller says so; the files stay the user's)."""
        now = time.time()
        origin = _blob(os.path.abspath(os.fspath(source)) if source else "")
        rows = [(_blob(ledger_key(p)), sha256_bytes(d), len(d), now, origin) for p, d in items]
        if rows:
            self._change("INSERT OR REPLACE INTO outputs (path, sha256, size, written_at, source) "
                         "VALUES (?, ?, ?, ?, ?)", rows, prune=True)

    def forget(self, path: str | os.PathLike[str]) -> None:
        self._change("DELETE FROM outputs WHERE path=?", [(_blob(ledger_key(path)),)])

    # -- storage -----------------------------------------------------------------
    def _change(self, sql: str, rows: list[tuple], prune: bool = False) -> None:
        with self._lock:
            db = self._connection()
            if db is None:
                raise OSError(f"the output ledger {self.path} cannot be opened")
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany(sql, rows)
                    if prune:
                        db.execute("DELETE FROM outputs WHERE path IN (SELECT path FROM outputs "
                                   "ORDER BY written_at DESC LIMIT -1 OFFSET ?)", (self.max_entries,))
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                # One exception type for callers: a full disk here is an OSError there.
                raise OSError(f"could not update the output ledger {self.path}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection | None:
        """Opened on first use (the window starts without touching it)."""
        if self._db is None and not self._open_failed:
            try:
                self._db = self._open()
            except (sqlite3.Error, OSError) as exc:
                log.warning("the output ledger %s cannot be used (%s): outputs already on disk are "
                            "treated as the user's", self.path, exc)
                self._open_failed = True
        return self._db

    def _open(self) -> sqlite3.Connection:
        try:
            db = connect(self.path, SCHEMA, SCHEMA_VERSION)
        except (sqlite3.Error, OSError) as exc:
            if not is_damaged(exc):
                raise
            aside = set_aside(self.path)
            log.warning("the output ledger %s was damaged (%s); kept it as %s and started a new one",
                        self.path, exc, aside.name)
            db = connect(self.path, SCHEMA, SCHEMA_VERSION)
        self._import_json(db)
        return db

    def _import_json(self, db: sqlite3.Connection) -> None:
        legacy = self.path.with_name("outputs.json")
        if legacy == self.path or not legacy.is_file():
            return
        try:
            with self.fileops.open(legacy, "rb") as handle:
                doc = json.loads(handle.read().decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            doc = {}  # unreadable: its records are lost, which leaves those files as the user's
        raw = doc.get("entries") if isinstance(doc, dict) else None
        rows = []
        for key, value in (raw or {}).items() if isinstance(raw, dict) else ():
            try:
                rows.append((_blob(str(key)), str(value["sha256"]), int(value["size"]),
                             float(value.get("written_at", 0)), _blob(str(value.get("source", "")))))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR IGNORE INTO outputs (path, sha256, size, written_at, source) "
                       "VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
        try:
            os.replace(legacy, legacy.with_name("outputs.json.imported"))
        except OSError:
            pass  # imported again next time: INSERT OR IGNORE keeps the newer rows

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
