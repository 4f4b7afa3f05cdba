"""Words get speakers from frame probabilities (engine/speakers.py): pure numpy, tested
with synthetic probabilities whose right answer is known by construction."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.engine.speakers import (
    Diarization,
    assign_speakers,
    fill_gaps,
    label_spans,
    span_mass,
)

FS = 0.08


def conversation(turns: list[tuple[int, int]], n_cols: int, seed: int, word_frames: int = 4,
                 overlap_rival: float = 0.0):
    """Frame probabilities and a transcript for `turns` [(diarizer column, words)]:
    the speaking column gets 0.55-1.0, every other column 0-0.45 (or `overlap_rival`
    exactly, an overlapping but quieter speaker). Words are `word_frames` frames long
    with one-frame pauses; truth is each word's column."""
    rng = np.random.default_rng(seed)
    rows, words, truth = [], [], []
    t = 0
    for col, n_words in turns:
        for _ in range(n_words):
            block = rng.uniform(0.0, 0.45, size=(word_frames + 1, n_cols))
            if overlap_rival:
                block[:] = 0.0
                block[:, (col + 1) % n_cols] = overlap_rival
            block[:, col] = rng.uniform(0.55, 1.0, size=word_frames + 1)
            block[-1] = 0.0  # the pause after the word: nobody speaks
            rows.append(block)
            words.append(Word(f"w{len(words)}", round(t * FS, 3), round((t + word_frames) * FS, 3)))
            truth.append(col)
            t += word_frames + 1
    probs = np.vstack(rows) if rows else np.zeros((0, n_cols))
    # NeMo-like segments of up to 7 words, deliberately ignoring turn boundaries.
    segs = [Segment(" ".join(w.text for w in words[i:i + 7]), words[i].start, words[min(i + 6, len(words) - 1)].end,
                    tuple(words[i:i + 7])) for i in range(0, len(words), 7)]
    return Diarization(probs, FS), Transcript(segs, duration=t * FS), truth


def expected_names(truth: list[int]) -> list[str]:
    order: dict[int, int] = {}
    for col in truth:
        order.setdefault(col, len(order) + 1)
    return [f"Speaker {order[c]}" for c in truth]


turns_strategy = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6)), min_size=1, max_size=25)


@settings(max_examples=100, deadline=None)
@given(turns=turns_strategy, seed=st.integers(0, 10_000))
def test_every_word_gets_its_speaker_numbered_by_first_appearance(turns, seed):
    diar, transcript, truth = conversation(turns, 4, seed)
    out = assign_speakers(transcript, diar)
    got = [w.speaker for w in out.words]
    assert got == expected_names(truth)
    # Nothing lost, nothing reordered, and the table lists exactly the speakers heard.
    assert [w.text for w in out.words] == [w.text for w in transcript.words]
    assert sorted(out.speaker_table.values()) == sorted(set(got))
    assert set(out.speaker_table) == {f"S{n}" for n in range(1, len(set(got)) + 1)}
    for seg in out.segments:  # a segment never mixes speakers, and says whose it is
        assert {w.speaker for w in seg.words} == {seg.speaker}
        assert seg.text == " ".join(w.text for w in seg.words)
        assert seg.start <= seg.end
    # Segments split exactly at the changes: consecutive segments of one speaker only
    # where the original transcript had a segment boundary there.
    assert len(out.segments) >= len(transcript.segments)


@settings(max_examples=50, deadline=None)
@given(turns=turns_strategy, seed=st.integers(0, 10_000), perm=st.permutations(range(4)))
def test_diarizer_column_order_does_not_matter(turns, seed, perm):
    diar, transcript, _ = conversation(turns, 4, seed)
    shuffled = Diarization(diar.probs[:, list(perm)], FS)
    assert assign_speakers(transcript, shuffled) == assign_speakers(transcript, diar)


@settings(max_examples=50, deadline=None)
@given(turns=turns_strategy, seed=st.integers(0, 10_000), rival=st.floats(0.05, 0.5))
def test_overlapped_speech_goes_to_the_dominant_speaker(turns, seed, rival):
    diar, transcript, truth = conversation(turns, 4, seed, overlap_rival=rival)
    assert [w.speaker for w in assign_speakers(transcript, diar).words] == expected_names(truth)


@settings(max_examples=100, deadline=None)
@given(probs=st.lists(st.lists(st.floats(0, 1), min_size=3, max_size=3), min_size=1, max_size=30),
       a=st.floats(0, 3), length=st.floats(0, 2))
def test_span_mass_is_the_exact_integral(probs, a, length):
    """Checked against a brute-force Riemann sum over 1 ms steps."""
    diar = Diarization(np.asarray(probs), FS)
    b = a + length
    mass = span_mass(diar, [a], [b])[0]
    if length <= 1e-9:
        return
    step = 0.0005
    ts = np.arange(a + step / 2, b, step)
    frame = np.floor(ts / FS).astype(int)
    inside = frame < len(probs)
    brute = np.zeros(3)
    for f in frame[inside]:
        brute += np.asarray(probs[f]) * step
    assert np.allclose(mass, brute, atol=2 * step + 1e-6)


def test_partial_frames_weigh_by_overlap():
    # Frame 0: speaker A, frame 1: speaker B. A word over 1/3 of frame 0 and 2/3 of
    # frame 1 is B's; shifted to 2/3 and 1/3 it is A's.
    diar = Diarization(np.array([[1.0, 0.0], [0.0, 1.0]]), FS)
    assert label_spans(diar, [FS * 2 / 3], [FS * 2 / 3 + FS]) == [1]
    assert label_spans(diar, [FS * 1 / 3], [FS * 1 / 3 + FS]) == [0]
    # A word of zero length takes the frame it lies in.
    assert label_spans(diar, [FS * 1.5], [FS * 1.5]) == [1]


def test_silent_words_take_a_neighbour():
    assert fill_gaps([None, 1, None, None, 0, None]) == [1, 1, 1, 1, 0, 0]
    assert fill_gaps([None, None]) == [None, None]
    probs = np.zeros((20, 2))
    probs[5:10, 1] = 0.9  # only the middle word is heard
    words = (Word("a", 0.0, 0.3), Word("b", 0.4, 0.8), Word("c", 1.2, 1.5))
    out = assign_speakers(Transcript([Segment("a b c", 0.0, 1.5, words)], 1.6), Diarization(probs, FS))
    assert [w.speaker for w in out.words] == ["Speaker 1"] * 3
    assert out.speaker_table == {"S1": "Speaker 1"}


def test_nobody_heard_leaves_the_transcript_as_it_was():
    t = Transcript([Segment("a", 0.0, 0.5, (Word("a", 0.0, 0.5),))], 1.0)
    assert assign_speakers(t, Diarization(np.zeros((12, 4)), FS)) is t
    assert assign_speakers(t, Diarization(np.zeros((0, 4)), FS)) is t


def test_segments_without_word_times_get_one_speaker_each():
    probs = np.zeros((100, 2))
    probs[:50, 1] = 0.9
    probs[50:, 0] = 0.7
    probs[40:60, 1] = 0.6  # the overlap at the change: 10 frames of B in the second segment
    segs = [Segment("first part", 0.0, 4.0), Segment("second part", 4.0, 8.0)]
    out = assign_speakers(Transcript(segs, 8.0, has_word_times=False), Diarization(probs, FS))
    assert [(s.text, s.speaker) for s in out.segments] == [("first part", "Speaker 1"), ("second part", "Speaker 2")]
    assert out.speaker_table == {"S1": "Speaker 1", "S2": "Speaker 2"}


def test_split_pieces_keep_times_and_the_outer_edges():
    probs = np.zeros((40, 2))
    probs[:15, 0] = 1.0
    probs[15:, 1] = 1.0
    words = (Word("one", 0.1, 0.5), Word("two", 0.6, 1.1), Word("three", 1.3, 2.0), Word("four", 2.1, 2.9))
    seg = Segment("one two three four.", 0.05, 3.0, words)
    out = assign_speakers(Transcript([seg], 3.2), Diarization(probs, FS))
    assert [(s.text, s.start, s.end, s.speaker) for s in out.segments] == [
        ("one two", 0.05, 1.1, "Speaker 1"), ("three four", 1.3, 3.0, "Speaker 2")]


def test_diarization_round_trips_through_json():
    rng = np.random.default_rng(1)
    diar = Diarization(rng.uniform(size=(37, 4)), FS)
    back = Diarization.from_json(diar.to_json())
    assert back.frame_s == FS and back.probs.shape == (37, 4)
    assert np.allclose(back.probs, diar.probs, atol=1e-4)
    empty = Diarization.from_json(Diarization(np.zeros((0, 4)), FS).to_json())
    assert empty.probs.shape[0] == 0


def test_probabilities_must_be_a_matrix():
    with pytest.raises(ValueError):
        Diarization(np.zeros(5), FS)


@settings(max_examples=50, deadline=None)
@given(turns=turns_strategy, seed=st.integers(0, 10_000), count=st.integers(1, 4))
def test_a_count_keeps_the_most_active_speakers(turns, seed, count):
    from nemo_desk.engine.speakers import limit_speakers

    diar, transcript, truth = conversation(turns, 4, seed)
    limited = limit_speakers(diar, count)
    out = assign_speakers(transcript, limited)
    assert len(out.speaker_table) <= count
    mass = diar.probs.sum(axis=0)
    kept = set(np.argsort(-mass, kind="stable")[:count].tolist())
    # Words of a kept speaker still go to that speaker.
    names = {}
    for w, col in zip(out.words, truth):
        if col in kept:
            assert names.setdefault(col, w.speaker) == w.speaker
    assert len(set(names.values())) == len(names)


def test_one_progress_for_transcription_and_speakers():
    from nemo_desk.core.events import LogEvent, Progress
    from nemo_desk.engine.options import TranscribeOptions
    from nemo_desk.engine.speaker_job import combined_progress

    seen = []
    assert combined_progress(seen.append, TranscribeOptions()) == seen.append  # speakers off: as it was
    relay = combined_progress(seen.append, TranscribeOptions(speakers="auto"), share=0.75)
    events = [Progress("transcribing", 0, 100), Progress("transcribing", 100, 100), LogEvent("info", "x"),
              Progress("diarizing", 0, 100), Progress("diarizing", 50, 100), Progress("diarizing", 100, 100),
              Progress("writing", 0, 2)]
    for e in events:
        relay(e)
    bar = [e.done for e in seen if isinstance(e, Progress) and e.stage == "transcribing"]
    assert bar == [0, 75, 75, 87.5, 100]
    assert seen[2] == events[2] and seen[-1] == events[-1]
