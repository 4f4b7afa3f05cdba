"""`nemo-desk export`: outputs again from a real transcript JSON, edited by hand, of an
older schema version, or broken; with the writer's never-overwrite-a-user's-file policy."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from tests.support.export_helpers import parse_srt

pytestmark = pytest.mark.slow


def export(home: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEMO_DESK_HOME", str(home))
        code = cli.run(["export", *map(str, args)], lambda **kw: build_services(**kw), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def words_of(doc: dict) -> list[tuple[str, float, float]]:
    return [(w["text"], w["start"], w["end"]) for s in doc["segments"] for w in s["words"]]


def test_hand_edited_json_renders_the_edits_with_the_times_of_unchanged_words(doc_path, tmp_path):
    original = json.loads(doc_path.read_text(encoding="utf-8"))
    before = parse_srt((doc_path.parent / "talk.srt").read_text(encoding="utf-8"))
    victim = original["segments"][0]["words"][3]["text"]
    doc = json.loads(json.dumps(original))
    words = doc["segments"][0]["text"].split()
    words[3] = "Zanzibar"  # a person fixes one word, in the text, as one would by hand
    doc["segments"][0]["text"] = " ".join(words)
    doc_path.write_text(json.dumps(doc, indent=2), encoding="utf-8")

    code, out, err = export(tmp_path / "home", doc_path, "--format", "srt,vtt,txt,json")
    assert code == 0, err
    assert "note: talk.json: segments[0]: the text differs from its words" in err
    # talk.srt / talk.json are not ours in this home: kept, the new ones are numbered.
    srt = doc_path.parent / "talk (2).srt"
    # One number for all the formats of one export (they belong together), new ones included.
    assert str(srt) in out and (doc_path.parent / "talk (2).vtt").is_file()
    assert (doc_path.parent / "talk (2).txt").is_file() and not (doc_path.parent / "talk.vtt").exists()
    assert (doc_path.parent / "talk.srt").read_text(encoding="utf-8") != srt.read_text(encoding="utf-8")
    after = parse_srt(srt.read_text(encoding="utf-8"))
    assert [(c.start, c.end) for c in after] == [(c.start, c.end) for c in before]
    assert [c.text.replace(victim, "Zanzibar", 1) if i == 0 else c.text for i, c in enumerate(before)] == \
        [c.text for c in after]
    rerendered = json.loads((doc_path.parent / "talk (2).json").read_text(encoding="utf-8"))
    assert words_of(rerendered) == [("Zanzibar", s, e) if i == 3 else (t, s, e)
                                    for i, (t, s, e) in enumerate(words_of(original))]


def test_a_second_export_replaces_its_own_outputs_but_never_a_changed_one(doc_path, tmp_path):
    home = tmp_path / "home"
    assert export(home, doc_path, "--format", "vtt")[0] == 0
    vtt = doc_path.parent / "talk.vtt"
    first = vtt.read_text(encoding="utf-8")
    code, out, _ = export(home, doc_path, "--format", "vtt")
    assert code == 0 and str(vtt) in out  # ours and unchanged: replaced in place
    vtt.write_text(first + "\nNOTE edited by a person\n", encoding="utf-8")
    code, out, err = export(home, doc_path, "--format", "vtt")
    assert code == 0 and "talk.vtt exists and was not written by nemo_desk" in err
    assert "edited by a person" in vtt.read_text(encoding="utf-8")
    assert (doc_path.parent / "talk (2).vtt").read_text(encoding="utf-8") == first


def test_a_version_1_json_exports_the_same_subtitles(doc_path, tmp_path):
    out_dir = tmp_path / "out"
    assert export(tmp_path / "home", doc_path, "--format", "srt", "--output-dir", out_dir / "v2")[0] == 0
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["version"] = 1
    for key in ("speakers", "options"):
        doc.pop(key)
    for s in doc["segments"]:
        s.pop("speaker")
    old = doc_path.with_name("old.json")
    old.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = export(tmp_path / "home", old, "--format", "srt", "--output-dir", out_dir / "v1")
    assert code == 0, err
    v1 = (out_dir / "v1" / "old.srt").read_text(encoding="utf-8")
    assert v1 == (out_dir / "v2" / "talk.srt").read_text(encoding="utf-8") and parse_srt(v1)


def test_malformed_and_foreign_json_get_one_line_each_and_the_rest_still_runs(doc_path, tmp_path):
    broken = doc_path.with_name("broken.json")
    text = doc_path.read_text(encoding="utf-8")
    broken.write_text(text.replace('"end": ', '"end": "soon", "x": ', 1), encoding="utf-8")
    cut = doc_path.with_name("cut.json")
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    foreign = doc_path.with_name("whisper.json")
    foreign.write_text(json.dumps({"text": "hi", "segments": [{"start": 0, "end": 1, "text": "hi"}]}),
                       encoding="utf-8")
    code, out, err = export(tmp_path / "home", broken, cut, foreign, tmp_path / "missing.json", doc_path,
                            "--format", "txt")
    assert code == 1
    lines = err.strip().splitlines()
    assert lines == [
        'failed: broken.json: segments[0].end: expected a number of seconds, got "soon"',
        lines[1],
        'failed: whisper.json: not a nemo_desk transcript: no "format": "nemo_desk.transcript" field',
        "failed: missing.json: no such file",
    ]
    assert lines[1].startswith("failed: cut.json: not valid JSON: ") and "line" in lines[1]
    assert out.startswith("done: talk.json -> ") and (doc_path.parent / "talk.txt").is_file()


def test_an_unknown_format_is_refused_before_anything_is_read(doc_path, tmp_path):
    code, _, err = export(tmp_path / "home", doc_path, "--format", "srt,docz")
    assert code == 2 and "unknown output format 'docz'" in err
