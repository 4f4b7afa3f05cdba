"""Reading a transcript JSON (any version, possibly edited by hand) back into a document.

Everything is checked, and the first problem is reported in one line that names where it
is and what is wrong ("segments[3].words[0].start: expected a number, got "1,5""), so a
person who edited the file by hand can find and fix it. Nothing is guessed silently:

* version 1 files (before speakers and options) are read as documents without speakers;
  a version newer than this program knows is refused (it may mean something else);
* a segment whose "text" no longer says its "words" (the text was edited by hand) keeps
  the text, and its words are matched to it with the times of the unchanged words kept
  (export/retime.py); `read_document` returns a note per such segment;
* optional fields may be missing (source, model, language, options, speakers, words);
  "duration" defaults to the end of the last segment.
"""
from __future__ import annotations

import json
import math
from typing import Any

from nemo_desk.core.document import Speaker, TranscriptDocument
from nemo_desk.core.errors import ExportError
from nemo_desk.core.transcript import Segment, Word
from nemo_desk.export.json_format import FORMAT_ID, FORMAT_VERSION
from nemo_desk.export.retime import retimed_segment, same_words


class TranscriptFormatError(ExportError, ValueError):
    """The text is not a transcript this version can read; str() says why, in one line."""


def _fail(where: str, what: str) -> TranscriptFormatError:
    return TranscriptFormatError(f"{where}: {what}" if where else what)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(obj: dict, key: str, where: str, default: float | None = None) -> float:
    if key not in obj:
        if default is not None:
            return default
        raise _fail(where, f'"{key}" is missing')
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(f"{where}.{key}" if where else key, f"expected a number of seconds, got {_show(value)}")
    if value < 0:
        raise _fail(f"{where}.{key}" if where else key, f"a time cannot be negative ({value})")
    return float(value)


def _string(obj: dict, key: str, where: str, default: str | None = None, nullable: bool = False) -> Any:
    value = obj.get(key, default)
    if key not in obj and default is None and not nullable:
        raise _fail(where, f'"{key}" is missing')
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _fail(f"{where}.{key}" if where else key, f"expected text, got {_show(value)}")
    return value


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object {{...}}, got {_show(value)}")
    return value


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise _fail(where, f"expected a list [...], got {_show(value)}")
    return value


def _span(obj: dict, where: str) -> tuple[float, float]:
    start, end = _number(obj, "start", where), _number(obj, "end", where)
    if end < start:
        raise _fail(where, f"end {end} is before start {start}")
    return start, end


def _word(raw: Any, where: str) -> Word:
    obj = _object(raw, where)
    start, end = _span(obj, where)
    return Word(_string(obj, "text", where), start, end)


def _speakers(doc: dict) -> tuple[Speaker, ...]:
    out: list[Speaker] = []
    for i, raw in enumerate(_list(doc.get("speakers", []), "speakers")):
        where = f"speakers[{i}]"
        obj = _object(raw, where)
        sid = _string(obj, "id", where)
        if not sid.strip():
            raise _fail(f"{where}.id", "a speaker id cannot be empty")
        if any(s.id == sid for s in out):
            raise _fail(f"{where}.id", f"{_show(sid)} is used by two speakers")
        out.append(Speaker(sid, _string(obj, "name", where, default=sid)))
    return tuple(out)


def _segment(raw: Any, i: int, ids: set[str], notes: list[str]) -> tuple[Segment, str | None]:
    where = f"segments[{i}]"
    obj = _object(raw, where)
    start, end = _span(obj, where)
    text = _string(obj, "text", where)
    words = tuple(_word(w, f"{where}.words[{j}]") for j, w in enumerate(_list(obj.get("words", []), f"{where}.words")))
    speaker = _string(obj, "speaker", where, nullable=True)
    if speaker is not None and speaker not in ids:
        raise _fail(f"{where}.speaker", f"{_show(speaker)} is not in the speakers table")
    seg = Segment(" ".join(text.split()), start, end, words)
    if words and not same_words(text, words):
        notes.append(f"{where}: the text differs from its words; the words were matched to the text")
        seg = retimed_segment(Segment(text, start, end, words), text)
    return seg, speaker


def read_document(text: str) -> tuple[TranscriptDocument, list[str]]:
    """The document in `text`, and notes on what was adapted (see the module docstring)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise _fail("", f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_ID:
        found = f' (its "format" is {_show(doc.get("format"))})' if isinstance(doc, dict) and "format" in doc else ""
        raise _fail("", f'not a nemo_desk transcript: no "format": "{FORMAT_ID}" field{found}')
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail("version", f"expected a whole number, got {_show(version)}")
    if version > FORMAT_VERSION:
        raise _fail("version", f"the file is version {version}, from a newer nemo_desk; this one reads "
                               f"versions 1 to {FORMAT_VERSION}")
    speakers = _speakers(doc) if version >= 2 else ()
    ids = {s.id for s in speakers}
    if "segments" not in doc:
        raise _fail("", '"segments" is missing')
    notes: list[str] = []
    pairs = [_segment(raw, i, ids, notes) for i, raw in enumerate(_list(doc.get("segments"), "segments"))]
    segments = [seg for seg, _ in pairs]
    last_end = max((s.end for s in segments), default=0.0)
    options = _object(doc.get("options", {}), "options") if version >= 2 else {}
    has_words = doc.get("has_word_times", any(s.words for s in segments))
    if not isinstance(has_words, bool):
        raise _fail("has_word_times", f"expected true or false, got {_show(has_words)}")
    document = TranscriptDocument(
        segments=segments,
        duration=_number(doc, "duration", "", default=last_end),
        language=_string(doc, "language", "", nullable=True),
        model=_string(doc, "model", "", default=""),
        source=_string(doc, "source", "", default=""),
        target_language=_string(doc, "target_language", "", nullable=True),
        has_word_times=has_words,
        speakers=speakers,
        segment_speakers=tuple(sp for _, sp in pairs),
        options=dict(options),
    )
    return document, notes


def document_from_json(text: str) -> TranscriptDocument:
    return read_document(text)[0]
