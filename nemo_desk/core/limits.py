"""The allowed range of every number a user can set: one table for every front end.

The CLI checks its options against these before anything loads, the settings loader
repairs out-of-range values with them, and the settings dialog sets its spin boxes from
them, so a value one front end accepts is never refused by another. Why bounds at all:
a negative chunk length made chunk planning loop until the kernel killed the process, and
a huge one asked for gigabytes at once; NaN passes every `<` test.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    name: str  # the Settings field
    flag: str  # the CLI option
    low: float
    high: float
    integer: bool = False
    unit: str = ""
    # In settings, 0 means "the model's default" (the CLI leaves the option out instead).
    zero_is_default: bool = False

    def allows(self, value: object, setting: bool = False) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value) or (self.integer and value != int(value)):
            return False
        if setting and self.zero_is_default and value == 0:
            return True
        return self.low <= value <= self.high

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        kind = "a whole number" if self.integer else "a number"
        return f"{kind} from {self.low:g} to {self.high:g}{unit}"

    def problem(self, value: object) -> str | None:
        """A one-line reason when `value` is outside the range, for the CLI."""
        if self.allows(value):
            return None
        return f"{self.flag} must be {self.describe()}, not {value!r}"


RETRY_SECONDS = Limit("retry_seconds", "--retry-seconds", 0.5, 600, unit="seconds")
BATCH_SIZE = Limit("batch_size", "--batch-size", 1, 256, integer=True, zero_is_default=True)
# 1 s: the encoder needs about a second of audio; 600 s: ten minutes is already far past
# what any model here handles well (attention memory grows with the square of the length).
CHUNK_SECONDS = Limit("chunk_seconds", "--chunk-seconds", 1, 600, unit="seconds", zero_is_default=True)
AUDIO_TRACK = Limit("audio_track", "--audio-track", 1, 99, integer=True)
# 0: plain cuts; a minute already doubles the model's work on 60 s pieces.
OVERLAP_SECONDS = Limit("overlap_seconds", "--overlap-seconds", 0, 60, unit="seconds")
# The subtitle rules (export/profiles.py maps them onto CueRules); the names are the
# settings' fields, the flags the CLI's.
MAX_CHARS_PER_LINE = Limit("max_chars_per_line", "--max-chars", 5, 200, integer=True)
MAX_LINES = Limit("max_lines", "--max-lines", 1, 10, integer=True)
MAX_CPS = Limit("custom_max_cps", "--max-cps", 5, 100, unit="characters a second")
MIN_CUE_DURATION = Limit("custom_min_duration", "--min-duration", 0, 10, unit="seconds")
MAX_CUE_DURATION = Limit("max_cue_duration", "--max-duration", 0.5, 60, unit="seconds")
MIN_GAP_FRAMES = Limit("custom_min_gap_frames", "--min-gap-frames", 0, 60, integer=True)
FPS = Limit("fps", "--fps", 1, 300, unit="frames a second")

LIMITS: dict[str, Limit] = {limit.name: limit for limit in (
    RETRY_SECONDS, BATCH_SIZE, CHUNK_SECONDS, AUDIO_TRACK, OVERLAP_SECONDS, MAX_CHARS_PER_LINE, MAX_LINES, MAX_CPS,
    MIN_CUE_DURATION, MAX_CUE_DURATION, MIN_GAP_FRAMES, FPS,
)}
