"""The app's SQLite files (the queue journal, the output ledger): opened one way.

Both must survive what users' machines do: a crash or power cut (WAL, synchronous FULL),
a file damaged behind an intact header (quick_check on open, then set aside and start
afresh), a full disk (never mistaken for damage: the caller decides how to go on), and a
second nemo_desk process on the same profile (SQLite's own locking; `timeout` waits for
the other writer instead of failing).

On Windows SQLite retries a sharing violation (WinError 32 from a scanner holding the
file) itself, a few times with short sleeps, before it reports SQLITE_IOERR: no extra
retry layer here.
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Callable

from nemo_desk.core.errors import is_disk_full_os

# How long a statement waits for another process's write before failing.
BUSY_TIMEOUT_S = 10.0

# Brings an older schema (its PRAGMA user_version is passed) up to the current one, inside
# a transaction that `connect` commits.
Migrate = Callable[[sqlite3.Connection, int], None]


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return is_disk_full_os(exc)
    return isinstance(exc, sqlite3.Error) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc))


def is_damaged(exc: BaseException) -> bool:
    """A file that is not a database or a malformed one; never a full disk or a lock."""
    code = _primary_code(exc)
    if code is not None:
        return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


def _primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code (the low byte of an extended one), None before Python 3.11."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def connect(path: Path, schema: str, version: int, migrate: Migrate | None = None) -> sqlite3.Connection:
    """An open, checked connection with the current schema (autocommit; callers that use
    it from several threads serialise the calls with their own lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
    try:
        _switch_to_wal(db)
        # FULL: a committed write survives a power cut, not only a crash of this process.
        db.execute("PRAGMA synchronous=FULL")
        check = db.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise sqlite3.DatabaseError("integrity check failed: " + "; ".join(str(r[0]) for r in check[:3]))
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found > version:
            raise sqlite3.DatabaseError(f"written by a newer nemo_desk (schema {found})")
        db.executescript(schema)  # a new file gets the current tables; an old one keeps its own
        if found != version:
            db.execute("BEGIN IMMEDIATE")
            try:
                if migrate is not None:
                    migrate(db, found)
                db.execute(f"PRAGMA user_version={version}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    except BaseException:
        db.close()
        raise
    return db


def _is_busy(exc: BaseException) -> bool:
    code = _primary_code(exc)
    if code is not None:
        return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """Switching a new file to WAL needs an exclusive lock, and when another process is
    opening the same new file SQLite answers "database is locked" at once instead of
    calling the busy handler (waiting could deadlock the two). Retried here for as long as
    the connection's own busy timeout: the other process finishes its switch in
    milliseconds, after which the statement is a no-op."""
    import tenacity  # here: sqlite_db is not on the path to the first window

    for attempt in tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_busy), stop=tenacity.stop_after_delay(BUSY_TIMEOUT_S),
            wait=tenacity.wait_random(0.01, 0.1), reraise=True):
        with attempt:
            db.execute("PRAGMA journal_mode=WAL")


def set_aside(path: Path) -> Path:
    """Move a damaged database (and its -wal/-shm, which belong to it) out of the way,
    kept for a bug report. Raises OSError when it cannot be moved."""
    aside = Path(f"{path}.damaged-{int(time.time())}")
    os.replace(path, aside)
    for extra in ("-wal", "-shm"):
        if os.path.exists(f"{path}{extra}"):
            os.replace(f"{path}{extra}", f"{aside}{extra}")
    return aside
