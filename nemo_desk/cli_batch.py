"""A batch on the command line (`transcribe`, `watch`): jobs run in order, the computer is
kept awake while they run, and one summary line says how it went (no Qt)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nemo_desk.core.awake import KeepAwake
from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.summary import BatchSummary
from nemo_desk.engine.jobs import Job

if TYPE_CHECKING:
    from nemo_desk.cli import TerminalReporter

EXIT_FAILED = 1


def run_batch(
    services, jobs: list[Job], reporter: "TerminalReporter", cancel: CancelToken, summary: BatchSummary
) -> int | None:
    """Run `jobs` in order, each counted in `summary`; EXIT_FAILED when no file can run in
    this process (a broken install: one line, and the queue stays for --resume)."""
    from nemo_desk.cli import describe_result

    observer = services.observer(reporter)
    for i, job in enumerate(jobs, 1):
        if cancel.cancelled:
            break
        reporter.start(f"[{i}/{len(jobs)}] {job.source.name}")
        result = services.queue.run(job, cancel, observer)
        if result.failure is not None and result.failure.detail:
            services.log_detail(result.failure.detail)
        if result.failure is not None and result.failure.fatal:
            reporter.line(f"nemo-desk: {result.failure.message}")
            return EXIT_FAILED
        reporter.line(describe_result(result))
        summary.add(result.status)
    return None


class CliBatch:
    """A batch on the command line: the computer kept awake while it runs (and said so),
    the summary line when it ends (core/awake.py, core/summary.py)."""

    def __init__(self, reporter: "TerminalReporter") -> None:
        self.reporter = reporter
        self.awake = KeepAwake()
        self.summary = BatchSummary()

    def begin(self) -> None:
        if not self.summary.active:
            self.summary.begin()
            self.reporter.line(self.awake.acquire())

    def release(self) -> None:
        self.awake.release()

    def end(self) -> None:
        if self.summary.active:
            self.release()
            self.reporter.line(f"Batch finished: {self.summary.end()}")


def owned_by_a_running_window(queue) -> str | None:
    """--resume must not take the queue of a window (or command) still running: both would
    transcribe the same files. Only a queue that nobody runs is resumed."""
    busy = queue.owned_elsewhere()
    if not busy:
        return None
    pids = ", ".join(str(p) for p in sorted(busy))
    return (
        f"{sum(busy.values())} unfinished file(s) belong to a nemo_desk window or command that is still "
        f"running (process {pids}); continue them there, or close it and run --resume again"
    )
