"""Turning a `Transcript` into files: subtitle cues, SRT/VTT/TXT/JSON/ASS/TTML/DOCX/CSV, safe writing.

No Qt, no torch, no NeMo here: the exporters are plain functions of the transcript, and
all disk access goes through `FileOps` so Windows file locks are waited out.

Every text output is UTF-8 without a byte order mark, with "\\n" line endings (see
`writer`; CSV differs, for Excel). A transcript without speech still gives valid files
(SRT empty, VTT just its header, TXT empty, JSON with no segments); saying "no speech found" is the caller's
job (`Transcript.is_empty`).
"""
from nemo_desk.export.cues import Cue, CueRules, build_cues, wrap_lines
from nemo_desk.export.formats import FORMATS, normalise_formats, render, render_bytes
from nemo_desk.export.json_format import render_json, transcript_from_json, transcript_to_dict
from nemo_desk.export.plaintext import paragraphs, render_txt
from nemo_desk.export.subtitles import format_timestamp, render_srt, render_vtt

# Writing (the ledger, atomic writes, FileOps) is loaded on first use: the window imports
# this package for FORMATS before it shows, and needs none of that until a file is done.
_LAZY = {"OutputLedger": "nemo_desk.export.ledger", "ledger_key": "nemo_desk.export.ledger",
         "WrittenFile": "nemo_desk.export.writer", "output_path": "nemo_desk.export.writer",
         "write_outputs": "nemo_desk.export.writer"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMATS",
    "Cue",
    "CueRules",
    "OutputLedger",
    "WrittenFile",
    "build_cues",
    "format_timestamp",
    "ledger_key",
    "normalise_formats",
    "output_path",
    "paragraphs",
    "render",
    "render_bytes",
    "render_json",
    "render_srt",
    "render_txt",
    "render_vtt",
    "transcript_from_json",
    "transcript_to_dict",
    "wrap_lines",
    "write_outputs",
]
