"""Cooperative cancellation shared between the GUI thread, the worker and the engine.

A QThread cannot be killed safely (terminate() can leave CUDA and file handles in a
broken state), so the engine polls this token between batches instead.
"""
from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised inside the engine when the token was set; the job ends as 'cancelled'."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on cancel. Returns True if cancelled."""
        return self._event.wait(seconds)
