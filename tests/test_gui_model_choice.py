"""Choosing a model file (#19): the "Local file…" item, the import in the Models dialog,
a recording picked by mistake, and a model list that is not cut off."""

from __future__ import annotations

import tarfile

import pytest

from nemo_desk.core.errors import ModelError
from nemo_desk.engine.model_file import model_file_problem
from nemo_desk.gui.models_dialog import ModelsDialog
from nemo_desk.gui.options_panel import OptionsPanel
from tests.support.gui_helpers import GUI_MARKS, dialogs_rec, no_leaks  # noqa: F401 (fixtures)

pytestmark = GUI_MARKS
JARGON = ("tar", "header", "ReadError", "gzip", "method", "errno", "Traceback")


def _panel(qtbot) -> OptionsPanel:
    panel = OptionsPanel(lambda spec: False)
    qtbot.addWidget(panel)
    return panel


def test_local_file_is_asked_once_then_selected(qtbot, dialogs_rec, tiny_steered):
    dialogs_rec.answer("pick_model_file", str(tiny_steered))
    dialogs_rec.answer("confirm", True)
    panel = _panel(qtbot)
    panel.model_combo.setCurrentIndex(panel.model_combo.count() - 1)  # "Local file…"
    assert len(dialogs_rec.called("pick_model_file")) == 1  # it reopened until cancelled before
    assert panel.model_combo.currentData() == ("local", str(tiny_steered))


def test_a_recording_chosen_as_local_model_is_refused_in_words(qtbot, dialogs_rec, tmp_path):
    wav = tmp_path / "interview.wav"
    wav.write_bytes(b"RIFF" + bytes(100))
    dialogs_rec.answer("pick_model_file", str(wav))
    dialogs_rec.answer("show_error", None)
    panel = _panel(qtbot)
    before = panel.model_combo.currentData()
    panel.model_combo.setCurrentIndex(panel.model_combo.count() - 1)
    ((_p, title, text),) = dialogs_rec.called("show_error")
    assert title == "Not a model file" and "interview.wav is a recording" in text and ".nemo" in text
    assert not dialogs_rec.called("confirm") and panel.model_combo.currentData() == before


def test_models_dialog_refuses_a_recording_before_importing(qtbot, services, dialogs_rec, tmp_path):
    wav = tmp_path / "interview.wav"
    wav.write_bytes(b"RIFF" + bytes(100))
    dialogs_rec.answer("pick_model_file", str(wav))
    dialogs_rec.answer("show_error", None)
    dialog = ModelsDialog(services)
    qtbot.addWidget(dialog)
    dialog.import_button.click()
    ((_p, title, text),) = dialogs_rec.called("show_error")
    assert title == "Not a model file" and "recording" in text
    assert dialog.task is None and not dialogs_rec.called("confirm")  # never offered for import


def test_importing_selects_the_model_and_says_which(qtbot, services, dialogs_rec, tiny_steered, no_leaks):
    dialogs_rec.answer("pick_model_file", str(tiny_steered))
    dialogs_rec.answer("confirm", True)
    dialog = ModelsDialog(services)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.model_imported, timeout=30_000) as signal:
        dialog.import_button.click()
    assert signal.args == [str(tiny_steered)] and dialog.imported == str(tiny_steered)
    assert dialog.selected() is not None and dialog.selected().name == tiny_steered.name


def test_model_list_is_not_cut_off(qtbot, services):
    dialog = ModelsDialog(services)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    for col in range(table.columnCount()):
        assert table.columnWidth(col) >= table.sizeHintForColumn(col), table.horizontalHeaderItem(col).text()
    assert table.horizontalScrollBar().maximum() == 0
    assert table.verticalScrollBar().maximum() == 0  # every model in view at the default size


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("talk.mp3", b"ID3" + bytes(50), "talk.mp3 is a recording"),
        ("notes.txt", b"hello", "model files end in .nemo"),
        ("half.nemo", b"\x1f\x8b\x08" + bytes(20), "half.nemo is damaged or not a NeMo model file"),
        ("empty.nemo", b"", "is empty"),
    ],
)
def test_wrong_files_are_named_in_words_not_tar_errors(tmp_path, services, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert expected in model_file_problem(path)
    with pytest.raises(ModelError) as info:  # the job and the CLI (--model-path) meet the same words
        services.store.import_local(path)
    assert expected in info.value.user_message
    assert not any(word in info.value.user_message for word in JARGON), info.value.user_message


def test_a_real_archive_passes_the_check(tmp_path, tiny_steered):
    assert model_file_problem(tiny_steered) == ""
    plain = tmp_path / "plain.nemo"
    with tarfile.open(plain, "w") as tar:
        tar.add(__file__, arcname="model_config.yaml")
    assert model_file_problem(plain) == ""
