"""The editor's document and its undo history.

Every edit is a pure function of the document (nemo_desk/document/edits.py); the undo
stack keeps the document before and after each one (documents are values, so that costs
two references), which makes undo and redo exact for every kind of edit with one
command class. The stack's clean state is the saved file: "modified" is simply "not
clean", and undoing back to the saved version clears it.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from nemo_desk.core.document import TranscriptDocument
from nemo_desk.document import edits


class _Change(QUndoCommand):
    def __init__(self, model: "EditorModel", before: TranscriptDocument, after: TranscriptDocument,
                 text: str, focus: int) -> None:
        super().__init__(text)
        self.model, self.before, self.after, self.focus = model, before, after, focus

    def redo(self) -> None:
        self.model._set(self.after, self.focus)

    def undo(self) -> None:
        self.model._set(self.before, self.focus)


class EditorModel(QObject):
    # The document changed (edit, undo, redo); the int is the segment to show (-1: none).
    changed = Signal(int)

    def __init__(self, path: Path, document: TranscriptDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.document = document
        self.undo_stack = QUndoStack(self)

    def _set(self, document: TranscriptDocument, focus: int) -> None:
        self.document = document
        self.changed.emit(focus)

    def apply(self, after: TranscriptDocument, text: str, focus: int = -1) -> bool:
        """Make `after` the document, undoably; False (nothing recorded) if it is unchanged."""
        if after == self.document:
            return False
        self.undo_stack.push(_Change(self, self.document, after, text, focus))
        return True

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    # -- the edits the window offers --------------------------------------------------------
    def set_text(self, index: int, text: str) -> bool:
        return self.apply(edits.set_text(self.document, index, text), "Edit text", index)

    def split(self, index: int, char_pos: int) -> bool:
        return self.apply(edits.split_at(self.document, index, char_pos), "Split segment", index + 1)

    def merge_next(self, index: int) -> bool:
        return self.apply(edits.merge_with_next(self.document, index), "Merge segments", index)

    def set_speaker(self, index: int, speaker_id: str | None) -> bool:
        return self.apply(edits.set_speaker(self.document, index, speaker_id), "Change speaker", index)

    def new_speaker_for(self, index: int, name: str = "") -> str:
        """A new speaker, given to segment `index` in one undoable step; returns its id."""
        document, sid = edits.add_speaker(self.document, name)
        self.apply(edits.set_speaker(document, index, sid), "New speaker", index)
        return sid

    def rename_speaker(self, speaker_id: str, name: str) -> bool:
        return self.apply(edits.rename_speaker(self.document, speaker_id, name), "Rename speaker")

    def replace_all(self, needle: str, replacement: str, case: bool) -> int:
        document, count = edits.replace_all(self.document, needle, replacement, case)
        self.apply(document, f"Replace {count}")
        return count
