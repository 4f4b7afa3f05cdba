"""One window per profile: a second launch hands its files over and exits; the CLI does not
resume a queue that a running window owns. Real processes on both sides of the socket."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from nemo_desk.engine.jobs import Job, job_to_json
from nemo_desk.engine.journal import Journal
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    QT_LOG_IGNORE,
    dialogs_rec,
    gui_settings,
    make_window,
    no_leaks,
)

# The offscreen platform cannot raise a window (the hand-over asks it to come to the front).
pytestmark = [pytest.mark.qt_log_level_fail("WARNING"), pytest.mark.qt_log_ignore(*QT_LOG_IGNORE, r"support raise\(\)")]
REPO = Path(__file__).resolve().parents[1]
DEAD_OWNER = "999999999:1.0:dead"  # no such process


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "NEMO_DESK_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.mark.usefixtures("dialogs_rec")
def test_a_second_launch_hands_its_files_to_the_running_window_and_exits(qtbot, app_home, tmp_path, speech_dir):
    """The first window runs the real launch_gui in this process; the second is a real
    `python -m nemo_desk FILE` started while it runs."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from nemo_desk.app import build_services
    from nemo_desk.gui.launch import launch_gui

    clip = Path(shutil.copy(speech_dir / "hello.wav", tmp_path / "meeting one.wav"))
    seen: dict = {}
    env = _env(app_home)  # as the user's shell has it: not the window's own TMPDIR once it runs

    def window():
        return next(w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible())

    def second_launch() -> None:
        seen["proc"] = subprocess.Popen(
            [sys.executable, "-m", "nemo_desk", str(clip)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen["started"] = time.monotonic()
        watch()

    def watch() -> None:
        proc = seen["proc"]
        if proc.poll() is None and time.monotonic() - seen["started"] < 90:
            QTimer.singleShot(100, watch)
            return
        if proc.poll() is None:
            proc.kill()
        w = window()
        seen["rows"] = [r.job.source for r in w.queue.rows]
        seen["log"] = w.log_pane.count("info", "Opened from another launch: 1 file(s)")
        w.close()

    def factory(**kw):
        services = build_services(**kw)
        QTimer.singleShot(0, second_launch)  # once the window is attached and listening
        return services

    assert launch_gui([], factory) == 0
    out, err = seen["proc"].communicate(timeout=30)
    assert seen["proc"].returncode == 0, err[-3000:]
    assert "handed 1 file(s) to the nemo_desk window already running" in out
    assert seen["rows"] == [clip] and seen["log"] == 1
    # The second process never built a window of its own, nor services: no second log file
    # lines from it, and the lock is free again now that the first window closed.
    from nemo_desk.gui.single_instance import SingleInstance

    again = SingleInstance(app_home / "data")
    assert again.claim()
    again.release()


@pytest.mark.usefixtures("dialogs_rec")
def test_the_first_launch_opens_its_own_files_and_takes_over_a_crashed_windows_lock(
    qtbot, app_home, tmp_path, speech_dir
):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from nemo_desk.app import build_services
    from nemo_desk.gui.launch import QUIT_AFTER_SHOW, launch_gui
    from nemo_desk.gui.single_instance import HANDOVER_WAIT_S, LOCK_NAME

    clip = Path(shutil.copy(speech_dir / "hello.wav", tmp_path / "a.wav"))
    lock = app_home / "data" / LOCK_NAME
    lock.parent.mkdir(parents=True)
    # A window that crashed: it took the lock and died without a word.
    crash = (
        f"from PySide6.QtCore import QLockFile; import os; lock = QLockFile({str(lock)!r}); "
        "assert lock.tryLock(0); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", crash], env=_env(app_home), check=True, timeout=60)
    assert lock.exists()
    rows: list = []

    def factory(**kw):
        # Runs once the event loop does: after attach added the command line's files.
        def look() -> None:
            (w,) = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible()]
            rows.extend(r.job.source for r in w.queue.rows)
            # launch_gui also gave it the batch's keep-awake/summary and the watched folder.
            rows.append((type(w.batch_end).__name__, type(w.folder_watch).__name__))

        QTimer.singleShot(0, look)
        return build_services(**kw)

    started = time.monotonic()
    assert launch_gui([QUIT_AFTER_SHOW, str(clip)], factory) == 0
    assert rows == [clip, ("BatchEnd", "FolderWatch")]
    # It took the lock over at once: no wait for the dead window to answer (HANDOVER_WAIT_S).
    assert time.monotonic() - started < HANDOVER_WAIT_S / 2


def test_the_hand_over_lets_the_first_window_come_forward_on_windows(monkeypatch):
    import ctypes

    from nemo_desk.gui.single_instance import _allow_foreground

    allowed: list[int] = []

    class User32:
        def AllowSetForegroundWindow(self, pid: int) -> int:
            allowed.append(pid)
            return 1

    class Windll:
        user32 = User32()

    monkeypatch.setattr(ctypes, "windll", Windll(), raising=False)
    _allow_foreground(4242, platform="win32")
    _allow_foreground(4243, platform="linux")
    assert allowed == [4242]


def test_server_names_differ_per_user_and_profile_and_stay_short(tmp_path, monkeypatch):
    from nemo_desk.gui.single_instance import server_name

    a = server_name(tmp_path / "one", user="ann")
    assert a == server_name(tmp_path / "one", user="ann")
    assert a != server_name(tmp_path / "two", user="ann") and a != server_name(tmp_path / "one", user="bob")
    long = server_name(tmp_path / ("x" * 300), user="a very long user name with spaces", platform="win32")
    assert len(long) < 60 and os.sep not in long  # a pipe name
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    unix = server_name(tmp_path, user="ann", platform="linux")
    assert unix.startswith("/tmp/") and len(unix) < 100
    # The window points TMPDIR at its own temp folder (its children inherit it): the name stays.
    monkeypatch.setenv("TMPDIR", str(tmp_path / "app-temp"))
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert server_name(tmp_path, user="ann", platform="linux") == unix
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert server_name(tmp_path, user="ann", platform="linux").startswith("/run/user/1000/")


def test_a_second_launch_without_files_only_raises_the_window(qtbot, app_home, tmp_path):
    from nemo_desk.gui.single_instance import SingleInstance

    first = SingleInstance(app_home / "data")
    assert first.claim()
    got: list[list] = []
    assert first.serve(got.append)
    done = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from nemo_desk.gui.launch import launch_gui; sys.exit(launch_gui([], None))",
        ],
        env=_env(app_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    qtbot.waitUntil(lambda: done.poll() is not None, timeout=60_000)
    out, err = done.communicate()
    first.release()
    assert done.returncode == 0, err[-2000:]
    assert got == [[]] and "handed 0 file(s)" in out


@pytest.mark.usefixtures("dialogs_rec")
def test_the_cli_refuses_to_resume_a_queue_that_a_running_window_owns(make_window, app_home, tmp_path):  # noqa: F811
    # An interrupted run left a file queued; the window (this process) restores and owns it.
    clip = tmp_path / "left.wav"
    clip.write_bytes(b"RIFF")
    journal = Journal.open(app_home / "data" / "journal.sqlite3", lambda m: None)
    job = Job(source=clip)
    journal.add(job.id, "old", 0, str(clip), job_to_json(job), DEAD_OWNER)
    journal.close()
    window = make_window(gui_settings())
    assert [r.job.source for r in window.queue.rows] == [clip]

    cli = subprocess.run(
        [sys.executable, "-m", "nemo_desk", "transcribe", "--resume"],
        env=_env(app_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1, cli.stderr
    assert "1 unfinished file(s) belong to a nemo_desk window or command that is still running" in cli.stderr
    assert f"process {os.getpid()}" in cli.stderr
    assert "Resuming" not in cli.stderr and "[1/1]" not in cli.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="a Unix socket path taken by a folder")
def test_a_server_that_cannot_listen_is_said_not_fatal(qtbot, tmp_path):
    from nemo_desk.gui.single_instance import SingleInstance

    first = SingleInstance(tmp_path / "profile")
    Path(first.name).mkdir()  # something in the socket's place that is not ours to remove
    (Path(first.name) / "keep").write_text("x")
    try:
        assert first.claim()
        assert first.serve(lambda files: None) is False
        assert first.notes and "Could not listen for later launches" in first.notes[0]
    finally:
        first.release()
        shutil.rmtree(first.name)
