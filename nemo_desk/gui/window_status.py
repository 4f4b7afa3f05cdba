"""What the window says about the work: the status bar, the progress in the title and on
the taskbar button, and the dialogs a failure needs (a model that cannot load, a locked
file). Connected to the worker's signals by MainWindow.attach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel

from nemo_desk.core.states import FailureKind, JobState
from nemo_desk.engine.jobs import JobResult
from nemo_desk.gui import dialogs
from nemo_desk.gui.taskbar import TaskbarButton, title_for
from nemo_desk.locks.lockerror import LockReport

if TYPE_CHECKING:
    from nemo_desk.gui.main_window import MainWindow

MODEL_STATES = ("loading model", "downloading model", "preparing model")
WORK_STATES = ("decoding", "transcribing", "writing")
# A model that cannot load fails every job that wants it; so does a broken torch or NeMo.
_MODEL_FAILURES = (FailureKind.MODEL, FailureKind.DEVICE, FailureKind.ENVIRONMENT)


class WindowStatus:
    def __init__(self, window: "MainWindow", title: str) -> None:
        self.w = window
        self.title = title
        self.label = QLabel("Starting…")
        self.label.setAccessibleName("Status")
        window.statusBar().addPermanentWidget(self.label, 1)
        self.loaded_label = ""  # the model the worker holds, once one is loaded
        self.device = ""  # where it runs, as the worker said
        self.taskbar: TaskbarButton | None = None  # made once the window has a native handle
        self._lock_reports: list[tuple[str, LockReport]] = []
        self._lock_dialog_open = False
        self._model_errors_shown: set[str] = set()

    # -- the status bar -------------------------------------------------------------------
    def on_state(self, job_id: str, state: str, _fraction: float = 0.0, _eta: float = -1.0) -> None:
        row = self.w.queue.row(job_id)
        if row is None or row.state != state:
            return
        if state in MODEL_STATES:
            if row.job.model.label != self.loaded_label:
                self.label.setText(f"{state.capitalize()} {row.job.model.label}…")
        elif state in WORK_STATES:  # the real stage, not "Loading model…" through a whole job
            device = f" · Device: {self.device}" if self.device else ""
            self.label.setText(f"{state.capitalize()} {row.job.source.name} · Model: {row.job.model.label}{device}")

    def on_model(self, label: str, device: str) -> None:
        self.loaded_label, self.device = label, device
        self.label.setText(f"Model: {label} · Device: {device}")

    def idle(self) -> None:
        """Before the first job: what will be used (torch is not even imported yet)."""
        if not self.loaded_label:
            c = self.w.options.choice()
            device = self.w.options.device.currentText()
            self.label.setText(f"Model: {c.model.label} (loads with the first file) · Device: {device}")

    # -- progress in the title and on the taskbar button ----------------------------------
    def show_progress(self, *_args) -> None:
        overall = self.w.queue.overall()
        self.w.setWindowTitle(title_for(self.title, overall))
        if self.taskbar is None and overall is not None:
            self.taskbar = TaskbarButton(int(self.w.winId()))
        if self.taskbar is not None:
            failed = any(r.state == JobState.FAILED for r in self.w.queue.rows if r.history)
            self.taskbar.set_progress(overall[2] if overall else None, failed)

    def close(self) -> None:
        if self.taskbar is not None:
            self.taskbar.close()
            self.taskbar = None

    # -- failures that need a dialog --------------------------------------------------------
    def on_failed(self, _job_id: str, result: JobResult) -> None:
        failure = result.failure
        if failure is None or failure.kind not in _MODEL_FAILURES:
            return
        self.label.setText(f"Model: {result.job.model.label} could not be used (see the log)")
        key = f"{result.job.model.label}|{failure.message}"
        if key not in self._model_errors_shown:  # once, loudly; not once per waiting file
            self._model_errors_shown.add(key)
            dialogs.show_error(self.w, "The model could not be loaded", failure.message, failure.detail)

    def on_lock_error(self, job_id: str, report: LockReport) -> None:
        # One dialog at a time; the others wait their turn rather than stacking up.
        self._lock_reports.append((job_id, report))
        if self._lock_dialog_open:
            return
        self._lock_dialog_open = True
        try:
            while self._lock_reports:
                jid, rep = self._lock_reports.pop(0)
                if dialogs.show_lock_error(self.w, rep) == dialogs.RETRY:
                    self.w.log("info", f"Retrying after the locked file {rep.path}")
                    self.w.rerun(jid)
        finally:
            self._lock_dialog_open = False
