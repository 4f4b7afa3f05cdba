"""Edits of a transcript document, as pure functions: document in, new document out.

The editor's undo stack keeps the document before and after each of these, so an edit
never needs its own inverse. Segment indexes refer to `document.segments`.
"""
from __future__ import annotations

import dataclasses
import re

from nemo_desk.core.document import Speaker, TranscriptDocument
from nemo_desk.core.transcript import Segment
from nemo_desk.export.retime import retimed_segment, text_of
from nemo_desk.export.tokens import split_text


def _check(document: TranscriptDocument, index: int) -> None:
    if not 0 <= index < len(document.segments):
        raise IndexError(f"no segment {index}")


def set_text(document: TranscriptDocument, index: int, text: str) -> TranscriptDocument:
    """Segment `index` says `text` (times kept where words are unchanged: export/retime.py)."""
    _check(document, index)
    segments = list(document.segments)
    segments[index] = retimed_segment(segments[index], text)
    return document.with_segments(segments, document.padded_speakers())


def word_offsets(seg: Segment) -> list[int]:
    """Where each word of `seg` starts in `seg.text` (words are found in order; a word the
    text does not contain is placed where the previous one ended)."""
    offsets, pos = [], 0
    for w in seg.words:
        found = seg.text.find(w.text, pos)
        start = found if found >= 0 else pos
        offsets.append(start)
        pos = start + (len(w.text) if found >= 0 else 0)
    return offsets


def split_at(document: TranscriptDocument, index: int, char_pos: int) -> TranscriptDocument:
    """Split segment `index` before the word at (or after) character `char_pos` of its
    text; a word the position falls inside stays in the first part. No-op at the ends."""
    _check(document, index)
    seg = document.segments[index]
    if seg.words:
        head_words = sum(1 for start in word_offsets(seg) if start < char_pos)
        if not 0 < head_words < len(seg.words):
            return document
        a, b = seg.words[:head_words], seg.words[head_words:]
        first = Segment(text_of(a), seg.start, a[-1].end, a)
        second = Segment(text_of(b), b[0].start, seg.end, b)
    else:
        pieces = [t for t, _ in split_text(seg.text)]
        head_words = len(split_text(seg.text[:max(0, char_pos)]))
        if not 0 < head_words < len(pieces):
            return document
        # No word times: cut the segment's span in proportion to the characters.
        share = sum(map(len, pieces[:head_words])) / max(1, sum(map(len, pieces)))
        cut = round(seg.start + (seg.end - seg.start) * share, 3)
        first = Segment(" ".join(pieces[:head_words]), seg.start, cut, ())
        second = Segment(" ".join(pieces[head_words:]), cut, seg.end, ())
    speakers = list(document.padded_speakers())
    segments = list(document.segments)
    segments[index:index + 1] = [first, second]
    speakers[index:index + 1] = [speakers[index], speakers[index]]
    return document.with_segments(segments, tuple(speakers))


def merge_with_next(document: TranscriptDocument, index: int) -> TranscriptDocument:
    """Segment `index` and the next one become one (the first one's speaker)."""
    _check(document, index)
    if index + 1 >= len(document.segments):
        return document
    a, b = document.segments[index], document.segments[index + 1]
    words = a.words + b.words
    text = text_of(words) if (words and bool(a.words) == bool(b.words)) else " ".join(
        t for t in (a.text.strip(), b.text.strip()) if t)
    merged = Segment(text, min(a.start, b.start), max(a.end, b.end), words if a.words and b.words else ())
    speakers = list(document.padded_speakers())
    segments = list(document.segments)
    segments[index:index + 2] = [merged]
    speakers[index:index + 2] = [speakers[index]]
    return document.with_segments(segments, tuple(speakers))


def rename_speaker(document: TranscriptDocument, speaker_id: str, name: str) -> TranscriptDocument:
    """One name everywhere: segments refer to the id, so only the table changes."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a speaker needs a name")
    speakers = tuple(Speaker(s.id, name) if s.id == speaker_id else s for s in document.speakers)
    return dataclasses.replace(document, speakers=speakers)


def add_speaker(document: TranscriptDocument, name: str = "") -> tuple[TranscriptDocument, str]:
    """A new speaker ("Speaker n" unless named); returns the document and its id."""
    used = {s.id for s in document.speakers}
    n = len(document.speakers) + 1
    while f"S{n}" in used:
        n += 1
    sid = f"S{n}"
    speaker = Speaker(sid, " ".join(name.split()) or f"Speaker {n}")
    return dataclasses.replace(document, speakers=document.speakers + (speaker,)), sid


def set_speaker(document: TranscriptDocument, index: int, speaker_id: str | None) -> TranscriptDocument:
    _check(document, index)
    if speaker_id is not None and speaker_id not in {s.id for s in document.speakers}:
        raise ValueError(f"unknown speaker {speaker_id!r}")
    speakers = list(document.padded_speakers())
    speakers[index] = speaker_id
    return document.with_segments(list(document.segments), tuple(speakers))


def find(document: TranscriptDocument, needle: str, case: bool = False) -> list[tuple[int, int]]:
    """(segment, character offset) of every match, in order."""
    if not needle:
        return []
    pattern = re.compile(re.escape(needle), 0 if case else re.IGNORECASE)
    return [(i, m.start()) for i, seg in enumerate(document.segments) for m in pattern.finditer(seg.text)]


def replace_all(document: TranscriptDocument, needle: str, replacement: str, case: bool = False,
                only: int | None = None) -> tuple[TranscriptDocument, int]:
    """Replace every match (or those of segment `only`); returns the document and the count."""
    if not needle:
        return document, 0
    pattern = re.compile(re.escape(needle), 0 if case else re.IGNORECASE)
    count = 0
    for i, seg in enumerate(document.segments):
        if only is not None and i != only:
            continue
        new_text, n = pattern.subn(lambda _m: replacement, seg.text)
        if n:
            count += n
            document = set_text(document, i, new_text)
    return document, count
