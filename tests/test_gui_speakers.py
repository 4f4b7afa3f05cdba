"""The "Identify speakers" option: off by default, reaches the jobs, persists; the Models
dialog lists the diarizers apart from the recognisers."""
from __future__ import annotations

from pathlib import Path

import pytest

from nemo_desk.engine.catalog import DIARIZERS
from nemo_desk.settings import Settings
from tests.support.gui_helpers import GUI_MARKS, dialogs_rec, gui_settings, make_window, no_leaks  # noqa: F401

pytestmark = GUI_MARKS


@pytest.fixture(autouse=True)
def _guards(no_leaks):
    yield


def test_identify_speakers_reaches_the_job_and_persists(make_window, services, qtbot):
    window = make_window()
    panel = window.options
    assert not panel.speakers_box.isChecked() and not panel.speaker_count.isEnabled()
    assert window._make_job(Path("a.wav")).options.speakers == "off"
    panel.speakers_box.setChecked(True)
    assert panel.speaker_count.isEnabled()
    assert window._make_job(Path("a.wav")).options.speakers == "auto"
    panel.speaker_count.setCurrentIndex(panel.speaker_count.findData("3"))
    assert window._make_job(Path("a.wav")).options.speakers == "3"
    assert window.shutdown()

    saved = Settings.load(services.paths.settings_file)
    assert saved.speakers == "3"
    again = make_window(saved)
    assert again.options.speakers_box.isChecked() and again.options.choice().speakers == "3"


def test_models_dialog_offers_the_diarizers(qtbot, services):
    from nemo_desk.gui.models_dialog import ModelsDialog

    dialog = ModelsDialog(services)
    qtbot.addWidget(dialog)
    dialog.show()
    spec = DIARIZERS[0]
    dialog.select(f"{spec.name} [speakers]")
    assert dialog.download_button.isEnabled()
    assert "Diarizer (who speaks)" in dialog.description.text() and spec.licence in dialog.description.text()
