"""The window's Vocabulary field: phrases and strength reach the jobs; named lists persist."""
from __future__ import annotations

from pathlib import Path

import pytest

from nemo_desk.locks.fileops import FileOps
from nemo_desk.settings import Settings
from tests.support.gui_helpers import GUI_MARKS, dialogs_rec, gui_settings, make_window, no_leaks  # noqa: F401

pytestmark = GUI_MARKS


@pytest.fixture(autouse=True)
def _guards(no_leaks):
    yield


def test_vocabulary_reaches_the_job_and_named_lists_are_kept(make_window, dialogs_rec, tmp_path):
    settings = gui_settings(vocabulary_lists={"Council meetings": ["Jane Doe", "Zoning Board"]})
    window = make_window(settings)
    panel = window.options
    assert window._make_job(Path("a.wav")).options.boost == ()

    # A saved list fills the field; the field is what the job boosts.
    panel._vocab_chosen(panel.vocab_pick.findData("Council meetings"))
    assert panel.vocab_edit.text() == "Jane Doe, Zoning Board"
    panel.vocab_edit.setText(panel.vocab_edit.text() + ", ACME ; acme")
    panel.vocab_strength.setCurrentIndex(panel.vocab_strength.findData("strong"))
    job = window._make_job(Path("a.wav"))
    assert job.options.boost == ("Jane Doe", "Zoning Board", "ACME")
    assert job.options.boost_strength == "strong"

    # "Save list…" names the current phrases; the settings keep every list.
    dialogs_rec.answer("ask_text", "Product names")
    panel._save_vocab()
    assert panel.vocab_pick.findData("Product names") > 0
    panel.store(settings)
    path = tmp_path / "settings.json"
    settings.save(path, FileOps())
    back = Settings.load(path)
    assert back.vocabulary_lists == {"Council meetings": ["Jane Doe", "Zoning Board"],
                                     "Product names": ["Jane Doe", "Zoning Board", "ACME"]}
    assert back.boost_strength == "strong" and back.vocabulary.startswith("Jane Doe")


def test_saving_an_empty_vocabulary_explains_instead_of_asking_a_name(make_window, dialogs_rec):
    window = make_window()
    dialogs_rec.answer("show_info", None)
    window.options._save_vocab()
    assert dialogs_rec.called("show_info") and not dialogs_rec.called("ask_text")


def test_damaged_vocabulary_settings_fall_back_with_a_warning():
    warnings: list[str] = []
    s = Settings.from_dict({"vocabulary_lists": {"x": "not a list"}, "boost_strength": "max"}, warnings.append)
    assert s.vocabulary_lists == {} and s.boost_strength == "normal"
    assert len(warnings) == 2
