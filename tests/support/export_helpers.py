"""Test helpers for nemo_desk.export: random transcripts and tiny SRT/WebVTT parsers.

The parsers are written from the format specifications, independently of the
renderers, so a round trip through them checks the renderers rather than echoing them.
"""
from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass

from nemo_desk.core.transcript import Segment, Transcript, Word

VOCAB = (
    "the a of and to in is you that it he was for on are as with his they I at be this "
    "have from or one had by word but not what all were we when your can said there use "
    "café naïve über déjà-vu señor Straße don't l'été it's O'Brien rock'n'roll "
    "über-extraordinarily-long-compound-word-that-exceeds-a-line "
    "Ελληνικά русский 한국어"
).split()
# Words of scripts written without spaces; exporters join them without a space.
CJK_VOCAB = ("東京", "日本語", "天気", "です", "ありがとう", "中文", "字幕")
PUNCT = ("", "", "", "", "", ",", ".", "?", "!", ";", ":")
CJK_PUNCT = ("", "", "", "", "、", "。", "？", "！")


def random_word_text(rng: random.Random, vocab=VOCAB, punct=PUNCT) -> str:
    return rng.choice(vocab) + rng.choice(punct)


def random_transcript(
    seed: int,
    n_words: int | None = None,
    with_word_times: bool = True,
    max_gap: float = 1.2,
    vocab: tuple[str, ...] | list[str] = VOCAB,
    punct: tuple[str, ...] = PUNCT,
) -> Transcript:
    """A plausible transcript: monotonic, non-overlapping words grouped in segments.

    Gaps between words vary from none to longer than the pause threshold; now and
    then a word lasts longer than a whole cue may (a held note, a slow speaker).
    """
    rng = random.Random(seed)
    n = n_words if n_words is not None else rng.randint(0, 120)
    t = rng.uniform(0, 3)
    segments: list[Segment] = []
    words: list[Word] = []
    for i in range(n):
        text = random_word_text(rng, vocab, punct)
        dur = rng.uniform(0.05, 0.6) if rng.random() > 0.01 else rng.uniform(7.5, 10)
        words.append(Word(text, round(t, 3), round(t + dur, 3)))
        t += dur
        r = rng.random()
        t += 0.0 if r < 0.5 else rng.uniform(0, max_gap)
        if len(words) >= rng.randint(3, 25) or i == n - 1:
            start, end = words[0].start, words[-1].end
            seg_text = " ".join(w.text for w in words)
            segments.append(Segment(seg_text, start, end, tuple(words) if with_word_times else ()))
            words = []
    return Transcript(
        segments=segments,
        duration=round(t + 1.0, 3),
        language="en",
        model="test-model",
        source="input.wav",
        has_word_times=with_word_times,
    )


@dataclass(frozen=True)
class ParsedCue:
    start: float
    end: float
    text: str


def _time_re(sep: str) -> re.Pattern[str]:
    t = r"(\d{2,}):([0-5]\d):([0-5]\d)" + re.escape(sep) + r"(\d{3})"
    return re.compile("^" + t + " --> " + t + "$")


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return (int(h) * 3_600_000 + int(m) * 60_000 + int(s) * 1000 + int(ms)) / 1000


def parse_srt(text: str) -> list[ParsedCue]:
    """Strict SubRip reader: numbered blocks 1..n, a timing line, text, blank line."""
    assert "\r" not in text
    if text == "":
        return []
    assert text.endswith("\n") and not text.endswith("\n\n\n")
    timing = _time_re(",")
    cues = []
    for number, block in enumerate(text.rstrip("\n").split("\n\n"), 1):
        lines = block.split("\n")
        assert lines[0] == str(number), f"bad index in block {block!r}"
        m = timing.match(lines[1])
        assert m, f"bad timing line {lines[1]!r}"
        assert len(lines) >= 3 and all(line.strip() for line in lines[2:]), f"empty cue text {block!r}"
        g = m.groups()
        cues.append(ParsedCue(_seconds(*g[:4]), _seconds(*g[4:]), "\n".join(lines[2:])))
    return cues


def parse_vtt(text: str) -> list[ParsedCue]:
    """WebVTT reader for what a plain transcript needs: header, timing line, text."""
    assert "\r" not in text
    assert text.startswith("WEBVTT\n")
    timing = _time_re(".")
    body = text[len("WEBVTT\n") :]
    if body == "":
        return []
    assert body.startswith("\n") and body.endswith("\n")
    cues = []
    for block in body.strip("\n").split("\n\n"):
        lines = block.split("\n")
        m = timing.match(lines[0])
        assert m, f"bad timing line {lines[0]!r}"
        payload = lines[1:]
        assert payload and all(line.strip() for line in payload)
        # Cue text may not hold raw "<" or "&" (they start tags and entities) nor "-->".
        for line in payload:
            assert "-->" not in line and "<" not in line
            assert re.fullmatch(r"([^&]|&(amp|lt|gt);)*", line), line
        g = m.groups()
        cues.append(ParsedCue(_seconds(*g[:4]), _seconds(*g[4:]), html.unescape("\n".join(payload))))
    return cues
