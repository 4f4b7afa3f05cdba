"""The transcript document: schema v2, reading v1 and hand-edited files, one-line errors,
edits that keep word times, atomic save and autosave."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nemo_desk.core.document import Speaker, TranscriptDocument
from nemo_desk.core.errors import ExportError
from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.document import edits
from nemo_desk.document.store import Autosave, document_for, load_document, media_for, save_document
from nemo_desk.export import render_json, render_srt, transcript_from_json
from nemo_desk.export.json_read import TranscriptFormatError, read_document
from nemo_desk.export.retime import retime_words
from nemo_desk.locks.fileops import FileOps
from tests.support.export_helpers import random_transcript


def seg(*words: tuple[str, float, float]) -> Segment:
    ws = tuple(Word(*w) for w in words)
    return Segment(" ".join(w.text for w in ws), ws[0].start, ws[-1].end, ws)


W = [("one", 0.0, 0.4), ("two", 0.5, 0.9), ("three", 1.0, 1.5), ("four", 1.6, 2.0)]


def doc_of(*segments: Segment, **kw) -> TranscriptDocument:
    return TranscriptDocument(segments=list(segments), duration=10.0, source="talk.wav", model="m", **kw)


# -- retiming -------------------------------------------------------------------------------
def test_unchanged_words_keep_their_times_and_a_replaced_word_takes_the_old_one():
    old = seg(*W).words
    new = retime_words(old, "one TWO three four", 0.0, 2.0)
    assert [w.text for w in new] == ["one", "TWO", "three", "four"]
    assert [(w.start, w.end) for w in new] == [(w.start, w.end) for w in old]


def test_inserted_words_share_what_they_replace_and_deleted_words_leave_a_gap():
    old = seg(*W).words
    new = retime_words(old, "one 2a 2b four", 0.0, 2.0)  # "two three" -> "2a 2b"
    assert [(w.text, w.start, w.end) for w in new] == [
        ("one", 0.0, 0.4), ("2a", 0.5, 1.0), ("2b", 1.0, 1.5), ("four", 1.6, 2.0)]
    gone = retime_words(old, "one four", 0.0, 2.0)
    assert [(w.text, w.start, w.end) for w in gone] == [("one", 0.0, 0.4), ("four", 1.6, 2.0)]
    added = retime_words(old, "one and two three four", 0.0, 2.0)  # pure insertion: the silence 0.4-0.5
    assert (added[1].text, added[1].start, added[1].end) == ("and", 0.4, 0.5)


# -- the file ---------------------------------------------------------------------------------
def test_v2_round_trip_keeps_speakers_options_and_segment_speakers():
    doc = doc_of(seg(*W[:2]), seg(*W[2:]), speakers=(Speaker("S1", "Ann"), Speaker("S2", "Bob")),
                 segment_speakers=("S2", None), options={"language": "en"})
    back = transcript_from_json(render_json(doc))
    assert back.speakers == doc.speakers and back.segment_speakers == ("S2", None)
    assert back.options == {"language": "en"} and back.segments == doc.segments
    assert render_json(back) == render_json(doc)  # stable bytes


def test_a_plain_transcript_renders_as_a_document_without_speakers():
    t = random_transcript(3)
    d = json.loads(render_json(t))
    assert d["version"] == 2 and d["speakers"] == [] and all(s["speaker"] is None for s in d["segments"])


def test_version_1_files_still_load():
    d = json.loads(render_json(doc_of(seg(*W))))
    d["version"] = 1
    for key in ("speakers", "options"):
        del d[key]
    for s in d["segments"]:
        del s["speaker"]
    back = transcript_from_json(json.dumps(d))
    assert back.speakers == () and back.speaker_name(0) == "" and back.words == list(seg(*W).words)


def test_hand_edited_text_is_kept_and_its_words_are_matched_to_it():
    d = json.loads(render_json(doc_of(seg(*W))))
    d["segments"][0]["text"] = "one two tree four"
    back, notes = read_document(json.dumps(d))
    assert [(w.text, w.start) for w in back.words] == [("one", 0.0), ("two", 0.5), ("tree", 1.0), ("four", 1.6)]
    assert notes and "segments[0]" in notes[0]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format="whisper"), 'its "format" is "whisper"'),
    (lambda d: d.pop("segments"), '"segments" is missing'),
    (lambda d: d.update(version=9), "version: the file is version 9"),
    (lambda d: d["segments"][0]["words"][1].update(start="0,5"), 'segments[0].words[1].start: expected a number'),
    (lambda d: d["segments"][0].update(end=-1), "segments[0].end: a time cannot be negative"),
    (lambda d: d["segments"][0].update(start=5.0), "segments[0]: end 2.0 is before start 5.0"),
    (lambda d: d["segments"][0].update(speaker="S7"), 'segments[0].speaker: "S7" is not in the speakers table'),
    (lambda d: d.update(speakers=[{"id": "S1"}, {"id": "S1"}]), 'speakers[1].id: "S1" is used by two speakers'),
])
def test_malformed_documents_get_one_line_that_names_the_problem(change, message):
    d = json.loads(render_json(doc_of(seg(*W))))
    change(d)
    with pytest.raises(TranscriptFormatError) as err:
        read_document(json.dumps(d))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, ExportError)


def test_not_json_and_foreign_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"segments": [', encoding="utf-8")
    with pytest.raises(ExportError, match=r"bad.json: not valid JSON: .*line 1"):
        load_document(bad)
    foreign = tmp_path / "whisper.json"
    foreign.write_text('{"text": "hi", "segments": []}', encoding="utf-8")
    with pytest.raises(ExportError, match='not a nemo_desk transcript'):
        load_document(foreign)
    with pytest.raises(ExportError, match="no such file"):
        load_document(tmp_path / "missing.json")


# -- edits --------------------------------------------------------------------------------------
def test_split_and_merge_keep_words_times_and_speaker():
    doc = doc_of(seg(*W), speakers=(Speaker("S1", "Ann"),), segment_speakers=("S1",))
    pos = doc.segments[0].text.index("three")
    split = edits.split_at(doc, 0, pos)
    assert [s.text for s in split.segments] == ["one two", "three four"]
    assert (split.segments[0].end, split.segments[1].start) == (0.9, 1.0)
    assert split.segment_speakers == ("S1", "S1")
    assert edits.split_at(doc, 0, 0) is doc  # nothing before the cursor: no split
    merged = edits.merge_with_next(split, 0)
    assert merged.segments == doc.segments and merged.segment_speakers == ("S1",)


def test_speakers_rename_everywhere_and_move_segments():
    doc = doc_of(seg(*W[:2]), seg(*W[2:]))
    doc, sid = edits.add_speaker(doc)
    doc = edits.set_speaker(edits.set_speaker(doc, 0, sid), 1, sid)
    doc = edits.rename_speaker(doc, sid, "  The   Interviewee ")
    assert [doc.speaker_name(i) for i in (0, 1)] == ["The Interviewee"] * 2
    doc, other = edits.add_speaker(doc, "Host")
    doc = edits.set_speaker(doc, 1, other)
    assert [doc.speaker_name(i) for i in (0, 1)] == ["The Interviewee", "Host"]
    with pytest.raises(ValueError):
        edits.set_speaker(doc, 0, "nobody")


def test_find_and_replace_all():
    doc = doc_of(seg(*W[:2]), seg(("two", 3.0, 3.4), ("Two", 3.5, 3.9)))
    assert edits.find(doc, "two") == [(0, 4), (1, 0), (1, 4)]
    new, n = edits.replace_all(doc, "two", "2", case=True)
    assert n == 2 and [s.text for s in new.segments] == ["one 2", "2 Two"]
    assert new.segments[1].words[0].start == 3.0


# -- disk ------------------------------------------------------------------------------------------
def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "talk.json"
    doc = doc_of(seg(*W))
    save_document(path, doc, FileOps())
    assert load_document(path)[0].segments == doc.segments
    before = path.read_bytes()

    def broken(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileOps, "replace", broken)
    with pytest.raises(ExportError, match="not enough disk space"):
        save_document(path, edits.set_text(doc, 0, "changed"), FileOps())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["talk.json"]  # no temporary file left


def test_autosave_recovers_unsaved_edits_and_discard_forgets_them(tmp_path):
    autosave = Autosave(tmp_path / "autosave", FileOps())
    doc_path = tmp_path / "talk.json"
    assert autosave.recover(doc_path) is None
    edited = edits.set_text(doc_of(seg(*W)), 0, "one two three five")
    autosave.write(doc_path, edited)
    got = autosave.recover(tmp_path / "." / "talk.json")
    assert got is not None and got.document.segments == edited.segments
    assert autosave.recover(tmp_path / "other.json") is None
    autosave.discard(doc_path)
    assert autosave.recover(doc_path) is None


def test_media_file_finds_the_json_next_to_it_and_the_json_its_media(tmp_path):
    media = tmp_path / "talk.mp4"
    media.write_bytes(b"x")
    with pytest.raises(ExportError, match="no transcript next to talk.mp4"):
        document_for(media)
    (tmp_path / "talk.json").write_text("{}", encoding="utf-8")
    assert document_for(media) == tmp_path / "talk.json"
    doc = doc_of(seg(*W), )
    moved = TranscriptDocument.of(doc, source=str(Path("/elsewhere/gone") / "talk.mp4"))
    assert media_for(moved, tmp_path / "talk.json") == tmp_path / "talk.mp4"
    assert media_for(TranscriptDocument.of(doc, source="nothing.wav"), tmp_path / "talk.json") is None


def test_exporters_render_documents_with_the_edits():
    doc = edits.set_text(doc_of(seg(*W)), 0, "one two three FOUR")
    assert "one two three FOUR" in render_srt(doc)
    assert isinstance(doc, Transcript)
