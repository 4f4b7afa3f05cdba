"""SubRip (.srt) and WebVTT (.vtt) text from cues.

Both are returned as `str` with "\n" line endings; the writer encodes them as UTF-8
without a byte order mark (every current player reads that, and a BOM shows up as a
stray character in some web tools). Times are whole milliseconds already (see `cues`),
so the gaps between cues survive exactly. Every cue holds one speaker. SubRip has no
speaker field: the first cue of each speaker's turn is marked in its text, as the rules'
`speaker_label` says ("Speaker 1: ...", "- ..." or nothing), so a change of speaker is
never silent; the cues that go on with the same speaker are left as spoken. WebVTT gives
every cue a voice span (<v Speaker 1>), unless the label is "none".
"""
from __future__ import annotations

import math

from nemo_desk.core.transcript import Transcript
from nemo_desk.export.cues import Cue, CueRules, SpeakerLabel, build_cues


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


def srt_texts(cues: list[Cue], label: SpeakerLabel) -> list[str]:
    """Each cue's text, the first cue of every speaker's turn marked as `label` says."""
    out, previous = [], None
    for cue in cues:
        text = cue.text
        if cue.speaker and cue.speaker != previous and label is not SpeakerLabel.NONE:
            text = (f"{' '.join(cue.speaker.split())}: " if label is SpeakerLabel.NAME else "- ") + text
        out.append(text)
        previous = cue.speaker
    return out


def render_srt(transcript: Transcript, rules: CueRules = CueRules()) -> str:
    """Numbered cues separated by a blank line; no cues gives an empty (valid) file."""
    cues = build_cues(transcript, rules)
    blocks = [
        f"{index}\n{_timing(cue, ',')}\n{text}\n"
        for index, (cue, text) in enumerate(zip(cues, srt_texts(cues, rules.speaker_label)), 1)
    ]
    return "\n".join(blocks)


def escape_vtt(text: str) -> str:
    # WebVTT cue text is markup: a bare "<" or "&" would be read as a tag or an entity,
    # and "-->" would end the cue; escaping ">" covers the latter.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_text(cue: Cue, label: SpeakerLabel) -> str:
    # A known speaker is a voice span (<v Name>), which players may show or style.
    named = cue.speaker and label is not SpeakerLabel.NONE
    voice = f"<v {escape_vtt(' '.join(cue.speaker.split()))}>" if named and cue.speaker else ""
    return voice + escape_vtt(cue.text)


def render_vtt(transcript: Transcript, rules: CueRules = CueRules()) -> str:
    """A WEBVTT header, then cues separated by blank lines (no cues: just the header)."""
    blocks = [f"{_timing(cue, '.')}\n{_vtt_text(cue, rules.speaker_label)}\n"
              for cue in build_cues(transcript, rules)]
    return "WEBVTT\n" + "".join("\n" + block for block in blocks)
