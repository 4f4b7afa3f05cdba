"""The transcript editor, offscreen, on a real transcript of real speech by the trained model.

The player is Qt's real QMediaPlayer on the real file: the tests move its position and
check the view (no sound device is needed, none is opened before Play).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from nemo_desk.document.store import Autosave, load_document
from nemo_desk.export import CueRules, OutputLedger
from nemo_desk.gui import editor_dialogs
from nemo_desk.gui.editor_launch import launch_editor, open_editor
from nemo_desk.gui.editor_window import EditorContext
from nemo_desk.locks.fileops import FileOps
from tests.support import audio
from tests.support.export_helpers import parse_srt
from tests.support.gui_helpers import GUI_MARKS, DialogRecorder, dialogs_rec  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, *GUI_MARKS]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def context(tmp_path) -> EditorContext:
    fileops = FileOps()
    return EditorContext(fileops, OutputLedger(tmp_path / "ledger.db", fileops),
                         Autosave(tmp_path / "autosave", fileops), CueRules())


@pytest.fixture
def open_window(qtbot, context, dialogs_rec):
    made_windows = []

    def make(path: Path):
        window = open_editor(path, context)
        assert window is not None, dialogs_rec.calls
        made_windows.append(window)
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.player.loaded, timeout=20_000)
        return window

    yield make
    for window in made_windows:
        try:
            window.model.mark_saved()  # no save question at teardown
            window.close()
        except RuntimeError:
            pass  # already closed and deleted by the test
    QApplication.processEvents()


def words(document) -> list[tuple[str, float, float]]:
    return [(w.text, w.start, w.end) for w in document.words]


def test_edit_undo_redo_rename_split_merge_save_reopen_and_export(open_window, doc_path, context, monkeypatch,
                                                                  qtbot):
    window = open_window(doc_path)
    original = words(window.model.document)
    assert len(original) > 15 and window.windowTitle().startswith("talk.json")
    assert not window.isWindowModified()

    # Fix a word in the segment editor: it keeps the word's times.
    window.select_segment(0)
    typed = [w for w, _, _ in original]
    typed[3] = "Zanzibar"
    window.text_edit.setText(" ".join(typed))
    window.apply_button.click()
    fixed = [("Zanzibar", s, e) if i == 3 else (t, s, e) for i, (t, s, e) in enumerate(original)]
    assert words(window.model.document) == fixed
    assert window.isWindowModified() and "Zanzibar" in window.view.toPlainText()
    window.model.undo_stack.undo()
    assert words(window.model.document) == original and not window.isWindowModified()
    window.model.undo_stack.redo()
    assert words(window.model.document) == fixed

    # Split at the cursor (before word 10), split again, merge the second cut back.
    cut = len(" ".join(typed[:10])) + 1
    window.text_edit.setCursorPosition(cut)
    window.split_button.click()
    assert [len(s.words) for s in window.model.document.segments] == [10, len(original) - 10]
    window.select_segment(1, len(" ".join(typed[10:15])) + 1)
    window.split_button.click()
    assert [len(s.words) for s in window.model.document.segments] == [10, 5, len(original) - 15]
    assert window.current == 2  # like Enter in a text editor: the cursor goes on in the new part
    window.select_segment(1)
    window.merge_button.click()
    assert [len(s.words) for s in window.model.document.segments] == [10, len(original) - 10]

    # Speakers: a new one for segment 0, renamed everywhere; segment 1 goes to another.
    window.select_segment(0)
    window.speaker_box.activated.emit(window.speaker_box.findData("__new__"))
    monkeypatch.setattr(editor_dialogs, "ask_speaker_name", lambda parent, current: "The Interviewee")
    assert window.rename_button.isEnabled()
    window.rename_button.click()
    window.select_segment(1)
    window.speaker_box.activated.emit(window.speaker_box.findData("__new__"))
    doc = window.model.document
    assert [doc.speaker_name(i) for i in (0, 1)] == ["The Interviewee", "Speaker 2"]
    assert "The Interviewee: " in window.view.toPlainText()
    assert words(doc) == fixed  # nothing of this moved a word

    assert window.save() and not window.isWindowModified()
    assert not context.autosave.path_for(doc_path).exists()
    window.close()
    reopened = open_window(doc_path)
    assert reopened.model.document == doc and not reopened.isWindowModified()

    # Export: the SRT shows the edits, every cue starts at an original word's time.
    out = doc_path.parent / "export"
    monkeypatch.setattr(editor_dialogs, "ask_export", lambda parent, formats, folder: (("srt", "txt"), out))
    written = reopened.export()
    assert [w.path.name for w in written] == ["talk.srt", "talk.txt"]
    cues = parse_srt((out / "talk.srt").read_text(encoding="utf-8"))
    # Each change of speaker is marked with the (renamed) speaker's name, then the words.
    assert cues[0].text.startswith("The Interviewee: ")
    assert sum(c.text.startswith("Speaker 2: ") for c in cues) == 1
    text = " ".join(c.text.replace("\n", " ") for c in cues)
    text = text.replace("The Interviewee: ", "").replace("Speaker 2: ", "")
    assert text.split() == [t for t, _, _ in fixed]
    assert {c.start for c in cues} <= {round(s, 3) for _, s, _ in original}
    first_original = parse_srt((doc_path.parent / "talk.srt").read_text(encoding="utf-8"))[0]
    assert cues[0].start == first_original.start and "Zanzibar" in cues[0].text


def test_click_a_word_seeks_there_and_the_position_highlights_the_word(open_window, doc_path, qtbot):
    window = open_window(doc_path)
    seg = window.model.document.segments[0]
    target = seg.words[7]
    rect = window.view.word_rect(0, 7)
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: abs(window.player.seconds() - target.start) < 0.0015, timeout=5000)
    assert window.view.playing is not None and (window.view.playing.segment, window.view.playing.word) == (0, 7)

    for j in (2, 12, 20):
        w = seg.words[j]
        window.player.media.setPosition(int(round((w.start + w.end) / 2 * 1000)))
        qtbot.waitUntil(lambda j=j: window.view.playing is not None and window.view.playing.word == j, timeout=5000)
        span = window.view.playing
        assert window.view.toPlainText()[span.start:span.end] == w.text
        assert any(s.cursor.selectionStart() == span.start for s in window.view.extraSelections())
    # In the pause after a word, the word just spoken stays highlighted.
    gap_after = next(j for j in range(len(seg.words) - 1) if seg.words[j + 1].start - seg.words[j].end > 0.3)
    window.player.media.setPosition(int(round((seg.words[gap_after].end + 0.1) * 1000)))
    qtbot.waitUntil(lambda: window.view.playing.word == gap_after, timeout=5000)


def test_a_video_source_shows_the_picture_and_the_subtitle_an_audio_source_does_not(open_window, doc_path, qtbot):
    audio_window = open_window(doc_path)
    assert audio_window.video.isHidden() and audio_window.caption.isHidden()

    mp4 = audio.make_mp4_with_audio(doc_path.with_name("talk.wav"), doc_path.with_name("clip.mp4"))
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["source"] = str(mp4)
    video_doc = doc_path.with_name("clip.json")
    video_doc.write_text(json.dumps(doc), encoding="utf-8")
    window = open_window(video_doc)
    qtbot.waitUntil(lambda: window.video.isVisible(), timeout=10_000)
    assert window.caption.isVisible()
    first = window.model.document.words[0]
    window.player.media.setPosition(int((first.start + 0.05) * 1000))
    qtbot.waitUntil(lambda: window.caption.text() == window.cues()[0].text, timeout=5000)
    assert first.text in window.caption.text()


def test_find_and_replace(open_window, doc_path):
    window = open_window(doc_path)
    doc = window.model.document
    needle = doc.words[4].text
    count = sum(1 for w in doc.words if w.text == needle)
    window.show_find()
    window.find_bar.find_edit.setText(needle)
    window.find_bar.replace_edit.setText("XX")
    assert window.find_bar.find_next()
    assert window.text_edit.selectedText() == needle
    assert window.find_bar.replace_all() >= count
    assert needle not in [w.text for w in window.model.document.words]
    window.model.undo_stack.undo()
    assert window.model.document == doc


def test_closing_with_unsaved_edits_asks(open_window, doc_path, context, monkeypatch):
    window = open_window(doc_path)
    window.select_segment(0)
    window.text_edit.setText("hello")
    window.apply_text()
    window.autosave_now()
    assert context.autosave.path_for(doc_path).exists()
    answers = iter([editor_dialogs.CANCEL, editor_dialogs.DISCARD])
    monkeypatch.setattr(editor_dialogs, "ask_save_changes", lambda parent, name: next(answers))
    assert not window.close() and window.isVisible()
    assert window.close()
    assert not context.autosave.path_for(doc_path).exists()
    assert load_document(doc_path)[0].text != "hello"  # discarded: the file is as it was


SCRIPT = r"""
import sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from nemo_desk.document.store import Autosave
from nemo_desk.export import OutputLedger
from nemo_desk.gui.editor_launch import open_editor
from nemo_desk.gui.editor_window import EditorContext
from nemo_desk.locks.fileops import FileOps

doc, folder = Path(sys.argv[1]), Path(sys.argv[2])
app = QApplication([])
ops = FileOps()
window = open_editor(doc, EditorContext(ops, OutputLedger(folder / "ledger.db", ops), Autosave(folder, ops)))
def edit():
    window.select_segment(0)
    window.text_edit.setText("crash " + window.text_edit.text())
    window.apply_text()
    print("edited", flush=True)
QTimer.singleShot(100, edit)
app.exec()
"""


def test_a_killed_editor_leaves_its_edits_recoverable(doc_path, context, tmp_path, qtbot, dialogs_rec):
    folder = context.autosave.folder
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(doc_path), str(folder)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "edited"
        deadline = time.monotonic() + 30
        while not context.autosave.path_for(doc_path).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert context.autosave.path_for(doc_path).exists()
    finally:
        proc.kill()  # no save, no close event: what a crash or a power cut leaves
        proc.wait()
    saved = load_document(doc_path)[0]
    assert not saved.text.startswith("crash ")

    dialogs_rec.answer("confirm", True)
    window = open_editor(doc_path, context)
    try:
        # Closed while the player still opens the source, Qt's FFmpeg backend warns that
        # the load was cut short (harmless; seen when the machine is busy).
        qtbot.waitUntil(lambda: window.player.loaded, timeout=20_000)
        assert dialogs_rec.called("confirm") and window.model.document.text.startswith("crash ")
        assert window.isWindowModified()
        window.model.undo_stack.undo()  # back to the file as saved
        assert window.model.document == saved
    finally:
        window.model.mark_saved()
        window.close()


def test_open_refuses_a_bad_command_line(capsys):
    assert launch_editor([], lambda **kw: None) == 2
    assert "usage: nemo-desk open" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["talk.json", "talk.wav"])
def test_nemo_desk_open_shows_the_editor_on_the_json_or_the_media_next_to_it(doc_path, app_home, monkeypatch,
                                                                             which, dialogs_rec, qtbot):
    from nemo_desk.app import build_services
    from nemo_desk.gui.editor_window import EditorWindow

    shown = []

    def fake_exec(*_args):  # instead of the event loop: look, then close like a user would
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, EditorWindow) and w.isVisible()]
        shown.extend(w.model.path for w in windows)
        # Closing while the media still loads interrupts it, and Qt warns about that.
        qtbot.waitUntil(lambda: all(w.player.loaded for w in windows), timeout=20_000)
        for w in windows:
            w.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert launch_editor([str(doc_path.with_name(which))], lambda **kw: build_services(**kw)) == 0
    assert shown == [doc_path]
    QApplication.processEvents()


def test_open_with_quit_after_show_reports_and_closes(doc_path, app_home, dialogs_rec, capsys, qtbot):
    """What the frozen smoke test runs: the editor shows (player included), then closes."""
    from nemo_desk.app import build_services
    from nemo_desk.gui.editor_window import EditorWindow

    assert launch_editor([str(doc_path), "--quit-after-show"], lambda **kw: build_services(**kw)) == 0
    assert "nemo_desk: editor shown: True, player: True" in capsys.readouterr().out
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, EditorWindow) and w.isVisible()]


def test_the_view_knows_where_every_word_is_drawn(qtbot, context, tmp_path):
    from nemo_desk.core.document import Speaker, TranscriptDocument
    from nemo_desk.core.transcript import Segment, Word
    from nemo_desk.gui.editor_window import EditorWindow

    texts = [["Tom", "&", "Jerry's", "<b>"], ["日本語", "です"], ["naïve", "🎉", "café,", "ok"]]
    segments, t = [], 0.0
    for words in texts:
        ws = tuple(Word(w, t + k, t + k + 0.5) for k, w in enumerate(words))
        segments.append(Segment(" ".join(words), ws[0].start, ws[-1].end, ws))
        t += 10
    doc = TranscriptDocument(segments=segments, duration=40.0, speakers=(Speaker("S1", "Ann <host>"),),
                             segment_speakers=(None, "S1", "S1"))
    window = EditorWindow(tmp_path / "x.json", doc, context)
    shown = window.view.toPlainText().encode("utf-16-le")
    assert len(window.view.spans) == sum(map(len, texts))
    for span in window.view.spans:
        word = doc.segments[span.segment].words[span.word].text
        assert shown[2 * span.start:2 * span.end].decode("utf-16-le") == word
    assert "Ann <host>: 日本語" in window.view.toPlainText()
    window.close()


def test_space_plays_in_the_transcript_and_types_in_the_text_field(qtbot, context, tmp_path, monkeypatch):
    from nemo_desk.core.document import TranscriptDocument
    from nemo_desk.gui import editor_player
    from nemo_desk.gui.editor_window import EditorWindow
    from tests.support.export_helpers import random_transcript

    toggles = []
    monkeypatch.setattr(editor_player.Player, "toggle", lambda self: toggles.append(1))
    window = EditorWindow(tmp_path / "x.json", TranscriptDocument.of(random_transcript(2, n_words=40)), context)
    with qtbot.waitActive(window):  # menu shortcuts (Ctrl+Space) work in the active window
        window.show()
        window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Space)
    assert toggles == [1]
    window.text_edit.setFocus()
    before = window.text_edit.text()
    qtbot.keyClick(window.text_edit, Qt.Key.Key_Space)
    assert toggles == [1] and window.text_edit.text() != before  # a space was typed
    qtbot.keyClick(window.text_edit, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert toggles == [1, 1]
    window.model.mark_saved()
    window.close()
