"""No word lost or doubled at a window cut, in continuous speech, with the trained model.

Continuous speech (tools/train_tiny/synth.continuous_recording: four trained voices, no
pause longer than 90 ms, so no cut can hide in a pause) is transcribed in one piece and in
overlapping windows; the merged words must be the one-piece words, at the same times.
The same runs with no overlap are the control: they do lose or double words at cuts.
(Measured over three recordings, 15 and 30 s windows: 7 and 2 errors at cuts without
overlap, 0 and 1 with; benchmarks/seams.py and the README's Performance section.)
"""
from __future__ import annotations

import numpy as np
import pytest

from nemo_desk.engine.chunking import FRAME_GRID_S, Window, plan_windows
from nemo_desk.engine.options import RECOMMENDED_OVERLAP_S
from nemo_desk.engine.transcriber import SAMPLE_RATE, TranscribeOptions, _speech, transcribe_array, transcribe_windows
from tests.support import truth
from tests.test_trained_model import loaded, report  # noqa: F401 (the module's model fixture)
from tools.train_tiny import synth

pytestmark = pytest.mark.slow


def words_of(transcript) -> list[tuple[str, float, float]]:
    return truth.transcript_words(transcript)


@pytest.fixture(scope="module")
def speech():
    # Seed 1: a recording the model reads in one piece with one slip in 379 words.
    rec = synth.continuous_recording(1, 150.0, truth.TRAIN_VOICES)
    assert max(b.start - a.end for a, b in zip(rec.words, rec.words[1:])) < 0.1
    return rec


@pytest.fixture(scope="module")
def one_piece(loaded, speech):  # noqa: F811
    tr = transcribe_array(loaded, speech.audio, TranscribeOptions(chunk_seconds=200))
    assert tr.meta["chunks"] == 1
    words = words_of(tr)
    assert truth.wer([[w.word for w in speech.words]], [[w for w, _, _ in words]]) <= 0.01
    return words


def differences(ref: list[tuple[str, float, float]], hyp: list[tuple[str, float, float]]) -> list:
    """Words lost, doubled or changed against `ref`, and words that moved by more than one
    encoder frame."""
    a, b = [w for w, _, _ in ref], [w for w, _, _ in hyp]
    out = []
    for i, j in truth.align(a, b):
        if i is None or j is None or a[i] != b[j] or abs(ref[i][1] - hyp[j][1]) > FRAME_GRID_S + 1e-6:
            out.append((ref[i] if i is not None else None, hyp[j] if j is not None else None))
    return out


def at_seams(diffs: list, stretches: list[tuple[float, float]]) -> list:
    """The differences that lie in one of `stretches` (seconds)."""
    return [d for d in diffs if any(lo <= next(w for w in d if w is not None)[1] <= hi for lo, hi in stretches)]


@pytest.mark.parametrize("window_s", [10, 15, 30])
def test_overlapping_windows_give_the_one_piece_words_and_times(loaded, speech, one_piece, window_s):  # noqa: F811
    """No word lost, doubled, changed or moved by more than a frame where two windows share
    audio. Far from any cut this tiny model may read a word differently with other context
    (the same kind of slip its one-piece run makes against the truth): bounded, not hidden."""
    options = TranscribeOptions(chunk_seconds=window_s, overlap_seconds=RECOMMENDED_OVERLAP_S)
    merged = transcribe_array(loaded, speech.audio, options)
    plain = transcribe_array(loaded, speech.audio, TranscribeOptions(chunk_seconds=window_s, overlap_seconds=0))
    # The plans the transcriber made: with the speech detector's map, as by default.
    found = _speech(speech.audio, options, lambda e: None)
    plan = plan_windows(speech.audio, SAMPLE_RATE, window_s, RECOMMENDED_OVERLAP_S, found)
    shared = [(b.start / SAMPLE_RATE, a.end / SAMPLE_RATE) for a, b in zip(plan, plan[1:])]
    cuts = [w.core_end / SAMPLE_RATE for w in plan_windows(speech.audio, SAMPLE_RATE, window_s, 0, found)[:-1]]
    near_plain_cuts = [(c - 1.5, c + 1.5) for c in cuts]
    with_overlap, without = differences(one_piece, words_of(merged)), differences(one_piece, words_of(plain))
    report(f"continuous speech, {window_s} s windows", windows=merged.meta["chunks"],
           at_seams_with_overlap=len(at_seams(with_overlap, shared)), elsewhere=len(with_overlap),
           at_plain_cuts_without=len(at_seams(without, near_plain_cuts)))
    assert merged.meta["chunks"] == len(plan) >= 150 / window_s
    assert at_seams(with_overlap, shared) == []
    assert len(with_overlap) <= 0.01 * len(one_piece)
    # The control: plain cuts do cost words there (or the test could not fail).
    assert at_seams(without, near_plain_cuts) != []


@pytest.mark.parametrize("seed", range(3))
def test_windows_at_random_points_merge_to_the_one_piece_words(loaded, speech, one_piece, seed):  # noqa: F811
    """Cuts placed anywhere (through words too), windows 12-25 s long sharing 3 s, their
    starts on the encoder's frame grid as the planner places them (off the grid the model
    hears every word at another frame phase): no word is lost, doubled or changed in the
    stretches two windows share. Elsewhere this tiny model may read a word differently
    with other context (measured: a word or two in 380, seconds from any cut, the same
    kind of slip the one-piece run makes against the truth); that is bounded, not hidden."""
    rng = np.random.default_rng(seed)
    total = len(speech.audio)
    cuts, at = [], 0
    while True:
        at += int(rng.uniform(12, 22) * SAMPLE_RATE)
        if at >= total - 3 * SAMPLE_RATE:
            break
        cuts.append(at)
    edges = [0, *cuts, total]
    half, grid = int(1.5 * SAMPLE_RATE), int(FRAME_GRID_S * SAMPLE_RATE)
    windows = [Window(k, max(0, a - half) // grid * grid, min(total, b + half), a, b)
               for k, (a, b) in enumerate(zip(edges, edges[1:]))]
    through_words = sum(1 for c in cuts if any(w.start < c / SAMPLE_RATE < w.end for w in speech.words))
    merged = words_of(transcribe_windows(loaded, speech.audio, windows, TranscribeOptions(batch_size=4)))
    diffs = differences(one_piece, merged)
    shared = [(w.start / SAMPLE_RATE, prev.end / SAMPLE_RATE) for prev, w in zip(windows, windows[1:])]
    report(f"random windows, seed {seed}", cuts=len(cuts), through_words=through_words,
           differences=len(diffs), at_seams=len(at_seams(diffs, shared)))
    assert at_seams(diffs, shared) == []
    assert len(diffs) <= 0.01 * len(one_piece)
