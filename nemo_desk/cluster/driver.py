"""The driver: hands queued jobs to the pool's actors and records every result.

Nothing lost, nothing twice: the journal (the CLI's own JobQueue, local to this process)
is written only here. A file is done when a worker has written its outputs (atomically)
and the driver has recorded them. A worker that dies (its process killed, its node gone)
gets its file handed to a new worker, at most MAX_ATTEMPTS times; a file that fails for
its own reasons (corrupt media) comes back as a typed failure and is recorded once. When
the driver itself stops, its rows stay queued/running under a dead owner, and
`--resume` adopts them like any interrupted CLI run.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import time
from collections import deque
from typing import TYPE_CHECKING, Callable

from nemo_desk.cluster.actor import Report
from nemo_desk.cluster.connect import ClusterUnreachable, app_environment, connected
from nemo_desk.cluster.pool import Pool, Slot, pool_size
from nemo_desk.cluster.progress import STATUS_INTERVAL_S, ClusterProgress
from nemo_desk.cluster.reach import folders_to_check, network_filesystem, unreachable_message
from nemo_desk.core.cancel import CancelReason, CancelToken
from nemo_desk.core.states import FailureKind, JobState
from nemo_desk.engine.jobs import Job, JobFailure, JobResult

if TYPE_CHECKING:
    from nemo_desk.cli import TerminalReporter

EXIT_OK, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 130
MAX_ATTEMPTS = 3  # workers a file may take down with it before it is failed
POLL_S = 0.25
START_TIMEOUT_S = 300.0  # a worker that waits longer for a free GPU/CPU is given up


def run_jobs_on_cluster(args: argparse.Namespace, services, jobs: list[Job], reporter: TerminalReporter,
                        services_factory: Callable) -> int:
    import ray

    from nemo_desk.cli import EXIT_USAGE

    if not jobs:
        return EXIT_OK
    journal = services.queue.journal
    if journal is not None and (kind := network_filesystem(journal.path.parent)):
        reporter.line(f"nemo-desk: the queue journal {journal.path} is on a network file system ({kind}), "
                      f"where SQLite cannot keep a cluster run's record safely; set NEMO_DESK_HOME to a "
                      f"folder on this machine's own disk")
        if not args.resume:
            services.queue.forget(j.id for j in jobs)
        return EXIT_USAGE
    try:
        with connected(ray, args.cluster, app_environment(os.environ)) as env:
            size, each = pool_size(ray.cluster_resources(), args.cluster_workers, len(jobs))
            folders = folders_to_check([j.source for j in jobs], jobs[0].output_dir)
            pipeline = services.pipeline
            pool = Pool(ray, each, (services_factory, env, pipeline.rules, pipeline.txt_timestamps, args.retry_seconds),
                        folders)
            interval = args.cluster_status_seconds or STATUS_INTERVAL_S
            dispatcher = Dispatcher(ray, pool, services, jobs, reporter, ClusterProgress(reporter.line, len(jobs),
                                                                                         interval))
            reporter.line(f"[cluster] {len(jobs)} file(s) on {size} worker(s) "
                          f"({'one GPU' if 'num_gpus' in each else 'one CPU'} each)")
            return dispatcher.run(size)
    except ClusterUnreachable as exc:
        reporter.line(f"nemo-desk: {exc}")
        if not args.resume:  # the same command again must not queue the files twice
            services.queue.forget(j.id for j in jobs)
        return EXIT_USAGE


class Dispatcher:
    def __init__(self, ray, pool: Pool, services, jobs: list[Job], reporter: TerminalReporter,
                 progress: ClusterProgress) -> None:
        self._ray = ray
        self._errors = ray.exceptions
        self.pool = pool
        self.queue = services.queue
        self._log_detail: Callable[[str], None] = services.log_detail
        self.pending: deque[Job] = deque(jobs)
        self.total = len(jobs)
        self.reporter = reporter
        self.progress = progress
        self.cancel = CancelToken()
        self.deaths: dict[str, int] = {}
        self.failed = 0
        self.stop_line = ""  # why the run stops early (a worker that cannot work)

    def run(self, size: int) -> int:
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            for number in range(1, size + 1):
                self.pool.start(number)
            self._loop()
        finally:
            signal.signal(signal.SIGINT, previous)
            self.pool.close()
        self.progress.tick(self.pool.slots, force=True)
        if self.stop_line:
            self.reporter.line(f"nemo-desk: {self.stop_line}")
            self.reporter.line("The files not done stay queued; continue with: nemo-desk transcribe --resume --cluster ...")
            return EXIT_FAILED
        if self.cancel.cancelled:
            self.reporter.line("Stopped. Finished files are kept; continue with: nemo-desk transcribe --resume "
                               "--cluster ...")
            return EXIT_CANCELLED
        if self.failed:
            self.reporter.line(f"{self.failed} of {self.total} file(s) failed.")
        return EXIT_FAILED if self.failed else EXIT_OK

    @property
    def stopping(self) -> bool:
        return self.cancel.cancelled or bool(self.stop_line)

    def _loop(self) -> None:
        while True:
            calls = {s.ready: s for s in self.pool.slots if s.ready is not None}
            calls.update({s.run: s for s in self.pool.slots if s.run is not None})
            if not calls:
                return
            ready, _ = self._ray.wait(list(calls), num_returns=1, timeout=POLL_S)
            for ref in ready:
                slot = calls[ref]
                if ref is slot.ready:
                    self._on_hello(slot)
                else:
                    self._on_report(slot)
            self._give_up_slow_starts()
            if self.stopping:
                self._cancel_all()
            for slot in self.pool.slots:
                if slot.idle:
                    self._dispatch(slot)
            self._poll_status()
            self.progress.tick(self.pool.slots)

    # -- a worker starts ------------------------------------------------------------------
    def _on_hello(self, slot: Slot) -> None:
        ref, slot.ready = slot.ready, None
        try:
            hello = self._ray.get(ref)
        except self._errors.RayError as exc:  # it could not start (its node went away)
            self.reporter.line(f"warning: {slot.name} did not start ({_first_line(exc)})")
            slot.retired = True
            if not any(not s.retired for s in self.pool.slots) and self.pending and not self.stopping:
                self.stop_line = "no worker could start on the cluster"
            return
        slot.pid, slot.host = hello.pid, hello.host
        if hello.problem and not self.stop_line:
            self.stop_line = (unreachable_message(slot.name, hello.folder) if hello.folder
                              else f"{slot.name}: {hello.problem}")

    def _give_up_slow_starts(self) -> None:
        """A replacement that the cluster has no room for would otherwise be waited for forever."""
        for slot in self.pool.slots:
            if slot.ready is not None and time.monotonic() - slot.started > START_TIMEOUT_S:
                self.reporter.line(f"warning: {slot.name} did not start within {START_TIMEOUT_S:.0f} s "
                                   f"(no free GPU or CPU on the cluster?)")
                slot.ready = None
                self.pool.kill(slot)
                if not any(not s.retired for s in self.pool.slots) and not self.stopping:
                    self.stop_line = "no worker could start on the cluster"

    def _dispatch(self, slot: Slot) -> None:
        if self.stopping or not self.pending:
            self.pool.retire(slot)  # frees its GPU/CPU for a replacement elsewhere
            return
        job = self.pending.popleft()
        self.queue.started(job)
        slot.job, slot.stage, slot.fraction, slot.cancelled = job, "", 0.0, False
        slot.run = slot.actor.run.remote(job)

    # -- a file comes back ----------------------------------------------------------------
    def _on_report(self, slot: Slot) -> None:
        ref, job = slot.run, slot.job
        assert job is not None
        slot.run, slot.job, slot.status_call = None, None, None
        try:
            report: Report = self._ray.get(ref)
        except (self._errors.RayActorError, self._errors.WorkerCrashedError, self._errors.ObjectLostError) as exc:
            self._on_death(slot, job, exc)
            return
        except self._errors.RayError as exc:  # a bug in the worker's own code: recorded, not retried
            failure = JobFailure(FailureKind.INTERNAL, f"{job.source}: {_first_line(exc)}",
                                 detail=str(exc), reason=_first_line(exc))
            report = Report(JobResult(job, JobState.FAILED, failure=failure))
        self._record(slot, report)

    def _record(self, slot: Slot, report: Report) -> None:
        from nemo_desk.cli import describe_result

        result = report.result
        self.queue.record(result, report.cancel_reason)
        failure = result.failure
        if failure is not None and failure.detail:
            self._log_detail(failure.detail)
        if failure is not None and failure.fatal:  # that node's install is broken: stop, keep the queue
            self.stop_line = self.stop_line or f"{slot.name}: {failure.message}"
            return
        for warning in report.warnings:
            self.reporter.line(f"warning: {result.job.source.name}: {warning}")
        self.reporter.line(describe_result(result))
        if result.status != JobState.CANCELLED:
            self.progress.finished(report.audio_s)
        self.failed += result.status == JobState.FAILED

    def _on_death(self, slot: Slot, job: Job, exc: BaseException) -> None:
        """The worker died with the file: the file goes to another worker, a few times at most."""
        attempts = self.deaths[job.id] = self.deaths.get(job.id, 0) + 1
        why = _first_line(exc)
        if attempts >= MAX_ATTEMPTS:
            message = (f"{job.source}: the worker transcribing it stopped {attempts} times "
                       f"(last: {why}); not tried again")
            failure = JobFailure(FailureKind.INTERNAL, message, reason=message.split(": ", 1)[1])
            self._record(slot, Report(JobResult(job, JobState.FAILED, failure=failure)))
        else:
            self.reporter.line(f"warning: {slot.name} stopped while working on {job.source.name} ({why}); "
                               f"it goes to another worker")
            self.pending.appendleft(job)  # next in line; the journal row stays "running" until then
        if self.stopping:
            self.pool.kill(slot)
        else:
            self.pool.replace(slot)

    # -- status and stopping --------------------------------------------------------------
    def _poll_status(self) -> None:
        busy = [s for s in self.pool.slots if s.run is not None]
        asked = [s.status_call for s in busy if s.status_call is not None]
        answered = set(self._ray.wait(asked, num_returns=len(asked), timeout=0)[0]) if asked else set()
        for slot in busy:
            if slot.status_call is not None and slot.status_call in answered:
                try:
                    status = self._ray.get(slot.status_call)
                    slot.stage, slot.fraction = status.stage, status.fraction
                except self._errors.RayError:  # dying: its run() call reports that
                    pass
                slot.status_call = None
            if slot.status_call is None:
                slot.status_call = slot.actor.status.remote()

    def _cancel_all(self) -> None:
        for slot in self.pool.slots:
            if slot.run is not None and not slot.cancelled:
                slot.cancelled = True
                slot.actor.cancel.remote()

    def _on_sigint(self, signum, frame) -> None:
        """First Ctrl+C: each worker stops at its next chunk, the files stay queued; a
        second one leaves at once (outputs are atomic, the journal transactional)."""
        if self.cancel.cancelled:
            self.reporter.line("Aborted. Finished files are kept; continue with: nemo-desk transcribe --resume "
                               "--cluster ...")
            os._exit(EXIT_CANCELLED)
        self.cancel.cancel(CancelReason.SHUTDOWN)
        self.reporter.line("Stopping after each worker's current chunk (Ctrl+C again to abort)...")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(exc: BaseException) -> str:
    """One line for the user. Ray colours its messages and, for an error in a worker's start
    ("...raised in its creation task"), puts the cause last, after the traceback."""
    lines = [ln.strip() for ln in _ANSI.sub("", str(exc)).splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    return lines[-1] if "creation task" in lines[0] and len(lines) > 1 else lines[0]
