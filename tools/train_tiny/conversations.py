"""Synthetic conversations with exact speaker activity, from espeak-ng voices.

Turns of several speakers (tools/train_tiny/synth.py word clips), as a demanding test of
"who said what" wants them: dozens of turns, short replies ("yes", "okay"), the same
speaker going on after a pause, pauses of every length between turns and now and then
the next speaker starting before the last one has finished (overlap). Every word keeps
its speaker and its exact times, so word attribution can be scored against the truth.

The speakers of one conversation are different people in the way espeak-ng allows: each
has their own voice variant (its formants and pitch range), and their own speed and pitch.
Seeded: a seed always gives the same conversation, sample for sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.train_tiny import synth

SHORT_REPLIES = ["yes", "no", "okay", "okay yes", "no stop", "yes please", "go"]


@dataclass(frozen=True)
class SpokenWord:
    word: str
    start: float
    end: float
    speaker: int  # index into Conversation.speakers
    overlapped: bool  # another speaker talks during part of this word


@dataclass
class Conversation:
    audio: np.ndarray  # float32, 16 kHz mono
    words: list[SpokenWord]
    speakers: list[synth.Speaker]
    turns: list[tuple[int, float, float]]  # (speaker, start, end) in order of start

    @property
    def duration(self) -> float:
        return len(self.audio) / synth.SAMPLE_RATE


def distinct_speakers(rng: np.random.Generator, n: int, voices: list[str]) -> list[synth.Speaker]:
    """`n` speakers, each with a variant of their own (no two share one) and a random accent,
    speed and pitch."""
    if n > len(synth.VARIANTS):
        raise ValueError(f"at most {len(synth.VARIANTS)} distinct speakers")
    variants = rng.choice(len(synth.VARIANTS), size=n, replace=False)
    return [
        synth.Speaker(
            str(rng.choice(voices)),
            synth.VARIANTS[int(v)],
            int(rng.integers(synth.SPEEDS[0], synth.SPEEDS[1] + 1)),
            int(rng.integers(synth.PITCHES[0], synth.PITCHES[1] + 1)),
        )
        for v in variants
    ]


def conversation(
    seed: int,
    seconds: float,
    n_speakers: int,
    voices: list[str] = synth.UNSEEN_VOICES + synth.TRAIN_VOICES,
    banks: list[dict[str, np.ndarray]] | None = None,
    speakers: list[synth.Speaker] | None = None,
) -> Conversation:
    """About `seconds` of conversation among `n_speakers` new speakers. Every speaker has
    spoken within the first `n_speakers` turns. `speakers`/`banks` reuse voices already
    synthesised (a longer conversation among the same people)."""
    rng = np.random.default_rng(seed)
    if speakers is None:
        speakers = distinct_speakers(rng, n_speakers, voices)
    if banks is None:
        banks = synth.clip_banks(speakers)
    sr = synth.SAMPLE_RATE
    placed: list[tuple[int, int, synth.Utterance]] = []  # (speaker, start sample, utterance)
    pos, last = int(0.3 * sr), -1
    order = [int(k) for k in rng.permutation(n_speakers)]
    while pos < seconds * sr:
        if order:
            k = order.pop(0)
        elif rng.random() < 0.2:  # the same speaker goes on after a pause
            k = last
        else:
            k = int(rng.choice([s for s in range(n_speakers) if s != last]))
        if rng.random() < 0.25:
            words = str(rng.choice(SHORT_REPLIES)).split()
        else:
            words = synth.random_words(rng, int(rng.integers(3, 11)))
        utt = synth.compose(words, banks[k], rng, lead_s=(0.0, 0.02), tail_s=(0.0, 0.02))
        if k == last:
            start = pos + int(rng.uniform(0.6, 1.5) * sr)
        elif placed and rng.random() < 0.1:  # starts before the other has finished
            start = max(placed[-1][1], pos - int(rng.uniform(0.1, 0.3) * sr))
        else:
            start = pos + int(rng.uniform(0.15, 1.0) * sr)
        placed.append((k, start, utt))
        pos, last = start + len(utt.audio), k
    audio = np.zeros(pos + int(0.3 * sr), dtype=np.float32)
    spans: list[tuple[int, float, float]] = []
    raw: list[tuple[str, float, float, int]] = []
    for k, start, utt in placed:
        audio[start : start + len(utt.audio)] += utt.audio
        off = start / sr
        raw += [(w.word, w.start + off, w.end + off, k) for w in utt.words]
        spans.append((k, raw[-len(utt.words)][1], raw[-1][2]))
    words = [
        SpokenWord(w, s, e, k, any(k2 != k and s < e2 and s2 < e for w2, s2, e2, k2 in _near(raw, s, e)))
        for w, s, e, k in raw
    ]
    return Conversation(np.clip(audio, -1.0, 1.0), words, list(speakers), spans)


def _near(raw: list[tuple[str, float, float, int]], start: float, end: float):
    return (w for w in raw if w[1] < end + 1.0 and w[2] > start - 1.0)


@dataclass(frozen=True)
class Attribution:
    accuracy: float  # share of scored words with the right speaker, after the best label mapping
    scored: int  # words matched to a spoken word that no other speaker overlaps
    matched: int  # words matched to any spoken word
    total: int  # words given
    speakers_found: int
    speakers_true: int
    wrong: list[tuple[float, str, str]]  # (time, true speaker index, label given) of each miss


def score(conv: Conversation, words: list[tuple[float, float, str | None]]) -> Attribution:
    """How well `words` ((start, end, speaker label)) carry the conversation's speakers.
    Each word is matched to the spoken word it overlaps most; words in overlapped speech
    are left out of the accuracy (either speaker is defensible there). Labels are mapped
    to true speakers one to one, the mapping that gets most words right (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    starts = np.array([w.start for w in conv.words])
    ends = np.array([w.end for w in conv.words])
    pairs: list[tuple[int, str]] = []
    matched = 0
    for start, end, label in words:
        overlap = np.minimum(ends, end) - np.maximum(starts, start)
        j = int(np.argmax(overlap))
        if overlap[j] <= 0:
            continue
        matched += 1
        if not conv.words[j].overlapped:
            pairs.append((j, label or ""))
    labels = sorted({lab for _, _, lab in words if lab})
    index = {lab: i for i, lab in enumerate(labels)}
    n_true = len(conv.speakers)
    counts = np.zeros((n_true, max(len(labels), 1)), dtype=np.int64)
    for j, lab in pairs:
        if lab in index:
            counts[conv.words[j].speaker, index[lab]] += 1
    rows, cols = linear_sum_assignment(-counts)
    mapping = {labels[c]: r for r, c in zip(rows, cols) if c < len(labels)}
    wrong = [
        (round(conv.words[j].start, 2), str(conv.words[j].speaker), lab)
        for j, lab in pairs
        if mapping.get(lab) != conv.words[j].speaker
    ]
    right = len(pairs) - len(wrong)
    return Attribution(
        right / len(pairs) if pairs else 0.0, len(pairs), matched, len(words), len(labels), n_true, wrong
    )
