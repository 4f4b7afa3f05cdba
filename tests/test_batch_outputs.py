"""A batch never loses an output: one name per source, all of a job's files new or all old.

Real CLI and pipeline, real speech, the tiny steered model (it says "the" every 0.16 s, so
a longer file gives a longer transcript: two sources are told apart by their outputs).
"""
from __future__ import annotations

import errno
import io
import os
import shutil
from pathlib import Path

import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from nemo_desk.engine.jobs import Job
from nemo_desk.engine.models import ModelRef


def run_cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    code = cli.run(["transcribe", *args], lambda **kw: build_services(**kw), out=io.StringIO(), err=err)
    return code, err.getvalue()


def words(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").split())


def test_same_stem_in_two_folders_into_one_output_dir(tmp_path, speech_dir, tiny_steered, app_home):
    one, two, out = tmp_path / "dir1" / "talk.wav", tmp_path / "dir2" / "talk.wav", tmp_path / "subs"
    for src, speech in ((one, "hello.wav"), (two, "digits.wav")):
        src.parent.mkdir()
        shutil.copy(speech_dir / speech, src)
    code, err = run_cli(str(one), str(two), "--model-path", str(tiny_steered), "--output-dir", str(out),
                        "--format", "srt,txt")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["talk (2).srt", "talk (2).txt", "talk.srt", "talk.txt"]
    assert words(out / "talk.txt") != words(out / "talk (2).txt")  # two different transcripts kept
    assert (f"warning: talk.srt, talk.txt already hold the transcript of {one}; "
            f"wrote talk (2).srt, talk (2).txt for {two}") in err.splitlines()
    # Running the same batch again replaces each source's own outputs, nothing piles up.
    code, err = run_cli(str(one), str(two), "--model-path", str(tiny_steered), "--output-dir", str(out),
                        "--format", "srt,txt")
    assert code == 0, err
    assert len(list(out.iterdir())) == 4


def test_video_and_audio_with_one_name_next_to_each_other(tmp_path, speech_dir, tiny_steered, app_home):
    shutil.copy(speech_dir / "digits.mp4", tmp_path / "meeting.mp4")
    shutil.copy(speech_dir / "hello.wav", tmp_path / "meeting.wav")
    code, err = run_cli(str(tmp_path / "meeting.mp4"), str(tmp_path / "meeting.wav"),
                        "--model-path", str(tiny_steered), "--format", "txt")
    assert code == 0, err
    assert words(tmp_path / "meeting.txt") != words(tmp_path / "meeting (2).txt")
    assert "already hold the transcript of" in err


@pytest.fixture
def services(app_home):
    s = build_services(retry_seconds=1.0)
    yield s
    s.close()


def test_disk_full_on_the_last_format_keeps_all_outputs_old(tmp_path, speech_dir, tiny_steered, services,
                                                            monkeypatch):
    (tmp_path / "media").mkdir()
    src = tmp_path / "media" / "talk.wav"
    shutil.copy(speech_dir / "hello.wav", src)
    fmts = ("srt", "txt", "vtt", "json")
    job = Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"), formats=fmts)
    assert services.pipeline.run(job).status == "done"
    before = {f: src.with_suffix("." + f).read_bytes() for f in fmts}
    shutil.copy(speech_dir / "digits.wav", src)  # a different recording: every output would change
    real_fsync = os.fsync

    def full_on_json(fd):
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if name.startswith(".talk.json.") and name.endswith(".tmp"):  # our temporary JSON
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_on_json)
    result = services.pipeline.run(Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"), formats=fmts))
    monkeypatch.undo()
    assert result.status == "failed" and "not enough disk space" in result.failure.message
    assert {f: src.with_suffix("." + f).read_bytes() for f in fmts} == before
    assert sorted(p.name for p in src.parent.iterdir()) == sorted(["talk.wav", *(f"talk.{f}" for f in fmts)])
    # Once there is room again, the same job replaces all four.
    assert services.pipeline.run(Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"),
                                     formats=fmts)).status == "done"
    assert all(src.with_suffix("." + f).read_bytes() != before[f] for f in fmts)


def test_output_folder_that_is_a_file_fails_before_the_model_loads(tmp_path, speech_dir, tiny_steered, services):
    src = tmp_path / "talk.wav"
    shutil.copy(speech_dir / "hello.wav", src)
    (tmp_path / "subs").write_text("not a folder")
    result = services.pipeline.run(Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"),
                                       output_dir=tmp_path / "subs"))
    assert result.status == "failed" and result.failure.kind == "export"
    assert result.failure.message == f"cannot use the output folder: {tmp_path / 'subs'} is a file, not a folder"
    assert services.models.loaded is None  # found before loading, not after transcribing
