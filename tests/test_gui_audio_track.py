"""A file with several audio tracks: the row offers them (once probed, off the GUI thread)
and the one chosen is the one transcribed (#14), on the real worker and a tiny model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf
from PySide6.QtWidgets import QMenu

from nemo_desk.core.states import JobState
from tests.support import audio
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS,
    dialogs_rec,
    make_window,
    no_leaks,
    use_local_model,
    wait_finished,
)

pytestmark = GUI_MARKS


@pytest.fixture
def two_tracks(tmp_path, speech_dir) -> Path:
    """Track 1: the digits (mono); track 2: "hello world" (stereo 44.1 kHz): different lengths."""
    out = tmp_path / "interview.mkv"
    audio.run_tool([audio.tool("ffmpeg"), "-v", "error", "-y", "-i", speech_dir / "digits.wav",
                    "-i", speech_dir / "hello_stereo44k.wav", "-map", "0:a", "-map", "1:a", "-c:a", "flac",
                    "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=deu", out])
    return out


def _track_actions(window, job_id: str) -> list:
    menu = QMenu(window)
    sub = window.actions_._track_menu(menu, job_id)
    return [] if sub is None else sub.actions()


def test_the_row_offers_its_tracks_and_the_chosen_one_is_transcribed(make_window, qtbot, tiny_steered, two_tracks,
                                                                    speech_dir, tmp_path):
    single = shutil.copy(speech_dir / "hello.wav", tmp_path / "single.wav")
    window = make_window()
    use_local_model(window, tiny_steered)
    window.options.format_boxes["json"].setChecked(True)
    window.add_paths([str(two_tracks), str(single)])
    film, plain = window.queue.rows
    qtbot.waitUntil(lambda: len(film.tracks) == 2 and plain.duration, timeout=30_000)
    assert _track_actions(window, plain.job.id) == []  # one track: no choice to offer

    actions = _track_actions(window, film.job.id)
    assert [a.text().split(":")[0] for a in actions] == ["Track 1", "Track 2"]
    assert "eng" in actions[0].text() and "deu" in actions[1].text()
    assert actions[0].isChecked() and not actions[1].isChecked()
    actions[1].trigger()
    assert film.audio_track == 2 and _track_actions(window, film.job.id)[1].isChecked()

    window.start()
    wait_finished(qtbot, window)
    assert film.state == plain.state == JobState.DONE, film.message
    doc = json.loads((two_tracks.with_suffix(".json")).read_text(encoding="utf-8"))
    assert doc["options"]["audio_track"] == 2
    hello, digits = (sf.info(speech_dir / name).duration for name in ("hello.wav", "digits.wav"))
    assert abs(doc["duration"] - hello) < 0.05 < abs(hello - digits) - 0.05  # track 2, not track 1
