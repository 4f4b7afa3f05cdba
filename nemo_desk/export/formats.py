"""The output formats by name: which exist, their file extensions, and rendering one.

Every format is rendered from the transcript (the JSON is the whole document; the
others are views of it). `render` gives text for the text formats and bytes for DOCX;
`render_bytes` gives what goes on disk, in each format's own encoding.
"""
from __future__ import annotations

from typing import Iterable

from nemo_desk.core.document import TranscriptDocument
from nemo_desk.core.errors import ExportError
from nemo_desk.core.transcript import Transcript
from nemo_desk.export.cues import CueRules
from nemo_desk.export.json_format import render_json
from nemo_desk.export.plaintext import DEFAULT_PARAGRAPH_GAP, render_txt
from nemo_desk.export.subtitles import render_srt, render_vtt

FORMATS: tuple[str, ...] = ("srt", "txt", "vtt", "json", "ass", "ttml", "docx", "csv")
# Text encodings on disk; CSV carries a byte order mark so Excel reads it as UTF-8.
_ENCODING = {"csv": "utf-8-sig"}


def normalise_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """Validated, lower-case, de-duplicated format names in the order given.

    A single string may list several names separated by commas ("srt,txt"), which is
    also what guards against a bare "srt" being iterated letter by letter.
    """
    names = formats.split(",") if isinstance(formats, str) else list(formats)
    out: list[str] = []
    for name in names:
        key = str(name).strip().lower().lstrip(".")
        if not key:
            continue
        if key not in FORMATS:
            raise ExportError(f"unknown output format {str(name).strip()!r}; valid formats: {', '.join(FORMATS)}")
        if key not in out:
            out.append(key)
    if not out:
        raise ExportError(f"no output format chosen; valid formats: {', '.join(FORMATS)}")
    return tuple(out)


def render(
    fmt: str,
    transcript: Transcript,
    rules: CueRules = CueRules(),
    paragraph_gap: float = DEFAULT_PARAGRAPH_GAP,
    txt_timestamps: bool = False,
) -> str | bytes:
    (key,) = normalise_formats([fmt])
    if key != "json" and isinstance(transcript, TranscriptDocument):
        transcript = transcript.named()  # the speakers' display names from the document's table
    if key == "srt":
        return render_srt(transcript, rules)
    if key == "vtt":
        return render_vtt(transcript, rules)
    if key == "txt":
        return render_txt(transcript, paragraph_gap, txt_timestamps)
    if key == "json":
        return render_json(transcript)
    # The newer formats load their libraries only when asked for.
    if key == "ass":
        from nemo_desk.export.ass import render_ass

        return render_ass(transcript, rules)
    if key == "ttml":
        from nemo_desk.export.ttml import render_ttml

        return render_ttml(transcript, rules)
    if key == "csv":
        from nemo_desk.export.table import render_csv

        return render_csv(transcript)
    from nemo_desk.export.docx_format import render_docx

    return render_docx(transcript, paragraph_gap)


def render_bytes(fmt: str, transcript: Transcript, rules: CueRules = CueRules(),
                 paragraph_gap: float = DEFAULT_PARAGRAPH_GAP, txt_timestamps: bool = False) -> bytes:
    """The file's content as it goes on disk."""
    content = render(fmt, transcript, rules, paragraph_gap, txt_timestamps)
    if isinstance(content, bytes):
        return content
    return content.encode(_ENCODING.get(fmt.strip().lower().lstrip("."), "utf-8"))
