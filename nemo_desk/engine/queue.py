"""The job queue: the one owner of each job's life in the journal (no Qt).

Every front end (the window's worker, `nemo-desk transcribe`, `--resume`) goes through
it: `add` jobs, `restore` what a previous run left unfinished, `run` one job (its states
are recorded here and nowhere else), `forget` rows the user removed. So the window and
the command line resume the same journal the same way.

A queue is owned by one process at a time: each row it adds or adopts carries its owner
(process id, when that process ran, and a token for this queue). `restore` leaves a live
owner's jobs alone and says so, and adopts a dead owner's (a crash, a kill, a power cut).

The journal is a convenience: if it cannot be opened or written (a full disk), jobs still
run, and the user is told once that an interrupted run cannot be resumed.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from nemo_desk.core.cancel import CancelReason, CancelToken
from nemo_desk.core.events import Event, LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.core.longpaths import long_path
from nemo_desk.core.states import UNFINISHED, JobState, Stage
from nemo_desk.engine.jobs import Job, JobResult, failure_from, job_from_json, job_to_json
from nemo_desk.core.sqlite_db import is_disk_full
from nemo_desk.engine.journal import Journal
from nemo_desk.engine.pipeline import Pipeline
from nemo_desk.locks.processes import pid_alive

Warn = Callable[[str], None]
INTERRUPTED = "interrupted"  # the message of a job stopped by Ctrl+C or by closing the window
NO_RESUME = "an interrupted run cannot be resumed"


def job_fingerprint(job: Job) -> str:
    """What must be unchanged for saved chunks to be reused: the file and the settings."""
    try:
        st = os.stat(long_path(job.source))
        stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = (0, 0)
    key = json.dumps([os.path.abspath(job.source), stamp, job.model.key, repr(job.options)], ensure_ascii=True)
    return hashlib.sha1(key.encode("ascii")).hexdigest()[:16]


class JournalChunks:
    """The journal as the transcriber's chunk cache for one job.

    `save` stages a chunk; `flush` commits what is staged in one transaction. The queue
    flushes after each batch (the transcriber reports progress once per batch) and when
    the job ends; the transcriber may also call `flush()` itself after each batch.
    A journal that cannot be written costs only the ability to resume, never the job."""

    def __init__(self, journal: Journal, job: Job, observer: ObserverFn, purpose: str = "") -> None:
        self.journal = journal
        self._job = job
        self.job_id = f"{job.id}-{purpose}" if purpose else job.id
        self.base = job_fingerprint(job)
        self._observer = observer
        self._warned = False

    def _fp(self, key: str) -> str:
        return f"{self.base}:{key}"

    def sibling(self, purpose: str) -> "JournalChunks":
        """A cache for another result of the same job (the diarization): its own job id in
        the chunk table, since `load` drops every other plan's rows of a job."""
        return JournalChunks(self.journal, self._job, self._observer, purpose)

    def load(self, plan_key: str) -> dict:
        try:
            self.journal.drop_stale_chunks(self.job_id, self._fp(plan_key))
            return self.journal.finished_chunks(self.job_id, self._fp(plan_key))
        except (sqlite3.Error, OSError) as exc:
            self._warn(exc)
            return {}

    def save(self, plan_key: str, index: int, segments: list) -> None:
        self.journal.save_chunk(self.job_id, index, self._fp(plan_key), segments)

    def flush(self) -> None:
        try:
            self.journal.flush()
        except (sqlite3.Error, OSError) as exc:
            self._warn(exc)

    def _warn(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            why = "the disk is full" if is_disk_full(exc) else str(exc)
            self._observer(LogEvent("warning", f"Could not save finished chunks to the queue journal ({why}); "
                                               f"the file goes on, but {NO_RESUME} from here"))


@dataclass
class Restored:
    """What `restore` found: jobs to run again, and what to tell the user."""

    jobs: list[Job] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # files already finished in those batches
    notes: list[str] = field(default_factory=list)  # busy owners, unreadable rows
    resume_s: dict[str, float] = field(default_factory=dict)  # job id -> seconds already transcribed


def _owner_alive(owner: str) -> bool:
    try:
        pid, started, _token = owner.split(":")
        return pid_alive(int(pid), float(started))
    except ValueError:  # not an owner this version writes: nobody can be running it
        return False


class JobQueue:
    def __init__(self, journal: Journal | None, pipeline: Pipeline, warn: Warn = lambda _m: None,
                 notes: Iterable[str] = ()) -> None:
        self.journal = journal
        self.pipeline = pipeline
        self.warn = warn  # a front end points this at its log pane or terminal
        self.notes = list(notes)  # from opening the journal; each front end shows them once
        self.owner = f"{os.getpid()}:{time.time():.3f}:{os.urandom(4).hex()}"
        self.batch = os.urandom(6).hex()
        self._position = 0
        self._warned = False

    def _safe(self, method: str, *args):
        """journal.<method>(*args); a journal that fails warns once and the queue goes on."""
        if self.journal is None:
            return None
        try:
            return getattr(self.journal, method)(*args)
        except (sqlite3.Error, OSError, ValueError) as exc:
            if not self._warned:
                self._warned = True
                why = "the disk is full" if is_disk_full(exc) else str(exc)
                self.warn(f"Could not update the queue journal ({why}); jobs still run, but {NO_RESUME}")
            return None

    # -- the queue ----------------------------------------------------------------------
    def add(self, jobs: Iterable[Job]) -> list[Job]:
        """Jobs as recorded: each source made absolute, so a resume from another folder
        finds the file. A job already in the journal (a re-run) keeps its row and chunks."""
        added = []
        for job in jobs:
            if not os.path.isabs(job.source):
                job = replace(job, source=type(job.source)(os.path.abspath(job.source)))
            self._safe("add", job.id, self.batch, self._position,
                       str(job.source), job_to_json(job), self.owner)
            self._position += 1
            added.append(job)
        return added

    def forget(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            self._safe("remove", job_id)

    def owned_elsewhere(self) -> dict[int, int]:
        """Unfinished jobs that a live process (a window, another command) owns: pid -> count."""
        busy: dict[int, int] = {}
        for row in self._safe("jobs") or []:
            if (pid := self._busy_pid(row)) is not None:
                busy[pid] = busy.get(pid, 0) + 1
        return busy

    def _busy_pid(self, row: dict) -> int | None:
        """The pid of the live process (not this one) that owns an unfinished row, else None."""
        owner = row["owner"]
        if row["state"] in UNFINISHED and owner and owner != self.owner and _owner_alive(owner):
            return int(owner.split(":")[0])
        return None

    def restore(self, keep: Callable[[str], bool] | None = None) -> Restored:
        """The one resume policy: every unfinished job of every earlier run, oldest first,
        unless a live process owns it; rows this version cannot read are marked failed.
        `keep` (a watch: a source in its folders) limits it; other jobs stay queued, unseen."""
        found = Restored()
        rows = self._safe("jobs") or []
        busy: dict[int, int] = {}
        batches: set[str] = set()
        seen: set[str] = set()
        for row in rows:
            if row["state"] not in UNFINISHED or row["owner"] == self.owner:
                continue
            if keep is not None and not keep(row["source"]):
                continue
            if (pid := self._busy_pid(row)) is not None:
                busy[pid] = busy.get(pid, 0) + 1
                continue
            try:
                job = job_from_json(row["job_json"])
            except ValueError as exc:
                self._safe("set_state", row["id"], JobState.FAILED,
                           f"could not be read (written by another version of nemo_desk: {exc})")
                found.notes.append(f"Skipped {row['source']}: its journal entry could not be read "
                                   "(written by another version of nemo_desk); add the file again")
                continue
            if str(job.source) in seen:  # the same file twice: keep the older one
                self.forget([job.id])
                continue
            if not self._safe("adopt", job.id, row["owner"], self.owner):
                continue  # another process adopted it a moment ago
            seen.add(str(job.source))
            batches.add(row["batch"])
            found.jobs.append(job)
            found.resume_s[job.id] = self._safe("transcribed_until", job.id) or 0.0
        found.done = [os.path.basename(r["source"]) for r in rows
                      if r["batch"] in batches and r["state"] == JobState.DONE]
        for pid, count in busy.items():
            found.notes.append(f"{count} unfinished file(s) belong to another nemo_desk that is still running "
                               f"(process {pid}); left them alone")
        return found

    def run(self, job: Job, cancel: CancelToken, observer: ObserverFn = null_observer) -> JobResult:
        """Run one job and record its states: running, then done / failed / cancelled, or
        queued again ("interrupted") when the process is stopping, so it resumes later."""
        if cancel.cancelled:  # cancelled while it waited: no model load, no probe
            result = JobResult(job, JobState.CANCELLED)
        else:
            self.started(job)
            cache = JournalChunks(self.journal, job, observer) if self.journal is not None else None
            try:
                result = self.pipeline.run(job, cancel, _flushing(observer, cache), cache)
            except Exception as exc:  # a bug (the pipeline turns the job's own errors into data)
                result = JobResult(job, JobState.FAILED, failure=failure_from(exc))
            finally:
                if cache is not None:
                    cache.flush()
        self.record(result, cancel.reason)
        return result

    def started(self, job: Job) -> None:
        """The job is running (here, or on a cluster worker: nemo_desk/cluster)."""
        self._safe("set_state", job.id, JobState.RUNNING)

    def record(self, result: JobResult, reason: CancelReason | None = None) -> None:
        """A finished run's state: done / failed / cancelled, or queued again ("interrupted")
        when stopped for a shutdown, so it resumes later. `reason`: why it was cancelled."""
        job = result.job
        state, message = result.status, result.failure.message if result.failure else result.note
        if result.status == JobState.CANCELLED and reason == CancelReason.SHUTDOWN:
            state, message = JobState.QUEUED, INTERRUPTED
        elif result.failure is not None and result.failure.fatal:
            state = JobState.QUEUED  # the file is not at fault: it runs once the install is repaired
        self._safe("set_state", job.id, state, message,
                   [str(o.path) for o in result.outputs])

    def release(self) -> None:
        """Give up ownership of what is left: the next start or `--resume` adopts it."""
        self._safe("release", self.owner)

    def close(self) -> None:
        if self.journal is not None:
            self.release()
            self.journal.close()


def _flushing(observer: ObserverFn, cache: JournalChunks | None) -> ObserverFn:
    """The transcriber reports progress once per batch, after saving the batch's chunks:
    that is when the staged chunks are committed (one commit per batch)."""
    if cache is None:
        return observer

    def relay(event: Event) -> None:
        if isinstance(event, Progress) and event.stage == Stage.TRANSCRIBING:
            cache.flush()
        observer(event)

    return relay
