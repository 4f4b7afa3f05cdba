"""Merging overlapping windows' readings (plain data; the model-backed checks are in
tests/test_seams.py)."""
from __future__ import annotations

import numpy as np
import pytest

from nemo_desk.core.transcript import Segment, Word
from nemo_desk.engine.chunking import Window, plan_windows
from nemo_desk.engine.merge import merge_windows

SR = 16000


def _reading(words: list[tuple[str, float, float]], lo: float, hi: float, edge_noise: str | None = None) -> list[Segment]:
    """What a window [lo, hi) hears of `words`: the words inside it; a word cut by an edge
    is heard as `edge_noise` (misheard) or not at all."""
    heard = []
    for text, s, e in words:
        if s >= lo and e <= hi:
            heard.append(Word(text, s, e))
        elif s < hi and e > lo and edge_noise:
            heard.append(Word(edge_noise, max(s, lo), min(e, hi)))
    return [Segment(" ".join(w.text for w in heard), heard[0].start, heard[-1].end, tuple(heard))] if heard else []


def _speech(n: int, seed: int) -> list[tuple[str, float, float]]:
    rng = np.random.default_rng(seed)
    vocab = ["one", "two", "three", "the", "go", "stop", "okay"]
    t, out = 0.2, []
    for _ in range(n):
        d = float(rng.uniform(0.2, 0.5))
        out.append((str(rng.choice(vocab)), round(t, 3), round(t + d, 3)))
        t += d + float(rng.uniform(0.03, 0.09))
    return out


def _windows(total_s: float, cuts: list[float], half: float) -> list[Window]:
    edges = [0.0, *cuts, total_s]
    return [Window(k, int(max(0.0, a - half) * SR), int(min(total_s, b + half) * SR), int(a * SR), int(b * SR))
            for k, (a, b) in enumerate(zip(edges, edges[1:]))]


@pytest.mark.parametrize("seed", range(40))
def test_windows_cut_anywhere_give_every_word_once(seed):
    """Cuts at random points, through words too; each window mishears the words its edges
    cut. The merge keeps each word exactly once, from the window that heard it whole."""
    words = _speech(120, seed)
    total = words[-1][2] + 0.2
    rng = np.random.default_rng(1000 + seed)
    cuts = sorted(float(c) for c in rng.uniform(3, total - 3, 5))
    cuts = [c for k, c in enumerate(cuts) if k == 0 or c - cuts[k - 1] > 3.5]
    windows = _windows(total, cuts, half=1.5)
    readings = {w.index: _reading(words, w.start / SR, w.end / SR, edge_noise="okay") for w in windows}
    merged = [(w.text, w.start, w.end) for s in merge_windows(windows, readings, SR, 30.0) for w in s.words]
    assert merged == words


def test_without_overlap_a_cut_word_is_lost_or_doubled():
    """The control: the same readings with no overlap (cores only) do lose or double words."""
    words = _speech(60, 3)
    total = words[-1][2] + 0.2
    mid = words[30]
    windows = _windows(total, [(mid[1] + mid[2]) / 2], half=0.0)
    readings = {w.index: _reading(words, w.start / SR, w.end / SR, edge_noise="okay") for w in windows}
    merged = [w.text for s in merge_windows(windows, readings, SR, 30.0) for w in s.words]
    assert merged != [w for w, _, _ in words]


def test_disagreeing_readings_keep_the_more_central_one():
    # Nothing in the overlap agrees: each side keeps its half (the side of the cut).
    windows = _windows(20.0, [10.0], half=2.0)
    left = [Segment("one two", 7.0, 11.5, (Word("one", 7.0, 7.4), Word("two", 11.0, 11.5)))]
    right = [Segment("go stop", 8.0, 13.0, (Word("go", 8.5, 8.9), Word("stop", 12.0, 12.5)))]
    merged = merge_windows(windows, {0: left, 1: right}, SR, 30.0)
    assert [(w.text, w.start) for s in merged for w in s.words] == [("one", 7.0), ("stop", 12.0)]


def test_times_stay_monotonic_and_segments_are_bounded():
    windows = _windows(40.0, [20.0], half=1.5)
    a = [Word(t, 1.0 + k * 0.5, 1.0 + k * 0.5 + 0.4) for k, t in enumerate(["one"] * 40)]
    b = [Word("two", 18.6, 19.2), Word("three", 19.1, 19.6), *[Word("go", 20 + k * 0.5, 20.4 + k * 0.5) for k in range(30)]]
    readings = {0: [Segment("x", 1.0, 21.0, tuple(w for w in a if w.end <= 21.5))],
                1: [Segment("y", 18.5, 40.0, tuple(b))]}
    merged = merge_windows(windows, readings, SR, 10.0)
    words = [w for s in merged for w in s.words]
    assert all(x.end <= y.start for x, y in zip(words, words[1:]))
    assert all(s.end - s.start <= 10.0 for s in merged)
    assert [s.text for s in merged] == [" ".join(w.text for w in s.words) for s in merged]


def test_sentence_segments_survive_the_merge():
    words = [("hello.", 1.0, 1.4), ("one", 1.5, 1.8), ("two.", 9.0, 9.5), ("go", 10.5, 10.9), ("stop.", 11.0, 11.4)]
    windows = _windows(14.0, [10.0], half=1.5)

    def reading(lo, hi):
        inside = [Word(*w) for w in words if w[1] >= lo and w[2] <= hi]
        groups, cur = [], []
        for w in inside:
            cur.append(w)
            if w.text.endswith("."):
                groups.append(cur)
                cur = []
        groups += [cur] if cur else []
        return [Segment(" ".join(w.text for w in g), g[0].start, g[-1].end, tuple(g)) for g in groups]

    merged = merge_windows(windows, {w.index: reading(w.start / SR, w.end / SR) for w in windows}, SR, 30.0)
    assert [s.text for s in merged] == ["hello.", "one two.", "go stop."]


def test_text_only_readings_merge_on_text_and_span_each_windows_part():
    """Canary-1B: no word times. The overlap is merged on the words; segments cover the
    windows' own parts (their span minus the overlap)."""
    text = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen twenty").split()
    # 20 words evenly over 0..20 s; cut at 10 s, overlap 4 s: window 0 = 0..12, window 1 = 8..20.
    windows = _windows(20.0, [10.0], half=2.0)
    left = [Segment(" ".join(text[:12]), 0.0, 12.0, ())]
    right = [Segment(" ".join(text[8:]), 8.0, 20.0, ())]
    merged = merge_windows(windows, {0: left, 1: right}, SR, 30.0)
    assert " ".join(s.text for s in merged).split() == text
    assert [(s.start, s.end) for s in merged] == [(0.0, 10.0), (10.0, 20.0)]
    assert all(not s.words for s in merged)
    # A misheard edge word on each side is still neither kept twice nor lost.
    left = [Segment(" ".join(text[:11] + ["tw"]), 0.0, 12.0, ())]
    right = [Segment(" ".join(["ine"] + text[9:]), 8.0, 20.0, ())]
    merged = merge_windows(windows, {0: left, 1: right}, SR, 30.0)
    assert " ".join(s.text for s in merged).split() == text


def test_plan_windows_overlap_cover_and_limit():
    rng = np.random.default_rng(5)
    audio = (rng.standard_normal(SR * 95) * 0.1).astype(np.float32)
    windows = plan_windows(audio, SR, 30, 3.0)
    assert windows[0].start == 0 and windows[-1].end == len(audio)
    assert windows[0].core_start == 0 and windows[-1].core_end == len(audio)
    for a, b in zip(windows, windows[1:]):
        assert a.core_end == b.core_start  # the cores tile the file: progress counts each second once
        assert b.start < a.core_end < a.end  # and each cut lies inside the shared stretch
        # Each edge sits in the quietest point of the outer half of its side of the overlap.
        assert 1.5 - 0.09 <= (a.end - b.start) / SR <= 3.0 + 0.09
        assert b.start % int(0.08 * SR) == 0  # on the encoder's frame grid
    assert all(w.length <= (30 + 0.08) * SR for w in windows)
    plain = plan_windows(audio, SR, 30, 0.0)
    assert all((w.start, w.end) == (w.core_start, w.core_end) for w in plain)
    assert plan_windows(audio[: SR * 29], SR, 30, 3.0) == [Window(0, 0, SR * 29, 0, SR * 29)]


def test_cli_overlap_option_reaches_the_job_and_is_checked():
    from pathlib import Path

    from nemo_desk import cli

    parser = cli.build_parser()
    args = parser.parse_args(["transcribe", "a.wav", "--overlap-seconds", "0"])
    assert cli._jobs_from_args(args, [Path("a.wav")])[0].options.overlap_seconds == 0.0
    default = parser.parse_args(["transcribe", "a.wav"])
    from nemo_desk.settings import Settings

    # Unsaid on the command line: the settings' value (the shared default, 3 s).
    assert cli._jobs_from_args(default, [Path("a.wav")])[0].options.overlap_seconds == Settings().overlap_seconds
    with pytest.raises(SystemExit, match="--overlap-seconds"):
        cli.check_transcribe(parser.parse_args(["transcribe", "a.wav", "--overlap-seconds", "-2"]))


def test_a_long_word_reaching_past_the_splice_does_not_pile_words_on_one_instant():
    windows = _windows(20.0, [10.0], half=1.5)
    left = [Segment("one two", 8.0, 11.4, (Word("one", 8.0, 8.3), Word("two", 8.9, 10.9)))]
    right = [Segment("go stop okay", 9.0, 11.0, (Word("go", 10.0, 10.1), Word("stop", 10.2, 10.3),
                                                  Word("okay", 10.5, 10.8)))]
    words = [w for s in merge_windows(windows, {0: left, 1: right}, SR, 30.0) for w in s.words]
    assert [w.text for w in words] == ["one", "two", "go", "stop", "okay"]
    assert all(a.start < b.start and a.end <= b.start for a, b in zip(words, words[1:]))
    assert [w.start for w in words[2:]] == [10.0, 10.2, 10.5]  # the short words keep their times


def test_a_fragment_at_a_window_edge_is_taken_from_the_window_that_holds_the_word_whole():
    """The next window starts right at the cut, in the tail of "go" (19.7-20.1 s), and hears
    that tail as "oh"; the previous window holds "go" whole and reaches past the cut. The
    fragment sits on the right side of the cut, so without the edge guard it was kept: "go"
    doubled as "go oh"."""
    windows = [Window(0, 0, int(21.5 * SR), 0, 20 * SR), Window(1, 20 * SR, 40 * SR, 20 * SR, 40 * SR)]
    left = [Segment("one go two", 18.0, 21.4, (Word("one", 18.0, 18.4), Word("go", 19.7, 20.1),
                                              Word("two", 20.9, 21.4)))]
    right = [Segment("oh two three", 20.0, 22.5, (Word("oh", 20.0, 20.1), Word("two", 20.9, 21.3),
                                                  Word("three", 22.0, 22.5)))]
    words = [(w.text, w.start) for s in merge_windows(windows, {0: left, 1: right}, SR, 30.0) for w in s.words]
    assert words == [("one", 18.0), ("go", 19.7), ("two", 20.9), ("three", 22.0)]
    # A word at the recording's own edges has no neighbour to come from: it stays.
    edge = [Segment("oh", 0.0, 0.1, (Word("oh", 0.0, 0.1),))]
    assert [w.text for s in merge_windows(windows, {0: edge, 1: []}, SR, 30.0) for w in s.words] == ["oh"]


def test_every_cut_overlaps_and_window_edges_sit_in_pauses():
    """Cuts in pauses reach into the neighbour too (the first word after a pause, heard with
    silence alone before it, was misread), and each window's own edges go to the quietest
    point near them: between words, so no window hears a fragment."""
    rng = np.random.default_rng(11)
    parts, pauses, t = [], [], 0.0
    for _ in range(80):  # words of 0.6 s, then 0.25 s of near silence
        parts.append((rng.standard_normal(int(0.6 * SR)) * 0.1).astype(np.float32))
        parts.append((rng.standard_normal(int(0.25 * SR)) * 1e-4).astype(np.float32))
        pauses.append((t + 0.6, t + 0.85))
        t += 0.85
    audio = np.concatenate(parts)
    windows = plan_windows(audio, SR, 20, 3.0)
    assert len(windows) >= 4
    for a, b in zip(windows, windows[1:]):
        assert b.start < a.core_end < a.end
        for edge in (a.end / SR, b.start / SR):
            assert any(lo - 0.02 <= edge <= hi + 0.02 for lo, hi in pauses), f"edge at {edge:.2f} s in sound"
