"""The main window: drop area, queue, options, log; wires the worker's signals to them.

The window gets its services from launch_gui (no globals). It never touches torch or
NeMo: all engine work is the worker's. Every dialog and OS hand-off goes through
`dialogs` so tests can replace them.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QMainWindow, QMenu, QPushButton, QSplitter, QVBoxLayout, QWidget,
)

from nemo_desk.core.longpaths import long_path
from nemo_desk.core.states import FailureKind
from nemo_desk.engine.jobs import Job, JobResult
from nemo_desk.gui import dialogs, editor_launch
from nemo_desk.gui.drop_area import DropArea
from nemo_desk.gui.log_pane import LogPane
from nemo_desk.gui.options_panel import OptionsPanel
from nemo_desk.gui.queue_table import RERUNNABLE, QueueModel, QueueView, source_key
from nemo_desk.gui.window_settings import WindowSettingsMixin
from nemo_desk.gui.worker import Worker
from nemo_desk.locks.lockerror import LockReport
from nemo_desk.media import MEDIA_EXTENSIONS, find_media_files, is_media_file
from nemo_desk.settings import Settings

SHUTDOWN_TIMEOUT_MS = 15_000


class MainWindow(WindowSettingsMixin, QMainWindow):
    def __init__(self, services, settings: Settings, parent: QWidget | None = None) -> None:
        """`services` may be None: launch_gui shows the window first and attaches the
        services right after its first paint (see attach)."""
        super().__init__(parent)
        self.services: Any = None  # Services once attached (app.py is not imported before the first paint)
        self.worker: Worker | None = None
        self.settings = settings
        self._shut_down = False
        self._lock_reports: list[tuple[str, LockReport]] = []
        self._lock_dialog_open = False
        self._model_errors_shown: set[str] = set()
        self.transcripts: dict = {}  # job id -> Transcript of a finished row, for the editor
        self.setWindowTitle("nemo_desk — offline transcription")
        self.resize(1180, 780)

        self.queue = QueueModel(self)
        self.view = QueueView(self.queue)
        self.drop = DropArea()
        self.options = OptionsPanel(lambda spec: self.services is not None and self.services.store.is_installed(spec))
        self.log_pane = LogPane(on_copy=lambda text: dialogs.copy_text(text), on_open_file=self.open_log_file)
        self._build_layout()
        self._build_menus()
        self.status_label = QLabel("Starting…")
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self._loaded_label = ""  # the model the worker holds, once one is loaded
        self.restore_geometry()
        # Nothing to act on until the services are attached (a few tenths of a second).
        for widget in (self.menuBar(), self.drop, self.options, self.start_button, self.cancel_button,
                       self.rerun_button, self.remove_button, self.clear_button):
            widget.setEnabled(False)
        if services is not None:
            self.attach(services)

    def attach(self, services) -> None:
        """Wire the services: worker, job queue (restores unfinished jobs), installed models."""
        self.services = services
        services.queue.warn = lambda text: self.log("warning", text)
        for note in services.queue.notes:  # already in the log file
            self.log_pane.add("warning", note)
        for widget in (self.menuBar(), self.drop, self.options):
            widget.setEnabled(True)

        # Not parented to the window: its lifetime ends in shutdown(), after it stopped.
        self.worker = Worker(services)
        w = self.worker
        w.job_state.connect(self._on_state)
        w.job_duration.connect(self.queue.set_duration)
        w.log_line.connect(self.log_pane.add)
        w.retry.connect(lambda text: self.log_pane.add("retry", text))
        w.job_done.connect(self.queue.set_result)
        w.job_done.connect(lambda job_id, result: self.transcripts.__setitem__(job_id, result.transcript))
        w.job_failed.connect(self._on_failed)
        w.job_cancelled.connect(self.queue.set_result)
        w.lock_error.connect(self._on_lock_error)
        w.model_status.connect(self._on_model_status)
        w.idle.connect(self._update_buttons)
        self.queue.dataChanged.connect(self._update_buttons)
        self.queue.rowsInserted.connect(self._update_buttons)
        self.queue.rowsRemoved.connect(self._update_buttons)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)

        self.options.fill_models(self.local_model_paths())
        self.options.load(self.settings)
        self.options.changed.connect(self._idle_status)
        self._idle_status()
        self.apply_settings(self.settings)
        self._restore_queue()
        self._update_buttons()
        w.start()  # idle until the first job: blocks on its queue, imports nothing

    # -- layout -------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel current")
        self.remove_button = QPushButton("Remove")
        self.clear_button = QPushButton("Clear finished")
        self.rerun_button = QPushButton("Re-run")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_current)
        self.remove_button.clicked.connect(self.remove_selected)
        self.clear_button.clicked.connect(self.clear_finished)
        self.rerun_button.clicked.connect(self.rerun_selected)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.rerun_button, self.remove_button, self.clear_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.drop)
        column.addWidget(self.view, 1)
        column.addLayout(buttons)
        self.top_split = QSplitter(Qt.Orientation.Horizontal)
        self.top_split.addWidget(left)
        self.top_split.addWidget(self.options)
        self.top_split.setStretchFactor(0, 3)
        self.top_split.setStretchFactor(1, 1)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.top_split)
        self.split.addWidget(self.log_pane)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([520, 240])  # until the user's own layout is restored
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.addWidget(self.split)
        self.setCentralWidget(central)

        self.drop.paths_dropped.connect(self.add_paths)
        self.drop.add_files.connect(self._pick_files)
        self.drop.add_folder.connect(self._pick_folder)
        self.view.doubleClicked.connect(lambda index: editor_launch.open_for_job(self, self.view.id_at(index)))
        self.view.customContextMenuRequested.connect(self._context_menu)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, slot, key in (("Add files…", self._pick_files, QKeySequence.StandardKey.Open),
                                ("Add folder…", self._pick_folder, None),
                                ("Settings…", self.open_settings, QKeySequence.StandardKey.Preferences),
                                ("Quit", self.close, QKeySequence.StandardKey.Quit)):
            action = QAction(text, self)
            if key is not None:
                action.setShortcut(key)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        models = self.menuBar().addMenu("&Models")
        manage = QAction("Manage models…", self)
        manage.triggered.connect(self.open_models)
        models.addAction(manage)

    # -- adding files -------------------------------------------------------------------
    def add_paths(self, paths: list[str]) -> int:
        """Queue dropped/picked files and folders (searched for media). Returns rows added."""
        added = 0
        for raw in paths:
            path = Path(raw)
            if os.path.isdir(long_path(path)):
                found = find_media_files(path)
                if not found:
                    self.log("warning", f"No audio or video files in folder {path}")
                added += sum(self._add_file(Path(f)) for f in found)
            elif not os.path.exists(long_path(path)):
                self.log("warning", f"Skipped {path}: file not found")
            elif not is_media_file(path):
                self.log("warning", f"Skipped {path.name}: not an audio or video file "
                                    f"(known types: {', '.join(MEDIA_EXTENSIONS)})")
            else:
                added += self._add_file(path)
        if added and self.worker is not None and self.worker.pending:  # the queue is running: join it
            self.start()
        return added

    def _add_file(self, path: Path) -> bool:
        if not self.queue.add(self._make_job(path)):
            self.log("info", f"{path.name} is already in the queue")
            return False
        return True

    def _make_job(self, source: Path, job_id: str | None = None) -> Job:
        c = self.options.choice()
        s = self.settings
        options = s.job_options(language=c.language, target_language=c.target_language, speakers=c.speakers,
                                boost=c.boost, boost_strength=c.boost_strength)
        model = replace(c.model, cuda_graphs=s.cuda_graphs)
        job = Job(source=source, model=model, formats=c.formats or ("srt",), output_dir=c.output_dir,
                  options=options)
        return replace(job, id=job_id) if job_id else job

    def _pick_files(self) -> None:
        files = dialogs.pick_files(self)
        if files:
            self.add_paths(files)

    def _pick_folder(self) -> None:
        folder = dialogs.pick_folder(self, "Add a folder of audio or video files")
        if folder:
            self.add_paths([folder])

    # -- queue actions ------------------------------------------------------------------
    def start(self) -> int:
        """Hand every waiting row to the worker, with the options as they are now."""
        if not any(b.isChecked() for b in self.options.format_boxes.values()):
            dialogs.show_error(self, "No output format", "Choose at least one output format (SRT, TXT, VTT or JSON).")
            return 0
        started = 0
        for row in self.queue.rows:
            if row.state == "queued" and not row.submitted:
                if not row.fixed:  # restored rows keep their job: same options, so they resume
                    self.queue.set_job(row.job.id, self._make_job(row.job.source, row.job.id))
                self._submit(row.job.id)
                started += 1
        return started

    def _submit(self, job_id: str) -> None:
        row = self.queue.row(job_id)
        if row is not None and self.worker is not None:
            row.submitted = True
            (job,) = self.services.queue.add([row.job])  # the queue may make its path absolute
            if job != row.job:
                self.queue.set_job(job_id, job)
            self.worker.submit(job)

    def cancel_current(self) -> None:
        if self.worker is not None and self.worker.cancel_current() is not None:
            self.log("info", "Cancelling the current file (it stops after the current batch)")

    def cancel(self, job_id: str) -> None:
        row = self.queue.row(job_id)
        if row is not None and row.submitted and self.worker is not None:
            self.worker.cancel(job_id)

    def remove_selected(self) -> None:
        ids = self.view.selected_ids()
        self.forget(ids)

    def forget(self, job_ids: list[str]) -> None:
        """Remove rows: cancel their jobs (a removed row must not run on unseen) and
        drop them from the job queue."""
        for job_id in job_ids:
            self.cancel(job_id)
        self.queue.remove(job_ids)
        self.services.queue.forget(job_ids)

    def clear_finished(self) -> None:
        self.forget(self.queue.finished_ids())

    def _restore_queue(self) -> None:
        found = self.services.queue.restore()
        for note in found.notes:
            self.log("warning", note)
        restored = 0
        for job in found.jobs:
            if self.queue.add(job, fixed=True):
                restored += 1
            else:  # a file already in this window's queue: keep that one
                self.services.queue.forget([job.id])
        if restored:
            self.log("info", f"Restored {restored} file(s) not finished last time; press Start to continue")

    def rerun_selected(self) -> None:
        for job_id in self.view.selected_ids():
            self.rerun(job_id)

    def rerun(self, job_id: str) -> bool:
        """Run a failed or cancelled row again, with the job as it was."""
        row = self.queue.row(job_id)
        if row is None or row.state not in RERUNNABLE:
            return False
        key = source_key(row.job.source)
        if any(r is not row and r.key == key and r.pending for r in self.queue.rows):
            self.log("info", f"{row.job.source.name} is already in the queue")
            return False
        self.queue.reset_for_rerun(job_id)
        self._submit(job_id)
        return True

    def open_output(self, job_id: str | None, folder: bool = False) -> None:
        row = self.queue.row(job_id) if job_id else None
        if row is None:
            return
        if row.outputs:
            target = row.outputs[0].parent if folder else row.outputs[0]
        elif folder:
            target = row.job.output_dir or row.job.source.parent
        else:
            return
        if not dialogs.open_path(target):
            self.log("warning", f"Could not open {target}")

    def _context_menu(self, pos) -> None:
        job_id = self.view.id_at(self.view.indexAt(pos))
        row = self.queue.row(job_id) if job_id else None
        if row is None or job_id is None:
            return
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per right-click: do not pile up
        menu.addAction("Open transcript", lambda: editor_launch.open_for_job(self, job_id)).setEnabled(bool(row.outputs))
        menu.addAction("Open output file", lambda: self.open_output(job_id)).setEnabled(bool(row.outputs))
        menu.addAction("Open output folder", lambda: self.open_output(job_id, folder=True))
        menu.addAction("Re-run", lambda: self.rerun(job_id)).setEnabled(row.state in RERUNNABLE)
        menu.addAction("Cancel", lambda: self.cancel(job_id)).setEnabled(row.submitted)
        menu.addAction("Remove", lambda: self.forget([job_id]))
        menu.popup(self.view.viewport().mapToGlobal(pos))

    # -- worker signals -----------------------------------------------------------------
    def _on_state(self, job_id: str, state: str, fraction: float, eta: float) -> None:
        self.queue.update_state(job_id, state, fraction, eta)
        row = self.queue.row(job_id)
        model_work = state in ("loading model", "downloading model", "preparing model")
        if model_work and row is not None and row.job.model.label != self._loaded_label:
            self.status_label.setText(f"{state.capitalize()} {row.job.model.label}…")

    def _on_model_status(self, label: str, device: str) -> None:
        self._loaded_label = label
        self.status_label.setText(f"Model: {label} · Device: {device}")

    def _idle_status(self) -> None:
        """Before the first job: what will be used (torch is not even imported yet)."""
        if not self._loaded_label:
            c = self.options.choice()
            device = self.options.device.currentText()
            self.status_label.setText(f"Model: {c.model.label} (loads with the first file) · Device: {device}")

    def _on_failed(self, job_id: str, result: JobResult) -> None:
        self.queue.set_result(job_id, result)
        failure = result.failure
        # A model that cannot load fails every job that wants it (a broken torch or NeMo
        # install fails every job): say so once, loudly.
        if failure is not None and failure.kind in (FailureKind.MODEL, FailureKind.DEVICE, FailureKind.ENVIRONMENT):
            self.status_label.setText(f"Model: {result.job.model.label} could not be used (see the log)")
            key = f"{result.job.model.label}|{failure.message}"
            if key not in self._model_errors_shown:
                self._model_errors_shown.add(key)
                dialogs.show_error(self, "The model could not be loaded", failure.message, failure.detail)

    def _on_lock_error(self, job_id: str, report: LockReport) -> None:
        # One dialog at a time; the others wait their turn rather than stacking up.
        self._lock_reports.append((job_id, report))
        if self._lock_dialog_open:
            return
        self._lock_dialog_open = True
        try:
            while self._lock_reports:
                jid, rep = self._lock_reports.pop(0)
                if dialogs.show_lock_error(self, rep) == dialogs.RETRY:
                    self.log("info", f"Retrying after the locked file {rep.path}")
                    self.rerun(jid)
        finally:
            self._lock_dialog_open = False

    def _update_buttons(self, *_args) -> None:
        if self.worker is None:
            return
        rows = self.queue.rows
        selected = [self.queue.row(i) for i in self.view.selected_ids()]
        self.start_button.setEnabled(any(r.state == "queued" and not r.submitted for r in rows))
        self.cancel_button.setEnabled(self.worker.current_job is not None or any(r.submitted for r in rows))
        self.remove_button.setEnabled(bool(selected))
        self.rerun_button.setEnabled(any(r is not None and r.state in RERUNNABLE for r in selected))
        self.clear_button.setEnabled(bool(self.queue.finished_ids()))

    # -- log ----------------------------------------------------------------------------
    def log(self, level: str, text: str) -> None:
        """A line from the window itself: to the pane and the log file."""
        if self.services is not None:
            self.services.logger.log({"error": 40, "warning": 30, "retry": 30}.get(level, 20), "%s", text)
        self.log_pane.add(level, text)

    # -- closing ------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        pending = self.worker.pending if self.worker is not None else 0
        # Editors first: one with unsaved edits may say Cancel (each asks for itself).
        if not editor_launch.close_editors(self) or (
                not self._shut_down and pending and not dialogs.confirm_quit(self, pending)):
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> bool:
        """Save settings, cancel, stop the worker and wait for it. True when it stopped."""
        if self.worker is None:  # closed before the services were attached: nothing runs
            self._shut_down = True
            return True
        if self._shut_down:
            return self.worker.isFinished() or not self.worker.isRunning()
        self._shut_down = True
        self.save_settings()
        if self.worker.pending:
            self.log("info", "Closing: cancelling the current file")
        self.worker.stop()
        # The running job is recorded as interrupted by the queue; waiting ones stay queued,
        # and are given up so that the next start (or `--resume`) adopts them.
        stopped = self.worker.wait(timeout_ms)
        if stopped:
            self.services.queue.release()
        if not stopped:
            self.log("error", f"The worker did not stop within {timeout_ms // 1000} s (a model load or a "
                              "locked file can take longer); it will be left to finish")
        return stopped
