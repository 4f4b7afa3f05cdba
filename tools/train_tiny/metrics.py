"""Word error rate and word-time errors against known ground truth (pure Python/numpy)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def align(ref: list[str], hyp: list[str]) -> list[tuple[int | None, int | None]]:
    """Levenshtein alignment of two word lists: (ref index, hyp index) pairs in order.

    (i, j) is a match or substitution, (i, None) a deletion, (None, j) an insertion.
    Ties prefer matches, so equal words line up.
    """
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=np.int32)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]), d[i - 1, j] + 1, d[i, j - 1] + 1)
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    return pairs[::-1]


def errors(ref: list[str], hyp: list[str]) -> int:
    """Substitutions + deletions + insertions."""
    return sum(1 for i, j in align(ref, hyp) if i is None or j is None or ref[i] != hyp[j])


def wer(refs: list[list[str]], hyps: list[list[str]]) -> float:
    """Corpus WER: all errors over all reference words."""
    total = sum(len(r) for r in refs)
    return sum(errors(r, h) for r, h in zip(refs, hyps)) / max(1, total)


@dataclass
class TimeErrors:
    start: list[float]  # hyp start - true start, per correctly recognised word (s)
    end: list[float]

    def summary(self) -> dict[str, float]:
        s, e = np.abs(self.start), np.abs(self.end)
        if not len(s):
            return {"words": 0}
        return {
            "words": int(len(s)),
            "start_median_abs_s": round(float(np.median(s)), 3),
            "start_p95_abs_s": round(float(np.percentile(s, 95)), 3),
            "start_median_signed_s": round(float(np.median(self.start)), 3),
            "end_median_abs_s": round(float(np.median(e)), 3),
            "end_p95_abs_s": round(float(np.percentile(e, 95)), 3),
            "end_median_signed_s": round(float(np.median(self.end)), 3),
        }


def time_errors(truth: list[tuple[str, float, float]], hyp: list[tuple[str, float, float]]) -> TimeErrors:
    """Start/end errors of the hypothesis words that match a true word (after alignment)."""
    pairs = align([w for w, _, _ in truth], [w for w, _, _ in hyp])
    te = TimeErrors([], [])
    for i, j in pairs:
        if i is not None and j is not None and truth[i][0] == hyp[j][0]:
            te.start.append(hyp[j][1] - truth[i][1])
            te.end.append(hyp[j][2] - truth[i][2])
    return te
