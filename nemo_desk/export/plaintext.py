"""Plain text: the words as paragraphs, a new paragraph after each long pause.

One paragraph per line and a blank line between paragraphs, "\n" line endings, no hard
wrapping (editors wrap; hard breaks would survive into whatever the text is pasted
into). A new speaker starts a new paragraph, led by the speaker's name; with
`timestamps` each paragraph starts with the time it starts at ("[00:01:05]"). A
transcript without speech gives an empty string: the caller, not the file, tells the
user that nothing was found, so the file never contains text nobody said.
"""
from __future__ import annotations

from dataclasses import dataclass

from nemo_desk.core.transcript import Transcript
from nemo_desk.export.tokens import TIME_EPS, Token, join_tokens, transcript_tokens

DEFAULT_PARAGRAPH_GAP = 2.0


@dataclass(frozen=True)
class Paragraph:
    start: float
    end: float
    speaker: str | None
    text: str


def paragraph_list(transcript: Transcript, paragraph_gap: float = DEFAULT_PARAGRAPH_GAP) -> list[Paragraph]:
    """Speaker turns, split further at every silence of at least `paragraph_gap` s."""
    groups: list[list[Token]] = []
    for tok in transcript_tokens(transcript):
        if (groups and tok.start - groups[-1][-1].end < paragraph_gap - TIME_EPS
                and tok.speaker == groups[-1][-1].speaker):
            groups[-1].append(tok)
        else:
            groups.append([tok])
    return [Paragraph(g[0].start, max(t.end for t in g), g[0].speaker, join_tokens(g)) for g in groups]


def paragraphs(transcript: Transcript, paragraph_gap: float = DEFAULT_PARAGRAPH_GAP) -> list[str]:
    """Texts of the paragraphs; a silence of at least `paragraph_gap` s separates two."""
    return [p.text for p in paragraph_list(transcript, paragraph_gap)]


def clock(seconds: float) -> str:
    """HH:MM:SS, for people (a paragraph's start), rounded down to the second."""
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def render_txt(transcript: Transcript, paragraph_gap: float = DEFAULT_PARAGRAPH_GAP,
               timestamps: bool = False) -> str:
    texts = []
    for p in paragraph_list(transcript, paragraph_gap):
        lead = f"[{clock(p.start)}] " if timestamps else ""
        who = f"{p.speaker}: " if p.speaker else ""
        texts.append(lead + who + p.text)
    return "\n\n".join(texts) + "\n" if texts else ""
