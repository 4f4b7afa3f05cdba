"""Who said what: giving each word a speaker from a diarizer's frame probabilities.

Pure numpy, no torch/NeMo: the diarizer (engine/diarizer.py) or the embedding path
(engine/clustering.py) produce a `Diarization`, a (frames x speakers) matrix of speaker
activity probabilities on a fixed frame grid (Sortformer: 80 ms). The probabilities are
used as they are, never thresholded first: a 0.5 threshold drops words the model was
unsure about, while the most probable speaker over a word's frames is always defined.

Rules (issue #16): each word gets the speaker with the largest probability mass over the
word's span (overlapped speech therefore goes to the dominant speaker); a word over frames
where nobody is active takes its neighbour's speaker (the previous word's, or the next
one's at the very start), so no word is left without one; segments split wherever the
speaker changes; speakers are numbered in order of first appearance ("Speaker 1", ...).
A model without word times (Canary-1B) gets one speaker per segment the same way.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nemo_desk.core.transcript import Segment, Transcript, Word

FRAME_S = 0.08  # Sortformer's output frame (8x subsampling of 10 ms features)
# Below this probability mass (in speaker-seconds) over a word, nobody is speaking there.
SILENT_MASS = 1e-6


@dataclass(frozen=True)
class Diarization:
    """Speaker activity on a frame grid: probs[i, k] is speaker k's probability over
    [i * frame_s, (i + 1) * frame_s). Speaker columns are the diarizer's own order."""

    probs: np.ndarray
    frame_s: float = FRAME_S

    def __post_init__(self) -> None:
        probs = np.asarray(self.probs, dtype=np.float32)
        if probs.ndim != 2:
            raise ValueError(f"speaker probabilities must be frames x speakers, got shape {probs.shape}")
        object.__setattr__(self, "probs", probs)

    @property
    def num_speakers(self) -> int:
        return int(self.probs.shape[1])

    def to_json(self) -> str:
        # 4 decimals: far finer than any decision made from them, and a tenth of the size.
        return json.dumps({"frame_s": self.frame_s, "speakers": self.num_speakers,
                           "probs": np.round(self.probs, 4).tolist()})

    @classmethod
    def from_json(cls, text: str) -> "Diarization":
        data = json.loads(text)
        probs = np.asarray(data["probs"], dtype=np.float32).reshape(-1, int(data["speakers"]))
        return cls(probs, float(data["frame_s"]))


def speaker_id(number: int) -> str:
    return f"S{number}"


def default_name(number: int) -> str:
    return f"Speaker {number}"


def span_mass(diar: Diarization, starts: Sequence[float], ends: Sequence[float]) -> np.ndarray:
    """(spans x speakers): each speaker's probability integrated over [start, end).

    Frames are piecewise constant, so the integral is exact, partial frames included
    (a word that covers a third of a frame gets a third of its weight). A span of zero
    length takes the frame it lies in. Times past the last frame count as silence."""
    probs, fs = diar.probs, diar.frame_s
    n, k = probs.shape
    lo = np.asarray(starts, dtype=np.float64)
    hi = np.maximum(np.asarray(ends, dtype=np.float64), lo)
    if n == 0:
        return np.zeros((len(lo), k))
    cum = np.vstack([np.zeros((1, k)), np.cumsum(probs, axis=0, dtype=np.float64)])  # cum[i] = sum probs[:i]
    padded = np.vstack([probs.astype(np.float64), np.zeros((1, k))])

    def integral(t: np.ndarray) -> np.ndarray:  # integral of the activity from 0 to t
        pos = np.clip(t / fs, 0.0, float(n))
        i = np.minimum(np.floor(pos).astype(np.int64), n)
        return fs * (cum[i] + (pos - i)[:, None] * padded[i])

    mass = integral(hi) - integral(lo)
    point = hi - lo <= 1e-9
    if point.any():
        i = np.floor(np.clip(lo[point] / fs, 0.0, float(n))).astype(np.int64)
        mass[point] = padded[i] * fs
    return np.maximum(mass, 0.0)


def label_spans(diar: Diarization, starts: Sequence[float], ends: Sequence[float]) -> list[int | None]:
    """The dominant speaker column of each span, or None where nobody is active."""
    mass = span_mass(diar, starts, ends)
    if mass.size == 0:
        return [None] * len(mass)
    best = np.argmax(mass, axis=1)
    return [int(b) if mass[j, b] > SILENT_MASS else None for j, b in enumerate(best)]


def fill_gaps(labels: list[int | None]) -> list[int | None]:
    """Unlabelled items take the previous item's speaker (the one still talking), or the
    next one's before anybody has spoken. All None stays all None."""
    out = list(labels)
    last: int | None = None
    for j, lab in enumerate(out):
        if lab is None:
            out[j] = last
        else:
            last = lab
    following: int | None = None
    for j in range(len(out) - 1, -1, -1):
        if out[j] is None:
            out[j] = following
        else:
            following = out[j]
    return out


def number_by_appearance(labels: list[int | None]) -> dict[int, int]:
    """Diarizer column -> speaker number (1, 2, ...) in order of first appearance."""
    numbers: dict[int, int] = {}
    for lab in labels:
        if lab is not None and lab not in numbers:
            numbers[lab] = len(numbers) + 1
    return numbers


def assign_speakers(transcript: Transcript, diar: Diarization) -> Transcript:
    """`transcript` with a speaker on every word and segment, split at speaker changes,
    and its speakers table. Unchanged when the diarizer heard nobody."""
    segments = transcript.segments
    # One unit per word, or per segment for a segment without word times.
    units = [(si, wi, w.start, w.end) for si, s in enumerate(segments) for wi, w in enumerate(s.words)]
    units += [(si, -1, s.start, s.end) for si, s in enumerate(segments) if not s.words]
    units.sort(key=lambda u: (u[2], u[3], u[0], u[1]))
    labels = fill_gaps(label_spans(diar, [u[2] for u in units], [u[3] for u in units]))
    numbers = number_by_appearance(labels)
    if not numbers:
        return transcript
    names = {col: default_name(num) for col, num in numbers.items()}
    by_unit = {(u[0], u[1]): names[lab] for u, lab in zip(units, labels) if lab is not None}
    out: list[Segment] = []
    for si, seg in enumerate(segments):
        if not seg.words:
            out.append(dataclasses.replace(seg, speaker=by_unit[(si, -1)]))
            continue
        words = [dataclasses.replace(w, speaker=by_unit[(si, wi)]) for wi, w in enumerate(seg.words)]
        out.extend(split_at_changes(seg, words))
    table = {speaker_id(num): default_name(num) for num in sorted(numbers.values())}
    return dataclasses.replace(transcript, segments=out, speaker_table=table)


def split_at_changes(seg: Segment, words: list[Word]) -> list[Segment]:
    """One segment per run of words by the same speaker. An unsplit segment keeps its own
    text and span; pieces take their words' text and times (the first and last piece keep
    the segment's outer edges)."""
    runs: list[list[Word]] = []
    for w in words:
        if runs and runs[-1][-1].speaker == w.speaker:
            runs[-1].append(w)
        else:
            runs.append([w])
    if len(runs) == 1:
        return [dataclasses.replace(seg, words=tuple(words), speaker=words[0].speaker)]
    pieces = []
    for j, run in enumerate(runs):
        start = seg.start if j == 0 else run[0].start
        end = seg.end if j == len(runs) - 1 else run[-1].end
        pieces.append(Segment(" ".join(w.text for w in run), start, end, tuple(run), run[0].speaker))
    return pieces


def limit_speakers(diar: Diarization, count: int | None) -> Diarization:
    """At most `count` speakers: the `count` columns with the most activity are kept and the
    others' activity is dropped (their words go to whoever else is most probable there).
    The user's count is an upper bound here, never a number to invent speakers for."""
    if count is None or count >= diar.num_speakers:
        return diar
    mass = diar.probs.sum(axis=0)
    keep = np.argsort(-mass, kind="stable")[: max(count, 1)]
    probs = np.zeros_like(diar.probs)
    probs[:, keep] = diar.probs[:, keep]
    return Diarization(probs, diar.frame_s)
