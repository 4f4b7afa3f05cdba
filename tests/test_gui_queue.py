"""The window end to end: drop files, transcribe with a tiny real NeMo model, cancel, failures.

Real worker thread, real pipeline, the tiny steered TDT model (says "the" every 0.16 s).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from nemo_desk.gui.queue_table import STATUS
from tests.support import audio
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS, dialogs_rec, drop_paths, gui_settings, make_window, no_leaks, parse_srt, row_by_name,
    use_local_model, wait_finished,
)

pytestmark = GUI_MARKS
STATE_ORDER = ["decoding", "transcribing", "writing", "done"]
MODEL_STATES = {"loading model", "preparing model", "downloading model"}


@pytest.fixture(autouse=True)
def _guards(no_leaks):
    yield


def _speech_copies(speech_dir: Path, folder: Path) -> dict[str, Path]:
    """Private copies: outputs are written next to the sources, never into speech_dir."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: Path(shutil.copy(speech_dir / name, folder / name)) for name in ("hello.wav", "digits.mp4")}


def test_drop_files_and_folder_transcribes_them_all(make_window, qtbot, tiny_steered, speech_dir, tmp_path,
                                                    dialogs_rec):
    files = _speech_copies(speech_dir, tmp_path / "loose")
    folder = tmp_path / "my folder"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(speech_dir / "hello.wav", folder / "sub" / "café talk.wav")
    shutil.copy(speech_dir / "digits.wav", folder / "interview.wav")
    (folder / "notes.txt").write_text("not media")
    (tmp_path / "readme.pdf").write_bytes(b"%PDF")

    window = make_window()
    use_local_model(window, tiny_steered)
    states: dict[str, list[tuple[str, float]]] = {}
    window.worker.job_state.connect(lambda jid, st, frac, eta: states.setdefault(jid, []).append((st, frac)))

    drop_paths(window.drop, [files["hello.wav"], files["digits.mp4"], folder, tmp_path / "readme.pdf"])
    drop_paths(window.drop, [files["hello.wav"]])  # already queued: not twice
    names = [r.job.source.name for r in window.queue.rows]
    assert names == ["hello.wav", "digits.mp4", "interview.wav", "café talk.wav"]
    assert window.log_pane.count("warning", "readme.pdf: not an audio or video file") == 1
    assert window.log_pane.count("info", "hello.wav is already in the queue") == 1
    assert all(r.state == "queued" for r in window.queue.rows)

    assert window.start() == 4
    wait_finished(qtbot, window, timeout=90)

    for row in window.queue.rows:
        assert row.state == "done", (row.job.source.name, row.message)
        srt = row.job.source.with_suffix(".srt")
        assert set(row.outputs) == {srt, row.job.source.with_suffix(".txt")}
        cues = parse_srt(srt.read_text(encoding="utf-8"))
        assert cues and all(set(c.text.split()) == {"the"} for c in cues)
        assert cues[-1].end <= row.duration + 0.5
        assert "the" in row.job.source.with_suffix(".txt").read_text(encoding="utf-8")
        assert row.duration and row.duration > 0.5

        seen = states[row.job.id]
        order = [s for s, _ in seen if s not in MODEL_STATES]
        assert [STATE_ORDER.index(s) for s in order] == sorted(STATE_ORDER.index(s) for s in order), order
        assert order[-1] == "done" and "transcribing" in order
        fractions = [f for s, f in seen if s == "transcribing"]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0, fractions
        assert row.status_text() == "done" and row.bar == 1.0
    # The model is loaded once and stays loaded between jobs.
    assert window.log_pane.count("info", "Model ready") == 1
    assert "Device: CPU" in window.status_label.text()

    # Double-click opens the transcript in the editor; the row had no JSON output, so its
    # transcript document is written first, next to the other outputs.
    from nemo_desk.gui.editor_window import EditorWindow

    view = window.view
    index = window.queue.index(0, 0)
    where = view.visualRect(index).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    editor = window.findChildren(EditorWindow)[-1]
    assert editor.isVisible() and editor.model.path == files["hello.wav"].with_suffix(".json")
    assert editor.model.document.text == window.transcripts[window.queue.rows[0].job.id].text
    qtbot.waitUntil(lambda: editor.player.loaded, timeout=20_000)  # it plays the source
    editor.close()
    window.open_output(window.queue.rows[0].job.id)  # "Open output file": the OS seam
    assert dialogs_rec.called("open_path")[-1] == (files["hello.wav"].with_suffix(".srt"),)
    window.open_output(window.queue.rows[0].job.id, folder=True)
    assert dialogs_rec.called("open_path")[-1] == (files["hello.wav"].parent,)

    window.clear_finished()
    assert window.queue.rows == []


def test_cancel_long_file_then_queue_goes_on(make_window, qtbot, tiny_steered, speech_dir, tmp_path):
    long_file = audio.make_tone(tmp_path / "long tone.wav", 180)
    short = _speech_copies(speech_dir, tmp_path)["hello.wav"]
    # Small chunks, one per batch: many cancel points, as on a real multi-hour file.
    window = make_window(gui_settings(batch_size=1, chunk_seconds=2.0))
    use_local_model(window, tiny_steered)
    window.add_paths([str(long_file), str(short)])
    window.start()
    long_row = row_by_name(window, "long tone.wav")
    qtbot.waitUntil(lambda: long_row.state == "transcribing" and long_row.fraction > 0, timeout=60_000)
    assert long_row.eta > 0  # an ETA once the first batches are timed

    asked = time.monotonic()
    window.cancel_current()
    qtbot.waitUntil(lambda: long_row.state == "cancelled", timeout=10_000)
    assert time.monotonic() - asked < 10
    assert "writing" not in long_row.history and long_row.outputs == ()

    wait_finished(qtbot, window, timeout=60)
    assert row_by_name(window, "hello.wav").state == "done"
    # Nothing of the cancelled job on disk: no outputs, no temporary files.
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("long tone", ".long tone")))
    assert leftovers == ["long tone.wav"]

    # A cancelled row can be run again (and cancelled again, right away this time).
    assert window.rerun(long_row.job.id)
    assert long_row.state == "queued"
    qtbot.waitUntil(lambda: long_row.state in ("decoding", "transcribing"), timeout=30_000)
    window.cancel(long_row.job.id)
    qtbot.waitUntil(lambda: long_row.state == "cancelled", timeout=10_000)


def test_bad_file_fails_visibly_and_the_queue_goes_on(make_window, qtbot, tiny_steered, speech_dir, tmp_path):
    files = _speech_copies(speech_dir, tmp_path)
    bad = audio.make_corrupt(tmp_path / "broken.mp3")
    window = make_window()
    use_local_model(window, tiny_steered)
    window.add_paths([str(files["hello.wav"]), str(bad), str(files["digits.mp4"])])
    window.start()
    wait_finished(qtbot, window, timeout=90)

    states = [(r.job.source.name, r.state) for r in window.queue.rows]
    assert states == [("hello.wav", "done"), ("broken.mp3", "failed"), ("digits.mp4", "done")]
    failed = row_by_name(window, "broken.mp3")
    assert failed.message and "\n" not in failed.message
    status_index = window.queue.index(1, STATUS)
    assert window.queue.data(status_index) == f"failed: {failed.message}"
    assert window.queue.data(status_index, Qt.ItemDataRole.ToolTipRole) == failed.detail
    assert failed.message in failed.detail.replace("\n", " ") and not failed.message.startswith(str(bad))
    assert window.log_pane.count("error", "broken.mp3") == 1
    assert not list(tmp_path.glob("broken.*.srt")) and not (tmp_path / "broken.srt").exists()
    log_file = window.services.paths.logs / "nemo_desk.log"
    assert "Failed: broken.mp3" in log_file.read_text(encoding="utf-8")

    # Remove and re-run controls act on the failed row.
    window.view.selectRow(1)
    assert window.rerun_button.isEnabled()
    window.remove_selected()
    assert [r.job.source.name for r in window.queue.rows] == ["hello.wav", "digits.mp4"]


def test_model_that_cannot_load_fails_rows_and_says_so_once(make_window, qtbot, speech_dir, tmp_path, dialogs_rec):
    files = _speech_copies(speech_dir, tmp_path)
    fake_model = tmp_path / "not a model.nemo"
    fake_model.write_text("a text file with the wrong name")
    dialogs_rec.answer("show_error", None)
    window = make_window()
    use_local_model(window, fake_model)
    assert "not a model.nemo" in window.status_label.text()
    window.add_paths([str(files["hello.wav"]), str(files["digits.mp4"])])
    window.start()
    wait_finished(qtbot, window, timeout=60)

    assert [r.state for r in window.queue.rows] == ["failed", "failed"]
    assert all("not a NeMo model file" in r.message and "\n" not in r.message for r in window.queue.rows)
    (_parent, title, message, _detail), = dialogs_rec.called("show_error")  # once, not once per file
    assert title == "The model could not be loaded" and "not a NeMo model file" in message
    assert "could not be used" in window.status_label.text()
