"""The settings dialog (opened only through dialogs.edit_settings)."""
from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from nemo_desk.core import limits
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
        self.retry_seconds = _double(settings.retry_seconds, limits.RETRY_SECONDS, " s")
        self.retry_seconds.setToolTip("How long to wait for a file another program holds before asking you.")
        self.batch_size = _int(settings.batch_size, limits.BATCH_SIZE, special="model default")
        self.chunk_seconds = _double(settings.chunk_seconds, limits.CHUNK_SECONDS, " s", special="model default")
        form.addRow("Wait for a locked file:", self.retry_seconds)
        form.addRow("Batch size:", self.batch_size)
        form.addRow("Chunk length:", self.chunk_seconds)
        layout.addWidget(work)

        subs = QGroupBox("Subtitle lines")
        form = QFormLayout(subs)
        self.max_chars = _int(settings.max_chars_per_line, limits.MAX_CHARS_PER_LINE)
        self.max_lines = _int(settings.max_lines, limits.MAX_LINES)
        self.max_duration = _double(settings.max_cue_duration, limits.MAX_CUE_DURATION, " s")
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
            batch_size=self.batch_size.value(),
            chunk_seconds=_at_least_low(self.chunk_seconds.value(), limits.CHUNK_SECONDS),
            max_chars_per_line=self.max_chars.value(), max_lines=self.max_lines.value(),
            max_cue_duration=self.max_duration.value(),
        )


# The ranges come from core/limits.py, shared with the CLI and the settings loader; a
# "model default" box also offers 0 (shown as the special text) below the range.
def _int(value: int, limit: limits.Limit, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(0 if special else int(limit.low), int(limit.high))
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)  # shown for the minimum (0 = "use the default")
    return box


def _double(value: float, limit: limits.Limit, suffix: str, special: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0 if special else limit.low, limit.high)
    box.setDecimals(1)
    box.setSuffix(suffix)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


def _at_least_low(value: float, limit: limits.Limit) -> float:
    """A box that offers 0 for "model default" also lets one type 0.5 s, below the range."""
    return limit.low if 0 < value < limit.low else value
