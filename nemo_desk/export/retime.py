"""New text for timed words: keep the times of what did not change.

When a person corrects a segment's text, the words are matched to the old ones
(`difflib`, word by word, exact text):

* an unchanged word keeps its own start and end;
* words that replace others share the span of what they replace, in proportion to
  their length (one word for one word keeps the exact times: "Jon" -> "John");
* a deleted word leaves its time empty: its neighbours do not grow into the gap;
* inserted words (replacing nothing) share the silence between their neighbours, or
  sit at the end of the previous word when there is none.

Words are split the way the exporters split text (`split_text`), so CJK text becomes one
word per character like the model's own words.
"""
from __future__ import annotations

from difflib import SequenceMatcher
from typing import Sequence

from nemo_desk.core.transcript import Segment, Word
# The exporters' own spacing rule (CJK next to CJK joins without a space), not a copy.
from nemo_desk.export.tokens import Token, _word_glue, join_tokens, split_text


def text_of(words: Sequence[Word]) -> str:
    """Segment text for these words, spaced the way the exporters space them."""
    tokens, prev = [], None
    for w in words:
        tokens.append(Token(w.text, w.start, w.end, _word_glue(prev, w.text)))
        prev = w.text
    return join_tokens(tokens)


def same_words(text: str, words: Sequence[Word]) -> bool:
    """True when `text` says exactly these words (spacing aside)."""
    return "".join(text.split()) == "".join("".join(w.text.split()) for w in words)


def _spread(texts: list[str], start: float, end: float) -> list[Word]:
    total = sum(len(t) for t in texts) or 1
    span = max(0.0, end - start)
    out, done = [], 0
    for t in texts:
        w_start = start + span * done / total
        done += len(t)
        out.append(Word(t, round(w_start, 3), round(start + span * done / total, 3)))
    return out


def retime_words(old: Sequence[Word], new_text: str, seg_start: float, seg_end: float) -> tuple[Word, ...]:
    """The words of `new_text`, timed from `old` (see the module docstring)."""
    new = [t for t, _ in split_text(new_text)]
    old_texts = [w.text for w in old]
    out: list[Word] = []
    for op, a1, a2, b1, b2 in SequenceMatcher(None, old_texts, new, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(old[a1:a2])
        elif op == "replace":
            out.extend(_spread(new[b1:b2], old[a1].start, old[a2 - 1].end))
        elif op == "insert":
            before = out[-1].end if out else seg_start
            after = old[a1].start if a1 < len(old) else max(before, seg_end)
            # No silence to fill: the new words take no time, at the previous word's end.
            out.extend(_spread(new[b1:b2], before, max(before, after)))
        # "delete": the old words go, their time stays empty.
    return tuple(out)


def retimed_segment(seg: Segment, new_text: str) -> Segment:
    """`seg` saying `new_text`; a segment without word times just takes the text."""
    text = " ".join(new_text.split())
    if not seg.words:
        return Segment(text, seg.start, seg.end, ())
    words = retime_words(seg.words, text, seg.start, seg.end)
    return Segment(text_of(words) if words else "", seg.start, seg.end, words)
