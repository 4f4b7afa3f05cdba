"""Ground truth for the trained-model tests: speech with exact word times, and scoring.

The speech comes from the same recipe the model was trained on
(tools/train_tiny/synth.py: espeak-ng words joined by known silences), spoken by new
random speakers (fresh speeds and pitches) with fresh word sequences, so it is held out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tools.train_tiny import metrics, synth
from tools.train_tiny.synth import TRAIN_VOICES, UNSEEN_VOICES, Utterance, WordTime  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "tests" / "data" / "digits-tdt.nemo"
CARD = MODEL.with_suffix(".json")

__all__ = ["MODEL", "CARD", "TRAIN_VOICES", "UNSEEN_VOICES", "Utterance", "WordTime", "wer", "time_errors",
           "align", "card", "write", "truth_words", "transcript_words", "json_words",
           "cues_not_containing_their_words"]

wer = metrics.wer
time_errors = metrics.time_errors
align = metrics.align


def card() -> dict:
    return json.loads(CARD.read_text(encoding="utf-8"))


def write(utt: Utterance, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    synth.write_wav(path, utt.audio)
    return path


def truth_words(utt: Utterance) -> list[tuple[str, float, float]]:
    return [(w.word, w.start, w.end) for w in utt.words]


def transcript_words(transcript) -> list[tuple[str, float, float]]:
    """(text, start, end) of every word of a nemo_desk Transcript, in order."""
    return [(w.text, w.start, w.end) for seg in transcript.segments for w in seg.words]


def json_words(path: Path) -> list[tuple[str, float, float]]:
    """Words of a nemo_desk transcript JSON file."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return [(w["text"], w["start"], w["end"]) for seg in doc["segments"] for w in seg["words"]]


@dataclass(frozen=True)
class CueCheck:
    cue: int
    word: str
    word_span: tuple[float, float]
    cue_span: tuple[float, float]


def cues_not_containing_their_words(cues, words: list[tuple[str, float, float]], tol: float = 0.0015) -> list[CueCheck]:
    """Walk the cues in order, consuming the transcript's words each cue shows.

    Returns every word whose [start, end] does not lie inside its cue's [start, end]
    (times in the files are rounded to milliseconds: `tol`). Raises AssertionError when
    the cue texts are not exactly the transcript's words in order.
    """
    bad: list[CueCheck] = []
    i = 0
    for n, cue in enumerate(cues, 1):
        for text in cue.text.split():
            assert i < len(words), f"cue {n} shows {text!r} beyond the transcript's words"
            w = words[i]
            assert w[0] == text, f"cue {n}: {text!r} where the transcript has {w[0]!r} (word {i})"
            if not (cue.start - tol <= w[1] and w[2] <= cue.end + tol):
                bad.append(CueCheck(n, text, (w[1], w[2]), (cue.start, cue.end)))
            i += 1
    assert i == len(words), f"the cues show {i} of {len(words)} words"
    return bad
