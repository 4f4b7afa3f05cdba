"""Events the engine reports to whoever drives it (CLI printer or the GUI worker).

They are plain frozen dataclasses so they can cross threads as data (the worker
re-emits them as Qt signals; the CLI prints them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Progress:
    stage: str  # "loading", "downloading", "decoding", "transcribing", "writing"
    done: float  # units finished (seconds of audio, bytes, ...)
    total: float  # 0 when unknown
    message: str = ""

    @property
    def fraction(self) -> float:
        if self.total <= 0:
            return 0.0
        return max(0.0, min(1.0, self.done / self.total))


@dataclass(frozen=True)
class RetryEvent:
    operation: str  # FileOps names: "replace", "delete", "remove folder", "rename", "open", "open for writing"; callers of FileOps.call add their own ("unpack", ...)
    path: str
    attempt: int  # the attempt that just failed, 1-based
    max_attempts: int
    delay: float  # seconds until the next try
    error: str

    def describe(self) -> str:
        return (
            f"file busy: {self.path} ({self.operation}, attempt {self.attempt}/{self.max_attempts}), "
            f"retrying in {self.delay:.1f} s"
        )


@dataclass(frozen=True)
class LogEvent:
    level: str  # "info", "retry", "warning", "error"
    message: str


Event = Progress | RetryEvent | LogEvent


def null_observer(event: Event) -> None:
    """Default observer: drops events. Used where nobody listens (library calls, tests)."""


ObserverFn = Callable[[Event], None]
