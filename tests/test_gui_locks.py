"""Locked output files (WinError 32, simulated): retries in the log pane, the remediation dialog."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nemo_desk.gui import dialogs
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS, dialogs_rec, make_window, no_leaks, parse_srt, use_local_model, wait_finished,
)
from tests.support.locksim import locksim  # noqa: F401 (fixture)

pytestmark = GUI_MARKS


@pytest.fixture(autouse=True)
def _guards(no_leaks):
    yield


@pytest.fixture
def source(speech_dir, tmp_path) -> Path:
    folder = tmp_path / "OneDrive - Contoso" / "interviews"
    folder.mkdir(parents=True)
    return Path(shutil.copy(speech_dir / "hello.wav", folder / "hello.wav"))


def test_transient_lock_on_output_is_retried_and_logged(make_window, qtbot, tiny_steered, source, locksim):
    rule = locksim.lock("*.srt", ops={"replace"}, times=3)  # a scanner holding the new .srt briefly
    window = make_window()
    use_local_model(window, tiny_steered)
    retries: list[str] = []
    window.worker.retry.connect(retries.append)
    window.add_paths([str(source)])
    window.start()
    wait_finished(qtbot, window, timeout=60)

    row = window.queue.rows[0]
    assert row.state == "done", row.message
    assert rule.hits["replace"] == 3
    assert len(retries) == 3 and all("file busy" in r and r.count("hello.srt") == 1 for r in retries)
    # Each retry shows in the pane as it happens, with the retry style, and in the log file.
    assert window.log_pane.count("retry", "file busy") == 3
    assert "RETRY" in window.log_pane.text()
    log_file = window.services.paths.logs / "nemo_desk.log"
    assert log_file.read_text(encoding="utf-8").count("retry: file busy") == 3
    assert parse_srt((source.parent / "hello.srt").read_text(encoding="utf-8"))


def test_persistent_lock_opens_dialog_and_retry_after_lift_succeeds(make_window, qtbot, tiny_steered, source,
                                                                     locksim, dialogs_rec):
    rule = locksim.lock("*.srt", ops={"replace"})  # held until lifted
    target = source.parent / "hello.srt"
    seen = []

    def user_fixes_it_and_presses_retry(parent, report):
        seen.append(report)
        assert window.queue.rows[0].state == "failed"  # the row says so before the dialog asks
        rule.lift()  # e.g. the user paused OneDrive
        return dialogs.RETRY

    dialogs_rec.answer("show_lock_error", user_fixes_it_and_presses_retry)
    window = make_window()  # retry budget 2 s (gui_settings)
    use_local_model(window, tiny_steered)
    window.add_paths([str(source)])
    window.start()
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=60_000)
    report = seen[0]
    assert report.path == str(target) and report.operation == "replace"
    assert report.steps, "the dialog must say what to do"
    assert report.holder.name  # a diagnosis, even if only "another program"

    wait_finished(qtbot, window, timeout=60)
    row = window.queue.rows[0]
    assert row.state == "done", row.message
    assert "failed" in row.history and row.history[-1] == "done"
    assert rule.hits["replace"] >= 2 and len(seen) == 1
    assert parse_srt(target.read_text(encoding="utf-8"))
    assert window.log_pane.count("error", "hello.srt") >= 1  # the failure was logged before the retry
    # Nothing temporary left next to the output.
    assert sorted(p.name for p in source.parent.iterdir()) == ["hello.srt", "hello.txt", "hello.wav"]


def test_lock_dialog_buttons(qtbot, dialogs_rec, tmp_path):
    """The real dialog: path, steps, and its buttons reach the OS seam."""
    from nemo_desk.locks.lockerror import Holder, LockReport

    report = LockReport(str(tmp_path / "out.srt"), "replace", Holder("onedrive", "OneDrive", "under OneDrive"),
                        ("Pause OneDrive syncing.", "Press Retry."))
    dialog = dialogs.LockDialog(report)
    qtbot.addWidget(dialog)
    from PySide6.QtWidgets import QLabel, QPushButton

    labels = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert str(tmp_path / "out.srt") in labels and "OneDrive" in labels and "<li>Pause OneDrive syncing.</li>" in labels
    buttons = {b.text(): b for b in dialog.findChildren(QPushButton)}
    buttons["Copy path"].click()
    buttons["Open folder"].click()
    assert dialogs_rec.called("copy_text") == [(report.path,)]
    assert dialogs_rec.called("open_path") == [(tmp_path,)]
    buttons["Retry"].click()
    assert dialog.choice == dialogs.RETRY
