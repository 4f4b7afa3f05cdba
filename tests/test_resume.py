"""Nothing lost: a killed run resumes from its journal (real subprocesses, SIGKILL)."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

EXE = Path(sys.executable).with_name("nemo-desk")


def long_audio(path: Path, seconds: float, seed: int) -> Path:
    """Noise 'utterances' with pauses, so chunks are cut at known quiet points."""
    rng = np.random.default_rng(seed)
    parts, t = [], 0.0
    while t < seconds:
        n = float(rng.uniform(3, 7))
        parts += [rng.standard_normal(int(n * 16000)).astype(np.float32) * 0.1, np.zeros(8000, np.float32)]
        t += n + 0.5
    sf.write(path, np.concatenate(parts), 16000)
    return path


def cli(home: Path, *args: str, wait: bool = True):
    env = {**os.environ, "NEMO_DESK_HOME": str(home)}
    cmd = [str(EXE), "transcribe", *args]
    if wait:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def saved_chunks(home: Path) -> int:
    db = home / "data" / "journal.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    except sqlite3.Error:
        return 0


def kill_after_chunks(proc: subprocess.Popen, home: Path, chunks: int, limit_s: float = 240) -> int:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        n = saved_chunks(home)
        if n >= chunks:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            return n
        time.sleep(0.05)
    proc.kill()
    _, err = proc.communicate(timeout=30)
    pytest.fail(f"the run ended or stalled before {chunks} chunks were saved: {proc.poll()}\n{err}")


def outputs(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())
            if p.suffix in (".srt", ".json", ".txt")}


# Overlapping windows: the journal keeps each window's raw reading and the merge runs after
# the last one, so a resumed run must merge to the very same output.
OPTS = ["--model-path", None, "--chunk-seconds", "12", "--overlap-seconds", "3", "--batch-size", "1",
        "--format", "srt,json,txt"]


def opts(model: Path) -> list[str]:
    return [str(model) if o is None else o for o in OPTS]


def test_killed_run_resumes_from_the_last_finished_chunk(tmp_path, tiny_steered):
    src = tmp_path / "src"
    src.mkdir()
    audio = long_audio(src / "talk.wav", 150, seed=1)
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir(), run_dir.mkdir()
    ref = cli(tmp_path / "home_ref", str(audio), "--output-dir", str(ref_dir), *opts(tiny_steered))
    assert ref.returncode == 0, ref.stderr

    home = tmp_path / "home"
    proc = cli(home, str(audio), "--output-dir", str(run_dir), *opts(tiny_steered), wait=False)
    saved = kill_after_chunks(proc, home, 4)
    assert list(run_dir.iterdir()) == []  # nothing half-written after the kill

    again = cli(home, "--resume")
    assert again.returncode == 0, again.stderr
    resumed = [ln for ln in again.stderr.splitlines() if ln.startswith("Resuming:")]
    assert resumed, again.stderr
    reused, total = (int(x) for x in resumed[0].split()[1:4:2])
    assert reused >= saved and total > reused
    assert outputs(run_dir) == outputs(ref_dir)
    nothing = cli(home, "--resume")
    assert nothing.returncode == 0 and "nothing to resume" in nothing.stderr


def test_killed_queue_does_not_redo_finished_files(tmp_path, tiny_steered):
    src = tmp_path / "src"
    src.mkdir()
    short = [long_audio(src / f"a{i}.wav", 6, seed=10 + i) for i in range(2)]
    longer = long_audio(src / "c.wav", 120, seed=3)
    home, out = tmp_path / "home", tmp_path / "out"
    out.mkdir()
    proc = cli(home, *map(str, short), str(longer), "--output-dir", str(out), *opts(tiny_steered), wait=False)
    kill_after_chunks(proc, home, 3)  # the short files are done by then; c.wav is under way
    done_before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert {"a0.srt", "a1.srt"} <= set(done_before)
    again = cli(home, "--resume")
    assert again.returncode == 0, again.stderr
    assert "already done: a0.wav" in again.stderr and "already done: a1.wav" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in done_before} == done_before
    assert (out / "c.srt").is_file()


def test_ctrl_c_stops_at_the_next_chunk_and_keeps_the_journal_consistent(tmp_path, tiny_steered):
    src = tmp_path / "src"
    src.mkdir()
    audio = long_audio(src / "talk.wav", 90, seed=5)
    other = long_audio(src / "later.wav", 5, seed=6)
    home, out = tmp_path / "home", tmp_path / "out"
    out.mkdir()
    proc = cli(home, str(audio), str(other), "--output-dir", str(out), *opts(tiny_steered), wait=False)
    deadline = time.monotonic() + 240
    while saved_chunks(home) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Stopping after the current chunk" in err and "--resume" in err
    assert list(out.iterdir()) == []  # the interrupted file wrote nothing half-done
    with sqlite3.connect(home / "data" / "journal.sqlite3") as con:
        states = dict(con.execute("SELECT source, state FROM jobs").fetchall())
        kept = con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert states == {str(audio): "queued", str(other): "queued"}
    assert kept >= 2
    again = cli(home, "--resume")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == ["later.json", "later.srt", "later.txt",
                                                     "talk.json", "talk.srt", "talk.txt"]
