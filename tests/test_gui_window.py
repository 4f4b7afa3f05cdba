"""What a new user hit in the window (#19), on the real worker and a tiny trained model:
re-run and "run again" with the options selected now, an imported model selected, asked
before a download, duration known at add time, progress in the title, a status bar that
moves on from "Loading model…", keyboard and double-click on rows."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from nemo_desk.engine.catalog import DEFAULT_MODEL_ID, get_spec
from nemo_desk.gui import editor_launch
from nemo_desk.gui.main_window import TITLE
from tests.support import audio
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS,
    dialogs_rec,
    make_window,
    no_leaks,
    row_by_name,
    use_local_model,
    wait_finished,
)

pytestmark = GUI_MARKS


def _copy(speech_dir: Path, folder: Path, name: str = "hello.wav") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(speech_dir / name, folder / name))


def _broken_model(tmp_path: Path) -> Path:
    path = tmp_path / "wrong.nemo"
    path.write_text("not an archive")
    return path


def test_rerun_uses_the_model_selected_now(make_window, qtbot, dialogs_rec, tiny_steered, speech_dir, tmp_path):
    source = _copy(speech_dir, tmp_path)
    dialogs_rec.answer("show_error", None)
    window = make_window()
    use_local_model(window, _broken_model(tmp_path))
    window.add_paths([str(source)])
    window.start()
    wait_finished(qtbot, window)
    (row,) = window.queue.rows
    assert row.state == "failed"

    use_local_model(window, tiny_steered)  # the fix the error asked for
    window.view.selectRow(0)
    window.rerun_selected()
    wait_finished(qtbot, window)
    (row,) = window.queue.rows  # the same row, run again: not a second one
    assert row.state == "done", row.message  # it re-ran the old job (the broken model) before
    assert Path(row.job.model.path) == tiny_steered


def test_run_again_with_current_options_on_a_done_row(make_window, qtbot, tiny_steered, speech_dir, tmp_path):
    source = _copy(speech_dir, tmp_path)
    window = make_window()
    use_local_model(window, tiny_steered)
    window.add_paths([str(source)])
    window.start()
    wait_finished(qtbot, window)
    assert {p.suffix for p in window.queue.rows[0].outputs} == {".srt", ".txt"}
    assert not window.rerun(window.queue.rows[0].job.id)  # Re-run is for failed/cancelled rows

    window.options.format_boxes["vtt"].setChecked(True)
    assert window.controller.rerun(window.queue.rows[0].job.id, finished_too=True)
    wait_finished(qtbot, window)
    (row,) = window.queue.rows
    assert row.state == "done" and ".vtt" in {p.suffix for p in row.outputs}
    assert (tmp_path / "hello.vtt").is_file()


def test_importing_a_model_selects_it(make_window, dialogs_rec, tiny_steered):
    dialogs_rec.answer("manage_models", str(tiny_steered))  # the dialog imported this file
    window = make_window()
    window.open_models()
    assert window.options.choice().model.path is not None
    assert Path(window.options.choice().model.path) == tiny_steered


def test_start_asks_before_downloading_with_size_and_place(make_window, dialogs_rec, speech_dir, tmp_path):
    source = _copy(speech_dir, tmp_path)
    dialogs_rec.answer("confirm", False)
    window = make_window()
    window.options.set_catalog_model(DEFAULT_MODEL_ID)
    spec = get_spec(DEFAULT_MODEL_ID)
    assert not window.services.store.is_installed(spec)
    window.add_paths([str(source)])
    assert window.start() == 0  # it started a 2.4 GB download without a word before
    ((_parent, title, text, ok),) = dialogs_rec.called("confirm")
    assert "Download" in title and f"{spec.size_gb:.1f} GB" in text
    assert str(window.services.store.folder_for(spec)) in text and "GB" in ok
    assert not window.queue.rows[0].submitted and window.worker.pending == 0


def test_duration_is_known_at_add_time_and_probed_off_the_gui_thread(
    make_window, qtbot, speech_dir, tmp_path, monkeypatch
):
    from nemo_desk.media import probing

    threads = []
    real = probing.probe

    def probe(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(probing, "probe", probe)
    source = _copy(speech_dir, tmp_path)
    window = make_window()
    window.add_paths([str(source)])
    qtbot.waitUntil(lambda: window.queue.rows[0].duration is not None, timeout=20_000)
    import wave

    with wave.open(str(source)) as w:
        length = w.getnframes() / w.getframerate()
    assert window.queue.rows[0].duration == pytest.approx(length, abs=0.1)
    assert threads and threading.main_thread() not in threads


def test_progress_in_the_title_and_the_status_bar_moves_on(make_window, qtbot, tiny_steered, speech_dir, tmp_path):
    sources = [_copy(speech_dir, tmp_path, n) for n in ("hello.wav", "digits.mp4")]
    window = make_window()
    use_local_model(window, tiny_steered)
    titles, statuses = [], []
    window.windowTitleChanged.connect(titles.append)
    window.queue.dataChanged.connect(lambda *_: statuses.append(window.status_label.text()))
    window.add_paths([str(p) for p in sources])
    window.start()
    wait_finished(qtbot, window)
    assert any(t.endswith(TITLE) and "%" in t and "of 2 done" in t for t in titles), titles
    assert window.windowTitle() == TITLE  # back to plain once the batch ended
    assert any(s.startswith("Transcribing") for s in statuses), statuses
    assert not window.status_label.text().startswith("Loading model"), window.status_label.text()


def test_failed_row_double_click_shows_the_message_without_ffmpeg_words(
    make_window, qtbot, dialogs_rec, tiny_steered, tmp_path
):
    bad = audio.make_corrupt(tmp_path / "broken.mp3")
    dialogs_rec.answer("show_error", None)
    window = make_window()
    use_local_model(window, tiny_steered)
    window.add_paths([str(bad)])
    window.start()
    wait_finished(qtbot, window)
    row = row_by_name(window, "broken.mp3")
    assert row.state == "failed" and "Invalid data" not in row.message and "media player" in row.message
    rect = window.view.visualRect(window.queue.index(0, 0))
    # A press first: the view acts on a double-click only on the index the press was on.
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    ((_parent, title, text, detail),) = dialogs_rec.called("show_error")  # nothing happened before
    assert "broken.mp3" in title and row.message in text and str(bad) in detail


def test_keys_on_rows_and_window_shortcuts(
    make_window, qtbot, dialogs_rec, tiny_steered, speech_dir, tmp_path, monkeypatch
):
    sources = [_copy(speech_dir, tmp_path, n) for n in ("hello.wav", "digits.mp4")]
    opened = []
    monkeypatch.setattr(editor_launch, "open_for_job", lambda window, job_id: opened.append(job_id))
    window = make_window()
    use_local_model(window, tiny_steered)
    window.add_paths([str(p) for p in sources])
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # window shortcuts need it
    window.view.setFocus()

    window.view.selectRow(1)
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)  # Delete did nothing before
    assert [r.job.source.name for r in window.queue.rows] == ["hello.wav"]

    qtbot.keyClick(window.view, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Start
    assert window.queue.rows[0].submitted or window.queue.rows[0].state == "done"
    wait_finished(qtbot, window)
    window.view.selectRow(0)
    qtbot.keyClick(window.view, Qt.Key.Key_Return)  # Enter opens the transcript
    assert opened == [window.queue.rows[0].job.id]

    cancels = []
    monkeypatch.setattr(window.controller, "cancel_current", lambda: cancels.append(True))
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)  # Cancel
    assert cancels == [True]

    dialogs_rec.answer("edit_settings", None)  # the dialog, cancelled
    qtbot.keyClick(window.view, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)  # Settings
    assert dialogs_rec.called("edit_settings")
