"""Settings: persisted as JSON through the lock-aware file operations; bad files give defaults."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from nemo_desk.core.events import RetryEvent
from nemo_desk.export import CueRules
from nemo_desk.export.profiles import PROFILES
from nemo_desk.locks.fileops import FileOps, RetryPolicy
from nemo_desk.settings import Settings
from tests.support.gui_helpers import GUI_MARKS, dialogs_rec, gui_settings, make_window, no_leaks  # noqa: F401
from tests.support.locksim import locksim  # noqa: F401 (fixture)

pytestmark = GUI_MARKS


@pytest.fixture(autouse=True)
def _guards(no_leaks):
    yield


def _changed() -> Settings:
    return Settings(models_dir="D:/models", temp_dir="D:/tmp", output_dir="C:/Users/ana/Subtitles",
                    retry_seconds=25.0, batch_size=2, chunk_seconds=20.0, overlap_seconds=1.5, subtitle_profile="custom",
                    max_chars_per_line=37, max_lines=1, custom_max_cps=20.0, txt_timestamps=True,
                    max_cue_duration=5.5, model_id="nvidia/canary-1b-v2", device="cpu",
                    formats=["vtt", "json"], language="de", target_language="en",
                    window_geometry="AdnQyw==", splitter_state="AAAA")


def test_save_then_load_gives_the_same_settings(tmp_path):
    path = tmp_path / "cfg" / "settings.json"
    original = _changed()
    original.save(path, FileOps())
    assert Settings.load(path) == original
    assert original != Settings()  # the test would catch a save that wrote defaults
    assert not list(path.parent.glob(".*tmp"))  # the temporary file was renamed into place


@pytest.mark.parametrize("content", ["{not json", "", "[1, 2]", "\x00\x01garbage", '"text"'])
def test_corrupt_file_gives_defaults_and_a_warning(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    warnings: list[str] = []
    assert Settings.load(path, warn=warnings.append) == Settings()
    assert len(warnings) == 1 and str(path) in warnings[0]


def test_missing_file_gives_defaults_silently(tmp_path):
    warnings: list[str] = []
    assert Settings.load(tmp_path / "none.json", warn=warnings.append) == Settings()
    assert warnings == []


def test_bad_values_fall_back_one_by_one(tmp_path):
    path = tmp_path / "settings.json"
    data = dataclasses.asdict(_changed())
    data.update(batch_size="four", retry_seconds=-3, formats=["srt", "pdf"], max_lines=True, unknown_key=1)
    path.write_text(json.dumps(data), encoding="utf-8")
    warnings: list[str] = []
    loaded = Settings.load(path, warn=warnings.append)
    d = Settings()
    assert (loaded.batch_size, loaded.retry_seconds, loaded.max_lines) == (d.batch_size, d.retry_seconds, d.max_lines)
    assert loaded.formats == ["srt"]  # the unknown format is dropped, the known one kept
    assert loaded.model_id == "nvidia/canary-1b-v2" and loaded.max_chars_per_line == 37  # the rest survives
    assert len(warnings) == 3


def test_settings_write_waits_out_a_locked_file(tmp_path, locksim):
    path = tmp_path / "settings.json"
    Settings().save(path, FileOps())
    locksim.lock("settings.json", ops={"replace"}, times=2)
    events: list = []
    _changed().save(path, FileOps(RetryPolicy(budget_s=5.0), events.append))
    assert Settings.load(path) == _changed()
    assert [e.attempt for e in events if isinstance(e, RetryEvent)] == [1, 2]


def test_cue_rules_and_overrides():
    s = _changed()
    rules = s.cue_rules()
    assert (rules.max_chars_per_line, rules.max_lines, rules.max_duration, rules.max_cps) == (37, 1, 5.5, 20.0)
    assert s.cue_rules("social").max_lines == 1 and Settings().cue_rules() == CueRules()
    assert s.path_overrides() == {"models": "D:/models", "temp": "D:/tmp"}
    assert Settings().path_overrides() == {}


def test_window_geometry_and_choices_persist(make_window, services, qtbot):
    first = make_window(gui_settings(retry_seconds=3.0, max_chars_per_line=30, subtitle_profile="custom"))
    assert services.fileops.policy.budget_s == 3.0  # applied to the engine at once
    assert services.pipeline.rules.max_chars_per_line == 30
    first.resize(760, 560)  # inside the offscreen screen (800x800): restoreGeometry clamps to it
    size = (first.width(), first.height())
    first.options.format_boxes["vtt"].setChecked(True)
    first.options.device.setCurrentIndex(first.options.device.findData("cpu"))
    assert first.shutdown()

    saved = Settings.load(services.paths.settings_file)
    assert saved.formats == ["srt", "txt", "vtt"] and saved.device == "cpu" and saved.window_geometry
    second = make_window(saved)
    assert (second.width(), second.height()) == size != (1180, 780)
    assert second.options.format_boxes["vtt"].isChecked()
    assert second.options.choice().model.device == "cpu"


def test_settings_dialog_edits_and_applies(make_window, services, dialogs_rec, qtbot):
    from nemo_desk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(gui_settings())
    qtbot.addWidget(dialog)
    dialog.profile.setCurrentIndex(dialog.profile.findData("custom"))
    dialog.max_chars.setValue(32)
    dialog.batch_size.setValue(3)
    dialog.output_dir.edit.setText("/tmp/subs")
    assert dialog.overlap_seconds.value() == Settings().overlap_seconds
    dialog.overlap_seconds.setValue(3)
    assert dialog.result_settings().overlap_seconds == 3
    dialog.overlap_seconds.setValue(0)  # "none": plain cuts
    edited = dialog.result_settings()
    assert (edited.max_chars_per_line, edited.batch_size, edited.output_dir) == (32, 3, "/tmp/subs")
    assert edited.overlap_seconds == 0

    window = make_window()
    dialogs_rec.answer("edit_settings", lambda parent, s: dataclasses.replace(s, retry_seconds=4.0, max_lines=1,
                                                                              output_dir="/tmp/subs",
                                                                              subtitle_profile="custom"))
    window.open_settings()
    assert services.fileops.policy.budget_s == 4.0 and services.pipeline.rules.max_lines == 1
    assert window.options.choice().output_dir is not None
    assert Settings.load(services.paths.settings_file).max_lines == 1  # saved at once
    window.settings = dataclasses.replace(window.settings, overlap_seconds=0.0)
    assert window._make_job(Path("talk.wav")).options.overlap_seconds == 0.0  # reaches the engine


def test_cuda_graphs_switch_reaches_the_jobs(make_window, services, dialogs_rec, qtbot):
    from nemo_desk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(gui_settings())
    qtbot.addWidget(dialog)
    assert dialog.cuda_graphs.isChecked()
    dialog.cuda_graphs.setChecked(False)
    assert dialog.result_settings().cuda_graphs is False

    window = make_window()
    assert window._make_job(Path("a.wav")).model.cuda_graphs is True
    dialogs_rec.answer("edit_settings", lambda parent, s: dataclasses.replace(s, cuda_graphs=False))
    window.open_settings()
    job = window._make_job(Path("a.wav"))
    assert job.model.cuda_graphs is False and job.model.key == window.options.choice().model.key


def test_settings_from_before_profiles_keep_their_line_rules(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"max_chars_per_line": 30, "max_lines": 1}), encoding="utf-8")
    assert Settings.load(path).cue_rules().max_chars_per_line == 30  # became the custom profile
    path.write_text(json.dumps({"max_chars_per_line": 42}), encoding="utf-8")
    assert Settings.load(path).subtitle_profile == "broadcast"


def test_bad_subtitle_settings_fall_back(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"subtitle_profile": "cinema", "custom_max_cps": 0.5, "custom_min_gap_frames": 99}),
                    encoding="utf-8")
    warnings: list[str] = []
    loaded = Settings.load(path, warn=warnings.append)
    assert (loaded.subtitle_profile, loaded.custom_max_cps, loaded.custom_min_gap_frames) == ("broadcast", 17.0, 2)
    assert len(warnings) == 3


def test_settings_dialog_profiles(make_window, services, qtbot):
    from nemo_desk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(gui_settings(subtitle_profile="custom", max_chars_per_line=30, custom_max_cps=15.0))
    qtbot.addWidget(dialog)
    assert dialog.max_chars.isEnabled() and dialog.max_chars.value() == 30
    dialog.max_cps.setValue(12.0)
    dialog.profile.setCurrentIndex(dialog.profile.findData("social"))
    # A named profile shows its own values, greyed out; the custom ones are kept.
    assert not dialog.max_chars.isEnabled() and (dialog.max_chars.value(), dialog.max_lines.value()) == (32, 1)
    dialog.txt_timestamps.setChecked(True)
    edited = dialog.result_settings()
    assert (edited.subtitle_profile, edited.max_chars_per_line, edited.custom_max_cps) == ("social", 30, 12.0)
    assert edited.cue_rules() == PROFILES["social"] and edited.txt_timestamps
    dialog.profile.setCurrentIndex(dialog.profile.findData("custom"))
    assert dialog.max_cps.value() == 12.0 and dialog.max_cps.isEnabled()

    window = make_window(edited)
    assert services.pipeline.rules == PROFILES["social"] and services.pipeline.txt_timestamps
    assert set(window.options.format_boxes) == {"srt", "txt", "vtt", "json", "ass", "ttml", "docx", "csv"}


def test_every_settings_control_explains_itself(qtbot):
    """Each control in the Settings dialog has a tooltip (its own or its field's) and an
    accessible name (#19)."""
    from PySide6.QtWidgets import QDialogButtonBox

    from nemo_desk.gui import a11y
    from nemo_desk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    buttons = dialog.findChild(QDialogButtonBox)

    def tip(widget) -> str:
        while widget is not None and widget is not dialog:
            if widget.toolTip():
                return widget.toolTip()
            widget = widget.parentWidget()
        return ""

    from PySide6.QtWidgets import QWidget

    controls = [w for w in dialog.findChildren(QWidget) if isinstance(w, a11y.INTERACTIVE)
                and not buttons.isAncestorOf(w) and not isinstance(w.parent(), a11y.INTERACTIVE)]
    assert len(controls) >= 15
    assert [w.accessibleName() for w in controls if not tip(w)] == []
    assert [type(w).__name__ for w in controls if not w.accessibleName()] == []


def test_speech_detection_is_a_setting(qtbot):
    from nemo_desk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.speech_detection.isChecked()
    dialog.speech_detection.setChecked(False)
    assert dialog.result_settings().speech_detection is False
