"""The output formats by name: which exist, their file extensions, and rendering one."""
from __future__ import annotations

from typing import Iterable

from nemo_desk.core.errors import ExportError
from nemo_desk.core.transcript import Transcript
from nemo_desk.export.cues import CueRules
from nemo_desk.export.json_format import render_json
from nemo_desk.export.plaintext import DEFAULT_PARAGRAPH_GAP, render_txt
from nemo_desk.export.subtitles import render_srt, render_vtt

FORMATS: tuple[str, ...] = ("srt", "txt", "vtt", "json")


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
) -> str:
    (key,) = normalise_formats([fmt])
    if key == "srt":
        return render_srt(transcript, rules)
    if key == "vtt":
        return render_vtt(transcript, rules)
    if key == "txt":
        return render_txt(transcript, paragraph_gap)
    return render_json(transcript)
