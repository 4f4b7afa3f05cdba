"""Frozen start-up (nemo_desk/frozen.py), with the Windows and PyInstaller cases simulated:
sys.platform, sys.frozen, sys._MEIPASS and os.add_dll_directory are patched."""
from __future__ import annotations

import io
import multiprocessing
import os
import sys
from pathlib import Path

import pytest

from nemo_desk import app, frozen


def _make(root: Path, *folders: str) -> None:
    for folder in folders:
        (root / folder).mkdir(parents=True)


@pytest.fixture
def recorder(monkeypatch):
    added: list[str] = []
    monkeypatch.setattr(os, "add_dll_directory", lambda p: added.append(p) or object(), raising=False)
    return added


def test_dll_folders_added_on_windows_from_the_bundle_when_frozen(tmp_path, monkeypatch, recorder, fake_windows):
    bundle = tmp_path / "_internal"
    _make(bundle, "torch/lib", "nvidia/cublas/bin", "nvidia/cudnn/bin", "nvidia/cuda_nvrtc/lib")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    env = {"PATH": r"C:\Windows\system32"}

    added = frozen.add_dll_directories(env=env)

    expected = [str(bundle / "torch" / "lib"), str(bundle / "nvidia" / "cublas" / "bin"),
                str(bundle / "nvidia" / "cudnn" / "bin")]
    assert added == expected
    assert recorder == expected  # os.add_dll_directory got each one; nvidia/*/lib is not a DLL folder
    assert env["PATH"].split(";") == [*expected, r"C:\Windows\system32"]


def test_dll_folders_from_site_packages_when_not_frozen(tmp_path, monkeypatch, recorder, fake_windows):
    site = tmp_path / "site-packages"
    _make(site, "nvidia/cusparse/bin")  # no torch/lib here: a CPU torch, say
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "not-used"), raising=False)
    monkeypatch.setattr(frozen, "_site_dirs", lambda: [str(site), str(tmp_path / "missing")])

    assert frozen.add_dll_directories(env={}) == [str(site / "nvidia" / "cusparse" / "bin")]
    assert recorder == [str(site / "nvidia" / "cusparse" / "bin")]


def test_only_existing_folders_and_nothing_when_none_exist(tmp_path, monkeypatch, recorder, fake_windows):
    env = {"PATH": "x"}
    assert frozen.add_dll_directories(bases=[str(tmp_path / "nowhere"), str(tmp_path)], env=env) == []
    assert recorder == [] and env == {"PATH": "x"}


def test_no_dll_folders_outside_windows(tmp_path, monkeypatch, recorder):
    _make(tmp_path, "torch/lib", "nvidia/cublas/bin")
    monkeypatch.setattr(sys, "platform", "linux")
    env = {"PATH": "/usr/bin"}
    assert frozen.add_dll_directories(bases=[str(tmp_path)], env=env) == []
    assert recorder == [] and env == {"PATH": "/usr/bin"}


def test_a_folder_windows_refuses_is_skipped(tmp_path, monkeypatch):
    _make(tmp_path, "torch/lib", "nvidia/cublas/bin")

    def add(path):
        if path.endswith("lib"):
            raise OSError(87, "The parameter is incorrect")
        return object()

    env: dict[str, str] = {}
    added = frozen.add_dll_directories("win32", bases=[str(tmp_path)], add=add, env=env)
    assert added == [str(tmp_path / "nvidia" / "cublas" / "bin")]
    assert env["PATH"] == added[0]


def test_a_folder_already_on_path_moves_to_the_front_once(tmp_path):
    _make(tmp_path, "torch/lib")
    lib = str(tmp_path / "torch" / "lib")
    env = {"PATH": ";".join(["a", lib])}
    frozen.add_dll_directories("win32", bases=[str(tmp_path)], add=lambda p: None, env=env)
    assert env["PATH"].split(";") == [lib, "a"]  # moved to the front, not repeated


def test_stdio_guard_replaces_missing_streams_of_a_windowed_exe(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    monkeypatch.setattr(sys, "stdin", None)
    replaced = frozen.guard_stdio(frozen=True)
    try:
        assert replaced == ["stdin", "stdout", "stderr"]
        print("this would crash a console=False exe")  # noqa: T201
        sys.stderr.write("so would a warning\n")
        assert sys.stdin.read() == ""
    finally:
        for name in replaced:
            getattr(sys, name).close()


def test_stdio_guard_leaves_real_streams_alone(monkeypatch):
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    assert "stdout" not in frozen.guard_stdio(frozen=False)
    assert sys.stdout is out and out.errors == "strict"


def test_frozen_console_in_a_narrow_code_page_escapes_instead_of_crashing(monkeypatch):
    # A redirected Windows console exe writes in the ANSI code page (cp1252 here).
    out = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", out)
    frozen.guard_stdio(frozen=True)
    print("done: \u65e5\u672c\u8a9e.mp4")  # noqa: T201
    out.flush()
    assert out.buffer.getvalue().decode("cp1252").strip() == "done: \\u65e5\\u672c\\u8a9e.mp4"


@pytest.mark.parametrize("is_frozen", [True, False])
def test_startup_calls_freeze_support_first_then_guards_and_dlls(monkeypatch, is_frozen):
    monkeypatch.setattr(sys, "frozen", is_frozen, raising=False)
    calls: list[str] = []
    monkeypatch.setattr(multiprocessing, "freeze_support", lambda: calls.append("freeze_support"))
    monkeypatch.setattr(frozen, "guard_stdio", lambda: calls.append("guard_stdio") or [])
    monkeypatch.setattr(frozen, "ensure_path_variable", lambda: calls.append("PATH") or False)
    monkeypatch.setattr(frozen, "add_dll_directories", lambda: calls.append("dlls") or [])
    frozen.startup()
    assert calls == ["freeze_support", "guard_stdio", "PATH", "dlls"][0 if is_frozen else 1:]


def test_a_missing_path_variable_gets_the_default():
    # Found by the frozen smoke test (env -i): lhotse does os.environ["PATH"] += ... at import.
    env: dict[str, str] = {}
    assert frozen.ensure_path_variable(env) is True and env == {"PATH": os.defpath}
    env = {"PATH": ""}
    assert frozen.ensure_path_variable(env) is False and env == {"PATH": ""}


def test_main_runs_startup_before_anything_else(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(frozen, "startup", lambda: calls.append("startup"))
    monkeypatch.setattr("nemo_desk.selftest.run_self_test",
                        lambda args, factory: calls.append(f"self-test {args}") or 0)
    assert app.main(["--self-test"]) == 0
    assert calls == ["startup", "self-test ['--self-test']"]


def test_bundle_dir_only_when_frozen(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert frozen.bundle_dir() is None and not frozen.is_frozen()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert frozen.bundle_dir() == str(tmp_path) and frozen.is_frozen()
