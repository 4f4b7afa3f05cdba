"""App folders (never in a synced folder), the app-owned temp root and its sweep."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import platformdirs
import pytest

from nemo_desk.locks.fileops import FileOps, RetryPolicy
from nemo_desk.paths import AppPaths, install_temp_root, sweep_temp
from tests.support.locksim import LockSimulator

FIELDS = ("data", "models", "cache", "logs", "temp", "settings_file")


@pytest.fixture
def defaults(tmp_path):
    base = tmp_path / "local"
    return {"data": base / "data", "models": base / "data" / "models", "cache": base / "cache",
            "temp": base / "cache" / "tmp", "logs": base / "logs", "settings_file": base / "cfg" / "settings.json"}


def test_platform_defaults_are_local_app_data():
    paths = AppPaths.resolve(env={})
    assert paths.data == Path(platformdirs.user_data_dir("nemo_desk", appauthor=False, roaming=False))
    assert paths.models == paths.data / "models" and paths.temp == paths.cache / "tmp"
    assert paths.settings_file.name == "settings.json" and paths.notes == ()


def test_nemo_desk_home_puts_everything_under_it_created_on_demand(tmp_path, defaults):
    home = tmp_path / "home"
    paths = AppPaths.resolve({"NEMO_DESK_HOME": str(home)}, defaults=defaults)
    for name in FIELDS:
        assert home in getattr(paths, name).parents, name
    assert not home.exists()  # resolving touches nothing
    paths.ensure()
    assert all(p.is_dir() for p in paths.folders().values()) and paths.settings_file.parent.is_dir()


def test_home_variable_name_is_case_insensitive_on_windows(tmp_path, defaults):
    paths = AppPaths.resolve({"NEMO_DESK_HOME".lower(): str(tmp_path)}, defaults=defaults, windows=True)
    assert paths.data == tmp_path / "data"


def test_explicit_overrides_win_and_dependent_folders_follow(tmp_path, defaults):
    paths = AppPaths.resolve({"NEMO_DESK_HOME": str(tmp_path / "home")}, defaults=defaults,
                             overrides={"data": tmp_path / "d", "cache": tmp_path / "c", "temp": None})
    assert paths.data == tmp_path / "d" and paths.models == tmp_path / "d" / "models"
    assert paths.cache == tmp_path / "c" and paths.temp == tmp_path / "c" / "tmp"
    paths = AppPaths.resolve({}, defaults=defaults, overrides={"data": tmp_path / "d", "models": tmp_path / "m"})
    assert paths.models == tmp_path / "m"


def test_folders_inside_onedrive_are_moved_with_a_note(tmp_path, defaults):
    cloud = tmp_path / "Cloud"
    env = {"OneDrive": str(cloud), "NEMO_DESK_HOME": str(cloud / "nemo")}
    paths = AppPaths.resolve(env, defaults=defaults, windows=False)
    assert {f: getattr(paths, f) for f in FIELDS} == defaults
    assert len(paths.notes) == 6
    assert str(cloud / "nemo" / "data") in paths.notes[0] and "OneDrive" in paths.notes[0]
    assert str(defaults["data"]) in paths.notes[0]


def test_windows_fallback_goes_to_local_app_data_then_program_data():
    synced = {k: Path(r"C:\Users\Ann\Dropbox\nd") / k for k in FIELDS}
    env = {"NEMO_DESK_HOME": r"C:\Users\Ann\Dropbox\nd", "LOCALAPPDATA": r"C:\Users\Ann\AppData\Local",
           "PROGRAMDATA": r"C:\ProgramData", "USERNAME": "ann"}
    paths = AppPaths.resolve(env, defaults=synced, windows=True)
    assert paths.data == Path(r"C:\Users\Ann\AppData\Local") / "nemo_desk" / "data"
    assert paths.settings_file == Path(r"C:\Users\Ann\AppData\Local") / "nemo_desk" / "settings.json"
    assert "Dropbox" in paths.notes[0]
    env["LOCALAPPDATA"] = r"C:\Users\Ann\OneDrive\Local"  # odd, but then ProgramData is next
    paths = AppPaths.resolve(env, defaults=synced, windows=True)
    assert paths.temp == Path(r"C:\ProgramData") / "nemo_desk" / "ann" / "temp"


@pytest.fixture
def clean_env(monkeypatch):
    """install_temp_root changes process state; monkeypatch puts it back after the test."""
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)
    for name in ("TMP", "TEMP", "TMPDIR", "NUMBA_CACHE_DIR", "MPLCONFIGDIR", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_install_temp_root_redirects_this_process_and_children(tmp_path, clean_env):
    clean_env.setenv("NUMBA_CACHE_DIR", "/users/own/numba")
    paths = AppPaths.resolve({"NEMO_DESK_HOME": str(tmp_path / "h")})
    record = install_temp_root(paths)
    run = record.run_dir
    assert run.parent == paths.temp and run.name.startswith(f"run-{os.getpid()}-") and run.is_dir()
    assert tempfile.gettempdir() == str(run)
    fd, name = tempfile.mkstemp()
    os.close(fd)
    assert Path(name).parent == run
    assert os.environ["TMP"] == os.environ["TEMP"] == os.environ["TMPDIR"] == str(run)
    assert os.environ["MPLCONFIGDIR"] == str(paths.cache / "matplotlib")
    assert os.environ["NUMBA_CACHE_DIR"] == "/users/own/numba"
    assert record.env_kept == {"NUMBA_CACHE_DIR": "/users/own/numba"}
    assert "HF_HOME" not in os.environ and "HF_HOME" not in record.env_set
    child = subprocess.run([sys.executable, "-c", "import os, tempfile; print(os.environ['TMPDIR']); "
                            "print(tempfile.gettempdir())"], capture_output=True, text=True, check=True)
    assert child.stdout.split() == [str(run), str(run)]
    record.restore()
    assert "TMPDIR" not in os.environ and os.environ["NUMBA_CACHE_DIR"] == "/users/own/numba"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


FAST = FileOps(RetryPolicy(budget_s=0.3, initial_delay=0.01, max_delay=0.05, jitter=0.0))


def test_sweep_removes_dead_runs_and_old_strays_and_keeps_the_rest(tmp_path):
    root = tmp_path / "tmp"
    now = time.time()
    dead = root / f"run-{_dead_pid()}-{int(now) - 60}"
    live = root / f"run-{os.getppid()}-{int(now)}"  # our parent is alive
    current = root / f"run-{os.getpid()}-{int(now)}"
    for d in (dead, live, current):
        (d / "tmpx").mkdir(parents=True)
        (d / "tmpx" / "f").write_text("x")
    old, fresh = root / "old.partial", root / "fresh.partial"
    old.write_text("o")
    fresh.write_text("f")
    os.utime(old, (now - 3 * 86400, now - 3 * 86400))
    result = sweep_temp(root, FAST, older_than_s=86400, current_run=current)
    assert sorted(result.removed) == sorted([dead, old])
    assert sorted(result.kept) == sorted([live, current, fresh]) and result.failed == []
    assert live.exists() and current.exists() and fresh.exists() and not dead.exists()


def test_sweep_treats_an_older_run_with_our_own_pid_as_stale(tmp_path):
    current = tmp_path / f"run-{os.getpid()}-2000"
    earlier = tmp_path / f"run-{os.getpid()}-1000"
    current.mkdir(), earlier.mkdir()
    result = sweep_temp(tmp_path, FAST, current_run=current)
    assert result.removed == [earlier] and result.kept == [current]
    assert sweep_temp(tmp_path, FAST).removed == []  # without current_run our pid means "ours"


def test_locked_stale_entry_is_a_warning_not_a_crash(tmp_path):
    dead = tmp_path / f"run-{_dead_pid()}-1"
    dead.mkdir()
    (dead / "model_weights.ckpt").write_bytes(b"w")
    warnings: list[str] = []
    slow = FileOps(RetryPolicy(budget_s=10.0, initial_delay=0.05, max_delay=0.2))
    start = time.monotonic()
    with LockSimulator() as sim:
        sim.lock("*.ckpt", ops="rmtree")
        result = sweep_temp(tmp_path, slow, log=warnings.append, budget_s=0.3)
    assert time.monotonic() - start < 2.0  # start-up does not wait the full 10 s budget
    assert result.failed == [dead] and dead.exists()
    assert len(warnings) == 1 and str(dead) in warnings[0] and "later start" in warnings[0]


def test_sweep_of_a_missing_or_unreadable_folder_does_not_raise(tmp_path, monkeypatch):
    assert sweep_temp(tmp_path / "missing", FAST).removed == []
    warnings: list[str] = []

    def denied(path):
        raise PermissionError(13, "denied", os.fspath(path))

    monkeypatch.setattr(os, "scandir", denied)
    assert sweep_temp(tmp_path, FAST, log=warnings.append).removed == [] and warnings


def test_home_with_tilde_and_relative_overrides_become_absolute(tmp_path, monkeypatch, defaults):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    paths = AppPaths.resolve({"NEMO_DESK_HOME": "~/nd"}, defaults=defaults, overrides={"logs": "rel/logs"},
                             windows=sys.platform == "win32")
    assert paths.data == tmp_path / "nd" / "data" and paths.logs == tmp_path / "rel" / "logs"
