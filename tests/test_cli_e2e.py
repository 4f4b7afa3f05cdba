"""`nemo-desk transcribe` end to end: real speech, real ffmpeg, a tiny real NeMo model."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from tests.support import audio

REPO = Path(__file__).resolve().parents[1]
TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)")


def run_cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    code = cli.run(["transcribe", *args], lambda **kw: build_services(**kw), out=io.StringIO(), err=err)
    return code, err.getvalue()


def _secs(m: re.Match) -> float:
    h, mi, s, ms = (int(g) for g in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        assert lines[0].isdigit(), block
        a, b = TIME.findall(lines[1]) and list(TIME.finditer(lines[1]))
        cues.append((_secs(a), _secs(b), "\n".join(lines[2:])))
    return cues


def check_outputs(stem: Path, duration: float) -> None:
    srt = parse_srt(stem.with_suffix(".srt").read_text(encoding="utf-8"))
    assert srt, "no cues"
    for (s, e, text), nxt in zip(srt, srt[1:] + [None]):
        assert 0 <= s < e <= duration + 0.01
        assert text.strip() and len(text.splitlines()) <= 2
        if nxt:
            assert e <= nxt[0]
    vtt = stem.with_suffix(".vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    assert len(list(TIME.finditer(vtt))) == 2 * len(srt)
    data = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    words = [w for seg in data["segments"] for w in seg["words"]]
    assert words and all(0 <= w["start"] <= w["end"] <= duration + 0.01 for w in words)
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    txt = stem.with_suffix(".txt").read_text(encoding="utf-8")
    assert " ".join(txt.split()) == " ".join(w["text"] for w in words)


@pytest.fixture
def inputs(tmp_path, speech_dir) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name in ("hello.wav", "hello_stereo44k.wav", "digits.mp4"):
        shutil.copy(speech_dir / name, d / name)
    odd = d / "my talk's Ünïcødé 日本 dir"
    odd.mkdir()
    shutil.copy(speech_dir / "digits.wav", odd / "Zoë's take 1.wav")
    return d


def test_all_formats_for_every_kind_of_input(inputs, tiny_steered, app_home):
    files = [inputs / "hello.wav", inputs / "hello_stereo44k.wav", inputs / "digits.mp4",
             inputs / "my talk's Ünïcødé 日本 dir" / "Zoë's take 1.wav"]
    code, err = run_cli(*map(str, files), "--model-path", str(tiny_steered), "--format", "srt,txt,vtt,json")
    assert code == 0, err
    assert "Traceback" not in err
    for f in files:
        import soundfile as sf

        duration = sf.info(f).duration if f.suffix == ".wav" else 3.0
        check_outputs(f.with_suffix(""), duration + 0.5)
    # Mono and stereo of the same speech give the same number of words.
    a = json.loads((inputs / "hello.json").read_text())["segments"]
    b = json.loads((inputs / "hello_stereo44k.json").read_text())["segments"]
    assert sum(len(s["words"]) for s in a) == sum(len(s["words"]) for s in b)


def test_output_dir_and_folder_input(inputs, tiny_steered, app_home, tmp_path):
    out = tmp_path / "out put"
    code, err = run_cli(str(inputs), "--model-path", str(tiny_steered), "--output-dir", str(out), "--format", "srt")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["Zoë's take 1.srt", "digits.srt", "hello.srt", "hello_stereo44k.srt"]
    assert not list(inputs.rglob("*.srt"))


def test_bad_inputs_mixed_with_good(tmp_path, speech_dir, tiny_steered, app_home):
    d = tmp_path / "mixed"
    d.mkdir()
    shutil.copy(speech_dir / "hello.wav", d / "good.wav")
    audio.make_corrupt(d / "corrupt.mp3")
    audio.make_empty(d / "empty.wav")
    audio.make_video_without_audio(d / "silent_video.mp4", 1.0)
    (d / "notes.mp3").write_text("this is a text file renamed to mp3", encoding="utf-8")
    before = set(os.listdir(d))
    files = ["good.wav", "corrupt.mp3", "missing.wav", "empty.wav", "silent_video.mp4", "notes.mp3"]
    code, err = run_cli(*(str(d / f) for f in files), "--model-path", str(tiny_steered))
    assert code == 1
    assert "Traceback" not in err
    lines = {m.group(2): ln for ln in err.splitlines() if (m := re.match(r"(done|failed): (.+?)(?: -> |: )", ln))}
    assert lines["good.wav"].startswith("done:")
    assert "not a readable audio/video file" in lines["corrupt.mp3"]
    assert "not found" in lines["missing.wav"]
    assert "empty" in lines["empty.wav"]
    assert "no audio track" in lines["silent_video.mp4"]
    assert "not a readable" in lines["notes.mp3"]
    assert "5 of 6 file(s) failed" in err
    # Only the good file's outputs appeared; no temp or partial files anywhere.
    assert set(os.listdir(d)) - before == {"good.srt", "good.txt"}


def test_unknown_format_is_a_usage_error(tmp_path, app_home):
    with pytest.raises(SystemExit, match="unknown format pdf"):
        run_cli(str(tmp_path / "x.wav"), "--format", "srt,pdf")


def test_console_script_exit_codes(tmp_path, speech_dir, tiny_steered):
    """The installed `nemo-desk` command itself, in a fresh process."""
    shutil.copy(speech_dir / "hello.wav", tmp_path / "a.wav")
    env = {**os.environ, "NEMO_DESK_HOME": str(tmp_path / "home")}
    exe = Path(sys.executable).with_name("nemo-desk")
    ok = subprocess.run([str(exe), "transcribe", str(tmp_path / "a.wav"), "--model-path", str(tiny_steered)],
                        env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "a.srt").is_file()
    assert "Traceback" not in ok.stderr and "OneLogger" not in ok.stderr + ok.stdout
    bad = subprocess.run([str(exe), "transcribe", str(tmp_path / "nope.wav"), "--model-path", str(tiny_steered)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "failed: nope.wav: file not found" in bad.stderr
    # The process's own temp folder is gone after a clean exit.
    assert list((tmp_path / "home" / "cache" / "tmp").iterdir()) == []


def test_a_name_that_is_not_utf8_is_queued_resumable_and_transcribed(tmp_path, speech_dir, tiny_steered, app_home):
    """Linux keeps such a name's bytes as lone surrogates: the journal must store it losslessly."""
    import sqlite3

    folder = tmp_path / "in"
    folder.mkdir()
    src = folder / os.fsdecode(b"r\xe9union \xff.wav")
    shutil.copy(speech_dir / "hello.wav", src)
    code, err = run_cli(str(src), "--model-path", str(tiny_steered), "--device", "cpu", "--format", "srt,json")
    assert code == 0, err
    assert src.with_suffix(".srt").is_file() and src.with_suffix(".json").is_file()
    with sqlite3.connect(app_home / "data" / "journal.sqlite3") as con:
        ((state, job_json),) = con.execute("SELECT state, job_json FROM jobs").fetchall()
    assert state == "done" and json.loads(job_json)["source"] == str(src)
