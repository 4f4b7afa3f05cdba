"""The editor's own modal questions (the shared ones are in gui/dialogs.py).

Called through the module (`editor_dialogs.ask_save_changes(...)`) for the same reason as
gui/dialogs.py: tests replace these functions, so a stray dialog fails a test instead of
hanging it.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit,
    QMessageBox, QPushButton, QVBoxLayout, QWidget,
)

from nemo_desk.export import FORMATS

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def ask_save_changes(parent: QWidget | None, name: str) -> str:
    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes",
                      f"Save the changes to {name} before closing?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel, parent)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    return {QMessageBox.StandardButton.Save: SAVE, QMessageBox.StandardButton.Discard: DISCARD}.get(
        QMessageBox.StandardButton(answer), CANCEL)


def ask_speaker_name(parent: QWidget | None, current: str) -> str | None:
    text, ok = QInputDialog.getText(parent, "Rename speaker", "Name (used everywhere this speaker talks):",
                                    QLineEdit.EchoMode.Normal, current)
    return (text.strip() or None) if ok else None


def ask_export(parent: QWidget | None, formats: tuple[str, ...], folder: Path) -> tuple[tuple[str, ...], Path] | None:
    """Which formats, into which folder; None when cancelled."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Export")
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel("Formats:"))
    boxes = {}
    row = QHBoxLayout()
    for fmt in FORMATS:
        boxes[fmt] = QCheckBox(fmt.upper())
        boxes[fmt].setChecked(fmt in formats)
        row.addWidget(boxes[fmt])
    layout.addLayout(row)
    folder_edit = QLineEdit(str(folder))
    browse = QPushButton("Browse…")
    browse.clicked.connect(lambda: folder_edit.setText(
        QFileDialog.getExistingDirectory(dialog, "Export to", folder_edit.text()) or folder_edit.text()))
    frow = QHBoxLayout()
    frow.addWidget(folder_edit, 1)
    frow.addWidget(browse)
    layout.addWidget(QLabel("Folder (existing files nemo_desk did not write are kept):"))
    layout.addLayout(frow)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    chosen = tuple(f for f, b in boxes.items() if b.isChecked())
    return (chosen, Path(folder_edit.text())) if chosen else None
