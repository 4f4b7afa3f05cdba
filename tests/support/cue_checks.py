"""The subtitle delivery rules, checked on finished cues, written from the rules' text.

Independent of nemo_desk.export.cues: a cue "can" stay up until the next cue's start
less the minimum gap, or the end of the media, and at most max_duration; it "needs"
max(min_duration, characters / max_cps) seconds. A cue that needs more than it can
have is unreadable; the layout may leave one only where no other grouping of the words
would have fewer (checked by brute force in the tests on small transcripts).
"""
from __future__ import annotations

import itertools

from nemo_desk.core.transcript import Transcript
from nemo_desk.export import Cue, CueRules
from nemo_desk.export.tokens import Token, join_tokens, transcript_tokens

EPS = 1e-6
MS = 0.0011  # one rendered millisecond, plus float noise


def needs(chars: int, rules: CueRules) -> float:
    return max(rules.min_duration, chars / rules.max_cps)


def can_have(start: float, next_start: float | None, media_end: float, rules: CueRules) -> float:
    limit = next_start - rules.min_gap if next_start is not None else media_end
    return min(limit, start + rules.max_duration) - start


def unreadable(groups: list[list[Token]], transcript: Transcript, rules: CueRules) -> int:
    """How many cues of this grouping cannot get the time their text needs."""
    media = transcript.duration if transcript.duration > 0 else float("inf")
    count = 0
    for k, group in enumerate(groups):
        nxt = groups[k + 1][0].start if k + 1 < len(groups) else None
        end = max(media, max(t.end for t in group)) if nxt is None else None
        have = can_have(group[0].start, nxt, end if end is not None else media, rules)
        count += needs(len(join_tokens(group)), rules) - have > 0.0015
    return count


def fits(group: list[Token], rules: CueRules) -> bool:
    """Whether the words can be one cue at all (lines, duration, one speaker)."""
    if len({t.speaker for t in group}) > 1:
        return False
    if len(group) == 1:
        return True
    if max(t.end for t in group) - group[0].start > rules.max_duration + EPS:
        return False
    lines, cur = 0, 0
    for tok in group:
        sep = 0 if tok.glue else 1
        if lines and cur + sep + len(tok.text) <= rules.max_chars_per_line:
            cur += sep + len(tok.text)
        else:
            lines, cur = lines + 1, len(tok.text)
    return lines <= rules.max_lines


def fewest_unreadable(transcript: Transcript, rules: CueRules) -> int:
    """Brute force over every grouping of the words (small transcripts only)."""
    tokens = transcript_tokens(transcript)
    n = len(tokens)
    best = n + 1
    for cuts in itertools.product((False, True), repeat=max(0, n - 1)):
        groups, cur = [], [tokens[0]]
        for cut, tok in zip(cuts, tokens[1:]):
            if cut:
                groups.append(cur)
                cur = [tok]
            else:
                cur.append(tok)
        groups.append(cur)
        if all(fits(g, rules) for g in groups):
            best = min(best, unreadable(groups, transcript, rules))
    return best


def output_groups(transcript: Transcript, cues: list[Cue]) -> list[list[Token]]:
    tokens = iter(transcript_tokens(transcript))
    return [[next(tokens) for _ in cue.words] for cue in cues]


def check_cues(transcript: Transcript, cues: list[Cue], rules: CueRules, exact_spacing: bool = True) -> None:
    """Every rule that must always hold, and the reading-time rule where it can hold."""
    tokens = transcript_tokens(transcript)
    shown = [w for c in cues for w in c.words]
    # Every word exactly once, in order, with the times the layout was given.
    assert [w.text for w in shown] == [t.text for t in tokens]
    assert [(w.start, w.end) for w in shown] == [(t.start, t.end) for t in tokens]
    groups = output_groups(transcript, cues)
    media = transcript.duration if transcript.duration > 0 else float("inf")
    gap = rules.min_gap
    for k, (cue, group) in enumerate(zip(cues, groups)):
        assert cue.words and cue.lines
        assert fits(group, rules), cue
        assert cue.speaker == group[0].speaker
        _check_lines(cue, group, rules, exact_spacing)
        assert cue.start < cue.end, cue
        # Times are whole milliseconds, so a file keeps exactly these gaps.
        assert all(abs(t * 1000 - round(t * 1000)) < 1e-6 for t in (cue.start, cue.end))
        if len(group) > 1:
            assert cue.end - cue.start <= rules.max_duration + MS, cue
        nxt = cues[k + 1] if k + 1 < len(cues) else None
        pushed = k > 0 and abs(cue.start - (cues[k - 1].end + gap)) < MS
        # A cue starts with its first word (or, when the words before it left no time
        # at all, as soon as the gap after them allows).
        assert abs(cue.start - group[0].start) <= MS / 2 or (pushed and cue.start > group[0].start), cue
        if nxt is not None:
            space = nxt.start - cue.end
            assert space >= gap - EPS or (rules.min_gap_frames == 0 and space >= -EPS), (cue, nxt)
        duration = cue.end - cue.start
        if duration + MS < needs(len(join_tokens(group)), rules):
            # Too short to read: only when it got all the time there was.
            limit = nxt.start - gap if nxt is not None else max(media, max(t.end for t in group))
            boxed = min(limit, cue.start + rules.max_duration)
            assert cue.end >= boxed - MS, (cue, nxt)
        elif nxt is None:
            assert cue.end >= min(max(t.end for t in group), media) - MS
        _check_pauses(cue, group, groups, k, media, rules)


def _check_lines(cue: Cue, group: list[Token], rules: CueRules, exact_spacing: bool) -> None:
    width = rules.max_chars_per_line
    assert len(cue.lines) <= rules.max_lines
    for line in cue.lines:
        assert line == line.strip() and line
        if len(line) > width:
            # Only a word that cannot fit any line may overflow, and then alone.
            assert line in {t.text for t in group}, (line, cue)
    if exact_spacing:
        # Lines hold whole words: no word split, none merged, none lost.
        assert [p for line in cue.lines for p in line.split()] == [t.text for t in group]
    else:
        assert "".join(cue.text.split()) == "".join(t.text for t in group)
    text = join_tokens(group)
    if len(text) <= width:
        assert cue.lines == (text,), cue  # what fits one line is one line
    if len(cue.lines) == 2 and len(group) >= 4:
        # No lone word on a line when some two-line split keeps two words on each.
        splits = [(join_tokens(group[:i]), join_tokens(group[i:])) for i in range(2, len(group) - 1)]
        if any(len(a) <= width and len(b) <= width for a, b in splits):
            words = [len(line.split()) if exact_spacing else 2 for line in cue.lines]
            assert min(words) >= 2, cue.lines


def _check_pauses(cue: Cue, group: list[Token], groups: list[list[Token]], k: int, media: float,
                  rules: CueRules) -> None:
    """A long pause sits inside a cue only when a cue ending or starting there could
    not be read in the time it would have."""
    nxt = groups[k + 1][0].start if k + 1 < len(groups) else None
    for i in range(1, len(group)):
        if group[i].start - group[i - 1].end > rules.pause_split + EPS:
            head, tail = group[:i], group[i:]
            head_have = can_have(head[0].start, tail[0].start, media, rules)
            head_short = needs(len(join_tokens(head)), rules) > head_have - EPS
            tail_end = max(media, max(t.end for t in tail))
            tail_short = needs(len(join_tokens(tail)), rules) > can_have(tail[0].start, nxt, tail_end, rules) - EPS
            assert head_short or tail_short, cue
