"""The main window: drop area, queue, options, log; wires the worker's signals to them.

The window gets its services from launch_gui (no globals). It never touches torch or
NeMo: all engine work is the worker's. Every dialog and OS hand-off goes through
`dialogs` so tests can replace them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QPushButton, QSplitter, QWidget

from nemo_desk.core.states import JobState
from nemo_desk.engine.jobs import Job
from nemo_desk.gui import dialogs, editor_launch, window_layout
from nemo_desk.gui.drop_area import DropArea
from nemo_desk.gui.log_pane import LogPane
from nemo_desk.gui.options_panel import OptionsPanel
from nemo_desk.gui.queue_actions import QueueActions
from nemo_desk.gui.queue_controller import QueueController
from nemo_desk.gui.queue_table import RERUNNABLE, QueueModel, QueueView
from nemo_desk.gui.window_settings import WindowSettings
from nemo_desk.gui.window_status import WindowStatus
from nemo_desk.gui.worker import Worker
from nemo_desk.settings import Settings

SHUTDOWN_TIMEOUT_MS = 15_000
TITLE = "nemo_desk — offline transcription"
# Logical pixels. The default fits 1280x720 at 100 % and 1920x1080 at 150 % (1280x720
# logical) with the title bar, frame and taskbar; at the minimum the queue still shows
# File, Status (with its bar) and ETA.
DEFAULT_SIZE = QSize(1200, 600)
MINIMUM_SIZE = QSize(760, 480)


class MainWindow(QMainWindow):
    # Made by window_layout.build_layout (named here for readers and the type checker).
    start_button: QPushButton
    cancel_button: QPushButton
    rerun_button: QPushButton
    remove_button: QPushButton
    clear_button: QPushButton
    split: QSplitter
    top_split: QSplitter

    def __init__(self, services, settings: Settings, parent: QWidget | None = None) -> None:
        """`services` may be None: launch_gui shows the window first and attaches the
        services right after its first paint (see attach)."""
        super().__init__(parent)
        self.services: Any = None  # Services once attached (app.py is not imported before the first paint)
        self.worker: Worker | None = None
        self.settings = settings
        self._shut_down = False
        self.transcripts: dict = {}  # job id -> Transcript of a finished row, for the editor
        self.setWindowTitle(TITLE)
        self.setMinimumSize(MINIMUM_SIZE)
        self.resize(DEFAULT_SIZE)

        self.queue = QueueModel(self)
        self.view = QueueView(self.queue)
        self.drop = DropArea()
        self.options = OptionsPanel(lambda spec: self.services is not None and self.services.store.is_installed(spec))
        self.window_settings = WindowSettings(self)
        self.controller = QueueController(self)
        self.log_pane = LogPane(on_copy=lambda text: dialogs.copy_text(text),
                                on_open_file=self.window_settings.open_log_file)
        window_layout.build_layout(self)
        window_layout.build_menus(self)
        self.actions_ = QueueActions(self)
        self.status = WindowStatus(self, TITLE)
        self.status_label = self.status.label
        window_layout.describe(self)
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
        w, status = self.worker, self.status
        w.job_state.connect(self.queue.update_state)
        w.job_state.connect(status.on_state)
        w.job_duration.connect(self.queue.set_duration)
        w.log_line.connect(self.log_pane.add)
        w.retry.connect(lambda text: self.log_pane.add("retry", text))
        w.job_done.connect(self.queue.set_result)
        w.job_done.connect(lambda job_id, result: self.transcripts.__setitem__(job_id, result.transcript))
        w.job_failed.connect(self.queue.set_result)
        w.job_failed.connect(status.on_failed)
        w.job_cancelled.connect(self.queue.set_result)
        w.lock_error.connect(status.on_lock_error)
        w.model_status.connect(status.on_model)
        w.idle.connect(self._update_buttons)
        for signal in (self.queue.dataChanged, self.queue.rowsInserted, self.queue.rowsRemoved):
            signal.connect(self._update_buttons)
            signal.connect(status.show_progress)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)

        self.options.fill_models(self.window_settings.local_model_paths())
        self.options.load(self.settings)
        self.options.changed.connect(status.idle)
        status.idle()
        self.window_settings.apply_settings(self.settings)
        self.controller.restore()
        self._update_buttons()
        w.start()  # idle until the first job: blocks on its queue, imports nothing

    # -- the queue (QueueController does the work; these are the window's verbs) ----------
    def add_paths(self, paths: list[str], output_dir: Path | None = None) -> int:
        return self.controller.add_paths(paths, output_dir)

    def _make_job(self, source: Path, job_id: str | None = None) -> Job:
        return self.controller.make_job(source, job_id)

    def pick_files(self) -> None:
        files = dialogs.pick_files(self)
        if files:
            self.add_paths(files)

    def pick_folder(self) -> None:
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

    def _update_buttons(self, *_args) -> None:
        if self.worker is None:
            return
        rows = self.queue.rows
        selected = [self.queue.row(i) for i in self.view.selected_ids()]
        self.start_button.setEnabled(any(r.state == JobState.QUEUED and not r.submitted for r in rows))
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
        self.controller.stop_probes(timeout_ms)
        self.status.close()
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
