"""Subtitle cues from a transcript, following the usual broadcast rules.

Rules (see `CueRules`): at most `max_lines` lines of at most `max_chars_per_line`
characters, at most `max_duration` seconds per cue, a pause longer than `pause_split`
always starts a new cue, cues never overlap. Words are never split; a single word longer
than a line sits on its own line (and a single word longer than `max_duration` gets its
own cue), because breaking a word is worse than breaking a rule.

Where a run of speech needs several cues, the break points are chosen by a small dynamic
programme over the words rather than greedily: greedy filling leaves one-word orphans
and cuts sentences mid-phrase. The cost prefers breaks after sentence ends, then after
commas and segment ends, then at short pauses, and prefers fewer, evenly filled cues.

Lengths are counted in characters (`len`), not display cells; CJK text therefore gets
the same 42 "characters" as Latin text.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from nemo_desk.core.transcript import Transcript, Word
from nemo_desk.export.tokens import TIME_EPS, Token, join_tokens, transcript_tokens

SENTENCE_END = ".!?…。！？‼⁇"
CLAUSE_END = ",;:–—、，；："
# Closing quotes and brackets after the punctuation mark ("end." or "end.)").
CLOSERS = "\"'”’»)]}」』）】"

# Costs of the layout programme. Only their ratios matter: one extra cue costs as much
# as one comma break plus a bit, so a sentence is split at its comma before mid-phrase.
_CUE_COST = 1.0
_UNDERFILL_COST = 1.0
_SENTENCE_BREAK = 0.0
_CLAUSE_BREAK = 0.7
_PLAIN_BREAK = 2.0


@dataclass(frozen=True)
class CueRules:
    max_chars_per_line: int = 42
    max_lines: int = 2
    max_duration: float = 7.0
    # Short cues are extended up to this (never into the next cue) so they can be read.
    min_duration: float = 0.7
    # A silence longer than this between two words always starts a new cue.
    pause_split: float = 0.5
    # Space kept between the end of a cue and the start of the next one.
    min_gap: float = 0.0

    def __post_init__(self) -> None:
        if self.max_chars_per_line < 1 or self.max_lines < 1:
            raise ValueError("max_chars_per_line and max_lines must be at least 1")
        if not self.max_duration > 0:
            raise ValueError("max_duration must be positive")
        if not 0 <= self.min_duration <= self.max_duration:
            raise ValueError("min_duration must be between 0 and max_duration")
        if not self.pause_split > 0 or self.min_gap < 0:
            raise ValueError("pause_split must be positive and min_gap not negative")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    # The words the cue shows, with the (sanitised) times the layout used.
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def build_cues(transcript: Transcript, rules: CueRules = CueRules()) -> list[Cue]:
    tokens = transcript_tokens(transcript)
    groups: list[list[Token]] = []
    for run in _runs(tokens, rules.pause_split):
        groups.extend(run[i:j] for i, j in _layout(run, rules))
    return _timed_cues(groups, rules, transcript.duration)


def _runs(tokens: list[Token], pause: float) -> list[list[Token]]:
    """Stretches of speech without a pause long enough to force a new cue."""
    runs: list[list[Token]] = []
    for tok in tokens:
        if runs and tok.start - runs[-1][-1].end <= pause + TIME_EPS:
            runs[-1].append(tok)
        else:
            runs.append([tok])
    return runs


def _break_cost(run: list[Token], j: int, rules: CueRules) -> float:
    """Cost of ending a cue after run[j] (run[j + 1] exists)."""
    text = run[j].text.rstrip(CLOSERS)
    last = text[-1:] or " "
    if last in SENTENCE_END:
        return _SENTENCE_BREAK
    cost = _CLAUSE_BREAK if last in CLAUSE_END else _PLAIN_BREAK
    if run[j + 1].segment != run[j].segment:
        cost = min(cost, _CLAUSE_BREAK)
    # A short pause is a natural break too, the longer the better.
    gap = run[j + 1].start - run[j].end
    if gap > 0:
        cost = min(cost, _PLAIN_BREAK - min(1.0, gap / rules.pause_split))
    return cost


def _add_to_lines(lines: int, cur: int, length: int, sep: int, width: int) -> tuple[int, int]:
    """Greedy line filling, one token at a time; must agree with `_greedy_lines`."""
    if lines == 0:
        return 1, length
    if cur + sep + length > width:
        return lines + 1, length
    return lines, cur + sep + length


def _layout(run: list[Token], rules: CueRules) -> list[tuple[int, int]]:
    """Split one run into cues: [(start, stop)) index ranges of minimal total cost."""
    n = len(run)
    capacity = rules.max_chars_per_line * rules.max_lines
    best = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for i in range(n):
        lines = cur = chars = 0
        last_end = run[i].end
        for j in range(i, n):
            tok = run[j]
            sep = 0 if j == i or tok.glue else 1
            lines, cur = _add_to_lines(lines, cur, len(tok.text), sep, rules.max_chars_per_line)
            chars += sep + len(tok.text)
            last_end = max(last_end, tok.end)
            # Adding words only makes a cue longer, so the first misfit ends the scan.
            # One word alone always fits: it cannot be split.
            if j > i and (lines > rules.max_lines or last_end - run[i].start > rules.max_duration + TIME_EPS):
                break
            cost = best[i] + _CUE_COST + _UNDERFILL_COST * (1 - min(1.0, chars / capacity)) ** 2
            if j < n - 1:
                cost += _break_cost(run, j, rules)
            if cost < best[j + 1]:
                best[j + 1], back[j + 1] = cost, i
    ranges: list[tuple[int, int]] = []
    stop = n
    while stop > 0:
        ranges.append((back[stop], stop))
        stop = back[stop]
    return ranges[::-1]


def _greedy_lines(tokens: Sequence[Token], width: int) -> list[list[Token]]:
    lines: list[list[Token]] = []
    cur = 0
    for tok in tokens:
        sep = 0 if tok.glue else 1
        if lines and cur + sep + len(tok.text) <= width:
            lines[-1].append(tok)
            cur += sep + len(tok.text)
        else:
            lines.append([tok])
            cur = len(tok.text)
    return lines


def wrap_lines(tokens: Sequence[Token], max_chars: int) -> list[str]:
    """Fewest lines of at most `max_chars`, as evenly long as possible.

    The narrowest width at which greedy filling still needs no more lines gives the
    smallest possible longest line, i.e. balanced lines, without a search over splits.
    """
    lines = _greedy_lines(tokens, max_chars)
    count = len(lines)
    if count > 1:
        total = len(join_tokens(tokens))
        # Each line break drops at most one separator character.
        lower = max(1, math.ceil((total - (count - 1)) / count))
        for width in range(lower, max_chars):
            candidate = _greedy_lines(tokens, width)
            if len(candidate) <= count:
                lines = candidate
                break
    return [join_tokens(line) for line in lines]


def _timed_cues(groups: list[list[Token]], rules: CueRules, duration: float) -> list[Cue]:
    starts = [g[0].start for g in groups]
    cues: list[Cue] = []
    for k, group in enumerate(groups):
        start = starts[k]
        end = max(t.end for t in group)
        # Let a short cue linger for readability, but not past the end of the media.
        wanted = start + rules.min_duration
        if duration > 0:
            wanted = min(wanted, max(duration, end))
        end = max(end, wanted)
        if k + 1 < len(groups):
            # Never overlap the next cue, even if that cuts the last word's tail.
            end = max(start, min(end, starts[k + 1] - rules.min_gap))
        words = tuple(Word(t.text, t.start, t.end) for t in group)
        lines = tuple(wrap_lines(group, rules.max_chars_per_line))
        cues.append(Cue(start, end, lines, words))
    return cues
