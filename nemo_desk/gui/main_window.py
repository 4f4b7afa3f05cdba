"""The main window: drop area, queue, options, log; wires the worker's signals to them.

The window gets its services from launch_gui (no globals). It never touches torch or
NeMo: all engine work is the worker's. Every dialog and OS hand-off goes through
`dialogs` so tests can replace them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QPushButton, QSplitter, QVBoxLayout, QWidget

from nemo_desk.core.states import FailureKind
from nemo_desk.engine.jobs import Job, JobResult
from nemo_desk.gui import dialogs, editor_launch
from nemo_desk.gui.drop_area import DropArea
from nemo_desk.gui.log_pane import LogPane
from nemo_desk.gui.options_panel import OptionsPanel
from nemo_desk.gui.queue_actions import SETTINGS_KEYS, SHORTCUTS, QueueActions
from nemo_desk.gui.queue_controller import QueueController
from nemo_desk.gui.queue_table import RERUNNABLE, QueueModel, QueueView
from nemo_desk.gui.taskbar import TaskbarButton, title_for
from nemo_desk.gui.window_settings import WindowSettings
from nemo_desk.gui.worker import Worker
from nemo_desk.locks.lockerror import LockReport
from nemo_desk.settings import Settings

SHUTDOWN_TIMEOUT_MS = 15_000
TITLE = "nemo_desk — offline transcription"
# Logical pixels. The default fits 1280x720 at 100 % and 1920x1080 at 150 % (1280x720
# logical) with the title bar, frame and taskbar; at the minimum the queue still shows
# File, Status (with its bar) and ETA.
DEFAULT_SIZE = QSize(1200, 600)
MINIMUM_SIZE = QSize(760, 480)
MODEL_STATES = ("loading model", "downloading model", "preparing model")


class MainWindow(QMainWindow):
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
        self.setWindowTitle(TITLE)
        self.setMinimumSize(MINIMUM_SIZE)
        self.resize(DEFAULT_SIZE)
        self.taskbar: TaskbarButton | None = None  # made once the window has a native handle

        self.queue = QueueModel(self)
        self.view = QueueView(self.queue)
        self.drop = DropArea()
        self.options = OptionsPanel(lambda spec: self.services is not None and self.services.store.is_installed(spec))
        self.window_settings = WindowSettings(self)
        self.controller = QueueController(self)
        self.log_pane = LogPane(on_copy=lambda text: dialogs.copy_text(text),
                                on_open_file=self.window_settings.open_log_file)
        self._build_layout()
        self._build_menus()
        self.actions_ = QueueActions(self)
        self.status_label = QLabel("Starting…")
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self._loaded_label = ""  # the model the worker holds, once one is loaded
        self._device = ""  # where it runs, as the worker said
        self._describe()
        self.window_settings.restore_geometry()
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
        for signal in (self.queue.dataChanged, self.queue.rowsInserted, self.queue.rowsRemoved):
            signal.connect(self._update_buttons)
            signal.connect(self._show_progress)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)

        self.options.fill_models(self.window_settings.local_model_paths())
        self.options.load(self.settings)
        self.options.changed.connect(self._idle_status)
        self._idle_status()
        self.window_settings.apply_settings(self.settings)
        self.controller.restore()
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
        self.split = QSplitter(Qt.Orientation.Vertical)

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
        self.split.addWidget(self.top_split)
        self.split.addWidget(self.log_pane)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([430, 130])  # until the user's own layout is restored
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.addWidget(self.split)
        self.setCentralWidget(central)

        self.drop.paths_dropped.connect(self.add_paths)
        self.drop.add_files.connect(self._pick_files)
        self.drop.add_folder.connect(self._pick_folder)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, slot, key in (("Add files…", self._pick_files, QKeySequence.StandardKey.Open),
                                ("Add folder…", self._pick_folder, None),
                                ("Settings…", self.open_settings, QKeySequence(SETTINGS_KEYS)),
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

    # -- the queue (QueueController does the work; these are the window's verbs) ----------
    def add_paths(self, paths: list[str]) -> int:
        return self.controller.add_paths(paths)

    def _make_job(self, source: Path, job_id: str | None = None) -> Job:
        return self.controller.make_job(source, job_id)

    def _pick_files(self) -> None:
        files = dialogs.pick_files(self)
        if files:
            self.add_paths(files)

    def _pick_folder(self) -> None:
        folder = dialogs.pick_folder(self, "Add a folder of audio or video files")
        if folder:
            self.add_paths([folder])

    def start(self) -> int:
        return self.controller.start()

    def cancel_current(self) -> None:
        self.controller.cancel_current()

    def cancel(self, job_id: str) -> None:
        self.controller.cancel(job_id)

    def remove_selected(self) -> None:
        self.controller.remove_selected()

    def forget(self, job_ids: list[str]) -> None:
        self.controller.forget(job_ids)

    def clear_finished(self) -> None:
        self.controller.clear_finished()

    def rerun_selected(self) -> None:
        for job_id in self.view.selected_ids():
            self.rerun(job_id)

    def rerun(self, job_id: str) -> bool:
        return self.controller.rerun(job_id)

    def open_output(self, job_id: str | None, folder: bool = False) -> None:
        self.controller.open_output(job_id, folder)

    def open_settings(self) -> None:
        self.window_settings.open_settings()

    def open_models(self) -> None:
        self.window_settings.open_models()

    def save_settings(self) -> bool:
        return self.window_settings.save_settings()

    def apply_settings(self, settings: Settings) -> None:
        self.window_settings.apply_settings(settings)

    # -- worker signals -----------------------------------------------------------------
    def _on_state(self, job_id: str, state: str, fraction: float, eta: float) -> None:
        self.queue.update_state(job_id, state, fraction, eta)
        row = self.queue.row(job_id)
        if row is None or row.state != state:
            return
        if state in MODEL_STATES:
            if row.job.model.label != self._loaded_label:
                self.status_label.setText(f"{state.capitalize()} {row.job.model.label}…")
        elif state in ("decoding", "transcribing", "writing"):  # the real stage, not "Loading model…"
            device = f" · Device: {self._device}" if self._device else ""
            self.status_label.setText(f"{state.capitalize()} {row.job.source.name} · Model: "
                                      f"{row.job.model.label}{device}")

    def _on_model_status(self, label: str, device: str) -> None:
        self._loaded_label, self._device = label, device
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

    # -- progress in the title and on the taskbar button --------------------------------
    def _show_progress(self, *_args) -> None:
        overall = self.queue.overall()
        self.setWindowTitle(title_for(TITLE, overall))
        if self.taskbar is None and overall is not None:
            self.taskbar = TaskbarButton(int(self.winId()))
        if self.taskbar is not None:
            failed = any(r.state == "failed" for r in self.queue.rows if r.history)
            self.taskbar.set_progress(overall[2] if overall else None, failed)

    # -- accessibility ------------------------------------------------------------------
    def _describe(self) -> None:
        """A name, a description and a tooltip on every control a screen reader reaches."""
        for widget, name, tip in (
                (self.start_button, "Start", SHORTCUTS["start"][1]),
                (self.cancel_button, "Cancel current file", SHORTCUTS["cancel"][1]),
                (self.rerun_button, "Re-run", "Run the selected failed or cancelled files again, "
                                              "with the options and model selected now"),
                (self.remove_button, "Remove", "Remove the selected files from the queue (Delete); "
                                               "the file being transcribed must be cancelled first"),
                (self.clear_button, "Clear finished", "Remove every done, failed or cancelled file from the queue"),
                (self.drop, "Drop area", "Drop audio or video files or folders here to queue them"),
                (self.log_pane, "Log", "What happened: each file's start, end, warnings and errors"),
                (self.log_pane.view, "Log", "What happened: each file's start, end, warnings and errors"),
                (self.log_pane.copy_button, "Copy the log", "Copy the whole log to the clipboard"),
                (self.log_pane.open_button, "Open the log file", "Open the log file (with the technical details)"),
                (self.view, "Queue", self.view.accessibleDescription() + ". Enter opens a transcript or a "
                                     "failed file's message; Delete removes; right-click for more"),
                (self.options, "Transcription options", "Model, languages, device, formats and output folder "
                                                        "for the next files")):
            widget.setAccessibleName(name)
            widget.setAccessibleDescription(tip)
            widget.setToolTip(tip)

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
        self.controller.stop_probes(timeout_ms)
        if self.taskbar is not None:
            self.taskbar.close()
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
