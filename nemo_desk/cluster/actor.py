"""The worker: one Ray actor, one model, the CLI's Pipeline, one file at a time.

A plain class (Ray wraps it in pool.py), so it is importable without Ray. The actor is
threaded (a few concurrent calls) only so that `status` and `cancel` answer while `run`
works; `run` itself is never called twice at once (the driver keeps one file in flight
per actor). Everything it returns is plain data: the driver records it in its journal.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from nemo_desk.cluster.reach import first_unreachable
from nemo_desk.core.cancel import CancelReason, CancelToken
from nemo_desk.core.events import Event, LogEvent, Progress, RetryEvent
from nemo_desk.core.states import JobState
from nemo_desk.engine.jobs import Job, JobResult, failure_from
from nemo_desk.export import CueRules


@dataclass(frozen=True)
class Hello:
    """What a new worker says first: who it is, and why it cannot work ("" when it can)."""

    pid: int
    host: str
    problem: str = ""
    folder: str = ""  # the folder it cannot see, when that is the problem


@dataclass(frozen=True)
class Status:
    source: str = ""
    stage: str = ""
    fraction: float = 0.0


@dataclass(frozen=True)
class Report:
    """One file's result as the driver records it; the transcript stays on the worker
    (it is in the outputs), only its length travels, for the hours-done figure."""

    result: JobResult
    audio_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    cancel_reason: CancelReason | None = None
    pid: int = 0


class TranscribeWorker:
    def __init__(self, services_factory: Callable[..., Any], env: dict[str, str], rules: CueRules,
                 txt_timestamps: bool, retry_seconds: float | None) -> None:
        # On the driver's own machine the driver's app folder is passed on (same store,
        # same ledger); on other nodes `env` is empty and the node's own folder is used.
        os.environ.update(env)
        self._rules, self._txt_timestamps, self._retry_seconds = rules, txt_timestamps, retry_seconds
        # The composition root's build_services (app.py), handed over by the driver: Ray
        # sends it by reference and the worker imports it there.
        self._factory = services_factory
        self._services: Any = None  # app.Services (not imported: app is the composition root)
        self._cancel = CancelToken()
        self._lock = threading.Lock()
        self._status = Status()
        self._warnings: list[str] = []

    def hello(self, folders: list[str]) -> Hello:
        """Check the paths and build the app's services (model store, output ledger, temp
        folder) on this node; the model itself loads with the first file, as in the CLI."""
        pid, host = os.getpid(), socket.gethostname()
        if (missing := first_unreachable(folders)) is not None:
            return Hello(pid, host, "unreachable", missing)
        try:
            self._services = services = self._factory(retry_seconds=self._retry_seconds, observer=self._observe)
        except Exception as exc:  # a folder it cannot create, a full disk: the run stops with it
            return Hello(pid, host, f"cannot set up nemo_desk there: {failure_from(exc).message}")
        services.pipeline.rules = self._rules
        services.pipeline.txt_timestamps = self._txt_timestamps
        return Hello(pid, host)

    def status(self) -> Status:
        with self._lock:
            return self._status

    def cancel(self) -> None:
        """The driver is stopping: the file stops at the next chunk and stays queued."""
        self._cancel.cancel(CancelReason.SHUTDOWN)

    def run(self, job: Job) -> Report:
        services = self._services
        assert services is not None, "hello() first"
        with self._lock:
            self._status, self._warnings = Status(job.source.name), []
        result = services.pipeline.run(job, self._cancel, services.observer(self._observe))
        if result.failure is not None and result.failure.detail:
            services.log_detail(result.failure.detail)  # the node's own log file too
        audio_s = result.transcript.duration if result.transcript is not None else 0.0
        with self._lock:
            self._status, warnings = Status(), list(self._warnings)
        reason = self._cancel.reason if result.status == JobState.CANCELLED else None
        return Report(dataclasses.replace(result, transcript=None), audio_s, warnings, reason, os.getpid())

    def _observe(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, Progress):
                self._status = dataclasses.replace(self._status, stage=event.stage, fraction=event.fraction)
            elif isinstance(event, LogEvent) and event.level != "info":
                self._warnings.append(event.message)
            elif isinstance(event, RetryEvent):
                self._warnings.append(f"retry: {event.describe()}")

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None
