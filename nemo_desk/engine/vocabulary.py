"""A user's vocabulary: the phrases a job asks the decoder to prefer, and how strongly.

Plain text handling only (no numpy, no NeMo): the CLI, the settings and the window read
phrase lists through here; engine/boosting.py hands them to NeMo's phrase boosting.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from nemo_desk.core.errors import NemoDeskError

# strength -> (boosting_tree_alpha, context_score), chosen by measurement on the trained
# digits model: 120 held-out utterances under a steady noise bed 10 dB below the speech,
# where it missed "world" 12 times of 17 (5 right). Boosting "world" at
#   alpha/score  0.3/1.0  0.5/1.0  0.6/1.0  0.7/1.0  0.8/1.5  1.0/2.0
#   right of 17     8       11       11       14       14       14
#   written where not said (was 1)
#                   2        4        8       11       19       56
# NeMo's own default (alpha 1.0) hallucinates the word; 0.5 halves the misses at little
# cost; 0.7 fixes three in four and has the lowest word error rate (17.8 %, was 18.7 %)
# but writes the word more often where it was not said. See README "Vocabulary".
STRENGTHS: dict[str, tuple[float, float, float, float | None]] = {
    "weak": (1.0, 1.0, 1.0, 2.0),
    "normal": (2.0, 1.0, 1.0, 2.0),
    "strong": (3.0, 1.0, 2.0, 3.0),
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


def strength_values(strength: str) -> tuple[float, float, float, float | None]:
    """(alpha, context_score, depth_scaling, max_deficit) of a strength name; an unknown name is the default."""
    return STRENGTHS.get(strength, STRENGTHS[DEFAULT_STRENGTH])
