"""A crash-safe journal of the queue and of each job's finished chunks (SQLite, WAL).

Users run long batches overnight: after a crash, a kill or a power cut the next start
restores the queue. Finished files stay done; the interrupted file resumes from its last
finished chunk, because each chunk's words are committed as soon as they exist; queued
files stay queued. A chunk is reused only when the job's *fingerprint* matches: the same
source file (size and modification time), model, options and chunk plan, so a changed
file or setting never mixes old words into a new transcript.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from nemo_desk.core.transcript import Segment, Word

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    batch TEXT NOT NULL,
    position INTEGER NOT NULL,
    source TEXT NOT NULL,
    job_json TEXT NOT NULL,
    state TEXT NOT NULL,          -- queued, running, done, failed, cancelled
    message TEXT NOT NULL DEFAULT '',
    outputs_json TEXT NOT NULL DEFAULT '[]',
    fingerprint TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    segments_json TEXT NOT NULL,
    run_id TEXT NOT NULL,          -- which process transcribed it (tests prove reuse)
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch, position);
"""
UNFINISHED = ("queued", "running")


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

    def __init__(self, path: Path, run_id: str | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id or f"{os.getpid()}-{int(time.time() * 1000)}"
        self._lock = threading.Lock()
        # check_same_thread=False: calls are serialised by our own lock instead.
        self._db = sqlite3.connect(str(self.path), timeout=10.0, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed chunk survives a power cut, not only a crash of this process.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    @classmethod
    def open_or_reset(cls, path: Path, warn) -> "Journal":
        """A damaged journal file must not stop the app: keep it aside and start afresh."""
        try:
            return cls(path)
        except sqlite3.DatabaseError as exc:
            aside = Path(f"{path}.damaged-{int(time.time())}")
            try:
                os.replace(path, aside)
            except OSError:
                aside = None
            warn(f"the queue journal {path} could not be read ({exc}); "
                 f"{'kept it as ' + str(aside) + ' and ' if aside else ''}started a new one")
            return cls(path)

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
    def add(self, job_id: str, batch: str, position: int, source: str, job_json: str) -> None:
        self._write(
            "INSERT OR IGNORE INTO jobs (id, batch, position, source, job_json, state, updated) "
            "VALUES (?, ?, ?, ?, ?, 'queued', ?)", (job_id, batch, position, source, job_json, time.time()))

    def set_state(self, job_id: str, state: str, message: str = "", outputs: list[str] | None = None) -> None:
        self._write("UPDATE jobs SET state=?, message=?, outputs_json=?, updated=? WHERE id=?",
                    (state, message, json.dumps(outputs or []), time.time(), job_id))
        if state == "done":  # the outputs hold the words now; keep the journal small
            self._write("DELETE FROM chunks WHERE job_id=?", (job_id,))

    def remove(self, job_id: str) -> None:
        self._write("DELETE FROM chunks WHERE job_id=?", (job_id,))
        self._write("DELETE FROM jobs WHERE id=?", (job_id,))

    def jobs(self, batch: str | None = None) -> list[dict]:
        sql = "SELECT id, batch, position, source, job_json, state, message, outputs_json FROM jobs"
        rows = self._read(sql + (" WHERE batch=? ORDER BY position" if batch else " ORDER BY updated, position"),
                          (batch,) if batch else ())
        keys = ("id", "batch", "position", "source", "job_json", "state", "message", "outputs")
        return [dict(zip(keys, r[:7] + (json.loads(r[7]),))) for r in rows]

    def latest_unfinished_batch(self) -> str | None:
        rows = self._read("SELECT batch FROM jobs WHERE state IN ('queued', 'running') "
                          "ORDER BY updated DESC LIMIT 1")
        return rows[0][0] if rows else None

    def unfinished(self) -> list[dict]:
        return [j for j in self.jobs() if j["state"] in UNFINISHED]

    # Chunks
    def save_chunk(self, job_id: str, idx: int, fingerprint: str, segments: list[Segment]) -> None:
        self._write("INSERT OR REPLACE INTO chunks (job_id, idx, fingerprint, segments_json, run_id) "
                    "VALUES (?, ?, ?, ?, ?)", (job_id, idx, fingerprint, segments_to_json(segments), self.run_id))

    def finished_chunks(self, job_id: str, fingerprint: str) -> dict[int, list[Segment]]:
        rows = self._read("SELECT idx, segments_json FROM chunks WHERE job_id=? AND fingerprint=?",
                          (job_id, fingerprint))
        return {idx: segments_from_json(text) for idx, text in rows}

    def chunk_runs(self, job_id: str) -> dict[int, str]:
        return dict(self._read("SELECT idx, run_id FROM chunks WHERE job_id=?", (job_id,)))

    def drop_stale_chunks(self, job_id: str, fingerprint: str) -> None:
        self._write("DELETE FROM chunks WHERE job_id=? AND fingerprint<>?", (job_id, fingerprint))
