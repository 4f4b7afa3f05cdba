"""What a user can choose about one transcription. Plain data, cheap to import (no numpy)."""
from __future__ import annotations

from dataclasses import dataclass

# Seconds of audio two neighbouring windows share around each cut (each hears half of it
# past the cut), merged word by word. Measured with the trained digits model on continuous
# speech (README, Performance): 3 s gives every word near a cut 1.5 s of context on both
# sides and costs 30/(30-3) = 1.11x the model time with 30 s windows.
RECOMMENDED_OVERLAP_S = 3.0
# On by default: every cut, in a pause or not, reaches into the neighbour. Window edges
# sit in the quietest point near them (engine/chunking.py) and the merge trusts a word
# near an edge only from the window that holds it whole (engine/merge.py).
DEFAULT_OVERLAP_S = RECOMMENDED_OVERLAP_S


@dataclass(frozen=True)
class TranscribeOptions:
    language: str | None = None  # spoken language; None: the model detects it or uses English
    target_language: str | None = None  # translate into this (Canary); None: transcribe
    punctuation: bool = True
    batch_size: int | None = None  # None: the model's default
    chunk_seconds: float | None = None  # None: the model's comfortable length
    audio_track: int | None = None  # counting from 1, of a file with several; None: the first
    # Audio shared by neighbouring windows, merged word by word; 0: plain cuts (no merge).
    overlap_seconds: float | None = None  # None: the transcriber's default
    # Silero VAD places cuts where speech pauses and keeps long stretches without speech
    # from the model (engine/vad.py); False: cuts by level alone, every stretch is read.
    speech_detection: bool = True
    # Who said what: "off", "auto" (count estimated) or a number ("3": Sortformer takes it
    # as an upper bound, the embedding path as the count). Strings so jobs stay plain JSON.
    speakers: str = "off"
    diarizer: str = ""  # a catalog diarizer id; "": Sortformer up to 4 speakers, TitaNet above
    diarizer_path: str = ""  # a local diarizer .nemo (Sortformer or TitaNet, told apart by its class)
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
