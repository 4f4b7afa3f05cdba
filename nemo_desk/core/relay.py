"""One way to pass engine events on to a front end: by kind, with one progress throttle.

The window's worker, its background tasks, the terminal reporter and `nemo-desk models`
all receive the same three kinds of event; each says what to do with each kind, and
progress is thinned out here, in one place: a new stage and the final 100 % always pass,
otherwise at most one update per `interval` (enough for a bar, cheap for Qt and terminals).
"""
from __future__ import annotations

import time
from typing import Callable

from nemo_desk.core.events import Event, LogEvent, Progress, RetryEvent

PROGRESS_INTERVAL_S = 0.1


def _ignore(_event: Event) -> None:
    pass


class EventRelay:
    def __init__(self, on_progress: Callable[[Progress], None] = _ignore,
                 on_retry: Callable[[RetryEvent], None] = _ignore,
                 on_log: Callable[[LogEvent], None] = _ignore,
                 interval: float = PROGRESS_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.on_progress, self.on_retry, self.on_log = on_progress, on_retry, on_log
        self.interval = interval
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """A new job: its first progress event always passes."""
        self._stage = ""
        self._last = float("-inf")
        self._final = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            if self.due(event):
                self.on_progress(event)
        elif isinstance(event, RetryEvent):
            self.on_retry(event)
        elif isinstance(event, LogEvent):
            self.on_log(event)

    def due(self, p: Progress) -> bool:
        """Whether this progress event should go out now (and if so, note that it did)."""
        now = self.clock()
        changed = p.stage != self._stage
        final = p.total > 0 and p.fraction >= 1.0 and (changed or not self._final)
        if not (changed or final or now - self._last >= self.interval):
            return False
        self._stage, self._last, self._final = p.stage, now, final or (not changed and self._final)
        return True
