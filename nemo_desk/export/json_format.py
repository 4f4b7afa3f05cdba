"""The transcript as JSON: everything the other formats are made from, for other tools.

The document is self-describing ("format" and "version") so readers can refuse files
they do not understand, keys come in a fixed order and times are rounded to
milliseconds, so the same transcript always gives byte-identical output (diffable,
hash-stable for the output ledger). Text is written as-is (`ensure_ascii=False`), not as
\\u escapes. Words are the model's own words and times, unmodified apart from rounding;
a segment without word times has an empty "words" list and "has_word_times" says which
case the whole transcript is. A "speaker" key appears on a segment or word only when
the speaker is known. `Transcript.meta` is not written: it holds engine
internals that are not a stable interface.

Version 2 (the document, see core/document.py and README "The transcript document")
adds "options", a "speakers" table ([{"id", "name"}]) and a "speaker" id (or null) on
each segment; version 1 files are read as documents without speakers (json_read.py). A
word's speaker is its segment's (segments are split where the speaker changes), so words
carry none, and a display name lives only in the table (a rename is one change).
"""
from __future__ import annotations

import json
import math
from typing import Any

from nemo_desk.core.document import TranscriptDocument
from nemo_desk.core.transcript import Transcript

FORMAT_ID = "nemo_desk.transcript"
FORMAT_VERSION = 2


def _t(seconds: float) -> float:
    # NaN/inf would make invalid JSON; an engine bug must not make the file unreadable.
    return round(float(seconds), 3) if math.isfinite(seconds) else 0.0


def transcript_to_dict(transcript: Transcript) -> dict[str, Any]:
    doc = TranscriptDocument.of(transcript)
    speakers = doc.padded_speakers()
    return {
        "format": FORMAT_ID,
        "version": FORMAT_VERSION,
        "source": doc.source,
        "model": doc.model,
        "language": doc.language,
        "target_language": doc.target_language,
        "duration": _t(doc.duration),
        "has_word_times": doc.has_word_times,
        "options": dict(doc.options),
        "speakers": [{"id": s.id, "name": s.name} for s in doc.speakers],
        "text": doc.text,
        "segments": [
            {
                "text": seg.text.strip(),
                "start": _t(seg.start),
                "end": _t(seg.end),
                "speaker": speaker,
                "words": [{"text": w.text, "start": _t(w.start), "end": _t(w.end)} for w in seg.words],
            }
            for seg, speaker in zip(doc.segments, speakers)
        ],
    }


def render_json(transcript: Transcript) -> str:
    # default=str: an option of a type JSON lacks (a path) is written as text, not a crash.
    return json.dumps(transcript_to_dict(transcript), ensure_ascii=False, indent=2, allow_nan=False,
                      default=str) + "\n"


def transcript_from_json(text: str) -> TranscriptDocument:
    """Read a document written by `render_json` (any version) back; ValueError with a
    one-line reason if it is not one (see json_read)."""
    from nemo_desk.export.json_read import document_from_json

    return document_from_json(text)
