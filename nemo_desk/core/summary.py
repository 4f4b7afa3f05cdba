"""The one line said when a batch ends: "3 done, 1 failed in 12:34" (no Qt).

The window (status bar, log, tray message), `nemo-desk transcribe` and `nemo-desk watch`
count their results here, so all three say it the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from nemo_desk.core.states import JobState

_ORDER = ((JobState.DONE, "done"), (JobState.FAILED, "failed"), (JobState.CANCELLED, "cancelled"))


def clock_text(seconds: float) -> str:
    """12:34, or 1:02:03 past an hour."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class BatchSummary:
    clock: Callable[[], float] = time.monotonic
    started: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.started is not None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def begin(self) -> None:
        if self.started is None:
            self.started = self.clock()
            self.counts = {}

    def add(self, state: str) -> None:
        self.begin()
        self.counts[str(state)] = self.counts.get(str(state), 0) + 1

    def line(self) -> str:
        elapsed = self.clock() - (self.started if self.started is not None else self.clock())
        parts = [f"{self.counts[s]} {word}" for s, word in _ORDER if self.counts.get(s)]
        return f"{', '.join(parts) or 'nothing done'} in {clock_text(elapsed)}"

    def end(self) -> str:
        """The line, and a fresh start for the next batch."""
        text = self.line()
        self.started = None
        return text
