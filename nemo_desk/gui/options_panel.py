"""What the next jobs will use: model, languages, device, vocabulary, formats, output folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QRadioButton, QVBoxLayout, QWidget,
)

from nemo_desk.engine.catalog import CATALOG, ModelSpec, get_spec
from nemo_desk.engine.model_file import model_file_problem
from nemo_desk.engine.modelref import FOREIGN_MODEL_NOTE, ModelRef
from nemo_desk.engine.vocabulary import DEFAULT_STRENGTH, STRENGTHS, parse_phrases
from nemo_desk.export import FORMATS
from nemo_desk.gui import dialogs
from nemo_desk.settings import Settings

DEVICES = (("Auto (GPU if usable)", "auto"), ("CPU", "cpu"), ("GPU (CUDA)", "cuda"))
_PICK = ("pick", "")


_FORMAT_TIPS = {
    "srt": "SubRip subtitles: every video editor and player reads them",
    "vtt": "WebVTT subtitles for the web (speakers as voices)",
    "txt": "Plain text in paragraphs",
    "json": "Everything, with word times: for other tools",
    "ass": "Styled subtitles (Aegisub, mpv, VLC)",
    "ttml": "TTML (IMSC 1) subtitles for broadcast and streaming delivery",
    "docx": "Word document with times and speakers",
    "csv": "Table of segments (start, end, speaker, text) for Excel",
}


@dataclass(frozen=True)
class JobChoice:
    model: ModelRef
    formats: tuple[str, ...]
    output_dir: Path | None
    language: str | None
    target_language: str | None
    speakers: str = "off"  # "off", "auto" or a count (engine/options.py)
    boost: tuple[str, ...] = ()
    boost_strength: str = DEFAULT_STRENGTH


class OptionsPanel(QGroupBox):
    changed = Signal()

    def __init__(self, is_installed: Callable[[ModelSpec], bool], parent: QWidget | None = None) -> None:
        super().__init__("Options", parent)
        self._is_installed = is_installed
        self._previous = 0  # combo index to return to when "Local file…" is cancelled
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(24)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        form.addRow("Model:", self.model_combo)
        form.addRow(self.model_info)

        self.language = QComboBox()
        self.target = QComboBox()
        form.addRow("Spoken language:", self.language)
        form.addRow("Translate to:", self.target)

        self.device = QComboBox()
        for text, value in DEVICES:
            self.device.addItem(text, value)
        form.addRow("Device:", self.device)

        # Who said what: off by default (a diarizer is a separate download, Models dialog).
        self.speakers_box = QCheckBox("Identify speakers")
        self.speakers_box.setToolTip("Label who speaks (Sortformer up to 4 speakers, TitaNet above); "
                                     "download a diarizer in the Models dialog first.")
        self.speaker_count = QComboBox()
        self.speaker_count.addItem("count: automatic", "auto")
        for n in range(1, 9):
            self.speaker_count.addItem(f"{n} speaker{'s' if n > 1 else ''}", str(n))
        speakers_row = QHBoxLayout()
        speakers_row.addWidget(self.speakers_box)
        speakers_row.addWidget(self.speaker_count, 1)
        form.addRow("Speakers:", speakers_row)
        self.speakers_box.toggled.connect(self.speaker_count.setEnabled)
        self.speakers_box.toggled.connect(self.changed)
        self.speaker_count.currentIndexChanged.connect(self.changed)
        self.speaker_count.setEnabled(False)
        self._vocab_row(form)

        # Four a row: in one row the eight of them made the panel crowd out the queue.
        formats = QGridLayout()
        self.format_boxes = {fmt: QCheckBox(fmt.upper()) for fmt in FORMATS}
        for fmt, tip in _FORMAT_TIPS.items():
            if fmt in self.format_boxes:
                self.format_boxes[fmt].setToolTip(tip)
        for i, box in enumerate(self.format_boxes.values()):
            formats.addWidget(box, i // 4, i % 4)
            box.toggled.connect(self.changed)
        form.addRow("Formats:", formats)

        self.next_to_source = QRadioButton("Next to each source file")
        self.in_folder = QRadioButton("In this folder:")
        group = QButtonGroup(self)
        group.addButton(self.next_to_source)
        group.addButton(self.in_folder)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("choose a folder…")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_output)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.output_edit, 1)
        folder_row.addWidget(browse)
        out = QVBoxLayout()
        out.addWidget(self.next_to_source)
        out.addWidget(self.in_folder)
        out.addLayout(folder_row)
        form.addRow("Output:", out)
        self.next_to_source.setChecked(True)
        self.next_to_source.toggled.connect(self._output_mode)
        self.output_edit.textChanged.connect(self.changed)
        layout.addStretch(1)

        self.fill_models([])
        self.model_combo.currentIndexChanged.connect(self._model_chosen)
        self.language.currentIndexChanged.connect(self._fill_targets)
        for combo in (self.language, self.target, self.device):
            combo.currentIndexChanged.connect(self.changed)
        self._output_mode()
        self._update_model_info()
        self._describe(browse)

    def _describe(self, browse: QPushButton) -> None:
        """Screen readers announce each control by its own name (not the group's "Options")."""
        for widget, name, tip in (
                (self.model_combo, "Model", "The speech recognition model; catalog models not installed yet "
                                            "are downloaded when you press Start (you are asked first)"),
                (self.language, "Spoken language", "The language spoken in the files (Canary models)"),
                (self.target, "Translate to", "Translate the transcript into this language (Canary models)"),
                (self.device, "Device", "Where the model runs: the GPU is much faster when there is one"),
                (self.speakers_box, "Identify speakers", self.speakers_box.toolTip()),
                (self.speaker_count, "Number of speakers", "How many people speak, if you know"),
                (self.vocab_edit, "Vocabulary", self.vocab_edit.toolTip()),
                (self.vocab_strength, "Vocabulary strength", "How strongly the phrases are preferred"),
                (self.vocab_pick, "Saved vocabulary lists", self.vocab_pick.toolTip()),
                (self.next_to_source, "Write outputs next to each source file",
                 "Transcripts are written in the folder of each audio or video file"),
                (self.in_folder, "Write outputs in one folder", "Transcripts are all written in the folder below"),
                (self.output_edit, "Output folder", "The folder transcripts are written to"),
                (browse, "Browse for the output folder", "Choose the folder transcripts are written to"),
                (self.model_info, "Model details", "What the selected model does and its size")):
            widget.setAccessibleName(name)
            widget.setAccessibleDescription(tip)
            widget.setToolTip(tip)
        for fmt, box in self.format_boxes.items():
            box.setAccessibleName(f"{fmt.upper()} output")
            box.setAccessibleDescription(box.toolTip() or f"Write a {fmt.upper()} file")
            box.setToolTip(box.toolTip() or f"Write a {fmt.upper()} file")

    # -- models -------------------------------------------------------------------------
    def fill_models(self, local_paths: list[str]) -> None:
        """Catalog models, local files used before, and 'Local file…' to choose one."""
        current = self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for spec in CATALOG:
            state = "installed" if self._is_installed(spec) else f"download {spec.size_gb:.1f} GB"
            self.model_combo.addItem(f"{spec.name} ({state})", ("catalog", spec.id))
        for path in local_paths:
            self.model_combo.addItem(f"Local: {Path(path).name}", ("local", path))
        self.model_combo.addItem("Local file…", _PICK)
        index = self.model_combo.findData(current) if current else 0
        self.model_combo.setCurrentIndex(max(index, 0))
        self._previous = self.model_combo.currentIndex()
        self.model_combo.blockSignals(False)
        self._update_model_info()

    def set_local_model(self, path: str | Path) -> None:
        """Select a .nemo file (adds it to the list); also what tests use."""
        path = str(path)
        index = self.model_combo.findData(("local", path))
        if index < 0:
            index = self.model_combo.count() - 1  # before "Local file…"
            # Silently: inserting before the current "Local file…" item moves the current
            # index, and that signal would open the file picker again (a loop until Cancel).
            self.model_combo.blockSignals(True)
            self.model_combo.insertItem(index, f"Local: {Path(path).name}", ("local", path))
            self.model_combo.blockSignals(False)
        self.model_combo.setCurrentIndex(index)

    def set_catalog_model(self, model_id: str) -> None:
        index = self.model_combo.findData(("catalog", get_spec(model_id).id))
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def current_spec(self) -> ModelSpec | None:
        kind, value = self.model_combo.currentData() or _PICK
        return get_spec(value) if kind == "catalog" else None

    def _model_chosen(self) -> None:
        if self.model_combo.currentData() == _PICK:
            path = dialogs.pick_model_file(self)
            problem = model_file_problem(path) if path else ""
            if problem:  # a .wav chosen as a model: say so now, not as tar jargon when the job runs
                dialogs.show_error(self, "Not a model file", problem)
            if path and not problem and dialogs.confirm(self, "Use a local model file?", FOREIGN_MODEL_NOTE, "Use it"):
                self.set_local_model(path)
            else:
                self.model_combo.setCurrentIndex(self._previous)
            return
        self._previous = self.model_combo.currentIndex()
        self._update_model_info()
        self.changed.emit()

    def _update_model_info(self) -> None:
        spec = self.current_spec()
        kind, value = self.model_combo.currentData() or _PICK
        if spec is not None:
            langs = ", ".join(spec.languages)
            self.model_info.setText(f"{spec.description}\nLanguages: {langs}. Size {spec.size_gb:.1f} GB.")
        elif kind == "local":
            self.model_info.setText(f"{value}\n{FOREIGN_MODEL_NOTE}")
        else:
            self.model_info.setText("")
        aed = spec is not None and spec.family == "aed"
        self.language.blockSignals(True)
        self.language.clear()
        self.language.addItem("(default)", "")
        for code in (spec.languages if spec is not None and aed else ()):
            self.language.addItem(code, code)
        self.language.blockSignals(False)
        # Only Canary (aed) models take a language prompt; Parakeet v3 detects the language.
        self.language.setEnabled(aed)
        self._fill_targets()

    def _fill_targets(self) -> None:
        spec = self.current_spec()
        aed = spec is not None and spec.family == "aed"
        source = self.language.currentData() or "en"
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItem("(no translation)", "")
        if spec is not None and aed:
            for s, t in spec.translation:
                if s == source:
                    self.target.addItem(t, t)
        self.target.blockSignals(False)
        self.target.setEnabled(aed and self.target.count() > 1)

    # -- vocabulary ------------------------------------------------------------------------
    def _vocab_row(self, form: QFormLayout) -> None:
        """Phrases to boost (names, jargon), a strength, and named lists kept in the settings."""
        self.vocab_lists: dict[str, list[str]] = {}
        self.vocab_edit = QLineEdit()
        self.vocab_edit.setPlaceholderText("names and terms to spell right, comma-separated")
        self.vocab_edit.setToolTip("Phrases the model should prefer (NeMo phrase boosting), e.g. "
                                   "Jane Doe, Zoning Board. Matching ignores case.")
        self.vocab_pick = QComboBox()
        self.vocab_pick.setToolTip("Your saved vocabulary lists")
        self.vocab_strength = QComboBox()
        for name in STRENGTHS:
            self.vocab_strength.addItem(name, name)
        save = QPushButton("Save list…")
        save.setAccessibleName("Save vocabulary list")
        save.setToolTip("Keep these phrases as a named list")
        save.setAccessibleDescription(save.toolTip())
        save.clicked.connect(self._save_vocab)
        row = QHBoxLayout()
        for widget, stretch in ((self.vocab_edit, 1), (self.vocab_strength, 0), (self.vocab_pick, 0), (save, 0)):
            row.addWidget(widget, stretch)
        form.addRow("Vocabulary:", row)
        self.vocab_pick.activated.connect(self._vocab_chosen)
        self.vocab_edit.textChanged.connect(self.changed)
        self._fill_vocab_lists()

    def _fill_vocab_lists(self) -> None:
        self.vocab_pick.clear()
        self.vocab_pick.addItem("Saved lists…", "")
        for name in sorted(self.vocab_lists, key=str.casefold):
            self.vocab_pick.addItem(name, name)

    def _vocab_chosen(self, index: int) -> None:
        name = self.vocab_pick.itemData(index)
        if name:
            self.vocab_edit.setText(", ".join(self.vocab_lists[name]))
        self.vocab_pick.setCurrentIndex(0)

    def _save_vocab(self) -> None:
        phrases = parse_phrases(self.vocab_edit.text())
        if not phrases:
            dialogs.show_info(self, "Vocabulary", "Type some names or terms first, separated by commas.")
            return
        name = dialogs.ask_text(self, "Save vocabulary list", "Name of this list (e.g. Council meetings):")
        if name:
            self.vocab_lists[name] = list(phrases)
            self._fill_vocab_lists()

    # -- output ----------------------------------------------------------------------------
    def _browse_output(self) -> None:
        folder = dialogs.pick_folder(self, "Write transcripts to", self.output_edit.text())
        if folder:
            self.output_edit.setText(folder)
            self.in_folder.setChecked(True)

    def _output_mode(self) -> None:
        self.output_edit.setEnabled(self.in_folder.isChecked())
        self.changed.emit()

    # -- in and out --------------------------------------------------------------------
    def choice(self) -> JobChoice:
        kind, value = self.model_combo.currentData() or _PICK
        device = self.device.currentData()
        if kind == "local":
            ref = ModelRef(path=Path(value), device=device)
        else:
            ref = ModelRef(model_id=value or CATALOG[0].id, device=device)
        formats = tuple(f for f, box in self.format_boxes.items() if box.isChecked())
        folder = self.output_edit.text().strip()
        output = Path(folder) if self.in_folder.isChecked() and folder else None
        speakers = self.speaker_count.currentData() if self.speakers_box.isChecked() else "off"
        return JobChoice(ref, formats, output, self.language.currentData() or None,
                         self.target.currentData() or None, speakers, parse_phrases(self.vocab_edit.text()),
                         self.vocab_strength.currentData() or DEFAULT_STRENGTH)

    def load(self, settings: Settings) -> None:
        if settings.local_model_path:
            self.set_local_model(settings.local_model_path)
        else:
            try:
                self.set_catalog_model(settings.model_id)
            except Exception:  # an id from an older catalog: keep the default
                pass
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        for fmt, box in self.format_boxes.items():
            box.setChecked(fmt in settings.formats)
        self.output_edit.setText(settings.output_dir)
        (self.in_folder if settings.output_dir else self.next_to_source).setChecked(True)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.target.setCurrentIndex(max(0, self.target.findData(settings.target_language)))
        self.speakers_box.setChecked(settings.speakers != "off")
        self.speaker_count.setCurrentIndex(max(0, self.speaker_count.findData(settings.speakers)))
        self.vocab_lists = {k: list(v) for k, v in settings.vocabulary_lists.items()}
        self._fill_vocab_lists()
        self.vocab_edit.setText(settings.vocabulary)
        self.vocab_strength.setCurrentIndex(max(0, self.vocab_strength.findData(settings.boost_strength)))

    def store(self, settings: Settings) -> None:
        c = self.choice()
        settings.model_id = c.model.model_id
        settings.local_model_path = str(c.model.path) if c.model.path else ""
        settings.device = c.model.device
        settings.formats = list(c.formats) or settings.formats
        settings.output_dir = str(c.output_dir) if c.output_dir else ""
        settings.language = c.language or ""
        settings.target_language = c.target_language or ""
        settings.speakers = c.speakers
        settings.vocabulary = self.vocab_edit.text().strip()
        settings.boost_strength = c.boost_strength
        settings.vocabulary_lists = {k: list(v) for k, v in self.vocab_lists.items()}
