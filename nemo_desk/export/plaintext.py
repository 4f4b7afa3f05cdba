"""Plain text: the words as paragraphs, a new paragraph after each long pause.

One paragraph per line and a blank line between paragraphs, "\n" line endings, no hard
wrapping (editors wrap; hard breaks would survive into whatever the text is pasted
into). A transcript without speech gives an empty string: the caller, not the file,
tells the user that nothing was found, so the file never contains text nobody said.
"""
from __future__ import annotations

from nemo_desk.core.transcript import Transcript
from nemo_desk.export.tokens import TIME_EPS, Token, join_tokens, transcript_tokens

DEFAULT_PARAGRAPH_GAP = 2.0


def paragraphs(transcript: Transcript, paragraph_gap: float = DEFAULT_PARAGRAPH_GAP) -> list[str]:
    """Texts of the paragraphs; a silence of at least `paragraph_gap` s separates two."""
    groups: list[list[Token]] = []
    for tok in transcript_tokens(transcript):
        if groups and tok.start - groups[-1][-1].end < paragraph_gap - TIME_EPS:
            groups[-1].append(tok)
        else:
            groups.append([tok])
    return [join_tokens(group) for group in groups]


def render_txt(transcript: Transcript, paragraph_gap: float = DEFAULT_PARAGRAPH_GAP) -> str:
    paras = paragraphs(transcript, paragraph_gap)
    return "\n\n".join(paras) + "\n" if paras else ""
