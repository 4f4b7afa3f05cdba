"""A one-shot background task (download, import, delete a model) with progress and cancel.

Same rules as the worker: cooperative cancel through a CancelToken, errors come back as
a signal with a one-line message (never an exception lost on a thread), and the thread
is waited for, never terminated.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from nemo_desk.core.cancel import Cancelled, CancelToken
from nemo_desk.core.errors import NemoDeskError
from nemo_desk.core.events import ObserverFn, Progress
from nemo_desk.core.relay import EventRelay

TaskFn = Callable[[ObserverFn, CancelToken], Any]


class TaskThread(QThread):
    progress = Signal(str, float, str)  # stage, fraction (-1: unknown), message
    log_line = Signal(str, str)  # level, text
    succeeded = Signal(object)
    failed = Signal(str, str)  # one-line message, detail for the log
    cancelled = Signal()
    partial = Signal(object)  # a piece of the result, as it comes (report())

    def __init__(self, name: str, fn: TaskFn, services, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(f"nemo_desk-task-{name}")
        self.name = name
        self.token = CancelToken()
        self._fn = fn
        self._services = services
        self._relay = EventRelay(self._progress, lambda e: self.log_line.emit("retry", e.describe()),
                                 lambda e: self.log_line.emit(e.level, e.message))

    def cancel(self) -> None:
        self.token.cancel()

    def report(self, value: object) -> None:
        """From the task's function: hand a piece of the result to the GUI thread now."""
        self.partial.emit(value)

    def run(self) -> None:
        observer = self._services.observer(self._relay)  # the log file gets the same events
        try:
            result = self._fn(observer, self.token)
        except Cancelled:
            self.cancelled.emit()
        except NemoDeskError as exc:
            self._services.logger.error("%s failed: %s", self.name, exc.user_message)
            self.failed.emit(exc.user_message, "")
        except Exception as exc:  # a bug: still a message, with the traceback in the log
            detail = traceback.format_exc()
            self._services.logger.error("%s failed:\n%s", self.name, detail)
            self.failed.emit(f"Unexpected error: {type(exc).__name__}: {exc}", detail)
        else:
            self.succeeded.emit(result)

    def _progress(self, event: Progress) -> None:
        self.progress.emit(event.stage, event.fraction if event.total > 0 else -1.0, event.message)
