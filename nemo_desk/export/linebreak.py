"""Where a subtitle may break: between lines of a cue, and between two cues.

Subtitlers break after punctuation, before a conjunction or a preposition, and never
between words that are read as one unit ("the | house", "to | go", "is | not"). Two
lines of one cue are balanced, and neither is a lone word when that can be avoided: a
short stub line is read as a separate thought. A text that fits one line stays on one.

The word lists are English with the most common function words of the other
languages Parakeet v3 and Canary transcribe; a word in no list just counts as a plain
break, so other languages still get balanced lines and punctuation breaks.
"""
from __future__ import annotations

from typing import Sequence

from nemo_desk.export.tokens import Token, join_tokens

SENTENCE_END = ".!?…。！？‼⁇"
CLAUSE_END = ",;:–—、，；："
# Closing quotes and brackets after the punctuation mark ("end." or "end.)").
CLOSERS = "\"'”’»)]}」』）】"

# A break just before these is natural: they start a clause or a phrase.
CONJUNCTIONS = frozenset(
    "and but or nor so yet because although though while whereas unless until whether "
    "which who whom whose where when if than "
    "und oder aber weil dass wenn et ou mais parce que quand y o pero porque cuando e ma perché".split()
)
PREPOSITIONS = frozenset(
    "of to in on at for with from by about into onto over under through between among against "
    "during without within along across behind beyond toward towards upon after before since "
    "von zu mit für auf aus bei nach de à dans pour avec sur en con para por di da per".split()
)
# A line or a cue should not end on these: they belong with the word after them.
BINDERS = frozenset(
    "a an the this these those my your his her its our their to of in on at for with from by "
    "i you he she we they it's i'm is are was were be been am has have had will would can could "
    "should shall may might must do does did not no very mr mrs ms dr mr. mrs. ms. dr. "
    "der die das ein eine le la les un une el los las una il lo gli".split()
)


def _bare(text: str) -> str:
    return text.strip("\"'“”‘’«»()[]{}¿¡").lower()


def break_kind(before: str, after: str) -> str:
    """What kind of break lies between the words `before` and `after`.

    One of "sentence", "clause", "conjunction", "preposition", "plain", "binder"
    (the last one should be avoided: it splits a unit).
    """
    last = before.rstrip(CLOSERS)[-1:] or " "
    if last in SENTENCE_END:
        return "sentence"
    if last in CLAUSE_END:
        return "clause"
    if _bare(before) in BINDERS:
        return "binder"
    nxt = _bare(after)
    if nxt in CONJUNCTIONS:
        return "conjunction"
    if nxt in PREPOSITIONS:
        return "preposition"
    return "plain"


# Line breaks: a perfect break point is worth about as much as 8 characters of
# imbalance on a 42-character line; a lone word on a line is worse than any break point.
_LINE_BREAK_COST = {"sentence": 0.0, "clause": 0.2, "conjunction": 0.5, "preposition": 0.7,
                    "plain": 1.2, "binder": 3.0}
_BALANCE_WEIGHT = 10.0
_ONE_WORD_LINE = 6.0
# A bottom line longer than the top one is easier to read (eyes land on the longer line).
_TOP_HEAVY = 0.1


def greedy_lines(tokens: Sequence[Token], width: int) -> list[list[Token]]:
    """First-fit lines; their count is the fewest lines the tokens fit on."""
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


def add_to_lines(lines: int, cur: int, length: int, sep: int, width: int) -> tuple[int, int]:
    """Greedy line filling one token at a time (line count, current line length);
    must agree with `greedy_lines`."""
    if lines == 0:
        return 1, length
    if cur + sep + length > width:
        return lines + 1, length
    return lines, cur + sep + length


def wrap_lines(tokens: Sequence[Token], max_chars: int) -> list[str]:
    """The fewest lines of at most `max_chars` (a longer single word alone on its line),
    with the best break points: balanced, at punctuation or before a conjunction or
    preposition, no lone word where the text allows it."""
    tokens = list(tokens)
    count = len(greedy_lines(tokens, max_chars))
    if count <= 1:
        return [join_tokens(tokens)] if tokens else []
    n = len(tokens)
    # ends[k]: length of the text of tokens[:k]; a line tokens[a:b] is ends[b] - ends[a]
    # minus the separator before tokens[a], which a line break drops.
    ends = [0] * (n + 1)
    for k, tok in enumerate(tokens):
        ends[k + 1] = ends[k] + (0 if k == 0 or tok.glue else 1) + len(tok.text)

    def length(a: int, b: int) -> int:
        return ends[b] - ends[a] - (0 if a == 0 or tokens[a].glue else 1)

    target = (ends[n] - (count - 1)) / count
    inf = float("inf")
    # best[l][b]: cheapest split of tokens[:b] into l lines.
    best = [[inf] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = 0.0
    for lines in range(1, count + 1):
        for b in range(1, n + 1):
            for a in range(b - 1, -1, -1):
                size = length(a, b)
                if size > max_chars and b - a > 1:
                    break  # longer lines only get longer
                if best[lines - 1][a] == inf:
                    continue
                cost = best[lines - 1][a] + _BALANCE_WEIGHT * ((size - target) / max_chars) ** 2
                if b - a == 1 and n > count:
                    cost += _ONE_WORD_LINE
                if a > 0:
                    cost += _LINE_BREAK_COST[break_kind(tokens[a - 1].text, tokens[a].text)]
                if lines == count and b == n and a > 0 and size < length(back[lines - 1][a], a):
                    cost += _TOP_HEAVY
                if cost < best[lines][b]:
                    best[lines][b], back[lines][b] = cost, a
    cuts = [n]
    for lines in range(count, 0, -1):
        cuts.append(back[lines][cuts[-1]])
    cuts.reverse()
    return [join_tokens(tokens[a:b]) for a, b in zip(cuts, cuts[1:])]
