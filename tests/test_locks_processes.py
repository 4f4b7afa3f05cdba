"""Process listing and pid liveness: never crash, never hang, never kill (Windows)."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import types

import pytest

from nemo_desk.locks import processes
from nemo_desk.locks.processes import default_process_lister, parse_tasklist_csv, pid_alive

TASKLIST = (
    '"System Idle Process","0","Services","0","8 K"\r\n'
    '"MsMpEng.exe","4120","Services","0","210,332 K"\r\n'
    '"OneDrive.exe","9312","Console","1","98,112 K"\r\n'
)


@pytest.fixture
def no_psutil(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # makes `import psutil` raise ImportError


def test_parse_tasklist_csv():
    assert parse_tasklist_csv(TASKLIST) == ["System Idle Process", "MsMpEng.exe", "OneDrive.exe"]
    assert parse_tasklist_csv("INFO: No tasks are running which match the specified criteria.\r\n") == []


def test_windows_without_psutil_uses_tasklist_without_a_window(monkeypatch, no_psutil, fake_windows):
    seen = {}

    def fake_run(args, **kwargs):
        seen.update(kwargs, args=args)
        return subprocess.CompletedProcess(args, 0, TASKLIST.encode("cp437"), b"")

    monkeypatch.setattr(processes.subprocess, "run", fake_run)
    assert "MsMpEng.exe" in default_process_lister()
    assert seen["args"] == ["tasklist", "/fo", "csv", "/nh"]
    assert seen["creationflags"] == 0x08000000 and 0 < seen["timeout"] <= 5
    assert seen["stdin"] == subprocess.DEVNULL


def test_tasklist_timeout_or_failure_gives_nothing(monkeypatch, no_psutil, fake_windows):
    def slow(args, **kwargs):
        raise subprocess.TimeoutExpired(args, kwargs["timeout"])

    monkeypatch.setattr(processes.subprocess, "run", slow)
    assert default_process_lister() == []
    monkeypatch.setattr(processes.subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(FileNotFoundError()))
    assert default_process_lister() == []


def test_psutil_is_preferred(monkeypatch):
    procs = [types.SimpleNamespace(info={"name": "Dropbox.exe"}), types.SimpleNamespace(info={"name": None})]
    fake = types.SimpleNamespace(process_iter=lambda attrs: iter(procs))
    monkeypatch.setitem(sys.modules, "psutil", fake)
    assert default_process_lister() == ["Dropbox.exe"]


def test_elsewhere_without_psutil_lists_nothing(monkeypatch, no_psutil):
    monkeypatch.setattr(sys, "platform", "linux")
    assert default_process_lister() == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_pid_alive_posix(no_psutil):
    assert pid_alive(os.getpid()) and pid_alive(os.getppid())
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0)


def test_pid_alive_with_psutil_detects_a_reused_pid(monkeypatch):
    proc = types.SimpleNamespace(create_time=lambda: 1000.0)
    fake = types.SimpleNamespace(pid_exists=lambda pid: True, Process=lambda pid: proc)
    monkeypatch.setitem(sys.modules, "psutil", fake)
    assert pid_alive(12345, started_at=999.5)
    assert not pid_alive(12345, started_at=500.0)


class FakeKernel32:
    def __init__(self, handle=7, exit_code=259):
        self.handle, self.exit_code, self.closed = handle, exit_code, []

    def OpenProcess(self, access, inherit, pid):
        return self.handle

    def GetExitCodeProcess(self, handle, ref):
        ref._obj.value = self.exit_code
        return 1

    def CloseHandle(self, handle):
        self.closed.append(handle)


@pytest.mark.parametrize(
    ("kernel", "last_error", "alive"),
    [(FakeKernel32(exit_code=259), 0, True), (FakeKernel32(exit_code=0), 0, False),
     (FakeKernel32(handle=0), 5, True), (FakeKernel32(handle=0), 87, False)],
)
def test_pid_alive_windows_never_uses_os_kill(monkeypatch, no_psutil, kernel, last_error, alive, fake_windows):
    def kill(*args):
        raise AssertionError("os.kill terminates processes on Windows")

    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(ctypes, "WinDLL", lambda name, use_last_error=False: kernel, raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: last_error, raising=False)
    assert pid_alive(4242) is alive
    assert kernel.closed == ([7] if kernel.handle else [])
