"""Locks at the points where Windows bit the old app, through the real pipeline and CLI."""
from __future__ import annotations

import io
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from tests.support.locksim import LockSimulator


def run_cli(*args: str, retry: str = "2") -> tuple[int, str]:
    err = io.StringIO()
    code = cli.run(["transcribe", *args, "--retry-seconds", retry], lambda **kw: build_services(**kw),
                   out=io.StringIO(), err=err)
    return code, err.getvalue()


@pytest.fixture
def wav(tmp_path, speech_dir) -> Path:
    d = tmp_path / "OneDrive" / "Videos"
    d.mkdir(parents=True)
    shutil.copy(speech_dir / "hello.wav", d / "talk.wav")
    return d / "talk.wav"


def test_transient_lock_on_output_write_is_retried_and_shown(wav, tiny_steered, app_home):
    with LockSimulator() as sim:
        rule = sim.lock("*/talk.srt", ops={"replace"}, times=3)
        code, err = run_cli(str(wav), "--model-path", str(tiny_steered))
    assert code == 0, err
    assert rule.hits["replace"] == 3
    retry_lines = [ln for ln in err.splitlines() if ln.startswith("retry: file busy:")]
    assert len(retry_lines) == 3 and all("talk.srt" in ln and "attempt" in ln for ln in retry_lines)
    assert wav.with_suffix(".srt").read_text(encoding="utf-8").startswith("1\n")


def test_persistent_lock_on_output_is_explained_without_traceback(wav, tiny_steered, app_home, monkeypatch):
    monkeypatch.setenv("OneDrive", str(wav.parent.parent))
    with LockSimulator() as sim:
        sim.lock("*/talk.srt", ops={"replace"})
        started = time.monotonic()
        code, err = run_cli(str(wav), "--model-path", str(tiny_steered), retry="1")
        elapsed = time.monotonic() - started
    assert code == 1
    assert "Traceback" not in err
    assert "failed: talk.wav:" in err and "talk.srt" in err
    assert "OneDrive" in err  # the likely holder, from the path and the environment
    assert "1. " in err and "Retry" in err  # numbered steps
    assert elapsed < 60  # bounded: nothing hangs (model load included)
    assert not wav.with_suffix(".srt").exists()
    assert not [p for p in wav.parent.iterdir() if p.name.endswith(".tmp")]


def test_locked_nemo_temp_cleanup_never_fails_the_job(wav, tiny_steered, app_home):
    """NeMo makes a TemporaryDirectory per transcribe call even for arrays; a scanner holding
    it at cleanup time must not turn a finished transcription into a crash."""
    services = build_services(retry_seconds=0.5)
    try:
        temp_root = Path(tempfile.gettempdir())
        with LockSimulator() as sim:
            rule = sim.lock(lambda p: Path(p).parent.parent == temp_root or Path(p).parent == temp_root,
                            ops={"rmdir", "rmtree", "unlink"})
            from nemo_desk.engine.models import ModelRef
            from nemo_desk.engine.pipeline import Job

            result = services.pipeline.run(Job(source=wav, model=ModelRef(path=tiny_steered, device="cpu"),
                                               formats=("txt",)))
        assert result.status == "done", result.failure
        assert rule.total_hits >= 1, "NeMo made no temp dir: the lock point was not exercised"
        log = (services.paths.logs / "nemo_desk.log").read_text(encoding="utf-8")
        assert "could not remove temporary folder" in log or "will be removed at next start" in log
    finally:
        services.close()
