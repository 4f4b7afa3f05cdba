"""A crash-safe journal of the queue and of each job's finished chunks (SQLite, WAL).

Users run long batches overnight: after a crash, a kill or a power cut the next start
restores the queue. Finished files stay done; the interrupted file resumes from its last
finished chunk; queued files stay queued. A chunk is reused only when the job's
*fingerprint* matches: the same source file (size and modification time), model, options
and chunk plan, so a changed file or setting never mixes old words into a new transcript.

This module is storage only (tables, schema versions, integrity on open). What a state
means, who owns a job and how a queue resumes is `engine/queue.py`'s business.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable

from nemo_desk.core.longpaths import printable
from nemo_desk.core.sqlite_db import connect, is_damaged, set_aside
from nemo_desk.core.states import UNFINISHED, JobState
from nemo_desk.core.transcript import Segment, Word

# PRAGMA user_version. 0: the first release (chunks had a run_id column, no owner).
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    batch TEXT NOT NULL,
    position INTEGER NOT NULL,
    source TEXT NOT NULL,         -- for people reading the file (job_json holds the exact path)
    job_json TEXT NOT NULL,
    state TEXT NOT NULL,          -- JobState
    message TEXT NOT NULL DEFAULT '',
    outputs_json TEXT NOT NULL DEFAULT '[]',
    fingerprint TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    owner TEXT NOT NULL DEFAULT '' -- "pid:start time:queue": the live queue that runs it
);
CREATE TABLE IF NOT EXISTS chunks (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    segments_json TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch, position);
CREATE TABLE IF NOT EXISTS watched (  -- files a watched folder has queued (engine/watch.py)
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    queued REAL NOT NULL
);
"""
Warn = Callable[[str], None]


def _migrate(db: sqlite3.Connection, found: int) -> None:
    # v0 -> v1: jobs gain an owner; chunks lose the unused run_id column.
    if "owner" not in _columns(db, "jobs"):
        db.execute("ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
    if "run_id" in _columns(db, "chunks"):
        db.execute("ALTER TABLE chunks DROP COLUMN run_id")


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


class JournalUnavailable(Exception):
    """The journal cannot be used at all (disk full, an unwritable folder): run without it."""


def segments_to_json(segments: Iterable[Segment]) -> str:
    return json.dumps([asdict(s) for s in segments], ensure_ascii=False)


def segments_from_json(text: str) -> list[Segment]:
    out = []
    for s in json.loads(text):
        words = tuple(Word(w["text"], w["start"], w["end"]) for w in s.get("words", ()))
        out.append(Segment(s["text"], s["start"], s["end"], words))
    return out


class Journal:
    """One SQLite file; safe to use from the GUI thread and the worker (one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._staged: list[tuple] = []
        self._db = connect(self.path, SCHEMA, SCHEMA_VERSION, _migrate)

    @classmethod
    def open(cls, path: Path, warn: Warn) -> "Journal":
        """A damaged journal must not stop the app: it is set aside (kept for a bug report)
        and a new one starts. A full disk is not damage: the file is left alone and
        JournalUnavailable says the queue runs without a journal."""
        try:
            return cls(path)
        except (sqlite3.Error, OSError) as exc:
            if not is_damaged(exc):
                raise JournalUnavailable(str(exc)) from exc
            try:
                aside = set_aside(path)
            except OSError as move:
                raise JournalUnavailable(f"{exc}; could not set it aside: {move}") from exc
            warn(f"The queue journal {path} was damaged ({exc}); kept it as {aside.name} and started "
                 "a new one: files queued before were not restored")
            try:
                return cls(path)
            except (sqlite3.Error, OSError) as again:
                raise JournalUnavailable(str(again)) from again

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple = ()) -> None:
        with self._lock:
            self._db.execute(sql, args)

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # Queue
    def add(self, job_id: str, batch: str, position: int, source: str, job_json: str, owner: str) -> None:
        """A new job, queued; an existing one (a re-run) keeps its row and becomes `owner`'s."""
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, batch, position, source, job_json, state, updated, owner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET owner=excluded.owner",
                (job_id, batch, position, printable(source), job_json, JobState.QUEUED, time.time(), owner))

    def set_state(self, job_id: str, state: str, message: str = "", outputs: list[str] | None = None) -> None:
        self._write("UPDATE jobs SET state=?, message=?, outputs_json=?, updated=? WHERE id=?",
                    (str(state), printable(message), json.dumps(outputs or [], ensure_ascii=True),
                     time.time(), job_id))
        if state == JobState.DONE:  # the outputs hold the words now; keep the journal small
            self._drop_chunks(job_id)

    def _drop_chunks(self, job_id: str) -> None:
        # The job's own rows and its siblings' (the diarization is kept as "<id>-speakers").
        self._write("DELETE FROM chunks WHERE job_id=? OR job_id LIKE ?", (job_id, f"{job_id}-%"))

    def adopt(self, job_id: str, old_owner: str, owner: str) -> bool:
        """Take a job over from `old_owner` (dead or none); False if someone else was quicker."""
        with self._lock:
            cur = self._db.execute("UPDATE jobs SET owner=? WHERE id=? AND owner=?", (owner, job_id, old_owner))
            return cur.rowcount == 1

    def release(self, owner: str) -> None:
        self._write("UPDATE jobs SET owner='' WHERE owner=?", (owner,))

    def remove(self, job_id: str) -> None:
        self._drop_chunks(job_id)
        self._write("DELETE FROM jobs WHERE id=?", (job_id,))

    def jobs(self) -> list[dict]:
        """Every row, oldest batch first, in queue order."""
        rows = self._read("SELECT id, batch, position, source, job_json, state, message, outputs_json, owner "
                          "FROM jobs ORDER BY rowid")
        keys = ("id", "batch", "position", "source", "job_json", "state", "message", "outputs_json", "owner")
        return [dict(zip(keys, r)) for r in rows]

    def unfinished(self) -> list[dict]:
        return [j for j in self.jobs() if j["state"] in UNFINISHED]

    # Watched folders: what was queued already, so a restart does not queue it again.
    def remember_watched(self, path: str, size: int, mtime_ns: int) -> None:
        self._write("INSERT OR REPLACE INTO watched (path, size, mtime_ns, queued) VALUES (?, ?, ?, ?)",
                    (path, size, mtime_ns, time.time()))

    def watched(self, path: str) -> tuple[int, int] | None:
        rows = self._read("SELECT size, mtime_ns FROM watched WHERE path=?", (path,))
        return (rows[0][0], rows[0][1]) if rows else None

    # Chunks: staged in memory, committed together by flush() (one synchronous commit per
    # batch of chunks instead of one per chunk).
    def save_chunk(self, job_id: str, idx: int, fingerprint: str, segments: list[Segment]) -> None:
        with self._lock:
            self._staged.append((job_id, idx, fingerprint, segments_to_json(segments)))

    def flush(self) -> None:
        with self._lock:
            staged, self._staged = self._staged, []
            if not staged:
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO chunks (job_id, idx, fingerprint, segments_json) "
                                     "VALUES (?, ?, ?, ?)", staged)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def finished_chunks(self, job_id: str, fingerprint: str) -> dict[int, list[Segment]]:
        rows = self._read("SELECT idx, segments_json FROM chunks WHERE job_id=? AND fingerprint=?",
                          (job_id, fingerprint))
        return {idx: segments_from_json(text) for idx, text in rows}

    def transcribed_until(self, job_id: str) -> float:
        """Where the job's saved windows end (seconds): the end of their last word. What an
        interrupted job resumes from, said before it runs (its plan is made only then)."""
        rows = self._read("SELECT segments_json FROM chunks WHERE job_id=?", (job_id,))
        return max((s.end for (text,) in rows for s in segments_from_json(text)), default=0.0)

    def drop_stale_chunks(self, job_id: str, fingerprint: str) -> None:
        self._write("DELETE FROM chunks WHERE job_id=? AND fingerprint<>?", (job_id, fingerprint))
