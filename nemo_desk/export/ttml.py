"""TTML in the IMSC 1 text profile, for broadcast and streaming delivery.

One <p> per cue with media-time clock values (hh:mm:ss.mmm), lines separated by <br/>,
in one bottom region and one style (white on a black background, centred, proportional
sans-serif). A cue's speaker is a ttm:agent declared in the head. The document is built
with the standard library's ElementTree, so the text is always escaped correctly.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from nemo_desk.core.transcript import Transcript
from nemo_desk.export.cues import CueRules, build_cues
from nemo_desk.export.subtitles import format_timestamp

TT = "http://www.w3.org/ns/ttml"
TTP = "http://www.w3.org/ns/ttml#parameter"
TTS = "http://www.w3.org/ns/ttml#styling"
TTM = "http://www.w3.org/ns/ttml#metadata"
XML = "http://www.w3.org/XML/1998/namespace"
IMSC1_TEXT = "http://www.w3.org/ns/ttml/profile/imsc1/text"
_PREFIXES = {"": TT, "ttp": TTP, "tts": TTS, "ttm": TTM}


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def render_ttml(transcript: Transcript, rules: CueRules = CueRules()) -> str:
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)
    lang = transcript.target_language or transcript.language or "und"
    tt = ET.Element(_q(TT, "tt"), {_q(TTP, "profile"): IMSC1_TEXT, _q(TTP, "timeBase"): "media",
                                  _q(XML, "lang"): lang})
    head = ET.SubElement(tt, _q(TT, "head"))
    styling = ET.SubElement(head, _q(TT, "styling"))
    ET.SubElement(styling, _q(TT, "style"), {
        _q(XML, "id"): "s1", _q(TTS, "color"): "white", _q(TTS, "backgroundColor"): "black",
        _q(TTS, "fontFamily"): "proportionalSansSerif", _q(TTS, "fontSize"): "100%",
        _q(TTS, "textAlign"): "center", _q(TTS, "lineHeight"): "125%"})
    layout = ET.SubElement(head, _q(TT, "layout"))
    ET.SubElement(layout, _q(TT, "region"), {
        _q(XML, "id"): "bottom", _q(TTS, "origin"): "10% 10%", _q(TTS, "extent"): "80% 80%",
        _q(TTS, "displayAlign"): "after"})
    cues = build_cues(transcript, rules)
    agents = {name: f"speaker{i}" for i, name in enumerate(dict.fromkeys(c.speaker for c in cues if c.speaker), 1)}
    if agents:
        metadata = ET.SubElement(head, _q(TT, "metadata"))
        for name, ident in agents.items():
            agent = ET.SubElement(metadata, _q(TTM, "agent"), {_q(XML, "id"): ident, "type": "person"})
            ET.SubElement(agent, _q(TTM, "name"), {"type": "full"}).text = name
    body = ET.SubElement(tt, _q(TT, "body"), {"region": "bottom", "style": "s1"})
    div = ET.SubElement(body, _q(TT, "div"))
    for index, cue in enumerate(cues, 1):
        attrs = {_q(XML, "id"): f"sub{index}", "begin": format_timestamp(cue.start, "."),
                 "end": format_timestamp(cue.end, ".")}
        if cue.speaker:
            attrs[_q(TTM, "agent")] = agents[cue.speaker]
        p = ET.SubElement(div, _q(TT, "p"), attrs)
        p.text = cue.lines[0]
        for line in cue.lines[1:]:
            ET.SubElement(p, _q(TT, "br")).tail = line
    ET.indent(tt, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tt, encoding="unicode") + "\n"
