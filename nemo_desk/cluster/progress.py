"""What the driver prints: a line per finished file (the CLI's words), and every few
seconds an overall line (files and hours done, rate, ETA) with one line per worker.
Plain lines, no cursor control: a cluster run is usually watched through a log file."""
from __future__ import annotations

import time
from typing import Callable, Sequence

from nemo_desk.cluster.pool import Slot
from nemo_desk.core.states import Stage, stage_words

STATUS_INTERVAL_S = 10.0


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class ClusterProgress:
    def __init__(self, line: Callable[[str], None], total: int, interval: float = STATUS_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._line = line
        self.total = total
        self.done = 0  # finished one way or another (done, failed)
        self.audio_s = 0.0
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._shown = self._started

    def finished(self, audio_s: float) -> None:
        self.done += 1
        self.audio_s += audio_s

    def overall(self) -> str:
        elapsed = max(self._clock() - self._started, 1e-6)
        text = f"[cluster] {self.done}/{self.total} files, {self.audio_s / 3600:.2f} h of audio done"
        if self.done:
            per_min = self.done * 60 / elapsed
            text += f", {per_min:.1f} files/min ({self.audio_s / elapsed:.1f}x real time)"
            if self.done < self.total:
                text += f", ETA {_clock((self.total - self.done) * elapsed / self.done)}"
        return text

    @staticmethod
    def worker_line(slot: Slot) -> str:
        who = f"  {slot.name}" + (f" (pid {slot.pid})" if slot.pid else "")
        if slot.ready is not None:
            return f"{who}: starting"
        if slot.job is None:
            return f"{who}: idle"
        doing = stage_words(slot.stage) if slot.stage else "starting"
        pct = f" {int(slot.fraction * 100)}%" if slot.stage == Stage.TRANSCRIBING else ""
        return f"{who}: {doing} {slot.job.source.name}{pct}"

    def tick(self, slots: Sequence[Slot], force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._shown < self._interval:
            return
        self._shown = now
        self._line(self.overall())
        for slot in slots:
            if not slot.retired:
                self._line(self.worker_line(slot))
