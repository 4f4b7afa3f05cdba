"""`nemo-desk --self-test` from source: passes on a working install, fails loudly otherwise.
(tools/smoke_frozen.sh runs the same self-test in the frozen bundle.)"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nemo_desk import selftest
from nemo_desk.app import build_services

REPO = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NEMO_DESK_FFMPEG"}
    return {**env, "NEMO_DESK_HOME": str(tmp_path / "home"), **extra}


@pytest.mark.slow
def test_self_test_passes_and_sets_up_the_temp_root_before_nemo(tmp_path):
    # main() as the entry point runs it, with one spy: what was imported when the temp root
    # (and the numba cache) was installed. NeMo must come later, or it writes elsewhere.
    script = (
        "import json, sys\n"
        "import nemo_desk.app as app, nemo_desk.paths as paths\n"
        "real, seen = paths.install_temp_root, []\n"
        "def spy(*a, **k):\n"
        "    seen.append(sorted(m for m in ('torch', 'nemo', 'numba', 'lhotse') if m in sys.modules))\n"
        "    return real(*a, **k)\n"
        "paths.install_temp_root = spy\n"
        "code = app.main(['--self-test'])\n"
        "print(json.dumps({'code': code, 'heavy_at_temp_root': seen}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert json.loads(lines[-1]) == {"code": 0, "heavy_at_temp_root": [[]]}
    report = "\n".join(lines[:-1])
    assert lines[0].startswith("nemo_desk ") and "self-test (from source" in lines[0]
    for name in ("data folder", "models folder", "cache folder", "logs folder", "temp folder", "ffmpeg",
                 "NeMo", "device", "GPU decoder"):
        assert f"OK    {name}: " in report, report
    assert "NeMo: imported in " in report and "ffmpeg: ffmpeg version" in report
    assert "self-test passed (9 checks)" in report
    assert "FAIL" not in report
    # Written and deleted again: the probes leave nothing behind; the report is in the log.
    home = tmp_path / "home"
    assert not list(home.rglob("self-test-*.tmp"))
    assert "self-test passed" in (home / "logs" / "nemo_desk.log").read_text(encoding="utf-8")


@pytest.mark.slow
def test_self_test_fails_with_a_clear_line_when_ffmpeg_is_broken(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nemo_desk", "--self-test"], cwd=REPO,
                          env=_env(tmp_path, NEMO_DESK_FFMPEG="/nonexistent"),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert ("FAIL  ffmpeg: /nonexistent: NEMO_DESK_FFMPEG points to this path, but no ffmpeg executable "
            "is there") in lines, done.stdout
    assert "self-test FAILED: 1 of 9 checks failed (ffmpeg)" in done.stdout
    assert "OK    NeMo: imported" in done.stdout  # the other checks still ran


def test_report_names_each_failure_and_exits_1(app_home, monkeypatch):
    """In-process, without importing NeMo: a folder that refuses writes and a broken ffmpeg."""
    monkeypatch.setenv("NEMO_DESK_FFMPEG", str(app_home / "no-ffmpeg.exe"))
    monkeypatch.setattr(selftest, "_check_nemo", lambda: selftest.Check("NeMo", True, "imported (skipped here)"))
    monkeypatch.setattr(selftest, "_check_device", lambda requested: selftest.Check("device", True, "CPU"))
    monkeypatch.setattr(selftest, "_check_gpu_decoder", lambda: selftest.Check("GPU decoder", True, "skipped"))
    made = []

    def factory(**kw):
        services = build_services(**kw)
        real_open = services.fileops.open

        def refusing_open(path, mode="rb", **kwargs):
            if Path(path).parent == services.paths.logs:
                raise PermissionError(13, "Access is denied", str(path))
            return real_open(path, mode, **kwargs)

        services.fileops.open = refusing_open
        made.append(services)
        return services

    out = io.StringIO()
    assert selftest.run_self_test(["--self-test"], factory, out) == 1
    text = out.getvalue()
    assert "FAIL  logs folder: cannot write and delete a file in " in text and "Access is denied" in text
    assert f"FAIL  ffmpeg: {app_home / 'no-ffmpeg.exe'}: NEMO_DESK_FFMPEG points to this path" in text
    assert "OK    data folder: writable" in text and "OK    temp folder: writable" in text
    assert text.strip().splitlines()[-1] == "self-test FAILED: 2 of 9 checks failed (logs folder, ffmpeg)"
    assert not made[0].temp_root.run_dir.exists()  # services closed: the run folder is gone


def test_services_that_cannot_start_fail_the_self_test(monkeypatch):
    def factory(**kw):
        raise OSError(30, "Read-only file system", "/nowhere")

    out = io.StringIO()
    assert selftest.run_self_test(["--self-test"], factory, out) == 1
    assert "FAIL  app folders: cannot set up the app's folders: [Errno 30] Read-only file system" in out.getvalue()
    assert out.getvalue().strip().endswith("self-test FAILED")


def test_a_file_to_transcribe_needs_a_model(capsys):
    with pytest.raises(SystemExit) as stop:
        selftest.run_self_test(["--self-test", "talk.mp4"], lambda **kw: None, io.StringIO())
    assert stop.value.code == 2
    assert "needs --model ID or --model-path" in capsys.readouterr().err
