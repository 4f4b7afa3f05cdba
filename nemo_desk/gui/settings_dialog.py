"""The settings dialog (opened only through dialogs.edit_settings)."""
from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from nemo_desk.export.profiles import CUSTOM, PROFILE_NAMES, PROFILES
from nemo_desk.core import limits
from nemo_desk.gui import a11y, dialogs
from nemo_desk.settings import Settings

_PROFILE_LABELS = {
    "broadcast": "Broadcast (42 x 2 lines, 17 chars/s, 2-frame gaps)",
    "children": "Children (as broadcast, 13 chars/s)",
    "social": "Social / vertical video (one line of 32)",
    CUSTOM: "Custom (the values below)",
}


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
        self.models_dir.setToolTip("Where downloaded and imported models are kept (gigabytes each). "
                                   "Takes effect at the next start.")
        self.temp_dir.setToolTip("Where decoded audio and other working files go while a file is "
                                 "transcribed; emptied as it goes. Takes effect at the next start.")
        self.output_dir.setToolTip("Where transcripts go unless the window's options say otherwise; "
                                   "empty: next to each source file.")
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
        self.retry_seconds = _double(settings.retry_seconds, *_span(limits.RETRY_SECONDS), " s")
        self.retry_seconds.setToolTip("How long to wait for a file another program holds before asking you.")
        self.batch_size = _int(settings.batch_size, *_span(limits.BATCH_SIZE, True), special="model default")
        self.chunk_seconds = _double(settings.chunk_seconds, *_span(limits.CHUNK_SECONDS, True), " s",
                                     special="model default")
        self.batch_size.setToolTip("Chunks transcribed together: larger is faster on a GPU with memory "
                                   "to spare; the app halves it by itself when memory runs out.")
        self.chunk_seconds.setToolTip("The longest piece of audio given to the model at once; cuts are "
                                      "placed in pauses.")
        form.addRow("Wait for a locked file:", self.retry_seconds)
        form.addRow("Batch size:", self.batch_size)
        form.addRow("Chunk length:", self.chunk_seconds)
        self.overlap_seconds = _double(settings.overlap_seconds, *_span(limits.OVERLAP_SECONDS), " s", special="none")
        self.overlap_seconds.setToolTip("Audio neighbouring chunks share, merged word by word, so no word is "
                                        "lost or doubled where a chunk ends.")
        form.addRow("Overlap at cuts:", self.overlap_seconds)
        self.speech_detection = QCheckBox("Detect speech (cuts in pauses, long silence and music skipped)")
        self.speech_detection.setChecked(settings.speech_detection)
        self.speech_detection.setToolTip("Silero VAD finds where people speak: the model hears speech, not minutes "
                                         "of silence or music, where it may invent words. Turn off to send all audio.")
        form.addRow(self.speech_detection)
        self.cuda_graphs = QCheckBox("Use CUDA graphs on the GPU (faster decoding)")
        self.cuda_graphs.setChecked(settings.cuda_graphs)
        self.cuda_graphs.setToolTip("Turn off only if transcription on the GPU fails or stalls; the app "
                                    "already retries without them when decoding fails.")
        form.addRow(self.cuda_graphs)
        layout.addWidget(work)

        layout.addWidget(self._subtitle_group(settings))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)
        a11y.name_controls(self)  # "Output folder: Browse", not "Browse…" (#19)

    def _subtitle_group(self, settings: Settings) -> QGroupBox:
        subs = QGroupBox("Subtitles")
        form = QFormLayout(subs)
        self.profile = QComboBox()
        for name in PROFILE_NAMES:
            self.profile.addItem(_PROFILE_LABELS.get(name, name), name)
        self.profile.setCurrentIndex(max(0, self.profile.findData(settings.subtitle_profile)))
        self.profile.setToolTip("Subtitle rules: broadcast (42 characters x 2 lines, 17 chars/s), "
                                "children (slower reading), social (one short line), or your own values below.")
        form.addRow("Profile:", self.profile)
        # The custom profile's values; the named profiles' are fixed (shown, not editable).
        self.max_chars = _int(settings.max_chars_per_line, *_span(limits.MAX_CHARS_PER_LINE))
        self.max_lines = _int(settings.max_lines, *_span(limits.MAX_LINES))
        self.max_cps = _double(settings.custom_max_cps, *_span(limits.MAX_CPS), " chars/s")
        self.min_duration = _double(settings.custom_min_duration, *_span(limits.MIN_CUE_DURATION), " s", decimals=3)
        self.max_duration = _double(settings.max_cue_duration, *_span(limits.MAX_CUE_DURATION), " s")
        self.min_gap_frames = _int(settings.custom_min_gap_frames, *_span(limits.MIN_GAP_FRAMES))
        self.min_gap_frames.setSuffix(" frames")
        self.min_gap_frames.setToolTip("At the video's frame rate (25 for audio files).")
        self._custom: tuple[Any, ...] = (self.max_chars, self.max_lines, self.max_cps, self.min_duration, self.max_duration,
                        self.min_gap_frames)
        for control, tip in (
            (self.max_chars, "The longest line of a subtitle, in characters."),
            (self.max_lines, "Lines shown at once in one subtitle."),
            (self.max_cps, "Characters per second a viewer must read, at most: longer text stays up longer "
                           "or is split."),
            (self.min_duration, "No subtitle is shown for less time than this."),
            (self.max_duration, "A subtitle longer than this is split."),
        ):
            control.setToolTip(tip)
        form.addRow("Characters per line:", self.max_chars)
        form.addRow("Lines per subtitle:", self.max_lines)
        form.addRow("Reading speed at most:", self.max_cps)
        form.addRow("Shortest subtitle:", self.min_duration)
        form.addRow("Longest subtitle:", self.max_duration)
        form.addRow("Gap between subtitles:", self.min_gap_frames)
        self.txt_timestamps = QCheckBox("Time stamp before each TXT paragraph")
        self.txt_timestamps.setChecked(settings.txt_timestamps)
        self.txt_timestamps.setToolTip("Start each paragraph of the .txt transcript with its time, e.g. [00:01:23].")
        form.addRow(self.txt_timestamps)
        b = settings
        self._saved: tuple[float, ...] = (b.max_chars_per_line, b.max_lines, b.custom_max_cps, b.custom_min_duration,
                       b.max_cue_duration, b.custom_min_gap_frames)
        self._shown: str | None = None
        self.profile.currentIndexChanged.connect(self._show_profile)
        self._show_profile()
        return subs

    def _show_profile(self) -> None:
        """Custom: its values, editable; a named profile: its fixed values, greyed out.
        Custom values edited and then left for a named profile are kept."""
        name = self.profile.currentData()
        if self._shown == CUSTOM:
            self._saved = tuple(box.value() for box in self._custom)
        if name == CUSTOM:
            values = self._saved
        else:
            r = PROFILES[name]
            values = (r.max_chars_per_line, r.max_lines, r.max_cps, r.min_duration, r.max_duration, r.min_gap_frames)
        for box, value in zip(self._custom, values):
            box.setValue(value)
            box.setEnabled(name == CUSTOM)
        self._shown = name

    def _custom_values(self) -> dict:
        values = (tuple(box.value() for box in self._custom) if self.profile.currentData() == CUSTOM
                  else self._saved)
        names = ("max_chars_per_line", "max_lines", "custom_max_cps", "custom_min_duration", "max_cue_duration",
                 "custom_min_gap_frames")
        return dict(zip(names, values))

    def result_settings(self) -> Settings:
        return dataclasses.replace(
            self._base,
            models_dir=self.models_dir.value(), temp_dir=self.temp_dir.value(),
            output_dir=self.output_dir.value(), retry_seconds=self.retry_seconds.value(),
            batch_size=self.batch_size.value(),
            chunk_seconds=_at_least_low(self.chunk_seconds.value(), limits.CHUNK_SECONDS),
            overlap_seconds=self.overlap_seconds.value(), speech_detection=self.speech_detection.isChecked(),
            subtitle_profile=self.profile.currentData(), txt_timestamps=self.txt_timestamps.isChecked(),
            cuda_graphs=self.cuda_graphs.isChecked(), **self._custom_values(),
        )


# The ranges come from core/limits.py, shared with the CLI and the settings loader; a
# "model default" box also offers 0 (shown as the special text) below the range.
def _span(limit: limits.Limit, zero_is_default: bool = False) -> tuple[float, float]:
    """A spin box's range from the shared limits; 0 ("model default") below it when offered."""
    return (0 if zero_is_default else limit.low), limit.high


def _int(value: int, low: float, high: float, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(int(low), int(high))
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)  # shown for the minimum (0 = "use the default")
    return box


def _double(value: float, low: float, high: float, suffix: str, special: str = "",
            decimals: int = 1) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


def _at_least_low(value: float, limit: limits.Limit) -> float:
    """A box that offers 0 for "model default" also lets one type 0.5 s, below the range."""
    return limit.low if 0 < value < limit.low else value
