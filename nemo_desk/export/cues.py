"""Subtitle cues from a transcript, keeping the delivery rules of a `CueRules` profile.

The rules (the common broadcast default, modelled on Netflix's English style guide): at
most `max_lines` lines of `max_chars_per_line` characters, a reading speed of at most
`max_cps` characters a second, `min_duration` to `max_duration` seconds on screen, and
`min_gap_frames` frames between two cues. Words are never split: a single word longer
than a line sits alone on its line, and a single word longer than `max_duration` gets
its own cue, because breaking a word is worse than breaking a rule.

Reading speed and minimum duration are constraints of the layout, not warnings. A cue
may stay up after its last word, into free time but never into the next cue (keeping
the gap); where even that is not enough time, the layout merges it with a neighbour or
splits the words differently. A dynamic programme over the words chooses the break
points by, in this order: fewest cues that cannot be read in the time they can have
(only speech faster than the limit leaves any), least reading time missing, and then
style: breaks after sentences and clauses, at pauses and before conjunctions, few and
evenly filled cues. A pause longer than `pause_split` is kept between cues unless a cue
would otherwise flash by too fast to read.

Lengths are counted in characters (`len`), not display cells; CJK text therefore gets
the same 42 "characters" as Latin text. Times come out in whole milliseconds, so a
rendered file keeps every gap exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from nemo_desk.core.transcript import Transcript, Word
from nemo_desk.export.linebreak import CLAUSE_END, CLOSERS, SENTENCE_END, add_to_lines, break_kind, wrap_lines
from nemo_desk.export.tokens import TIME_EPS, Token, join_tokens, transcript_tokens

__all__ = ["CLAUSE_END", "CLOSERS", "SENTENCE_END", "Cue", "CueRules", "build_cues", "wrap_lines"]

# Used when the source has no video (or the probe could not tell): the PAL rate, and the
# one most subtitle tools assume.
DEFAULT_FPS = 25.0
# A gap shorter than this between two cues is closed to the minimum gap ("chaining"):
# a flicker of empty screen is more distracting than a subtitle staying up a bit longer.
CHAIN_GAP = 0.5

# Style costs of the layout programme. Only their ratios matter: one extra cue costs as
# much as one comma break plus a bit, so a sentence is split at its comma before mid-phrase.
_CUE_COST = 1.0
_UNDERFILL_COST = 1.0
_CUE_BREAK_COST = {"sentence": 0.0, "clause": 0.7, "conjunction": 1.2, "preposition": 1.5,
                   "plain": 2.0, "binder": 3.0}
_PLAIN_BREAK = 2.0
# Keeping a long pause inside one cue: worse than any break point, but better than a cue
# too short to read.
_PAUSE_INSIDE = 5.0


class SpeakerLabel(StrEnum):
    """How a subtitle cue shows that a new speaker starts (SRT has no speaker field):
    "Speaker 1: ..." (NAME), the subtitling convention "- ..." (DASH), or not at all."""

    NAME = "name"
    DASH = "dash"
    NONE = "none"


@dataclass(frozen=True)
class CueRules:
    max_chars_per_line: int = 42
    max_lines: int = 2
    max_duration: float = 7.0
    # Short cues are extended up to this (never into the next cue) so they can be read.
    min_duration: float = 5 / 6
    # Reading speed: characters (spaces included, line breaks not) per second on screen.
    max_cps: float = 17.0
    # Frames kept between the end of a cue and the start of the next one.
    min_gap_frames: int = 2
    # The video's frame rate; None: the source's, else DEFAULT_FPS (see `for_source`).
    fps: float | None = None
    # A silence longer than this between two words starts a new cue where it can.
    pause_split: float = 0.5
    # How a cue that starts a new speaker's turn says so (SRT; VTT uses voice spans).
    speaker_label: SpeakerLabel = SpeakerLabel.NAME

    def __post_init__(self) -> None:
        if self.max_chars_per_line < 1 or self.max_lines < 1:
            raise ValueError("max_chars_per_line and max_lines must be at least 1")
        if not self.max_duration > 0:
            raise ValueError("max_duration must be positive")
        if not 0 <= self.min_duration <= self.max_duration:
            raise ValueError("min_duration must be between 0 and max_duration")
        if not self.pause_split > 0:
            raise ValueError("pause_split must be positive")
        if not self.max_cps > 0:
            raise ValueError("max_cps must be positive")
        if self.min_gap_frames < 0:
            raise ValueError("min_gap_frames must not be negative")
        if self.fps is not None and not 1 <= self.fps <= 300:
            raise ValueError("fps must be between 1 and 300")
        if self.speaker_label not in tuple(SpeakerLabel):
            raise ValueError(f"speaker label must be one of {', '.join(SpeakerLabel)}")
        object.__setattr__(self, "speaker_label", SpeakerLabel(self.speaker_label))  # "dash" -> the member

    @property
    def frame_rate(self) -> float:
        return self.fps or DEFAULT_FPS

    @property
    def min_gap_ms(self) -> int:
        # Rounded up to whole milliseconds: 2 frames at 23.976 fps are 83.4 ms, and a
        # file that says 83 ms would break the rule.
        return math.ceil(self.min_gap_frames * 1000 / self.frame_rate - 1e-9)

    @property
    def min_gap(self) -> float:
        return self.min_gap_ms / 1000

    def for_source(self, fps: float | None) -> "CueRules":
        """These rules with the source's frame rate, unless one was chosen explicitly."""
        if self.fps is not None or not fps or not 1 <= fps <= 300:
            return self
        return replace(self, fps=fps)


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    # The words the cue shows, with the (sanitised) times the layout used.
    words: tuple[Word, ...]
    speaker: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def build_cues(transcript: Transcript, rules: CueRules = CueRules()) -> list[Cue]:
    tokens = transcript_tokens(transcript)
    if not tokens:
        return []
    media_end = transcript.duration if transcript.duration > 0 else math.inf
    groups = [tokens[i:j] for i, j in _layout(tokens, rules, media_end)]
    return _timed_cues(groups, rules, media_end)


def reading_time(chars: int, rules: CueRules) -> float:
    """Seconds a cue of `chars` characters needs on screen."""
    return max(rules.min_duration, chars / rules.max_cps)


def _break_cost(tokens: list[Token], j: int, rules: CueRules) -> float:
    """Style cost of ending a cue after tokens[j] (tokens[j + 1] exists)."""
    cost = _CUE_BREAK_COST[break_kind(tokens[j].text, tokens[j + 1].text)]
    if cost and tokens[j + 1].segment != tokens[j].segment:
        cost = min(cost, _CUE_BREAK_COST["clause"])
    # A pause is a natural break too, the longer the better.
    gap = tokens[j + 1].start - tokens[j].end
    if gap > 0:
        cost = min(cost, _PLAIN_BREAK - min(1.0, gap / rules.pause_split))
    return cost


def _layout(tokens: list[Token], rules: CueRules, media_end: float) -> list[tuple[int, int]]:
    """Split the words into cues: [(start, stop)) index ranges of least cost.

    Costs are (unreadable cues, seconds of reading time missing, style), compared in
    that order, so style never buys a rule break.
    """
    n = len(tokens)
    capacity = rules.max_chars_per_line * rules.max_lines
    gap = rules.min_gap
    best: list[tuple[int, float, float] | None] = [(0, 0.0, 0.0)] + [None] * n
    back = [0] * (n + 1)
    for i in range(n):
        base = best[i]
        assert base is not None  # a one-word cue always fits, so every prefix is reachable
        lines = cur = chars = 0
        start = tokens[i].start
        last_end = tokens[i].end
        pauses = 0.0
        for j in range(i, n):
            tok = tokens[j]
            if j > i:
                if tok.speaker != tokens[j - 1].speaker:
                    break  # one speaker per cue
                pause = tok.start - tokens[j - 1].end
                if pause > rules.pause_split + TIME_EPS:
                    pauses += _PAUSE_INSIDE + pause
            sep = 0 if j == i or tok.glue else 1
            lines, cur = add_to_lines(lines, cur, len(tok.text), sep, rules.max_chars_per_line)
            chars += sep + len(tok.text)
            last_end = max(last_end, tok.end)
            # Adding words only makes a cue longer, so the first misfit ends the scan.
            # One word alone always fits: it cannot be split.
            if j > i and (lines > rules.max_lines or last_end - start > rules.max_duration + TIME_EPS):
                break
            # The longest the cue can stay up: until the gap before the next cue, the
            # end of the media or max_duration.
            limit = tokens[j + 1].start - gap if j + 1 < n else max(media_end, last_end)
            available = min(limit, start + rules.max_duration) - start
            missing = round(max(0.0, reading_time(chars, rules) - available), 3)
            style = _CUE_COST + _UNDERFILL_COST * (1 - min(1.0, chars / capacity)) ** 2 + pauses
            if j < n - 1:
                style += _break_cost(tokens, j, rules)
            cost = (base[0] + (missing > 0), base[1] + missing, base[2] + style)
            current = best[j + 1]
            if current is None or cost < current:
                best[j + 1], back[j + 1] = cost, i
    ranges: list[tuple[int, int]] = []
    stop = n
    while stop > 0:
        ranges.append((back[stop], stop))
        stop = back[stop]
    return ranges[::-1]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _timed_cues(groups: list[list[Token]], rules: CueRules, media_end: float) -> list[Cue]:
    """Times for each group of words, in whole milliseconds.

    A cue starts with its first word and stays up for its words and its reading time
    (at most max_duration, at least to its last word), but never past the media end or
    into the gap before the next cue; a gap shorter than CHAIN_GAP is closed to the
    minimum gap.
    """
    gap, chain = rules.min_gap_ms, _ms(CHAIN_GAP)
    longest = _ms(rules.max_duration)
    frame = math.ceil(1000 / rules.frame_rate)
    starts = [_ms(g[0].start) for g in groups]
    cues: list[Cue] = []
    for k, group in enumerate(groups):
        start = starts[k]
        last = _ms(max(t.end for t in group))
        end = max(last, start + min(_ms(reading_time(len(join_tokens(group)), rules)), longest))
        if media_end < math.inf:
            end = min(end, max(_ms(media_end), last))
        if k + 1 < len(groups):
            limit = starts[k + 1] - gap
            if limit - end < chain:
                end = max(end, min(limit, start + longest))
            end = min(end, limit)
            if end - start < frame:
                # The next words start within a gap of these: show these for a frame
                # and hold the next cue back rather than lose them from the screen.
                end = start + frame
                starts[k + 1] = end + gap
        words = tuple(Word(t.text, t.start, t.end) for t in group)
        lines = tuple(wrap_lines(group, rules.max_chars_per_line))
        cues.append(Cue(start / 1000, end / 1000, lines, words, group[0].speaker))
    return cues
