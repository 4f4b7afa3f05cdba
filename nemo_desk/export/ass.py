"""Advanced SubStation Alpha (.ass) through pysubs2: the cues in one clean style.

The style is what a video editor can use as is or restyle in Aegisub: a sans-serif
font sized for a 1920x1080 script, white text on a black outline, bottom centre.
A cue's speaker is the event's Name field (shown by Aegisub, ignored by players).
Text is escaped so a brace in a transcript never becomes an override block. ASS counts
time in centiseconds, so times are the cues' rounded to 10 ms (a 2-frame gap at
23.976 fps may show as 80 ms there; TTML, SRT and VTT keep milliseconds).
"""
from __future__ import annotations

from nemo_desk.core.transcript import Transcript
from nemo_desk.export.cues import CueRules, build_cues


def _escape(line: str) -> str:
    # "{...}" is an override block and "\N" a line break in ASS text; libass and
    # VSFilter show "\{" and "\}" as the braces themselves.
    return line.replace("{", r"\{").replace("}", r"\}")


def render_ass(transcript: Transcript, rules: CueRules = CueRules()) -> str:
    import pysubs2  # only when ASS is asked for

    subs = pysubs2.SSAFile()
    subs.info["Title"] = transcript.source or "nemo_desk transcript"
    subs.info["PlayResX"], subs.info["PlayResY"] = "1920", "1080"
    subs.info["ScaledBorderAndShadow"] = "yes"
    subs.info["WrapStyle"] = "2"  # our line breaks only: the layout already chose them
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname="Arial", fontsize=64, primarycolor=pysubs2.Color(255, 255, 255),
        outlinecolor=pysubs2.Color(0, 0, 0), backcolor=pysubs2.Color(0, 0, 0, 128),
        outline=3.0, shadow=1.0, alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginl=96, marginr=96, marginv=64,
    )
    for cue in build_cues(transcript, rules):
        subs.events.append(pysubs2.SSAEvent(
            start=round(cue.start * 1000), end=round(cue.end * 1000),
            text=r"\N".join(_escape(line) for line in cue.lines), name=cue.speaker or "",
        ))
    return subs.to_string("ass")
