"""The timed word stream every exporter works from.

A transcript gives words with times (most models) or only segment text (models without
timestamps, e.g. Canary). Both become one flat list of `Token`s so cue building and
paragraph breaking have a single code path. Two things matter here:

* Times are made safe to lay out: finite, non-negative, starts never going backwards and
  ends never before starts. Models occasionally emit slightly overlapping or out-of-order
  word times; the layout code relies on monotonic starts to keep cues from overlapping.
* Whether a token is written with a space before it (`glue`). Chinese and Japanese are
  written without spaces, so rejoining their words with " " would corrupt the text.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

from nemo_desk.core.transcript import Segment, Transcript


# Times are compared with this slack: 3.6 + 2.0 is not 5.6 in binary floating point,
# and a pause printed as "2.000 s" must count as 2 s.
TIME_EPS = 1e-6


@dataclass(frozen=True)
class Token:
    text: str
    start: float
    end: float
    # True: written directly after the previous token, without a space.
    glue: bool = False
    # Index of the segment the token came from; a segment boundary is a good break.
    segment: int = 0
    speaker: str | None = None


def is_cjk(ch: str) -> bool:
    """Characters of scripts written without spaces between words (and their punctuation).

    Hangul is deliberately absent: Korean separates words with spaces.
    """
    cp = ord(ch)
    return (
        0x3000 <= cp <= 0x30FF  # CJK symbols and punctuation, hiragana, katakana
        or 0x3400 <= cp <= 0x4DBF  # CJK extension A
        or 0x4E00 <= cp <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= cp <= 0xFAFF  # CJK compatibility ideographs
        or 0xFF00 <= cp <= 0xFFEF  # full-width forms (，！？ and full-width letters)
        or 0x20000 <= cp <= 0x2FA1F  # supplementary ideographs
    )


# Small kana and the long-vowel mark may not start a line either (Japanese kinsoku).
_NO_LINE_START = "，．！？；：、）」』】〕…・ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶー"


def _attaches_to_previous(ch: str) -> bool:
    # Ideographic punctuation sticks to the character before it, like "." in English.
    return 0x3000 <= ord(ch) <= 0x303F or ch in _NO_LINE_START


_OPENING = "「『（【〔《〈“‘([{\"'"


def join_tokens(tokens: Iterable[Token]) -> str:
    """Text of consecutive tokens, with spaces only where the source had them."""
    parts: list[str] = []
    for tok in tokens:
        if parts and not tok.glue:
            parts.append(" ")
        parts.append(tok.text)
    return "".join(parts)


def split_text(text: str) -> list[tuple[str, bool]]:
    """Split segment text into (word, glue) pairs.

    Whitespace separates words; inside a run of CJK characters every character is its
    own word (that is how those scripts can be broken across lines), with ideographic
    punctuation kept on the character before it.
    """
    out: list[tuple[str, bool]] = []
    for chunk in text.split():
        glue = False  # the first piece of a chunk followed whitespace
        piece = ""
        for ch in chunk:
            starts_word = bool(piece) and (
                (is_cjk(ch) and not _attaches_to_previous(ch))
                # Latin letters or digits right after a CJK character ("用iPhone").
                or (ch.isalnum() and not is_cjk(ch) and is_cjk(piece[-1]))
                # An opening bracket belongs to the character after it, not before.
                or (ch in _OPENING and (is_cjk(ch) or is_cjk(piece[-1])))
            )
            if starts_word and not all(c in _OPENING for c in piece):
                out.append((piece, glue))
                glue = True
                piece = ch
            else:
                piece += ch
        if piece:
            out.append((piece, glue))
    return out


def _word_glue(prev_text: str | None, text: str) -> bool:
    # Model words carry no whitespace information; CJK next to CJK joins without a space.
    if not prev_text:
        return False
    return is_cjk(prev_text[-1]) and is_cjk(text[0])


def _finite(x: float, fallback: float) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return fallback
    return x if math.isfinite(x) else fallback


def _distribute(seg: Segment, start: float, end: float) -> list[tuple[str, bool, float, float]]:
    """Spread a segment's words over its span in proportion to their length."""
    pieces = split_text(seg.text)
    total = sum(len(w) for w, _ in pieces)
    if not pieces or total == 0:
        return []
    span = max(0.0, end - start)
    out, done = [], 0
    for word, glue in pieces:
        w_start = start + span * done / total
        done += len(word)
        out.append((word, glue, w_start, start + span * done / total))
    return out


_SPACE_RE = re.compile(r"\s+")


def transcript_tokens(transcript: Transcript) -> list[Token]:
    """All words of the transcript in order, with safe times (see module docstring)."""
    tokens: list[Token] = []
    prev_start = 0.0
    prev_text: str | None = None
    for index, seg in enumerate(transcript.segments):
        seg_start = max(0.0, _finite(seg.start, prev_start))
        seg_end = max(seg_start, _finite(seg.end, seg_start))
        # glue None: decided from the neighbouring words (model words carry no spacing).
        raw: list[tuple[str, bool | None, float, float, str | None]] = []
        for w in seg.words:
            text = _SPACE_RE.sub(" ", w.text).strip()
            if text:
                speaker = w.speaker or seg.speaker
                raw.append((text, None, _finite(w.start, seg_start), _finite(w.end, seg_start), speaker))
        if not raw:
            raw = [(*piece, seg.speaker) for piece in _distribute(seg, seg_start, seg_end)]
        for text, glue, start, end, speaker in raw:
            start = max(0.0, start, prev_start)
            end = max(start, end)
            if glue is None:
                glue = _word_glue(prev_text, text)
            elif not tokens:
                glue = False
            elif index != tokens[-1].segment:
                # Segment text carries no spacing towards the previous segment.
                glue = _word_glue(prev_text, text)
            tokens.append(Token(text, start, end, glue, index, speaker))
            prev_start, prev_text = start, text
    return tokens
