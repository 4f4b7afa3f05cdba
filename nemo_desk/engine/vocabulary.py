"""A user's vocabulary: the phrases a job asks the decoder to prefer, and how strongly.

Plain text handling only (no numpy, no NeMo): the CLI, the settings and the window read
phrase lists through here; engine/boosting.py hands them to NeMo's phrase boosting.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from nemo_desk.core.errors import NemoDeskError

# strength -> (boosting_tree_alpha, context_score, depth_scaling, max_deficit), chosen by
# measurement on the trained digits model (benchmarks/boosting_tune.py --strengths --snr 20
# --spoken-seeds 101 103 ... 123 --absent-seeds 201 203 ... 223): 12 recordings of 16
# utterances, each with one "world", and 12 that never say it, under a steady noise bed.
# NeMo's boost alone changes only which piece the greedy search writes, never whether it
# writes one, and a bonus that recovers a misheard word also writes it over others (10 dB,
# alpha/score/depth 3/1/2 unchecked: 30 of 44 misses fixed, 110 written where not said). So every
# strength boosts hard and engine/boost_check.py keeps a boosted phrase only where the
# model's own scores for its pieces fall at most max_deficit nats below the pieces it
# preferred, taking the plain search's words everywhere else. Fixed of the misses, and
# "world" written where not said (in the recordings that say it + those that do not):
#                          noise 20 dB (58 misses)  15 dB (33, 4+6 recs)  10 dB (44, 4+6 recs)
#   weak   2/1/1/2              18  0+0                 12  0+0              16  0+1
#   normal 3/1/2/3              30  0+0                 19  0+1              22  2+3
#   strong 3/1/2/4              34  0+2                 21  0+3              22  3+6
# normal is the strongest setting that wrote the word nowhere it was not said at 20 dB;
# the other words' errors fall with each (44 -> 37 / 33 / 33 at 20 dB). A word the model
# hears confidently as another stays that word. On the effect test's held-out recordings
# (tests/test_boosting_effect.py) normal fixes 11 of 21 and writes it nowhere else.
STRENGTHS: dict[str, tuple[float, float, float, float | None]] = {
    "weak": (2.0, 1.0, 1.0, 2.0),
    "normal": (3.0, 1.0, 2.0, 3.0),
    "strong": (3.0, 1.0, 2.0, 4.0),
}
# Where the check cannot wrap the decoder (Canary's beam search, a transducer set to beam
# search) NeMo's boost runs alone, gently: on the 20 dB tuning set above (greedy TDT with
# the check off) these fix 10 / 12 / 12 of the 58 misses and write the word nowhere else.
UNCHECKED_STRENGTHS: dict[str, tuple[float, float, float, float | None]] = {
    "weak": (0.3, 1.0, 2.0, None),
    "normal": (0.5, 1.0, 2.0, None),
    "strong": (0.7, 1.0, 2.0, None),
}
DEFAULT_STRENGTH = "normal"
MAX_PHRASE_CHARS = 100  # a "phrase" longer than this is a pasted paragraph, not a name
_SPLIT = re.compile(r"[,;\n\r]+")


class VocabularyError(NemoDeskError):
    """A boost file that cannot be read: one line for the user, nothing else is lost."""


def clean_phrase(text: str) -> str:
    return " ".join(text.split())


def unique(phrases) -> tuple[str, ...]:
    """Phrases in order, whitespace tidied, empties and case-insensitive repeats dropped
    (boosting is case-insensitive, so "Acme" and "acme" are one phrase)."""
    seen: set[str] = set()
    out: list[str] = []
    for p in phrases:
        p = clean_phrase(str(p))[:MAX_PHRASE_CHARS].strip()
        if p and p.casefold() not in seen:
            seen.add(p.casefold())
            out.append(p)
    return tuple(out)


def parse_phrases(text: str) -> tuple[str, ...]:
    """`--boost "Ada Lovelace, ACME; nemo_desk"` or a text field: commas, semicolons or
    new lines separate phrases."""
    return unique(_SPLIT.split(text or ""))


def parse_boost_text(text: str) -> tuple[str, ...]:
    """A boost file's text: one phrase a line; `#` starts a comment (whole line or the
    rest of one). A line may also hold a comma-separated list."""
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return unique(p for line in lines for p in _SPLIT.split(line))


def read_boost_file(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Phrases of a boost file. UTF-8 with or without the BOM Notepad writes; a file in
    the Windows ANSI code page is read as cp1252 rather than refused."""
    from nemo_desk.core.longpaths import long_path

    p = Path(path)
    try:
        data = Path(long_path(p)).read_bytes()
    except FileNotFoundError:
        raise VocabularyError(f"boost file not found: {p}") from None
    except IsADirectoryError:
        raise VocabularyError(f"boost file {p} is a folder, not a text file") from None
    except OSError as exc:
        raise VocabularyError(f"could not read the boost file {p}: {exc.strerror or exc}") from None
    if b"\x00" in data[:4096]:
        raise VocabularyError(f"boost file {p} is not a text file (one phrase a line)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return parse_boost_text(text)


def strength_values(strength: str, checked: bool = True) -> tuple[float, float, float, float | None]:
    """(alpha, context_score, depth_scaling, max_deficit) of a strength name, for a decoder
    engine/boost_check.py wraps (`checked`) or not; an unknown name is the default."""
    table = STRENGTHS if checked else UNCHECKED_STRENGTHS
    return table.get(strength, table[DEFAULT_STRENGTH])
