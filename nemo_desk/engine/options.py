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
    # Who said what: "off", "auto" (count estimated) or a number ("3": Sortformer takes it
    # as an upper bound, the embedding path as the count). Strings so jobs stay plain JSON.
    speakers: str = "off"
    diarizer: str = ""  # a catalog diarizer id; "": Sortformer up to 4 speakers, TitaNet above
    diarizer_path: str = ""  # a local diarizer .nemo (Sortformer or TitaNet, told apart by its class)
