"""The window left alone: a watched folder, the computer kept awake, the batch's summary.

Real window, real worker, the tiny trained model; the file arrives slowly, as from a card.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from tests.support import audio
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS,
    dialogs_rec,
    gui_settings,
    make_window,
    no_leaks,
    use_local_model,
    wait_finished,
)

pytestmark = GUI_MARKS
SETTLE_S = 1.5


def _copy_slowly(source: Path, target: Path, done: list[float]) -> None:
    done.append(audio.copy_slowly(source, target, pause_s=0.3))  # on a thread: the window keeps running


# fmt: off
def test_a_watched_folder_queues_a_slowly_copied_file_once_and_the_batch_is_summed_up(
        make_window, qtbot, tiny_steered, speech_dir, tmp_path, monkeypatch):  # noqa: F811 (fixtures)
    # fmt: on
    from nemo_desk.gui import batch_end, watch_folder

    monkeypatch.setattr(watch_folder.FolderWatch, "settle_s", SETTLE_S)
    monkeypatch.setattr(watch_folder.FolderWatch, "poll_s", 0.2)
    notified: list[tuple[str, str]] = []
    monkeypatch.setattr(batch_end.TrayNotifier, "notify", lambda self, title, text: notified.append((title, text)))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "agenda.txt").write_text("not media")

    outbox = tmp_path / "transcripts"  # the watched folder's own output rule, not the panel's
    window = make_window(gui_settings(watch_folder=str(inbox), watch_output_dir=str(outbox)))
    watch_folder.install_unattended(window)  # as launch_gui does once the window is attached
    use_local_model(window, tiny_steered)
    assert window.folder_watch.action.isChecked()
    assert window.log_pane.count("info", f"Watching {inbox}") == 1

    copied: list[float] = []
    copier = threading.Thread(target=_copy_slowly, args=(speech_dir / "hello.wav", inbox / "meeting.wav", copied))
    copier.start()
    qtbot.waitUntil(lambda: bool(window.queue.rows), timeout=30_000)
    queued = time.monotonic()
    copier.join()
    assert queued >= copied[0] + SETTLE_S - 0.3  # only once it stopped growing
    wait_finished(qtbot, window, timeout=120)
    qtbot.waitUntil(lambda: bool(notified), timeout=10_000)
    time.sleep(SETTLE_S + 0.5)  # the transcript lies in the folder now; nothing more may come
    qtbot.wait(500)

    assert [r.job.source.name for r in window.queue.rows] == ["meeting.wav"]  # once; agenda.txt ignored
    assert window.queue.rows[0].state == "done"
    assert sorted(p.name for p in inbox.iterdir()) == ["agenda.txt", "meeting.wav"]
    assert {p.suffix for p in outbox.iterdir()} >= {".srt"} and window.queue.rows[0].job.output_dir == outbox
    awake_lines = window.log_pane.count("info", "Keeping the computer awake") + window.log_pane.count(
        "warning", "may go to sleep"
    )
    assert awake_lines == 1, window.log_pane.text()
    assert window.log_pane.count("info", "Batch finished: 1 done in") == 1
    assert re.fullmatch(r"Last batch: 1 done in \d+:\d\d", window.batch_end.label.text())
    assert notified and notified[0][0] == "nemo_desk: batch finished" and notified[0][1].startswith("1 done in")
    assert not window.batch_end.awake.held  # the system may sleep again

    window.controller.rerun(window.queue.rows[0].job.id, finished_too=True)  # run again: the row keeps its rule
    assert window.queue.rows[0].job.output_dir == outbox
    wait_finished(qtbot, window, timeout=120)


# fmt: off
def test_watching_is_switched_off_and_on_from_the_file_menu_and_remembered(
        make_window, dialogs_rec, tmp_path, app_home):  # noqa: F811 (fixtures)
    # fmt: on
    import json

    from nemo_desk.gui import watch_folder

    window = make_window(gui_settings())
    watch_folder.install_unattended(window)
    action = window.folder_watch.action
    assert action in [a for m in window.menuBar().actions() if m.menu() for a in m.menu().actions()]
    assert not action.isChecked() and window.folder_watch.watcher is None

    dialogs_rec.answer("pick_folder", "")  # cancelled: still off
    action.trigger()
    assert not action.isChecked() and window.folder_watch.watcher is None

    dialogs_rec.answer("pick_folder", str(tmp_path))
    action.trigger()
    assert action.isChecked() and window.folder_watch.watcher is not None
    saved = json.loads((app_home / "settings.json").read_text(encoding="utf-8"))
    assert saved["watch_folder"] == str(tmp_path) and saved["watch_output_dir"] == str(tmp_path)
    assert len(dialogs_rec.called("pick_folder")) == 3  # the folder, then where its transcripts go

    action.trigger()
    assert not action.isChecked() and window.folder_watch.watcher is None
    assert json.loads((app_home / "settings.json").read_text(encoding="utf-8"))["watch_folder"] == ""


def test_no_tray_no_message(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMainWindow, QSystemTrayIcon

    from nemo_desk.gui.batch_end import TrayNotifier

    window = QMainWindow()
    qtbot.addWidget(window)
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))
    assert TrayNotifier(window).notify("t", "x") is False


@pytest.mark.parametrize("pending", [0, 1])
def test_the_batch_ends_only_when_nothing_is_left(qtbot, pending):
    """idle comes when the worker ran empty; a file submitted meanwhile keeps the batch going."""
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QMainWindow

    from nemo_desk.gui.batch_end import BatchEnd

    class Worker(QObject):
        job_state = Signal(str, str, float, float)
        job_done = Signal(str, object)
        job_failed = Signal(str, object)
        job_cancelled = Signal(str, object)
        idle = Signal()
        pending = 0

    class Awake:
        held = False
        calls: list[str] = []

        def acquire(self) -> str:
            self.calls.append("acquire")
            self.held = True
            return "Keeping the computer awake until the batch ends"

        def release(self) -> None:
            self.calls.append("release")
            self.held = False

    class Window(QMainWindow):
        def __init__(self) -> None:
            super().__init__()
            self.worker = Worker()
            self.logged: list[str] = []

        def log(self, level: str, text: str) -> None:
            self.logged.append(text)

    window = Window()
    qtbot.addWidget(window)
    said: list[str] = []
    awake = Awake()
    end = BatchEnd(window, awake=awake, notify=lambda title, text: said.append(text) or True)
    window.worker.job_state.emit("a", "transcribing", 0.5, 1.0)
    window.worker.job_done.emit("a", None)
    window.worker.job_failed.emit("b", None)
    window.worker.pending = pending
    window.worker.idle.emit()
    if pending:
        assert said == [] and awake.held and end.summary.active
    else:
        assert said and re.fullmatch(r"1 done, 1 failed in 0:0\d", said[0]) and awake.calls == ["acquire", "release"]
        assert f"Batch finished: {said[0]}" in window.logged
