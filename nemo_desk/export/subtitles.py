"""SubRip (.srt) and WebVTT (.vtt) text from cues.

Both are returned as `str` with "\n" line endings; the writer encodes them as UTF-8
without a byte order mark (every current player reads that, and a BOM shows up as a
stray character in some web tools). Times are whole milliseconds already (see `cues`),
so the gaps between cues survive exactly. SubRip has no speaker field: speakers show in
the VTT (as voice spans) and the other formats; every cue holds one speaker.
"""
from __future__ import annotations

import math

from nemo_desk.core.transcript import Transcript
from nemo_desk.export.cues import Cue, CueRules, build_cues


def format_timestamp(seconds: float, decimal_sep: str) -> str:
    """HH:MM:SS<sep>mmm; hours grow past 99 rather than wrapping."""
    ms = round(seconds * 1000) if math.isfinite(seconds) else 0
    ms = max(0, ms)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_sep}{millis:03d}"


def _timing(cue: Cue, sep: str) -> str:
    return f"{format_timestamp(cue.start, sep)} --> {format_timestamp(cue.end, sep)}"


def render_srt(transcript: Transcript, rules: CueRules = CueRules()) -> str:
    """Numbered cues separated by a blank line; no cues gives an empty (valid) file."""
    blocks = [
        f"{index}\n{_timing(cue, ',')}\n{cue.text}\n"
        for index, cue in enumerate(build_cues(transcript, rules), 1)
    ]
    return "\n".join(blocks)


def escape_vtt(text: str) -> str:
    # WebVTT cue text is markup: a bare "<" or "&" would be read as a tag or an entity,
    # and "-->" would end the cue; escaping ">" covers the latter.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_text(cue: Cue) -> str:
    # A known speaker is a voice span (<v Name>), which players may show or style.
    voice = f"<v {escape_vtt(' '.join(cue.speaker.split()))}>" if cue.speaker else ""
    return voice + escape_vtt(cue.text)


def render_vtt(transcript: Transcript, rules: CueRules = CueRules()) -> str:
    """A WEBVTT header, then cues separated by blank lines (no cues: just the header)."""
    blocks = [f"{_timing(cue, '.')}\n{_vtt_text(cue)}\n" for cue in build_cues(transcript, rules)]
    return "WEBVTT\n" + "".join("\n" + block for block in blocks)
