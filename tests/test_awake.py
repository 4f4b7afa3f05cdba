"""Keeping the computer awake while a batch runs: each platform's branch, simulated or real."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import time

import pytest

from nemo_desk.core.awake import AWAKE_MESSAGE, ES_CONTINUOUS, ES_SYSTEM_REQUIRED, KeepAwake


class FakeKernel32:
    def __init__(self, result: int = 1) -> None:
        self.calls: list[int] = []
        self.result = result

    def SetThreadExecutionState(self, flags: int) -> int:  # the Win32 name
        self.calls.append(flags)
        return self.result


class FakeWindll:
    def __init__(self, kernel32: FakeKernel32) -> None:
        self.kernel32 = kernel32


def test_windows_asks_for_system_required_and_gives_it_back(monkeypatch):
    kernel32 = FakeKernel32()
    monkeypatch.setattr(ctypes, "windll", FakeWindll(kernel32), raising=False)
    awake = KeepAwake(platform="win32")
    assert awake.acquire() == AWAKE_MESSAGE
    assert awake.acquire() == AWAKE_MESSAGE  # a second file of the same batch: no second request
    assert kernel32.calls == [ES_CONTINUOUS | ES_SYSTEM_REQUIRED]
    awake.release()
    awake.release()
    assert kernel32.calls == [ES_CONTINUOUS | ES_SYSTEM_REQUIRED, ES_CONTINUOUS]
    assert not awake.held


def test_windows_refusal_is_said_not_raised(monkeypatch):
    monkeypatch.setattr(ctypes, "windll", FakeWindll(FakeKernel32(result=0)), raising=False)
    awake = KeepAwake(platform="win32")
    assert "may go to sleep" in awake.acquire()
    assert not awake.held


def test_missing_inhibitor_is_a_no_op_that_says_so():
    awake = KeepAwake(platform="linux", which=lambda _tool: None)
    assert "systemd-inhibit is not available" in awake.acquire()
    assert not awake.held
    awake.release()


def test_macos_caffeinate_waits_for_this_process():
    started: list[list[str]] = []

    class Child:
        stdin = None

        def terminate(self):
            started.append(["terminated"])

        def wait(self, timeout=None):
            if started[-1] != ["terminated"]:
                raise subprocess.TimeoutExpired("caffeinate", timeout)
            return 0

    def popen(args, **_kw):
        started.append(args)
        return Child()

    awake = KeepAwake(platform="darwin", which=lambda tool: f"/usr/bin/{tool}", popen=popen)
    assert awake.acquire() == AWAKE_MESSAGE
    assert started[0][:3] == ["/usr/bin/caffeinate", "-i", "-w"]
    awake.release()
    assert started[-1] == ["terminated"]


@pytest.mark.skipif(sys.platform != "linux", reason="a real child process on Linux")
def test_linux_inhibitor_child_ends_on_release(tmp_path):
    """A stand-in for systemd-inhibit that runs its command (`cat`) for real: the child
    lives while the batch runs and is gone after release (it reads our pipe)."""
    awake = KeepAwake(platform="linux", which=lambda _tool: _fake_inhibit(tmp_path))
    assert awake.acquire() == AWAKE_MESSAGE
    child = awake._child
    assert child is not None
    time.sleep(0.2)
    assert child.poll() is None  # still holding
    awake.release()
    assert child.poll() is not None
    assert not awake.held


@pytest.mark.skipif(sys.platform != "linux", reason="a real child process on Linux")
def test_linux_inhibitor_ends_when_the_process_holding_it_dies(tmp_path):
    """A crash must not leave the computer sleepless: kill the holder, its child goes too."""
    script = (
        "import sys, time; from nemo_desk.core.awake import KeepAwake;"
        f"a = KeepAwake(platform='linux', which=lambda t: {str(_fake_inhibit(tmp_path))!r}); a.acquire();"
        "print(a._child.pid, flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(holder.stdout.readline())
        holder.kill()
        holder.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(child_pid):
            time.sleep(0.05)
        assert not _alive(child_pid)
    finally:
        holder.kill()


@pytest.mark.skipif(sys.platform != "linux", reason="a real child process on Linux")
def test_linux_inhibitor_that_refuses_is_reported(tmp_path):
    """No session bus (a container): systemd-inhibit exits at once; we must not claim it holds."""
    tool = tmp_path / "systemd-inhibit"
    tool.write_text("#!/bin/sh\necho 'Failed to connect to bus' >&2\nexit 1\n")
    tool.chmod(0o755)
    awake = KeepAwake(platform="linux", which=lambda _tool: str(tool))
    assert awake.acquire() == "The computer may go to sleep during the batch (systemd-inhibit ended with status 1)"
    assert not awake.held


def _fake_inhibit(folder) -> str:
    """systemd-inhibit's part that matters here: it runs the last argument (cat) on our pipe."""
    tool = folder / "systemd-inhibit"
    tool.write_text('#!/bin/sh\nfor last; do :; done\nexec "$last"\n')
    tool.chmod(0o755)
    return str(tool)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False
