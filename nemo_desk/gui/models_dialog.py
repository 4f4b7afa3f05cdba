"""Manage models: what is installed, download (with progress and cancel), import, delete.

Long work (a 2-4 GB download, unpacking, deleting a model folder that a scanner may
hold) runs on a TaskThread so this dialog keeps painting and Cancel works. One task at a
time; closing the dialog cancels it and waits for the thread (never terminates it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from nemo_desk.engine.catalog import CATALOG, DIARIZERS, ModelSpec
from nemo_desk.engine.model_file import model_file_problem
from nemo_desk.engine.modelref import FOREIGN_MODEL_NOTE
from nemo_desk.gui import a11y, dialogs
from nemo_desk.gui.tasks import TaskFn, TaskThread

STOP_WAIT_MS = 10_000


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str  # "catalog" or "local"
    size_text: str
    installed: bool
    folder: Path | None
    spec: ModelSpec | None = None
    note: str = ""


class ModelsDialog(QDialog):
    # The .nemo file just imported (its path, as a job's ModelRef.path names it): the window
    # selects it in its model list. `imported` keeps the last one for callers after exec().
    model_imported = Signal(str)

    def __init__(self, services, parent: QWidget | None = None,
                 log: Callable[[str, str], None] | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self._log = log
        self.task: TaskThread | None = None
        self.entries: list[ModelEntry] = []
        self.last_error = ""
        self.imported = ""
        self.setWindowTitle("Models")
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Model", "Kind", "Size", "Status"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):  # "~2.5 GB download", "not installed": never elided
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)
        self.description = QLabel()
        self.description.setWordWrap(True)
        layout.addWidget(self.description)
        progress_row = QHBoxLayout()
        self.status = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_task)
        progress_row.addWidget(self.status, 1)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)
        buttons = QHBoxLayout()
        self.download_button = QPushButton("Download")
        self.import_button = QPushButton("Import .nemo file…")
        self.delete_button = QPushButton("Delete")
        close = QPushButton("Close")
        self.download_button.clicked.connect(self.download_selected)
        self.import_button.clicked.connect(self.import_file)
        self.delete_button.clicked.connect(self.delete_selected)
        close.clicked.connect(self.reject)
        for b in (self.download_button, self.import_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.table.itemSelectionChanged.connect(self._update)
        self.refresh()
        self._fit_table()
        self.table.setAccessibleName("Models")
        a11y.name_controls(self)

    # -- listing -------------------------------------------------------------------------
    def refresh(self) -> None:
        store = self.services.store
        installed = {m.folder: m for m in store.installed()}
        entries = []
        for spec in CATALOG + DIARIZERS:  # recognisers, then diarizers (their kind in the details)
            folder = store.folder_for(spec)
            here = installed.get(folder)
            ok = here is not None and here.complete
            size = f"{here.size_bytes / 1e9:.2f} GB" if here is not None and ok else f"~{spec.size_gb:.1f} GB download"
            note = (f"{spec.description} Languages: {', '.join(spec.languages)}." if spec.kind == "recogniser"
                    else f"Diarizer (who speaks): {spec.description} Licence: {spec.licence}.")
            name = spec.name if spec.kind == "recogniser" else f"{spec.name} [speakers]"
            entries.append(ModelEntry(name, "catalog", size, ok, folder if here else None, spec, note))
        for m in installed.values():
            if m.model_id.startswith("local:"):
                source = m.model_id.removeprefix("local:")
                entries.append(ModelEntry(Path(source).name, "local", f"{m.size_bytes / 1e6:.1f} MB",
                                          m.complete, m.folder, None, f"Imported from {source}"))
        self.entries = entries
        self.table.setRowCount(len(entries))
        for r, e in enumerate(entries):
            status = "installed" if e.installed else ("incomplete" if e.folder else "not installed")
            for c, text in enumerate((e.name, e.kind, e.size_text, status)):
                item = QTableWidgetItem(text)
                item.setToolTip(e.note)
                self.table.setItem(r, c, item)
        self._update()

    def _fit_table(self) -> None:
        """Open wide and tall enough that every model and every column shows whole (the
        sizes follow the font, so 150 % scaling grows the dialog instead of cutting it)."""
        table = self.table
        frame = 2 * table.frameWidth()
        width = sum(table.sizeHintForColumn(c) for c in range(table.columnCount())) + frame
        width += table.verticalScrollBar().sizeHint().width()  # room should the list grow
        height = table.horizontalHeader().sizeHint().height() + frame
        height += sum(table.sizeHintForRow(r) for r in range(table.rowCount()))
        table.setMinimumWidth(width)
        table.setMinimumHeight(min(height, 600))
        self.resize(self.sizeHint().expandedTo(self.size()))

    def selected(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def select(self, name: str) -> None:
        for r, e in enumerate(self.entries):
            if e.name == name:
                self.table.selectRow(r)
                return

    def _update(self) -> None:
        e = self.selected()
        busy = self.task is not None
        self.description.setText(e.note if e else "")
        self.download_button.setEnabled(not busy and e is not None and e.spec is not None and not e.installed)
        self.delete_button.setEnabled(not busy and e is not None and e.folder is not None)
        self.import_button.setEnabled(not busy)

    # -- actions ---------------------------------------------------------------------------
    def download_selected(self) -> None:
        e = self.selected()
        if e is None or e.spec is None or self.task is not None:
            return
        spec, store = e.spec, self.services.store
        if not dialogs.confirm_download(self, spec.name, spec.size_gb, store.folder_for(spec)):
            return
        self._run(f"download {spec.name}", lambda obs, cancel: store.ensure_catalog_model(spec, obs, cancel),
                  f"Downloading {spec.name}…", "Download failed")

    def import_file(self) -> None:
        if self.task is not None:
            return
        path = dialogs.pick_model_file(self)
        if not path:
            return
        problem = model_file_problem(path)  # before the warning and the unpacking: a .wav is no model
        if problem:
            self._line("error", f"Import refused: {problem}")
            dialogs.show_error(self, "Not a model file", problem)
            return
        if not dialogs.confirm(self, "Import a model file?", f"{FOREIGN_MODEL_NOTE}\n\n{path}", "Import"):
            return
        store = self.services.store
        self._run(f"import {Path(path).name}", lambda obs, cancel: store.import_local(Path(path), obs, cancel),
                  f"Importing {Path(path).name}…", "Import failed", on_success=lambda: self._imported(path))

    def _imported(self, path: str) -> None:
        self.imported = path
        self.select(Path(path).name)
        self.model_imported.emit(path)

    def delete_selected(self) -> None:
        e = self.selected()
        if e is None or e.folder is None or self.task is not None:
            return
        again = "It is downloaded again when a job needs it." if e.kind == "catalog" else ""
        if not dialogs.confirm(self, "Delete model?", f"Delete {e.name} ({e.size_text}) from {e.folder}? {again}",
                               "Delete"):
            return
        store, folder = self.services.store, e.folder
        self._run(f"delete {e.name}", lambda obs, cancel: store.delete(folder), f"Deleting {e.name}…",
                  "Delete failed")

    def _run(self, name: str, fn: TaskFn, busy_text: str, fail_title: str,
             on_success: Callable[[], None] | None = None) -> None:
        task = TaskThread(name, fn, self.services, parent=self)  # never outlives the dialog
        self.task = task
        self.last_error = ""
        task.progress.connect(self._on_progress)
        task.log_line.connect(self._line)
        task.succeeded.connect(lambda _r: self._finished(f"{name}: done", on_success))
        task.cancelled.connect(lambda: self._finished(f"{name}: cancelled"))
        task.failed.connect(lambda message, _detail: self._failed(fail_title, message))
        self.status.setText(busy_text)
        self.progress.setValue(0)
        self.progress.setRange(0, 0)  # busy until the first real progress
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self._line("info", busy_text)
        self._update()
        task.start()

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling…")

    def _on_progress(self, stage: str, fraction: float, message: str) -> None:
        if fraction < 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        if message:
            self.status.setText(message)

    def _finished(self, text: str, then: Callable[[], None] | None = None) -> None:
        self._end_task()
        self.status.setText(text)
        self._line("info", text)
        if then is not None:  # after the refresh: the new row is there to select
            then()

    def _failed(self, title: str, message: str) -> None:
        self._end_task()
        self.last_error = message
        self.status.setText(f"{title}: {message}")
        self._line("error", f"{title}: {message}")
        dialogs.show_error(self, title, message)

    def _end_task(self) -> None:
        if self.task is not None:
            self.task.wait(STOP_WAIT_MS)  # it has emitted its last signal; this is quick
            self.task.deleteLater()
            self.task = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.refresh()

    def _line(self, level: str, text: str) -> None:
        if self._log is not None:
            self._log(level, text)

    def stop_task(self) -> bool:
        """Cancel a running task and wait for its thread. True when none is left running."""
        task = self.task
        if task is None:
            return True
        task.cancel()
        stopped = task.wait(STOP_WAIT_MS)
        if not stopped:
            self.services.logger.error("model task %s did not stop within %d s", task.name, STOP_WAIT_MS // 1000)
        return stopped

    def done(self, result: int) -> None:  # every way of closing the dialog ends here
        if not self.stop_task():
            return  # keep the dialog (and the thread object) alive rather than crash
        super().done(result)
