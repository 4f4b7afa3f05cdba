"""The settings dialog (opened only through dialogs.edit_settings)."""
from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from nemo_desk.gui import dialogs
from nemo_desk.settings import Settings


class FolderField(QWidget):
    """A path line edit with a Browse button; empty means 'the default'."""

    def __init__(self, value: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(value)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    def _browse(self) -> None:
        folder = dialogs.pick_folder(self, "Choose a folder", self.edit.text())
        if folder:
            self.edit.setText(folder)

    def value(self) -> str:
        return self.edit.text().strip()


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._base = settings
        layout = QVBoxLayout(self)

        folders = QGroupBox("Folders")
        form = QFormLayout(folders)
        self.models_dir = FolderField(settings.models_dir, "default (app data)")
        self.temp_dir = FolderField(settings.temp_dir, "default (app cache)")
        self.output_dir = FolderField(settings.output_dir, "next to each source file")
        form.addRow("Models:", self.models_dir)
        form.addRow("Temporary files:", self.temp_dir)
        form.addRow("Output:", self.output_dir)
        note = QLabel("Model and temporary folders change at the next start. Keep them out of "
                      "OneDrive/Dropbox folders: sync programs lock the files the app writes.")
        note.setWordWrap(True)
        form.addRow(note)
        layout.addWidget(folders)

        work = QGroupBox("Processing")
        form = QFormLayout(work)
        self.retry_seconds = _double(settings.retry_seconds, 0.5, 600, " s")
        self.retry_seconds.setToolTip("How long to wait for a file another program holds before asking you.")
        self.batch_size = _int(settings.batch_size, 0, 256, special="model default")
        self.chunk_seconds = _double(settings.chunk_seconds, 0, 600, " s", special="model default")
        form.addRow("Wait for a locked file:", self.retry_seconds)
        form.addRow("Batch size:", self.batch_size)
        form.addRow("Chunk length:", self.chunk_seconds)
        self.overlap_seconds = _double(settings.overlap_seconds, 0, 60, " s", special="none")
        self.overlap_seconds.setToolTip("Audio neighbouring chunks share, merged word by word, so no word is "
                                        "lost or doubled where a chunk ends.")
        form.addRow("Overlap at cuts:", self.overlap_seconds)
        layout.addWidget(work)

        subs = QGroupBox("Subtitle lines")
        form = QFormLayout(subs)
        self.max_chars = _int(settings.max_chars_per_line, 10, 200)
        self.max_lines = _int(settings.max_lines, 1, 10)
        self.max_duration = _double(settings.max_cue_duration, 0.5, 60, " s")
        form.addRow("Characters per line:", self.max_chars)
        form.addRow("Lines per subtitle:", self.max_lines)
        form.addRow("Longest subtitle:", self.max_duration)
        layout.addWidget(subs)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def result_settings(self) -> Settings:
        return dataclasses.replace(
            self._base,
            models_dir=self.models_dir.value(), temp_dir=self.temp_dir.value(),
            output_dir=self.output_dir.value(), retry_seconds=self.retry_seconds.value(),
            batch_size=self.batch_size.value(), chunk_seconds=self.chunk_seconds.value(),
            overlap_seconds=self.overlap_seconds.value(),
            max_chars_per_line=self.max_chars.value(), max_lines=self.max_lines.value(),
            max_cue_duration=self.max_duration.value(),
        )


def _int(value: int, low: int, high: int, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)  # shown for the minimum (0 = "use the default")
    return box


def _double(value: float, low: float, high: float, suffix: str, special: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(1)
    box.setSuffix(suffix)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box
