"""Cooperative cancellation shared between the GUI thread, the worker and the engine.

A QThread cannot be killed safely (terminate() can leave CUDA and file handles in a
broken state), so the engine polls this token between batches instead.

The token says *why* it was set: a user who cancels a file gives up on it; a process that
is stopping (Ctrl+C, closing the window) interrupts it, and the queue keeps it to resume.
"""
from __future__ import annotations

import threading
from enum import StrEnum


class CancelReason(StrEnum):
    USER = "user"
    SHUTDOWN = "shutdown"


class Cancelled(Exception):
    """Raised inside the engine when the token was set; the job ends as 'cancelled'."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._reason: CancelReason | None = None

    def cancel(self, reason: CancelReason = CancelReason.USER) -> None:
        if self._reason is None:  # the first reason counts: a later close does not undo a user's cancel
            self._reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> CancelReason | None:
        return self._reason

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user" if self._reason == CancelReason.USER else "interrupted")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on cancel. Returns True if cancelled."""
        return self._event.wait(seconds)
