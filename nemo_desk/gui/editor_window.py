"""The transcript editor: read, play, fix and export one transcript document.

Layout: the video (only for sources with a picture) with the current subtitle under it,
the player controls, the transcript (click a word to play from there; the word being
played is highlighted), and the segment editor (text, speaker, split, merge). Edits go
through `EditorModel` (undo/redo); unsaved edits are autosaved a few seconds after a
change (document/store.py) and offered back if the editor did not close normally.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QLineEdit, QMainWindow, QPushButton, QSplitter, QVBoxLayout, QWidget,
)

from nemo_desk.core.document import TranscriptDocument
from nemo_desk.core.errors import NemoDeskError
from nemo_desk.document.store import Autosave, save_document
from nemo_desk.export import CueRules, OutputLedger, build_cues
from nemo_desk.gui import dialogs, editor_dialogs
from nemo_desk.gui.editor_find import FindBar
from nemo_desk.gui.editor_model import EditorModel
from nemo_desk.gui.editor_player import SKIP_S, Player, PlayerBar, clock
from nemo_desk.gui.editor_view import TranscriptView
from nemo_desk.locks.fileops import FileOps

AUTOSAVE_DELAY_MS = 2000  # at most this much typing is lost in a crash
_NEW_SPEAKER = "__new__"


@dataclass
class EditorContext:
    """What the editor needs from the app (built from the services and settings)."""
    fileops: FileOps
    ledger: OutputLedger
    autosave: Autosave
    rules: CueRules = CueRules()
    formats: tuple[str, ...] = ("srt",)
    log: Callable[[str, str], None] = lambda level, text: None


class EditorWindow(QMainWindow):
    def __init__(self, path: Path, document: TranscriptDocument, context: EditorContext,
                 media: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.model = EditorModel(path, document, self)
        self.current = 0 if document.segments else -1
        self._cues: list | None = None
        self._cue_starts: list[float] = []
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"{path.name}[*] — nemo_desk editor")
        self.resize(1000, 760)

        self.player = Player(self)
        self.player_bar = PlayerBar(self.player)
        self.video = QVideoWidget()
        self.video.setMinimumHeight(240)
        self.player.media.setVideoOutput(self.video)
        self.caption = QLabel("")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.view = TranscriptView()
        self.find_bar = FindBar(self.model, self._show_match, self._cursor)
        self._build_segment_panel()
        self._build_layout()
        self._build_actions()
        self.video.hide()
        self.caption.hide()
        self.find_bar.hide()

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.model.changed.connect(self._on_changed)
        self.model.undo_stack.cleanChanged.connect(lambda clean: self.setWindowModified(not clean))
        self.model.undo_stack.indexChanged.connect(lambda _i: self._schedule_autosave())
        self.player.position.connect(self._on_position)
        self.player.video.connect(self._on_video)
        self.player.failed.connect(lambda text: self.statusBar().showMessage(f"Cannot play the source: {text}"))
        self.view.word_clicked.connect(lambda _s, _w, seconds: self.player.seek(seconds))
        self.view.segment_clicked.connect(self._on_segment_clicked)
        self._on_changed(self.current)
        if media is not None:
            self.player.load(media)
        else:
            self.statusBar().showMessage("The source media was not found: the transcript can be edited, not played")

    # -- layout -----------------------------------------------------------------------------
    def _build_segment_panel(self) -> None:
        self.segment_label = QLabel("")
        self.speaker_box = QComboBox()
        self.rename_button = QPushButton("Rename speaker…")
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Text of the selected segment; Enter applies")
        self.apply_button = QPushButton("Apply")
        self.split_button = QPushButton("Split at cursor")
        self.merge_button = QPushButton("Merge with next")
        self.text_edit.returnPressed.connect(self.apply_text)
        self.apply_button.clicked.connect(self.apply_text)
        self.split_button.clicked.connect(self.split_at_cursor)
        self.merge_button.clicked.connect(self.merge_next)
        self.rename_button.clicked.connect(self.rename_speaker)
        self.speaker_box.activated.connect(self._on_speaker_chosen)

    def _build_layout(self) -> None:
        top = QWidget()
        top_column = QVBoxLayout(top)
        top_column.setContentsMargins(0, 0, 0, 0)
        top_column.addWidget(self.video, 1)
        top_column.addWidget(self.caption)
        top_column.addWidget(self.player_bar)
        panel = QWidget()
        column = QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        for w in (self.segment_label, self.speaker_box, self.rename_button):
            row.addWidget(w)
        row.addStretch(1)
        column.addLayout(row)
        row = QHBoxLayout()
        for widget in (self.text_edit, self.apply_button, self.split_button, self.merge_button):
            row.addWidget(widget, 1 if widget is self.text_edit else 0)
        column.addLayout(row)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.view)
        split.setStretchFactor(1, 3)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.addWidget(split, 1)
        outer.addWidget(self.find_bar)
        outer.addWidget(panel)
        self.setCentralWidget(central)

    def _action(self, menu, text: str, slot, *keys) -> QAction:
        action = QAction(text, self)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Export…", self.export, "Ctrl+E")
        self._action(file_menu, "Close", self.close, QKeySequence.StandardKey.Close)
        edit = self.menuBar().addMenu("&Edit")
        undo = self.model.undo_stack.createUndoAction(self, "Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.model.undo_stack.createRedoAction(self, "Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit.addActions([undo, redo])
        self._action(edit, "Find…", self.show_find, QKeySequence.StandardKey.Find)
        self._action(edit, "Replace…", self.show_find, QKeySequence.StandardKey.Replace, "Ctrl+H")
        self._action(edit, "Split segment at cursor", self.split_at_cursor, "Ctrl+Shift+S")
        self._action(edit, "Merge with next segment", self.merge_next, "Ctrl+Shift+M")
        play = self.menuBar().addMenu("&Play")
        self._action(play, "Play / pause", self.player.toggle, "Ctrl+Space")
        self._action(play, f"Back {SKIP_S:g} s", lambda: self.player.skip(-SKIP_S), "Alt+Left")
        self._action(play, f"Forward {SKIP_S:g} s", lambda: self.player.skip(SKIP_S), "Alt+Right")
        # Space plays/pauses wherever it does not type a space (the text fields keep it).
        self.view.play_pause.connect(self.player.toggle)
        for widget in (self.player_bar, self.video):
            QShortcut(QKeySequence("Space"), widget, self.player.toggle,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # -- document changes ---------------------------------------------------------------------
    def _on_changed(self, focus: int) -> None:
        document = self.model.document
        if focus >= 0:
            self.current = min(focus, len(document.segments) - 1)
        self.current = min(self.current, len(document.segments) - 1)
        self.view.show_document(document)
        self._cues = None  # laid out again when a caption needs them (video sources only)
        self._show_segment()
        self._on_position(self.player.seconds())

    def _show_segment(self) -> None:
        document = self.model.document
        has = self.current >= 0
        for w in (self.text_edit, self.apply_button, self.split_button, self.speaker_box):
            w.setEnabled(has)
        self.merge_button.setEnabled(has and self.current + 1 < len(document.segments))
        self.speaker_box.clear()
        self.speaker_box.addItem("(no speaker)", None)
        for s in document.speakers:
            self.speaker_box.addItem(s.name, s.id)
        self.speaker_box.addItem("New speaker…", _NEW_SPEAKER)
        if not has:
            self.segment_label.setText("No segments")
            self.text_edit.clear()
            self.rename_button.setEnabled(False)
            return
        seg = document.segments[self.current]
        self.segment_label.setText(f"Segment {self.current + 1} of {len(document.segments)}  "
                                   f"{clock(seg.start)}–{clock(seg.end)}")
        self.speaker_box.setCurrentIndex(max(0, self.speaker_box.findData(document.speaker_id(self.current))))
        self.rename_button.setEnabled(document.speaker_id(self.current) is not None)
        self.text_edit.setText(seg.text)
        self.view.set_current(self.current)

    def select_segment(self, index: int, char_pos: int | None = None) -> None:
        self.current = index
        self._show_segment()
        if char_pos is not None:
            self.text_edit.setCursorPosition(char_pos)

    def _on_segment_clicked(self, index: int, char_pos: int) -> None:
        self.select_segment(index, char_pos)

    # -- edits ----------------------------------------------------------------------------------
    def apply_text(self) -> bool:
        if self.current < 0:
            return False
        return self.model.set_text(self.current, self.text_edit.text())

    def split_at_cursor(self) -> bool:
        if self.current < 0:
            return False
        prefix = self.text_edit.text()[: self.text_edit.cursorPosition()]
        self.apply_text()  # typed but not applied yet: keep it, then split the result
        pos = len(" ".join(prefix.split())) + (1 if prefix[-1:].isspace() and prefix.strip() else 0)
        return self.model.split(self.current, pos)

    def merge_next(self) -> bool:
        if self.current < 0:
            return False
        self.apply_text()
        return self.model.merge_next(self.current)

    def _on_speaker_chosen(self, item: int) -> None:
        data = self.speaker_box.itemData(item)
        if data == _NEW_SPEAKER:
            self.model.new_speaker_for(self.current)
        else:
            self.model.set_speaker(self.current, data)

    def rename_speaker(self) -> bool:
        sid = self.model.document.speaker_id(self.current) if self.current >= 0 else None
        if sid is None:
            return False
        name = editor_dialogs.ask_speaker_name(self, self.model.document.speaker_name(self.current))
        if not name:
            return False
        return self.model.rename_speaker(sid, name)

    # -- find ------------------------------------------------------------------------------------
    def show_find(self) -> None:
        self.find_bar.show()
        self.find_bar.find_edit.setFocus()
        self.find_bar.find_edit.selectAll()

    def _cursor(self) -> tuple[int, int]:
        return (max(self.current, 0), self.text_edit.cursorPosition())

    def _show_match(self, segment: int, offset: int, length: int) -> None:
        self.select_segment(segment)
        self.text_edit.setSelection(offset, length)
        self.view.show_found(segment, offset, length)

    # -- playback ----------------------------------------------------------------------------------
    def _on_position(self, seconds: float) -> None:
        self.view.highlight_time(seconds)
        if self.caption.isHidden():
            return
        cues = self.cues()
        i = bisect.bisect_right(self._cue_starts, seconds) - 1
        cue = cues[i] if i >= 0 and seconds < cues[i].end else None
        text = cue.text if cue is not None else ""
        if text != self.caption.text():
            self.caption.setText(text)

    def cues(self) -> list:
        """The subtitle cues of the document as it is now (what an SRT export would show)."""
        if self._cues is None:
            self._cues = build_cues(self.model.document, self.context.rules)
            self._cue_starts = [c.start for c in self._cues]
        return self._cues

    def _on_video(self, has_video: bool) -> None:
        self.video.setVisible(has_video)
        self.caption.setVisible(has_video)
        self._on_position(self.player.seconds())

    # -- saving --------------------------------------------------------------------------------------
    def save(self) -> bool:
        try:
            save_document(self.model.path, self.model.document, self.context.fileops)
        except NemoDeskError as exc:
            dialogs.show_error(self, "Could not save", exc.user_message)
            return False
        self.model.mark_saved()
        self.autosave_timer.stop()
        self._discard_autosave()
        self.statusBar().showMessage(f"Saved {self.model.path.name}", 5000)
        return True

    def _schedule_autosave(self) -> None:
        # Started once per burst of edits, not restarted by each: steady typing is still
        # saved every AUTOSAVE_DELAY_MS.
        if not self.autosave_timer.isActive():
            self.autosave_timer.start(AUTOSAVE_DELAY_MS)

    def autosave_now(self) -> None:
        if not self.model.modified:
            self._discard_autosave()  # undone back to the saved file: nothing to recover
            return
        try:
            self.context.autosave.write(self.model.path, self.model.document)
        except (OSError, NemoDeskError) as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}")

    def _discard_autosave(self) -> None:
        try:
            self.context.autosave.discard(self.model.path)
        except (OSError, NemoDeskError) as exc:
            self.context.log("warning", f"could not remove the autosave of {self.model.path.name}: {exc}")

    def export(self) -> list:
        from nemo_desk.export_cli import export_document

        path = self.model.path
        choice = editor_dialogs.ask_export(self, self.context.formats, path.parent)
        if choice is None:
            return []
        formats, folder = choice
        try:
            written, notes = export_document(path, formats, folder, self.context.fileops, self.context.ledger,
                                             self.context.rules, document=self.model.document)
        except NemoDeskError as exc:
            dialogs.show_error(self, "Could not export", exc.user_message)
            return []
        for note in notes:
            self.context.log("warning", note)
        self.statusBar().showMessage("Exported " + ", ".join(w.path.name for w in written))
        return written

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.model.modified:
            answer = editor_dialogs.ask_save_changes(self, self.model.path.name)
            if answer == editor_dialogs.CANCEL or (answer == editor_dialogs.SAVE and not self.save()):
                event.ignore()
                return
            if answer == editor_dialogs.DISCARD:
                self._discard_autosave()
        self.autosave_timer.stop()
        # The stack is cleared as the window is deleted, which signals "clean" to slots of
        # a window that no longer exists.
        self.model.undo_stack.blockSignals(True)
        self.player.stop()
        event.accept()
