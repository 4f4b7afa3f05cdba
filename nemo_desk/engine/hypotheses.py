"""Turning NeMo's per-chunk hypotheses into our Words and Segments, in file time.

Kept free of torch/NeMo imports: it reads the plain dicts NeMo puts in
`Hypothesis.timestamp` ({'word': [{'word', 'start', 'end', ...}], 'segment': [...]})
so it can be tested with plain data.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from nemo_desk.core.transcript import Segment, Word

_SPECIAL = re.compile(r"<\|[^|>]*\|>")  # Canary control tokens that can leak into text


def clean_text(text: str) -> str:
    return " ".join(_SPECIAL.sub(" ", text or "").split())


def _clamp(value: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, value))


def words_from_timestamps(stamps: Iterable[dict[str, Any]], offset: float, chunk_end: float) -> list[Word]:
    """Word dicts (chunk-relative seconds) to Words in file time.

    Times are clamped to the chunk: the last frame can extend past the audio (frames are
    80 ms), and a word must never leak into the next chunk's span and overlap it.
    """
    words: list[Word] = []
    for item in stamps:
        text = clean_text(str(item.get("word", item.get("char", ""))))
        if not text:
            continue
        start = _clamp(offset + float(item.get("start", 0.0)), offset, chunk_end)
        end = _clamp(offset + float(item.get("end", item.get("start", 0.0))), start, chunk_end)
        words.append(Word(text, round(start, 3), round(end, 3)))
    return words


def segments_from_chunk(
    text: str,
    timestamp: dict[str, Any] | None,
    offset: float,
    chunk_end: float,
) -> list[Segment]:
    """Segments for one chunk.

    With word times: NeMo's segments (split at . ? !) with their words attached by time.
    Without (Canary-1B): one segment spanning the chunk, so subtitles still have times.
    """
    text = clean_text(text)
    word_items = (timestamp or {}).get("word") or []
    if not word_items:
        if not text:
            return []
        return [Segment(text, round(offset, 3), round(chunk_end, 3), ())]
    words = words_from_timestamps(word_items, offset, chunk_end)
    if not words:
        return []
    seg_items = (timestamp or {}).get("segment") or []
    segments: list[Segment] = []
    i = 0
    for seg in seg_items:
        n = len(clean_text(str(seg.get("segment", ""))).split())
        if n == 0:
            continue
        group = words[i : i + n]
        i += len(group)
        if group:
            segments.append(segment_of(group))
    if i < len(words):  # words NeMo left out of its segments: keep them, never drop speech
        segments.append(segment_of(words[i:]))
    return segments


def segment_of(words: list[Word]) -> Segment:
    return Segment(" ".join(w.text for w in words), words[0].start, words[-1].end, tuple(words))
