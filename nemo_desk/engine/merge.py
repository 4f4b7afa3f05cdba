"""Merging the readings of overlapping windows into one transcript.

Adjacent windows both hear the stretch around their cut. Near its own edge a window
hears a word without context and may mishear or halve it; the neighbour hears the same
word in the middle of its audio. So the two readings of the shared stretch are aligned
word by word (same text, start within a time tolerance): first the longest contiguous
run of agreement, then, when that is short, a longest common subsequence (the approach
of parakeet-mlx and of NeMo's buffered RNNT `lcs` merge). The splice goes at the
agreement nearest the cut (the middle of the overlap), so each word comes out exactly
once, from the window where it sat farther from an edge. With no agreement at all each
word is kept from the window in which it is more central (its side of the cut).

Readings without word times (Canary-1B) are merged the same way on their text, with
times spread evenly over the window; their segments then span each window's own part.
Plain data only (no numpy, torch or NeMo).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from nemo_desk.core.transcript import Segment, Word
from nemo_desk.engine.chunking import Window
from nemo_desk.engine.hypotheses import segment_of

# Two readings of one word start within this of each other: TDT times are whole 80 ms
# frames and window starts lie on the frame grid, so agreeing readings usually match
# exactly; three frames allow for a word heard a little differently near an edge while
# staying under the length of a spoken word (a neighbouring same word cannot match).
TIME_TOLERANCE_S = 0.25
# A contiguous run shorter than this share of the overlap's words is not trusted alone
# (one coincidental match); the LCS over the whole overlap decides then.
MIN_RUN_SHARE = 0.5
# A word that starts (ends) this close to a window's start (end) may be a fragment of a
# word the window heard only part of: it is trusted only from the neighbouring window,
# which holds that stretch whole. Half a short word: a real word there is also read by
# the neighbour, so dropping one window's copy loses nothing.
EDGE_GUARD_S = 0.15
_NOT_WORD = re.compile(r"[^\w']+")


@dataclass(frozen=True)
class Item:
    """One word of one window's reading, and whether its segment ended after it."""
    word: Word
    window: int
    ends_segment: bool = False

    @property
    def centre(self) -> float:
        return (self.word.start + self.word.end) / 2


def _key(text: str) -> str:
    # "Hello," at one window's edge and "hello" in the other's middle are one word.
    return _NOT_WORD.sub("", text).lower()


def items_of(reading: Sequence[Segment], window: int, span: tuple[float, float]) -> list[Item]:
    """A window's segments as Items; segments without word times get even estimates."""
    items: list[Item] = []
    for seg in reading:
        words = list(seg.words)
        if not words:
            texts = seg.text.split()
            lo, hi = (seg.start, seg.end) if seg.end > seg.start else span
            step = (hi - lo) / max(1, len(texts))
            words = [Word(t, round(lo + k * step, 3), round(lo + (k + 1) * step, 3)) for k, t in enumerate(texts)]
        items += [Item(w, window, k == len(words) - 1) for k, w in enumerate(words)]
    return items


def _pairs_contiguous(a: list[Item], b: list[Item], tol: float) -> list[tuple[int, int]]:
    best: list[tuple[int, int]] = []
    prev = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        cur = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if _match(a[i - 1], b[j - 1], tol):
                cur[j] = prev[j - 1] + 1
                if cur[j] > len(best):
                    best = [(i - cur[j] + k, j - cur[j] + k) for k in range(cur[j])]
        prev = cur
    return best


def _pairs_lcs(a: list[Item], b: list[Item], tol: float) -> list[tuple[int, int]]:
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = (table[i + 1][j + 1] + 1 if _match(a[i], b[j], tol)
                           else max(table[i + 1][j], table[i][j + 1]))
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if _match(a[i], b[j], tol) and table[i][j] == table[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _match(x: Item, y: Item, tol: float) -> bool:
    return _key(x.word.text) == _key(y.word.text) and abs(x.word.start - y.word.start) <= tol


def splice(left: list[Item], right: list[Item], overlap: tuple[float, float], cut: float,
           tol: float = TIME_TOLERANCE_S) -> list[Item]:
    """`left` (all words so far) followed by `right` (the next window's reading), with the
    readings of `overlap` (start, end seconds) aligned and spliced nearest `cut`."""
    lo, hi = overlap
    if hi - lo > 2 * EDGE_GUARD_S:
        left = [it for it in left if not (it.word.end > hi - EDGE_GUARD_S and it.word.start >= lo)]
        right = [it for it in right if not (it.word.start < lo + EDGE_GUARD_S and it.word.end <= hi)]
    a0 = next((i for i, it in enumerate(left) if it.word.end > lo - tol), len(left))
    b1 = next((j for j, it in enumerate(right) if it.word.start >= hi + tol), len(right))
    a, b = left[a0:], right[:b1]
    pairs = _pairs_contiguous(a, b, tol)
    if len(pairs) < MIN_RUN_SHARE * min(len(a), len(b)):
        lcs = _pairs_lcs(a, b, tol)
        pairs = lcs if len(lcs) > len(pairs) else pairs
    # Agreed words before the cut come from the left reading, the rest from the right;
    # between the two agreed words around the cut (or with no agreement at all) each word
    # comes from the window in which it is more central: its side of the cut.
    before = [p for p in pairs if (a[p[0]].centre + b[p[1]].centre) / 2 < cut]
    after = [p for p in pairs if (a[p[0]].centre + b[p[1]].centre) / 2 >= cut]
    i0, j0 = (before[-1][0] + 1, before[-1][1] + 1) if before else (0, 0)
    i1, j1 = after[0] if after else (len(a), len(right))
    return (left[: a0 + i0] + [it for it in a[i0:i1] if it.centre < cut]
            + [it for it in right[j0:j1] if it.centre >= cut] + right[j1:])


def merge_windows(windows: Sequence[Window], readings: dict[int, list[Segment]], sample_rate: int,
                  max_segment_s: float) -> list[Segment]:
    """One list of segments from every window's reading, each word once, times monotonic."""
    if all(w.start == w.core_start and w.end == w.core_end for w in windows):
        # No overlap (or one window): the readings tile the file as they are.
        return [seg for w in windows for seg in readings.get(w.index, [])]
    timed = any(seg.words for r in readings.values() for seg in r)
    tol = TIME_TOLERANCE_S if timed else _text_tolerance(windows, sample_rate)
    merged: list[Item] = []
    previous: Window | None = None
    for w in windows:
        start, end = w.start / sample_rate, w.end / sample_rate
        items = items_of(readings.get(w.index, []), w.index, (start, end))
        if previous is None:
            merged = items
        elif w.start >= previous.end:  # a cut in a pause: the readings simply follow each other
            merged = merged + items
        else:
            merged = splice(merged, items, (start, previous.end / sample_rate), w.core_start / sample_rate, tol)
        previous = w
    merged = _monotonic(merged)
    if not timed:
        return _segments_per_window(merged, windows, sample_rate)
    return rebuild_segments(merged, max_segment_s)


def _text_tolerance(windows: Sequence[Window], sample_rate: int) -> float:
    # Even estimates over a window can be off by a good part of the overlap: match on
    # text within the whole shared stretch.
    overlaps = [(b.core_start - b.start) + (a.end - a.core_end) for a, b in zip(windows, windows[1:])]
    return max(1.0, max(overlaps, default=0) / sample_rate)


def _monotonic(items: list[Item]) -> list[Item]:
    """Each word starts after the one before it (by at least a millisecond, the precision
    of the outputs) and ends by the time the next one starts. At a splice a long word of
    one reading can reach past a short word of the other; clamping each start to the
    previous *end* would then pile the following words onto one instant."""
    words = [it.word for it in items]
    starts: list[float] = []
    for k, w in enumerate(words):
        starts.append(w.start if k == 0 else max(w.start, round(starts[-1] + 0.001, 3)))
    out: list[Item] = []
    for k, it in enumerate(items):
        end = max(starts[k], min(words[k].end, starts[k + 1]) if k + 1 < len(items) else words[k].end)
        if (starts[k], end) != (it.word.start, it.word.end):
            it = replace(it, word=Word(it.word.text, starts[k], end))
        out.append(it)
    return out


def rebuild_segments(items: list[Item], max_segment_s: float) -> list[Segment]:
    """Segments where the windows' readings ended them (sentence ends), and none longer
    than `max_segment_s`: a longer one is split at its longest pause."""
    groups: list[list[Word]] = [[]]
    for it in items:
        groups[-1].append(it.word)
        if it.ends_segment:
            groups.append([])
    out: list[Segment] = []
    for group in groups:
        out += [segment_of(g) for g in _split_long(group, max_segment_s)]
    return out


def _split_long(words: list[Word], max_s: float) -> list[list[Word]]:
    if not words:
        return []
    if len(words) == 1 or words[-1].end - words[0].start <= max_s:
        return [words]
    gaps = [words[k + 1].start - words[k].end for k in range(len(words) - 1)]
    k = max(range(len(gaps)), key=lambda i: (gaps[i], -abs(i - len(gaps) / 2)))
    return _split_long(words[: k + 1], max_s) + _split_long(words[k + 1 :], max_s)


def _segments_per_window(items: list[Item], windows: Sequence[Window], sample_rate: int) -> list[Segment]:
    """Text-only readings: one segment per window over the window's own part (its core)."""
    out = []
    for w in windows:
        texts = [it.word.text for it in items if it.window == w.index]
        if texts:
            out.append(Segment(" ".join(texts), round(w.core_start / sample_rate, 3),
                               round(w.core_end / sample_rate, 3), ()))
    return out
