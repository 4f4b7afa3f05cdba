"""ASS, TTML, DOCX, CSV and timed TXT, read back by independent readers (pysubs2, an XML
parser, python-docx, the csv module), with and without speakers."""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
import xml.etree.ElementTree as ET

import docx
import pysubs2
import pytest

from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.export import CueRules, build_cues, render, render_bytes
from nemo_desk.export.docx_format import render_docx
from nemo_desk.export.tokens import transcript_tokens
from tests.support.export_helpers import random_transcript

TT = "{http://www.w3.org/ns/ttml}"
TTM = "{http://www.w3.org/ns/ttml#metadata}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


def dialogue() -> Transcript:
    """Two speakers, accents, CJK, markup characters, a comma and a quote for CSV."""
    words = [("Hello,", 0.0, 0.4, "Ana"), ("\"Bo\"", 0.45, 0.8, "Ana"), ("<&>", 0.85, 1.1, "Ana"),
             ("{brace}", 1.15, 1.5, "Ana"), ("Ça", 2.0, 2.3, "Bo"), ("va?", 2.35, 2.7, "Bo"),
             ("東京", 6.0, 6.4, "Bo"), ("です。", 6.4, 6.9, "Bo")]
    segs = [Segment(" ".join(w[0] for w in words[:4]), 0.0, 1.5, tuple(Word(*w) for w in words[:4])),
            Segment(" ".join(w[0] for w in words[4:]), 2.0, 6.9, tuple(Word(*w) for w in words[4:]))]
    return Transcript(segs, duration=8.0, language="en", model="nvidia/parakeet-tdt-0.6b-v2",
                      source="C:\\Users\\Zoë\\talk.mp4")


def joined(text: str) -> str:
    return "".join(text.split())


def all_text(t: Transcript) -> str:
    return "".join(tok.text for tok in transcript_tokens(t))


# -- ASS -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(10))
def test_ass_has_the_cues_times_and_text(seed: int) -> None:
    t = random_transcript(seed + 500)
    subs = pysubs2.SSAFile.from_string(render("ass", t))
    cues = build_cues(t)
    assert len(subs) == len(cues)
    for e, c in zip(subs, cues):  # ASS counts centiseconds
        assert abs(e.start - c.start * 1000) <= 5 and abs(e.end - c.end * 1000) <= 5
    assert [e.plaintext for e in subs] == [c.text for c in cues]
    style = subs.styles["Default"]
    assert style.alignment == pysubs2.Alignment.BOTTOM_CENTER and style.outline > 0


def test_ass_speaker_is_the_event_name_and_braces_stay_text() -> None:
    subs = pysubs2.SSAFile.from_string(render("ass", dialogue()))
    assert [e.name for e in subs] == ["Ana", "Bo", "Bo"]
    assert r"\{brace\}" in subs[0].text  # escaped: not an override block
    assert not any(e.is_comment for e in subs)


# -- TTML ------------------------------------------------------------------------------
def ttml_cues(text: str) -> list[tuple[str, str, str, str | None]]:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{TT}tt"
    assert root.get("{http://www.w3.org/ns/ttml#parameter}profile") == "http://www.w3.org/ns/ttml/profile/imsc1/text"
    agents = {a.get(XML_ID): a.find(f"{TTM}name").text for a in root.iter(f"{TTM}agent")}
    out = []
    for p in root.iter(f"{TT}p"):
        lines = [p.text or ""] + [br.tail or "" for br in p.findall(f"{TT}br")]
        out.append((p.get("begin"), p.get("end"), "\n".join(line.strip() for line in lines),
                    agents.get(p.get(f"{TTM}agent"))))
    return out


def test_ttml_is_valid_imsc_text_with_speakers() -> None:
    t = dialogue()
    text = render("ttml", t)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    cues = ttml_cues(text)
    assert [c[3] for c in cues] == ["Ana", "Bo", "Bo"]
    assert [c[0] for c in cues] == ["00:00:00.000", "00:00:02.000", "00:00:06.000"]
    assert joined("".join(c[2] for c in cues)) == joined(all_text(t))
    assert "<&>" in cues[0][2]  # escaped by the writer, unescaped by the parser


@pytest.mark.parametrize("seed", range(10))
def test_ttml_cues_match_the_layout(seed: int) -> None:
    t = random_transcript(seed + 600)
    cues = build_cues(t)
    parsed = ttml_cues(render("ttml", t))
    assert [c[2] for c in parsed] == [c.text for c in cues]
    assert all(c[3] is None for c in parsed)


# -- DOCX ------------------------------------------------------------------------------
def test_docx_has_title_details_and_one_paragraph_per_turn() -> None:
    t = dialogue()
    document = docx.Document(io.BytesIO(render_docx(t, today=dt.date(2026, 11, 29))))
    paras = [p.text for p in document.paragraphs]
    assert paras[0] == "talk.mp4"
    assert "2026-11-29" in paras[1] and "parakeet-tdt-0.6b-v2" in paras[1] and "Zoë" in paras[1]
    # Speaker turns (and a new paragraph after the 3.3 s pause).
    assert paras[2:] == ['[00:00:00] Ana: Hello, "Bo" <&> {brace}', "[00:00:02] Bo: Ça va?",
                         "[00:00:06] Bo: 東京です。"]
    assert document.core_properties.title == "talk.mp4"


def test_docx_is_the_same_bytes_for_the_same_transcript() -> None:
    t = random_transcript(7)
    assert render_docx(t, today=dt.date(2026, 1, 2)) == render_docx(t, today=dt.date(2026, 1, 2))


def test_docx_without_speakers_keeps_every_word() -> None:
    t = random_transcript(8, n_words=200)
    document = docx.Document(io.BytesIO(render_bytes("docx", t)))
    body = "".join(p.text.split("] ", 1)[1] for p in document.paragraphs[2:])
    assert joined(body) == joined(all_text(t))


# -- CSV -------------------------------------------------------------------------------
def test_csv_rows_with_bom_for_excel() -> None:
    data = render_bytes("csv", dialogue())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["start", "end", "speaker", "text"]
    assert rows[1:] == [["0.000", "1.500", "Ana", 'Hello, "Bo" <&> {brace}'],
                        ["2.000", "6.900", "Bo", "Ça va? 東京です。"]]


def test_csv_splits_a_segment_where_the_speaker_changes() -> None:
    words = (Word("one", 0.0, 0.5, "A"), Word("two", 0.6, 1.0, "B"), Word("three", 1.1, 1.5))
    t = Transcript([Segment("one two three", 0.0, 1.5, words)], duration=2.0)
    rows = list(csv.reader(io.StringIO(render("csv", t), newline="")))
    assert rows[1:] == [["0.000", "0.500", "A", "one"], ["0.600", "1.000", "B", "two"], ["1.100", "1.500", "", "three"]]


# -- TXT with time stamps, VTT voices, JSON speakers -------------------------------------
def test_txt_time_stamps_and_speakers() -> None:
    t = dialogue()
    assert render("txt", t, txt_timestamps=True) == (
        '[00:00:00] Ana: Hello, "Bo" <&> {brace}\n\n[00:00:02] Bo: Ça va?\n\n[00:00:06] Bo: 東京です。\n')
    assert render("txt", t).startswith('Ana: Hello, "Bo"')
    plain = random_transcript(3)
    assert render("txt", plain, txt_timestamps=False) == render("txt", plain)


def test_vtt_marks_the_speaker_as_a_voice() -> None:
    text = render("vtt", dialogue())
    assert "<v Ana>Hello," in text and "<v Bo>Ça va?" in text
    vtt = pysubs2.SSAFile.from_string(text)
    assert len(vtt) == 3


def test_json_keeps_speakers_and_reads_them_back() -> None:
    from nemo_desk.export import transcript_from_json

    t = dialogue()
    back = transcript_from_json(render("json", t))
    assert [s.name for s in back.speakers] == ["Ana", "Bo"]  # from the words, in order of appearance
    named = back.named()
    assert [s.speaker for s in named.segments] == ["Ana", "Bo"]
    assert [w.speaker for s in named.segments for w in s.words] == [w.speaker or s.speaker for s in t.segments
                                                                   for w in s.words]
    assert render("srt", back) == render("srt", t) and render("vtt", back) == render("vtt", t)
    assert '"speakers": []' in render("json", random_transcript(4))  # none without speakers


@pytest.mark.parametrize("fmt", ["srt", "vtt", "ass", "ttml", "csv", "txt", "docx", "json"])
def test_no_format_loses_or_duplicates_words(fmt: str) -> None:
    rng = random.Random(fmt)
    t = random_transcript(rng.randint(0, 10_000), n_words=150)
    data = render_bytes(fmt, t)
    if fmt == "docx":
        text = " ".join(p.text.split("] ", 1)[1] for p in docx.Document(io.BytesIO(data)).paragraphs[2:])
    elif fmt == "csv":
        text = " ".join(r[3] for r in list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))[1:])
    elif fmt == "ttml":
        text = " ".join(c[2] for c in ttml_cues(data.decode()))
    elif fmt == "json":
        import json

        text = " ".join(w["text"] for s in json.loads(data)["segments"] for w in s["words"])
    elif fmt == "txt":
        text = data.decode()
    else:
        text = " ".join(e.plaintext for e in pysubs2.SSAFile.from_string(data.decode()))
    assert text.split() == [tok.text for tok in transcript_tokens(t)]


def test_empty_transcript_gives_valid_files() -> None:
    t = Transcript([], duration=3.0, source="a.wav")
    assert len(pysubs2.SSAFile.from_string(render("ass", t))) == 0
    assert ttml_cues(render("ttml", t)) == []
    assert render("csv", t) == "start,end,speaker,text\r\n"
    assert len(docx.Document(io.BytesIO(render_bytes("docx", t))).paragraphs) == 2
    assert CueRules()  # the default rules build
