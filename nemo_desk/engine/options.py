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
    audio_track: int | None = None  # counting from 1, of a file with several; None: the first
