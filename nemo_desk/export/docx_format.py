"""Word (.docx) through python-docx: a readable transcript for journalists and researchers.

A title (the source's name), a line with the source, the date and the model, then one
paragraph per speaker turn (or per paragraph of speech when there are no speakers),
each led by its start time and the speaker's name in bold. Word and LibreOffice open it;
nothing but python-docx's own template is used, so no fonts or styles are missing.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import PureWindowsPath

from nemo_desk.core.transcript import Transcript
from nemo_desk.export.plaintext import DEFAULT_PARAGRAPH_GAP, clock, paragraph_list


def render_docx(transcript: Transcript, paragraph_gap: float = DEFAULT_PARAGRAPH_GAP,
                today: dt.date | None = None) -> bytes:
    import docx  # only when DOCX is asked for

    # PureWindowsPath splits on both "\\" and "/", whichever system wrote the source path.
    name = PureWindowsPath(transcript.source).name if transcript.source else "Transcript"
    date = (today or dt.date.today()).isoformat()
    document = docx.Document()
    props = document.core_properties
    props.title, props.author, props.comments = name, "nemo_desk", f"Transcribed with {transcript.model}"
    document.add_heading(name, level=1)
    details = [f"Source: {transcript.source}" if transcript.source else "", f"Date: {date}",
               f"Model: {transcript.model}" if transcript.model else ""]
    meta = document.add_paragraph(" · ".join(d for d in details if d))
    meta.style = document.styles["Subtitle"]
    for para in paragraph_list(transcript, paragraph_gap):
        p = document.add_paragraph()
        p.add_run(f"[{clock(para.start)}] ").bold = True
        if para.speaker:
            p.add_run(f"{para.speaker}: ").bold = True
        p.add_run(para.text)
    out = io.BytesIO()
    document.save(out)
    return _stable_zip(out.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """The same package with fixed member times: the same transcript on the same day
    gives the same bytes (the output ledger recognises the file as unchanged)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for member in source.infolist():
            fixed = zipfile.ZipInfo(member.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(fixed, source.read(member))
    return out.getvalue()
