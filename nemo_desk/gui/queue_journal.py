"""The window's queue in the engine's crash-safe journal (the one `transcribe --resume` uses).

Users leave long batches running overnight. Jobs handed to the worker are written to the
journal; after a crash, a power cut, or quitting mid-batch, the next start puts the
unfinished files back in the queue with the *same* job (id, model, options), so the
interrupted file continues from its last finished chunk instead of from zero.

The journal is a convenience: if it cannot be written, the queue still runs (one warning).
"""
from __future__ import annotations

import os
from typing import Callable, Iterable

from nemo_desk.engine.jobs import Job, job_from_json, job_to_json

Log = Callable[[str, str], None]


class QueueJournal:
    def __init__(self, journal, log: Log) -> None:
        self.journal = journal  # None: an engine without a journal; everything is a no-op
        self.batch = os.urandom(6).hex()  # 12 hex digits; uuid costs start-up time
        self._log = log
        self._position = 0
        self._warned = False

    def _safe(self, fn: Callable, *args) -> object:
        if self.journal is None:
            return None
        import sqlite3  # already loaded by the journal itself; not at start-up

        try:
            return fn(*args)
        except (sqlite3.Error, OSError, ValueError) as exc:
            if not self._warned:
                self._warned = True
                self._log("warning", f"Could not update the queue journal ({exc}); unfinished files may not "
                                     "be restored after a crash")
            return None

    def record(self, job: Job) -> None:
        """A job handed to the worker (kept if it already is there: a re-run keeps its row)."""
        if self.journal is not None:
            self._safe(self.journal.add, job.id, self.batch, self._position, str(job.source), job_to_json(job))
            self._position += 1

    def forget(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            if self.journal is not None:
                self._safe(self.journal.remove, job_id)

    def interrupted(self, jobs: Iterable[Job]) -> None:
        """Jobs still waiting or running when the window closed: queued again for next time."""
        for job in jobs:
            self.record(job)
            if self.journal is not None:
                self._safe(self.journal.set_state, job.id, "queued", "interrupted")

    def unfinished(self) -> list[Job]:
        """Jobs a previous run left queued or running, oldest first."""
        rows = self._safe(self.journal.unfinished) if self.journal is not None else None
        jobs = []
        for row in rows or []:
            try:
                jobs.append(job_from_json(row["job_json"]))
            except (ValueError, KeyError, TypeError):  # a row from another version: drop it
                self.forget([row["id"]])
        return jobs
