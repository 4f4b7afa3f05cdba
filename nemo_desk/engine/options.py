"""What a user can choose about one transcription. Plain data, cheap to import (no numpy)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TranscribeOptions:
    language: str | None = None  # spoken language; None: the model detects it or uses English
    target_language: str | None = None  # translate into this (Canary); None: transcribe
    punctuation: bool = True
    batch_size: int | None = None  # None: the model's default
    chunk_seconds: float | None = None  # None: the model's comfortable length
    # Vocabulary phrases the decoder should prefer (engine/boosting.py) and how strongly
    # (engine/vocabulary.py STRENGTHS). Part of repr(), so the journal's fingerprint, and
    # with it the reuse of saved chunks on resume, changes with the list.
    boost: tuple[str, ...] = ()
    boost_strength: str = "normal"

    def __post_init__(self) -> None:
        # A job read back from the journal's JSON brings a list: keep the tuple, so the
        # options stay hashable and repr() (the fingerprint) stays the same.
        if not isinstance(self.boost, tuple):
            object.__setattr__(self, "boost", tuple(self.boost))
