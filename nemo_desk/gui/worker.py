"""The worker thread: owns the engine, runs jobs one at a time, reports as signals.

Everything torch or NeMo does happens on this thread (the model is imported and loaded
by the first job), so the window stays responsive and appears before torch is imported.
The model stays loaded between jobs; ModelManager frees it when a job wants another.

Jobs run through the engine's JobQueue, which records their states in the journal; this
thread only turns what happens into signals.

Cancel is cooperative (CancelToken, one per job, checked by the engine between batches)
because QThread.terminate() can leave CUDA, file handles and the Python interpreter in a
broken state. Errors are data: the queue returns failures, and the loop itself is
wrapped so that even a bug here becomes a failed job and an error line, never a thread
that died silently with the queue stuck at "queued" (the top complaint about peers).

Signals are emitted from this thread; Qt queues them to receivers in the GUI thread.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from typing import Callable

from PySide6.QtCore import QThread, Signal

from nemo_desk.core.cancel import CancelReason, CancelToken
from nemo_desk.core.events import Event, Progress
from nemo_desk.core.relay import EventRelay
from nemo_desk.core.states import FailureKind, JobState, Stage, stage_words
from nemo_desk.engine.jobs import Job, JobFailure, JobResult

_STOP = object()


class Worker(QThread):
    # job_id, state, fraction of that state (0..1), ETA in seconds (-1: unknown)
    job_state = Signal(str, str, float, float)
    job_duration = Signal(str, float)  # seconds of audio, known once decoding starts
    log_line = Signal(str, str)  # level ("info", "retry", "warning", "error"), text
    retry = Signal(str)  # RetryEvent.describe(): a locked file is being waited out
    lock_error = Signal(str, object)  # job_id, LockReport: the retry budget was spent
    job_done = Signal(str, object)  # job_id, JobResult
    job_failed = Signal(str, object)
    job_cancelled = Signal(str, object)
    model_status = Signal(str, str)  # model label, device summary
    idle = Signal()  # the queue ran empty

    def __init__(self, services, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("nemo_desk-worker")
        self._services = services
        self._logger: logging.Logger = services.logger
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._tokens: dict[str, CancelToken] = {}  # submitted, not yet finished
        self._current: str | None = None
        self._stopping = False

    # -- called from the GUI thread ------------------------------------------------------
    def submit(self, job: Job) -> None:
        with self._lock:
            if self._stopping:
                return
            self._tokens[job.id] = CancelToken()
        self._queue.put(job)

    def cancel(self, job_id: str) -> bool:
        """Cancel a running or waiting job. The running one stops within one batch."""
        with self._lock:
            token = self._tokens.get(job_id)
        if token is None:
            return False
        token.cancel()
        return True

    def cancel_current(self) -> str | None:
        with self._lock:
            current = self._current
        if current is not None:
            self.cancel(current)
        return current

    @property
    def pending(self) -> int:
        """Jobs submitted and not finished, the running one included."""
        with self._lock:
            return len(self._tokens)

    @property
    def current_job(self) -> str | None:
        with self._lock:
            return self._current

    def stop(self) -> None:
        """Cancel everything and let run() return; pair with wait()."""
        with self._lock:
            self._stopping = True
            tokens = list(self._tokens.values())
        for token in tokens:
            token.cancel(CancelReason.SHUTDOWN)  # interrupted, not given up: the queue keeps it
        self._queue.put(_STOP)

    # -- the worker thread ----------------------------------------------------------------
    def run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP or self._stopping:
                    break
                self._run_guarded(item)
                if self._queue.empty():
                    self.idle.emit()
        finally:
            self._release_model()

    def _run_guarded(self, job: Job) -> None:
        with self._lock:
            token = self._tokens.get(job.id) or CancelToken()
            self._current = job.id
        try:
            result = self._run_job(job, token)
        except Exception as exc:  # a bug in this loop or an observer: still a failed row, not a dead thread
            detail = traceback.format_exc()
            self._logger.error("worker error in job %s (%s):\n%s", job.id, job.source, detail)
            text = f"Unexpected error in the worker: {type(exc).__name__}: {exc}"
            result = JobResult(job, JobState.FAILED, failure=JobFailure(FailureKind.INTERNAL, text, detail=detail,
                                                                         reason=text))
        finally:
            with self._lock:
                self._current = None
                self._tokens.pop(job.id, None)
        try:
            self._report(job, result)
        except Exception:  # reporting must never kill the loop either
            self._logger.exception("could not report the result of job %s", job.id)

    def _run_job(self, job: Job, token: CancelToken) -> JobResult:
        if not token.cancelled:
            self._info(f"Starting {job.source.name} with {job.model.label}")
        observer = _JobObserver(self, job.id)
        result = self._services.queue.run(job, token, self._services.observer(observer))
        observer.finish(result.status)
        manager = self._services.models
        if manager.loaded is not None and manager.device_report is not None:
            self.model_status.emit(job.model.label, manager.device_report.summary())
        return result

    def _report(self, job: Job, result: JobResult) -> None:
        # The result (outputs, message) goes out before the final state: whoever sees a row
        # become done/failed/cancelled must find its outputs or its reason already there.
        name = job.source.name
        if result.status == JobState.DONE:
            outs = ", ".join(str(o.path) for o in result.outputs)
            note = f" ({result.note})" if result.note else ""
            self.job_done.emit(job.id, result)
            self.job_state.emit(job.id, JobState.DONE, 1.0, 0.0)
            self._info(f"Done: {name} in {result.elapsed:.1f} s -> {outs}{note}")
        elif result.status == JobState.CANCELLED:
            self.job_cancelled.emit(job.id, result)
            self.job_state.emit(job.id, JobState.CANCELLED, 0.0, -1.0)
            self._info(f"Cancelled: {name}")
        else:
            failure = result.failure or JobFailure(FailureKind.INTERNAL, "failed without a reason")
            text = f"Failed: {name}: {failure.reason or failure.message}"
            self._logger.error("%s", text)
            if failure.detail:
                self._logger.error("%s", failure.detail)
            self.log_line.emit("error", text)
            self.job_failed.emit(job.id, result)
            self.job_state.emit(job.id, JobState.FAILED, 0.0, -1.0)
            if failure.lock is not None:  # last, so the row already says "failed"
                self.lock_error.emit(job.id, failure.lock)

    def _info(self, text: str) -> None:
        self._logger.info("%s", text)
        self.log_line.emit("info", text)

    def _release_model(self) -> None:
        # On this thread: freeing CUDA memory belongs where the model was made.
        try:
            self._services.models.unload()
        except Exception:
            self._logger.exception("could not unload the model")


class _JobObserver:
    """Turns engine events of one job into (throttled) signals. Runs on the worker thread."""

    def __init__(self, worker: Worker, job_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.worker = worker
        self.job_id = job_id
        self.clock = clock
        self.state = ""
        self.last_fraction = -1.0
        self.transcribe_started: float | None = None
        self.transcribe_base = 0.0  # the fraction already done when transcribing began (a resume)
        self._relay = EventRelay(self._progress, lambda e: worker.retry.emit(e.describe()),
                                 lambda e: worker.log_line.emit(e.level, e.message), clock=clock)

    def __call__(self, event: Event) -> None:
        self._relay(event)

    def _progress(self, p: Progress) -> None:
        state = stage_words(p.stage)
        now = self.clock()
        fraction = p.fraction
        changed = state != self.state
        if not changed and fraction < self.last_fraction:
            return  # never report going backwards inside one state (a late event)
        if p.stage == Stage.DECODING and changed:
            if p.total > 0:
                self.worker.job_duration.emit(self.job_id, float(p.total))
            self._model_ready()
        eta = -1.0
        if p.stage == Stage.TRANSCRIBING:
            if self.transcribe_started is None:
                self.transcribe_started, self.transcribe_base = now, fraction
            elapsed = now - self.transcribe_started
            # Only the audio transcribed in this run says how fast it goes: a resumed job
            # starts at its saved chunks, which took no time now.
            progressed = fraction - self.transcribe_base
            if progressed > 0 and fraction < 1:
                eta = elapsed * (1 - fraction) / progressed
            elif fraction >= 1:
                eta = 0.0
        self.state, self.last_fraction = state, fraction
        self.worker.job_state.emit(self.job_id, state, fraction, eta)

    def _model_ready(self) -> None:
        """The model is loaded once decoding starts: say which and where, now (the status
        bar must not say "Loading model…" through a whole first job)."""
        manager = self.worker._services.models
        loaded, report = manager.loaded, manager.device_report
        if loaded is not None and report is not None:
            label = getattr(getattr(loaded, "ref", None), "label", "") or ""
            if label:
                self.worker.model_status.emit(label, report.summary())

    def finish(self, status: str) -> None:
        """Make sure a finished transcription reported its 100 % (the final update is never throttled)."""
        if status == JobState.DONE and self.state == Stage.TRANSCRIBING and self.last_fraction < 1.0:
            self.worker.job_state.emit(self.job_id, Stage.TRANSCRIBING, 1.0, 0.0)
