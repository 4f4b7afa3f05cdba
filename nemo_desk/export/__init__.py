"""Turning a `Transcript` into files: subtitle cues, SRT/VTT/TXT/JSON text, safe writing.

No Qt, no torch, no NeMo here: the exporters are plain functions of the transcript, and
all disk access goes through `FileOps` so Windows file locks are waited out.

Every output is UTF-8 without a byte order mark, with "\\n" line endings (see
`writer`). A transcript without speech still gives valid files (SRT empty, VTT just
its header, TXT empty, JSON with no segments); saying "no speech found" is the caller's
job (`Transcript.is_empty`).
"""
from nemo_desk.export.cues import Cue, CueRules, build_cues, wrap_lines
from nemo_desk.export.formats import FORMATS, normalise_formats, render
from nemo_desk.export.json_format import render_json, transcript_from_json, transcript_to_dict
from nemo_desk.export.ledger import OutputLedger, ledger_key
from nemo_desk.export.plaintext import paragraphs, render_txt
from nemo_desk.export.subtitles import format_timestamp, render_srt, render_vtt
from nemo_desk.export.writer import WrittenFile, output_path, write_outputs

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
    "render_json",
    "render_srt",
    "render_txt",
    "render_vtt",
    "transcript_from_json",
    "transcript_to_dict",
    "wrap_lines",
    "write_outputs",
]
