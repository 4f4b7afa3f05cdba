"""SRT/WebVTT/TXT/JSON rendering: parsed back by independent readers, not compared to
copies of the renderer's own output."""
from __future__ import annotations

import json

import pytest

from nemo_desk.core.errors import ExportError
from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.export import (
    FORMATS,
    CueRules,
    build_cues,
    format_timestamp,
    normalise_formats,
    paragraphs,
    render,
    render_json,
    render_srt,
    render_txt,
    render_vtt,
    transcript_from_json,
)
from tests.support.export_helpers import parse_srt, parse_vtt, random_transcript


def transcript_of(*segments: list[tuple[str, float, float]], **kw) -> Transcript:
    segs = [
        Segment(" ".join(t for t, _, _ in words), words[0][1], words[-1][2], tuple(Word(*w) for w in words))
        for words in segments
    ]
    kw.setdefault("duration", (segs[-1].end + 1) if segs else 0.0)
    return Transcript(segs, **kw)


NON_ASCII = transcript_of(
    [("Ça", 0.0, 0.3), ("va,", 0.35, 0.6), ("l'été", 0.65, 1.0), ("d’O'Brien?", 1.05, 1.6)],
    [("東京", 3.0, 3.4), ("で", 3.4, 3.5), ("字幕。", 3.5, 4.0), ("Straße", 4.1, 4.6), ("naïve", 4.7, 5.0)],
    language="fr",
    model="nvidia/parakeet-tdt-0.6b-v3",
    source="C:\\Users\\Zoë\\Vidéos\\l'été 東京.mp4",
)


def ms(seconds: float) -> float:
    return round(seconds * 1000) / 1000


# -- timestamps ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0.0, "00:00:00,000", "00:00:00.000"),
        (3661.5, "01:01:01,500", "01:01:01.500"),
        (59.9996, "00:01:00,000", "00:01:00.000"),  # rounds up across the minute
        (0.0004, "00:00:00,000", "00:00:00.000"),
        (-0.2, "00:00:00,000", "00:00:00.000"),
        (360000.25, "100:00:00,250", "100:00:00.250"),  # hours grow, never wrap
    ],
)
def test_timestamps(seconds: float, srt: str, vtt: str) -> None:
    assert format_timestamp(seconds, ",") == srt
    assert format_timestamp(seconds, ".") == vtt


# -- SRT / VTT round trips -------------------------------------------------------------
@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("with_word_times", [True, False])
def test_srt_and_vtt_parse_back_to_the_cues(seed: int, with_word_times: bool) -> None:
    transcript = random_transcript(seed, with_word_times=with_word_times)
    cues = build_cues(transcript)
    expected = [(ms(c.start), ms(c.end), c.text) for c in cues]
    for parse, text in ((parse_srt, render_srt(transcript)), (parse_vtt, render_vtt(transcript))):
        parsed = parse(text)
        assert [(p.start, p.end, p.text) for p in parsed] == expected
        # Millisecond rounding must not create overlaps or reversed cues.
        for a, b in zip(parsed, parsed[1:]):
            assert a.start <= a.end <= b.start


def test_srt_shape_for_a_known_transcript() -> None:
    t = transcript_of([("Hello", 1.0, 1.4), ("world.", 1.5, 2.0)], [("Again", 5.25, 5.5)])
    text = render_srt(t)
    parsed = parse_srt(text)
    assert [(p.start, p.end, p.text) for p in parsed] == [(1.0, 2.0, "Hello world."), (5.25, 6.083, "Again")]
    assert text.startswith("1\n00:00:01,000 --> 00:00:02,000\nHello world.\n\n2\n")
    assert "\r" not in text and "\ufeff" not in text


def test_non_ascii_text_survives_srt_and_vtt() -> None:
    words = [w.text for w in NON_ASCII.words]
    for text in (render_srt(NON_ASCII), render_vtt(NON_ASCII)):
        parsed = parse_srt(text) if not text.startswith("WEBVTT") else parse_vtt(text)
        shown = " ".join(p.text.replace("\n", " ") for p in parsed)
        for w in words:
            assert w in shown
    assert "東京で字幕。" in render_srt(NON_ASCII)  # no spaces invented between CJK words


def test_vtt_escapes_markup_characters() -> None:
    t = transcript_of([("<b>bold</b>", 0.0, 0.5), ("R&D", 0.6, 1.0), ("-->", 1.1, 1.3), ("a>b", 1.4, 1.6)])
    text = render_vtt(t)
    (cue,) = parse_vtt(text)  # the parser rejects raw "<", "&" and "-->"
    assert cue.text == "<b>bold</b> R&D --> a>b"


def test_cue_rules_reach_the_renderers() -> None:
    t = random_transcript(5, n_words=80, max_gap=0.3)
    narrow = CueRules(max_chars_per_line=16, max_lines=1)
    for parse, text in ((parse_srt, render_srt(t, narrow)), (parse_vtt, render_vtt(t, narrow))):
        for cue in parse(text):
            assert "\n" not in cue.text
            assert len(cue.text) <= 16 or " " not in cue.text


def test_empty_transcript_gives_valid_empty_files() -> None:
    empty = Transcript([], duration=30.0, model="m", source="silence.wav")
    assert parse_srt(render_srt(empty)) == []
    assert parse_vtt(render_vtt(empty)) == []
    assert render_txt(empty) == ""
    doc = json.loads(render_json(empty))
    assert doc["segments"] == [] and doc["text"] == "" and doc["duration"] == 30.0


# -- TXT -----------------------------------------------------------------------------------
def test_txt_breaks_paragraphs_at_long_pauses_only() -> None:
    t = transcript_of(
        [("First", 0.0, 0.5), ("part.", 0.6, 1.0)],
        [("Still", 2.9, 3.2), ("first.", 3.3, 3.6)],  # 1.9 s pause: same paragraph
        [("Second", 5.6, 6.0), ("paragraph.", 6.1, 6.8)],  # 2.0 s pause: new paragraph
    )
    assert render_txt(t).split("\n") == ["First part. Still first.", "", "Second paragraph.", ""]
    assert paragraphs(t, paragraph_gap=1.5) == ["First part.", "Still first.", "Second paragraph."]
    assert paragraphs(t, paragraph_gap=10) == ["First part. Still first. Second paragraph."]


def test_txt_pause_inside_a_segment_also_breaks() -> None:
    t = transcript_of([("One", 0.0, 0.4), ("two", 3.0, 3.4)])
    assert paragraphs(t) == ["One", "two"]


def test_txt_without_word_times_uses_gaps_between_segments() -> None:
    segs = [Segment("Alpha beta.", 0.0, 2.0), Segment("Gamma.", 2.5, 3.0), Segment("Delta épsilon.", 6.0, 8.0)]
    t = Transcript(segs, duration=9.0, has_word_times=False)
    assert paragraphs(t) == ["Alpha beta. Gamma.", "Delta épsilon."]


@pytest.mark.parametrize("seed", range(20))
def test_txt_is_the_transcript_text_without_wrapping(seed: int) -> None:
    t = random_transcript(seed, max_gap=3.0)
    text = render_txt(t)
    paras = [p for p in text.split("\n\n")]
    if t.words:
        assert text.endswith("\n") and not text.endswith("\n\n")
        # One line per paragraph, no hard wrapping, no words lost or added.
        assert all("\n" not in p for p in (x.rstrip("\n") for x in paras))
        assert " ".join(text.split()) == " ".join(w.text for w in t.words)
    else:
        assert text == ""


# -- JSON ----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(20))
def test_json_round_trip(seed: int) -> None:
    t = random_transcript(seed, with_word_times=seed % 3 != 0)
    t.target_language = "de" if seed % 2 else None
    back = transcript_from_json(render_json(t))
    assert back.segments == [
        Segment(
            s.text,
            ms(s.start),
            ms(s.end),
            tuple(Word(w.text, ms(w.start), ms(w.end)) for w in s.words),
        )
        for s in t.segments
    ]
    for attr in ("duration", "language", "model", "source", "target_language", "has_word_times"):
        assert getattr(back, attr) == getattr(t, attr)


def test_json_document_shape() -> None:
    text = render_json(NON_ASCII)
    doc = json.loads(text)
    assert doc["format"] == "nemo_desk.transcript" and doc["version"] == 2
    assert doc["language"] == "fr" and doc["model"] == "nvidia/parakeet-tdt-0.6b-v3"
    assert doc["source"] == NON_ASCII.source
    assert [w["text"] for s in doc["segments"] for w in s["words"]] == [w.text for w in NON_ASCII.words]
    # Human-readable: pretty and not \u-escaped; stable: same input, same bytes.
    assert "l'été" in text and "東京" in text and "\\u" not in text
    assert text.count("\n") > 10
    assert render_json(NON_ASCII) == text


def test_json_times_are_rounded_to_milliseconds() -> None:
    t = transcript_of([("x", 1.23456, 2.0004999)])
    doc = json.loads(render_json(t))
    word = doc["segments"][0]["words"][0]
    assert (word["start"], word["end"]) == (1.235, 2.0)


def test_json_rejects_foreign_documents() -> None:
    with pytest.raises(ValueError):
        transcript_from_json('{"segments": []}')
    with pytest.raises(ValueError):
        transcript_from_json(json.dumps({"format": "nemo_desk.transcript", "version": 99}))


# -- names -----------------------------------------------------------------------------------
def test_format_names() -> None:
    assert FORMATS == ("srt", "txt", "vtt", "json", "ass", "ttml", "docx", "csv")
    assert normalise_formats(["SRT", ".txt", " vtt ", "srt"]) == ("srt", "txt", "vtt")
    assert normalise_formats("json,srt") == ("json", "srt")


@pytest.mark.parametrize("bad", [["pdf"], ["srt", "fcpxml"], [], ""])
def test_unknown_or_missing_format_lists_valid_ones(bad) -> None:
    with pytest.raises(ExportError) as info:
        normalise_formats(bad)
    assert "srt, txt, vtt, json, ass, ttml, docx, csv" in str(info.value)
    assert "\n" not in str(info.value)


def test_render_dispatches_by_name() -> None:
    assert render("SRT", NON_ASCII) == render_srt(NON_ASCII)
    assert render("vtt", NON_ASCII).startswith("WEBVTT\n")
    assert render("txt", NON_ASCII) == render_txt(NON_ASCII)
    assert json.loads(render("json", NON_ASCII))["format"] == "nemo_desk.transcript"
    with pytest.raises(ExportError):
        render("pdf", NON_ASCII)
