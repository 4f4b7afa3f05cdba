"""Vocabulary lists: phrase parsing, boost files, options, CLI flags (no NeMo here)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from nemo_desk import cli
from nemo_desk.engine.jobs import Job, job_from_json, job_to_json
from nemo_desk.engine.options import TranscribeOptions
from nemo_desk.engine.queue import job_fingerprint
from nemo_desk.engine.vocabulary import (
    STRENGTHS, VocabularyError, parse_boost_text, parse_phrases, read_boost_file, strength_values,
)


def test_phrases_split_on_commas_semicolons_and_lines_and_drop_repeats_case_insensitively():
    assert parse_phrases(" Ada  Lovelace, ACME;nemo_desk\n acme ,, ") == ("Ada Lovelace", "ACME", "nemo_desk")
    assert parse_phrases("") == ()


def test_boost_file_text_skips_comments_and_blank_lines():
    text = "# council members\nJane Doe\n\n  Rt Hon Smith  # the chair\n#Dropped\nZoning Board, Ward 7\n"
    assert parse_boost_text(text) == ("Jane Doe", "Rt Hon Smith", "Zoning Board", "Ward 7")


def test_boost_file_with_a_notepad_bom_and_one_in_the_windows_code_page(tmp_path):
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffZoë\r\nCafé Müller\r\n".encode("utf-8"))
    assert read_boost_file(bom) == ("Zoë", "Café Müller")
    ansi = tmp_path / "ansi.txt"
    ansi.write_bytes("Zoë\r\nCafé\r\n".encode("cp1252"))  # not valid UTF-8
    assert read_boost_file(ansi) == ("Zoë", "Café")


@pytest.mark.parametrize("make, words", [
    (lambda p: p, "not found"),
    (lambda p: (p.mkdir(), p)[1], "is a folder"),
    (lambda p: (p.write_bytes(b"\x00\x01binary"), p)[1], "not a text file"),
])
def test_unreadable_boost_files_say_why_in_one_line(tmp_path, make, words):
    path = make(tmp_path / "list.txt")
    with pytest.raises(VocabularyError) as info:
        read_boost_file(path)
    assert words in str(info.value) and "\n" not in str(info.value) and "list.txt" in str(info.value)


def test_strengths_grow_and_an_unknown_name_is_the_default():
    # Each step boosts at least as hard in every value (alpha, score, depth, the check's
    # allowed deficit) and harder in one.
    steps = [STRENGTHS[s] for s in ("weak", "normal", "strong")]
    for gentle, harder in zip(steps, steps[1:]):
        assert all(h >= g for g, h in zip(gentle, harder)) and harder != gentle
    assert strength_values("bogus") == STRENGTHS["normal"]


def test_options_keep_the_list_through_the_journal_and_the_fingerprint_follows_it(tmp_path):
    src = tmp_path / "a.wav"
    src.write_bytes(b"RIFF")
    job = Job(source=src, options=TranscribeOptions(boost=("Ada Lovelace", "ACME"), boost_strength="strong"))
    back = job_from_json(job_to_json(job))
    assert back == job and isinstance(back.options.boost, tuple)
    assert job_fingerprint(back) == job_fingerprint(job)
    other = Job(source=src, id=job.id, options=TranscribeOptions(boost=("Ada Lovelace",), boost_strength="strong"))
    weaker = Job(source=src, id=job.id, options=TranscribeOptions(boost=job.options.boost, boost_strength="weak"))
    plain = Job(source=src, id=job.id)
    prints = {job_fingerprint(j) for j in (job, other, weaker, plain)}
    assert len(prints) == 4  # saved chunks of one list are never reused for another


def _args(*extra: str):
    return cli.build_parser().parse_args(["transcribe", "x.wav", *extra])


def test_cli_boost_flags_become_the_jobs_vocabulary(tmp_path):
    listing = tmp_path / "names.txt"
    listing.write_text("# names\nGrace Hopper\nacme\n", encoding="utf-8")
    args = _args("--boost", "ACME, Ada Lovelace", "--boost", "Linus", "--boost-file", str(listing),
                 "--boost-strength", "weak")
    (job,) = cli._jobs_from_args(args, [Path("x.wav")])
    assert job.options.boost == ("ACME", "Ada Lovelace", "Linus", "Grace Hopper")
    assert job.options.boost_strength == "weak"
    (plain,) = cli._jobs_from_args(_args(), [Path("x.wav")])
    assert plain.options.boost == () and plain.options.boost_strength == "normal"


def test_cli_stops_before_any_file_when_a_boost_file_is_bad(tmp_path, monkeypatch):
    monkeypatch.setenv("NEMO_DESK_HOME", str(tmp_path / "home"))
    media = tmp_path / "a.wav"
    media.write_bytes(b"RIFF")

    def services(**kw):
        raise AssertionError("no services may start for a bad boost file")

    with pytest.raises(SystemExit) as info:
        cli.run(["transcribe", str(media), "--boost-file", str(tmp_path / "missing.txt")], services,
                out=io.StringIO(), err=io.StringIO())
    assert "boost file not found" in str(info.value) and "missing.txt" in str(info.value)
    with pytest.raises(SystemExit) as info:
        cli.run(["transcribe", str(media), "--boost", " , ;"], services, out=io.StringIO(), err=io.StringIO())
    assert "no phrases" in str(info.value)
