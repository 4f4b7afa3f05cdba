"""The transcript data model: what the engine produces and the exporters consume.

Times are seconds from the start of the source file (never of a chunk): the engine
shifts chunk-relative times before anything leaves it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, asdict
from typing import Any


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    # Who said it, when the transcript has speakers (display name); None otherwise.
    speaker: str | None = None


@dataclass(frozen=True)
class Segment:
    text: str
    start: float
    end: float
    # Empty when the model gives no word times (Canary-1B): exporters then fall back to
    # splitting the segment text evenly over the segment's span.
    words: tuple[Word, ...] = ()
    # The segment's speaker when known (display name); a word's own speaker takes precedence.
    speaker: str | None = None


@dataclass
class Transcript:
    segments: list[Segment]
    duration: float
    language: str | None = None
    model: str = ""
    source: str = ""
    # Translation target when the model translated; None for plain transcription.
    target_language: str | None = None
    has_word_times: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    # Speaker id ("S1", numbered by first appearance) -> display name ("Speaker 1"); empty
    # when nobody identified speakers. Segments and words carry the display name.
    speaker_table: dict[str, str] = field(default_factory=dict)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def is_empty(self) -> bool:
        return not self.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
