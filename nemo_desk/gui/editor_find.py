"""Find and replace in the editor: next match, replace this one, replace all (undoable)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from nemo_desk.document import edits
from nemo_desk.gui.editor_model import EditorModel


class FindBar(QWidget):
    def __init__(self, model: EditorModel, show_match: Callable[[int, int, int], None],
                 current: Callable[[], tuple[int, int]], parent: QWidget | None = None) -> None:
        """`show_match(segment, offset, length)` selects a match in the window;
        `current()` is (segment, offset) of the cursor, where "next" searches from."""
        super().__init__(parent)
        self.model, self.show_match, self.current = model, show_match, current
        self.find_edit = QLineEdit()
        self.find_edit.setPlaceholderText("Find")
        self.replace_edit = QLineEdit()
        self.replace_edit.setPlaceholderText("Replace with")
        self.case = QCheckBox("Match case")
        self.next_button = QPushButton("Next")
        self.replace_button = QPushButton("Replace")
        self.all_button = QPushButton("Replace all")
        self.result = QLabel("")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.find_edit, self.next_button, self.replace_edit, self.replace_button, self.all_button,
                  self.case, self.result):
            row.addWidget(w)
        self.find_edit.returnPressed.connect(self.find_next)
        self.next_button.clicked.connect(self.find_next)
        self.replace_button.clicked.connect(self.replace_one)
        self.all_button.clicked.connect(self.replace_all)
        self.match: tuple[int, int] | None = None

    def find_next(self) -> bool:
        needle = self.find_edit.text()
        matches = edits.find(self.model.document, needle, self.case.isChecked())
        if not matches:
            self.match = None
            self.result.setText("not found" if needle else "")
            return False
        here = self.current()
        # The first match after the cursor (or after the match shown), wrapping at the end.
        after = [m for m in matches if m > here or (self.match is None and m == here)]
        self.match = (after or matches)[0]
        self.result.setText(f"{matches.index(self.match) + 1} of {len(matches)}")
        self.show_match(self.match[0], self.match[1], len(needle))
        return True

    def replace_one(self) -> None:
        """Replace the match shown, then show the next one."""
        needle = self.find_edit.text()
        if self.match is None or not needle:
            self.find_next()
            return
        segment, offset = self.match
        text = self.model.document.segments[segment].text
        if text[offset:offset + len(needle)].lower() != needle.lower():
            self.find_next()  # the text changed since it was found
            return
        self.model.set_text(segment, text[:offset] + self.replace_edit.text() + text[offset + len(needle):])
        self.match = None
        self.find_next()

    def replace_all(self) -> int:
        count = self.model.replace_all(self.find_edit.text(), self.replace_edit.text(), self.case.isChecked())
        self.match = None
        self.result.setText(f"replaced {count}")
        return count
