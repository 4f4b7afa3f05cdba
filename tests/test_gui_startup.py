"""Start-up and shutdown: no torch before the first job, excepthook, closing during a job."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from tests.support import audio
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS, dialogs_rec, gui_settings, make_window, no_leaks, use_local_model,
)

pytestmark = GUI_MARKS
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _guards(no_leaks):
    yield


def test_window_shows_before_torch_or_nemo_is_imported(tmp_path):
    script = (
        "import json, sys\n"
        "from nemo_desk.app import main\n"
        "code = main(['--quit-after-show'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'nemo', 'lightning', 'pytorch_lightning'))\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NEMO_DESK_HOME": str(tmp_path / "home")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    # Shown (after its first paint) first, then ready: the services attached, the worker running.
    assert lines.index("nemo_desk: window shown: True") < lines.index("nemo_desk: ready: True"), done.stdout
    result = json.loads(lines[-1])
    assert result == {"code": 0, "heavy": []}
    assert elapsed < 30  # seconds even on a slow CI runner; NeMo alone takes longer to import
    # It went through the real start-up: settings were written on close.
    assert json.loads((tmp_path / "home" / "settings.json").read_text(encoding="utf-8"))["window_geometry"]


def test_window_is_painted_before_the_services_are_built_then_attached(qtbot, dialogs_rec, app_home):
    """The window appears at once; the services (folders, temp sweep, journal, store) are
    built after its first paint and then enable the controls."""
    from PySide6.QtWidgets import QApplication

    from nemo_desk.app import build_services
    from nemo_desk.gui.launch import QUIT_AFTER_SHOW, launch_gui

    seen = {}

    def factory(**kw):
        shown = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible()]
        assert len(shown) == 1  # on screen already, while the services do not exist yet
        seen.update(visible=True, worker=shown[0].worker, start=shown[0].drop.isEnabled())
        services = build_services(**kw)
        seen["services"] = services
        return services

    assert launch_gui([QUIT_AFTER_SHOW], factory) == 0
    assert seen["visible"] is True and seen["worker"] is None and seen["start"] is False
    assert seen["services"].queue.journal is not None


def test_services_that_fail_after_the_window_shows_are_reported_not_hung(qtbot, dialogs_rec, app_home):
    from nemo_desk.gui.launch import QUIT_AFTER_SHOW, launch_gui

    dialogs_rec.answer("show_error", None)

    def broken(**kw):
        raise PermissionError("[WinError 5] Access is denied: 'C:\\Users\\me\\AppData\\Local\\nemo_desk'")

    assert launch_gui([QUIT_AFTER_SHOW], broken) == 1
    (parent, title, text, detail), = dialogs_rec.called("show_error")
    assert title == "nemo_desk cannot start" and "Access is denied" in text and "PermissionError" in detail
    assert parent is not None and not parent.isVisible()  # shown over the window, which then closed


def test_excepthook_logs_and_shows_gui_thread_bugs(qtbot, services, dialogs_rec):
    from nemo_desk.gui.launch import install_excepthook

    dialogs_rec.answer("show_error", None)
    undo = install_excepthook(services.logger, lambda: None)
    try:
        def buggy_slot():
            raise ValueError("a bug in a slot")

        QTimer.singleShot(0, buggy_slot)
        qtbot.waitUntil(lambda: bool(dialogs_rec.called("show_error")), timeout=5000)
    finally:
        undo()
    (parent, title, text, detail), = dialogs_rec.called("show_error")
    assert "ValueError: a bug in a slot" in text and "buggy_slot" in detail
    log = (services.paths.logs / "nemo_desk.log").read_text(encoding="utf-8")
    assert "a bug in a slot" in log and "Traceback" in log


def test_closing_during_a_job_asks_cancels_stops_and_next_start_resumes(make_window, qtbot, tiny_steered,
                                                                        tmp_path, dialogs_rec):
    long_file = audio.make_tone(tmp_path / "long.wav", 60)
    settings = gui_settings(batch_size=1, chunk_seconds=2.0)
    window = make_window(settings)
    use_local_model(window, tiny_steered)
    window.add_paths([str(long_file)])
    window.start()
    row = window.queue.rows[0]
    qtbot.waitUntil(lambda: row.state == "transcribing" and row.fraction > 0, timeout=60_000)

    dialogs_rec.answer("confirm_quit", False)  # "No, keep working"
    window.close()
    assert window.isVisible() and window.worker.isRunning()
    assert dialogs_rec.called("confirm_quit") == [(window, 1)]

    dialogs_rec.answer("confirm_quit", True)
    started = time.monotonic()
    window.close()
    assert not window.isVisible()
    assert window.worker.isFinished()  # close() returns only after the worker stopped
    assert time.monotonic() - started < 10
    assert window.services.models.loaded is None  # freed on the worker thread
    qtbot.waitUntil(lambda: row.state == "cancelled", timeout=5000)  # its last signals still arrive
    assert not (tmp_path / "long.srt").exists()
    assert json.loads(window.services.paths.settings_file.read_text(encoding="utf-8"))["batch_size"] == 1

    # The next start puts the interrupted file back, and it continues where it stopped.
    again = make_window(settings)
    (restored,) = again.queue.rows
    assert restored.job == row.job and restored.state == "queued"
    assert again.log_pane.count("info", "Restored 1 file(s)") == 1
    again.start()
    qtbot.waitUntil(lambda: restored.state == "done", timeout=60_000)
    assert again.log_pane.count("info", "Resuming:") == 1
    assert (tmp_path / "long.srt").is_file()
