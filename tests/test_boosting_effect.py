"""Does boosting a word fix it where it was misheard, and only there? (trained digits model)

Held-out speech (new speakers, new word sequences, tools/train_tiny/synth.py) under a
steady noise bed 20 dB below the speech: there the model misses "world" about one time
in four (21 of 80). Issue #20 asks that boosting "world" at the default strength fix most
of those misses, keep the other words as good as before, give the boosted words ordinary
word times, and not write "world" into speech that never says it. The strengths in
engine/vocabulary.py come from benchmarks/boosting_tune.py on other seeds (101-123 and
201-223; this test's stay held out). Measured here at the default: 11 of 21 fixed, other
errors 7 -> 7, never written where not said (in 5 recordings that say it and 5 that do
not). Under heavier noise (10 dB, the tuning seeds) the default fixes half and writes
the word a few times where it was not said: README "Vocabulary".
"""
from __future__ import annotations

import numpy as np
import pytest

from nemo_desk.engine.loader import load_from_folder
from nemo_desk.engine.transcriber import TranscribeOptions, transcribe_array
from nemo_desk.engine.unpack import unpack_nemo
from nemo_desk.locks.fileops import FileOps
from tests.support import truth
from tools.train_tiny import synth

pytestmark = pytest.mark.slow
WORD = "world"
SNR_DB = 20.0
# Held out: benchmarks/boosting_tune.py chose the strengths on seeds 101-123 / 201-223.
SPOKEN_SEEDS = (31, 33, 35, 37, 39)
ABSENT_SEEDS = (32, 34, 36, 38, 40)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("effect") / "digits"
    unpack_nemo(truth.MODEL, folder, FileOps())
    return load_from_folder(folder, "cpu")


def _recording(seed: int, n: int, with_word: bool, snr_db: float = SNR_DB) -> synth.Utterance:
    rng = np.random.default_rng(seed)
    speakers = synth.random_speakers(rng, 6, synth.TRAIN_VOICES)
    banks = synth.clip_banks(speakers)
    utts = []
    for i in range(n):
        words = [w for w in synth.random_words(rng, int(rng.integers(3, 7))) if w != WORD] or ["one"]
        if with_word:
            words.insert(int(rng.integers(0, len(words) + 1)), WORD)
        utts.append(synth.compose(words, banks[i % len(banks)], rng))
    rec = synth.join(utts, [0.8] * (n - 1), lead_s=0.3)
    noisy = synth.noise_bed(rec.audio, snr_db, np.random.default_rng(seed + 1))
    return synth.Utterance(noisy, rec.text, rec.words, rec.speaker)


def _run(loaded, rec, **boost):
    t = transcribe_array(loaded, rec.audio, TranscribeOptions(chunk_seconds=30, batch_size=4, **boost))
    return truth.transcript_words(t)


def _score(rec, hyp):
    """(misses of WORD, errors at other true words, insertions of WORD where it was not said)."""
    ref = [w.word for w in rec.words]
    said = [w for w, _, _ in hyp]
    misses = other = inserted = 0
    for i, j in truth.align(ref, said):
        if i is not None and ref[i] == WORD:
            misses += j is None or said[j] != WORD
        elif i is None or j is None or ref[i] != said[j]:
            other += 1
            inserted += j is not None and said[j] == WORD
    return misses, other - inserted, inserted


def _missed(rec, hyp) -> set[int]:
    """Positions (in the true words) of the spoken WORDs the transcript does not have."""
    ref = [w.word for w in rec.words]
    said = [w for w, _, _ in hyp]
    return {i for i, j in truth.align(ref, said) if i is not None and ref[i] == WORD and (j is None or said[j] != WORD)}


def _total(scores):
    return tuple(sum(col) for col in zip(*scores))


@pytest.fixture(scope="module")
def measured(digits):
    spoken = [_recording(s, 16, with_word=True) for s in SPOKEN_SEEDS]
    absent = [_recording(s, 16, with_word=False) for s in ABSENT_SEEDS]
    runs = {"spoken": spoken, "base": [_run(digits, r) for r in spoken],
            "boosted": [_run(digits, r, boost=(WORD,)) for r in spoken],
            "base_absent": [_run(digits, r) for r in absent],
            "boosted_absent": [_run(digits, r, boost=(WORD,)) for r in absent]}
    m0, o0, i0 = _total(_score(r, h) for r, h in zip(spoken, runs["base"]))
    m1, o1, i1 = _total(_score(r, h) for r, h in zip(spoken, runs["boosted"]))
    ins0 = sum([w for w, _, _ in h].count(WORD) for h in runs["base_absent"])
    ins1 = sum([w for w, _, _ in h].count(WORD) for h in runs["boosted_absent"])
    fixed = sum(len(_missed(r, b) - _missed(r, h)) for r, b, h in zip(spoken, runs["base"], runs["boosted"]))
    said = sum(w.word == WORD for r in spoken for w in r.words)
    print(f"\n[boosting] said {WORD} {said}x: misses {m0} -> {m1} "
          f"({fixed} fixed), other errors {o0} -> {o1}, inserted where not said {i0} -> {i1}; "
          f"audio without it: {ins0} -> {ins1}")
    assert m0 >= 8, "the noise bed no longer makes the model miss the word: the test proves nothing"
    runs.update(m0=m0, m1=m1, o0=o0, o1=o1, i0=i0, i1=i1, ins0=ins0, ins1=ins1, fixed=fixed)
    return runs


def test_boosting_fixes_most_misses(measured):
    assert measured["fixed"] > measured["m0"] / 2, (measured["fixed"], measured["m0"])


def test_boosting_adds_no_errors_elsewhere_and_no_false_insertions(measured):
    assert measured["o1"] <= measured["o0"]  # the other words are as good as before
    # The word is not written where it was not said: neither between the words of the
    # recordings that say it nor anywhere in those that never do.
    assert measured["i1"] <= measured["i0"] and measured["ins1"] <= measured["ins0"]


def test_boosted_words_carry_ordinary_word_times(measured):
    """As close to the truth as the other words."""
    boosted_times, plain_errors = [], []
    for spoken, base, boosted in zip(measured["spoken"], measured["base"], measured["boosted"]):
        truth_words = truth.truth_words(spoken)
        errs = truth.time_errors(truth_words, boosted)
        plain = truth.time_errors(truth_words, base)
        plain_errors.extend(np.abs(plain.start + plain.end))
        matched = [(w, s, e) for (w, *_), s, e in zip(_matched(truth_words, boosted), errs.start, errs.end)]
        boosted_times += [(s, e) for w, s, e in matched if w == WORD]
    bound = max(0.25, float(np.percentile(plain_errors, 95)))
    assert len(boosted_times) >= measured["m0"] - measured["m1"]
    assert all(abs(s) <= bound and abs(e) <= bound for s, e in boosted_times), (bound, boosted_times)


def _matched(truth_words, hyp):
    """The true words that time_errors measured, in its order (matches after alignment)."""
    pairs = truth.align([w for w, _, _ in truth_words], [w for w, _, _ in hyp])
    return [truth_words[i] for i, j in pairs if i is not None and j is not None and truth_words[i][0] == hyp[j][0]]
