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
"""
from __future__ import annotations

import json
import math
from typing import Any

from nemo_desk.core.transcript import Segment, Transcript, Word

FORMAT_ID = "nemo_desk.transcript"
FORMAT_VERSION = 1


def _t(seconds: float) -> float:
    # NaN/inf would make invalid JSON; an engine bug must not make the file unreadable.
    return round(float(seconds), 3) if math.isfinite(seconds) else 0.0


def transcript_to_dict(transcript: Transcript) -> dict[str, Any]:
    return {
        "format": FORMAT_ID,
        "version": FORMAT_VERSION,
        "source": transcript.source,
        "model": transcript.model,
        "language": transcript.language,
        "target_language": transcript.target_language,
        "duration": _t(transcript.duration),
        "has_word_times": transcript.has_word_times,
        "text": transcript.text,
        "segments": [
            {
                "text": seg.text.strip(),
                "start": _t(seg.start),
                "end": _t(seg.end),
                "words": [_speaker({"text": w.text, "start": _t(w.start), "end": _t(w.end)}, w.speaker)
                          for w in seg.words],
                **({"speaker": seg.speaker} if seg.speaker is not None else {}),
            }
            for seg in transcript.segments
        ],
    }


def _speaker(item: dict[str, Any], speaker: str | None) -> dict[str, Any]:
    # Only when known: a transcript without speakers gives the same bytes as before.
    if speaker is not None:
        item["speaker"] = speaker
    return item


def render_json(transcript: Transcript) -> str:
    return json.dumps(transcript_to_dict(transcript), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def transcript_from_json(text: str) -> Transcript:
    """Read a document written by `render_json` back (ValueError if it is not one)."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_ID:
        raise ValueError("not a nemo_desk transcript JSON file")
    if doc.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported nemo_desk transcript version: {doc.get('version')!r}")
    try:
        segments = [
            Segment(
                text=s["text"],
                start=float(s["start"]),
                end=float(s["end"]),
                words=tuple(Word(w["text"], float(w["start"]), float(w["end"]), w.get("speaker"))
                            for w in s["words"]),
                speaker=s.get("speaker"),
            )
            for s in doc["segments"]
        ]
        return Transcript(
            segments=segments,
            duration=float(doc["duration"]),
            language=doc.get("language"),
            model=doc.get("model", ""),
            source=doc.get("source", ""),
            target_language=doc.get("target_language"),
            has_word_times=bool(doc.get("has_word_times", True)),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed nemo_desk transcript JSON: {exc}") from exc
