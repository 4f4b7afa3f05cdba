"""CSV for analysis: one row per segment and speaker (start, end, speaker, text).

Times are seconds with millisecond precision (numbers a spreadsheet can compute with).
The file is UTF-8 with a byte order mark, which is how Excel recognises UTF-8 (without
it, accents and CJK turn into mojibake on Windows), and has "\r\n" row ends as RFC 4180
asks; the csv module quotes text holding commas, quotes or line breaks.
"""
from __future__ import annotations

import csv
import io

from nemo_desk.core.transcript import Transcript
from nemo_desk.export.tokens import Token, join_tokens, transcript_tokens

HEADER = ("start", "end", "speaker", "text")
ENCODING = "utf-8-sig"


def rows(transcript: Transcript) -> list[tuple[float, float, str, str]]:
    groups: list[list[Token]] = []
    for tok in transcript_tokens(transcript):
        last = groups[-1][-1] if groups else None
        if last is not None and (last.segment, last.speaker) == (tok.segment, tok.speaker):
            groups[-1].append(tok)
        else:
            groups.append([tok])
    return [(round(g[0].start, 3), round(max(t.end for t in g), 3), g[0].speaker or "", join_tokens(g))
            for g in groups]


def render_csv(transcript: Transcript) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for start, end, speaker, text in rows(transcript):
        writer.writerow((f"{start:.3f}", f"{end:.3f}", speaker, text))
    return out.getvalue()
