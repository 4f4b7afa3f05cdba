"""The window's batch: kept awake while it runs, and said to have ended.

A batch starts with the first job the worker takes up and ends when the worker has nothing
left (its `idle` signal, with nothing submitted meanwhile). While it runs the computer is
kept awake (core/awake.py; on Windows the request belongs to the GUI thread, where these
slots run), and the status bar says so. When it ends: one summary line (core/summary.py)
in the status bar and the log, and a system tray message where the desktop has a tray, so
a user who walked away learns it from the notification area.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QLabel, QStyle, QSystemTrayIcon

from nemo_desk.core.awake import AWAKE_MESSAGE, KeepAwake
from nemo_desk.core.states import JobState
from nemo_desk.core.summary import BatchSummary

TRAY_MESSAGE_MS = 15_000


class TrayNotifier:
    """The tray message, only where the desktop has a tray that shows messages."""

    def __init__(self, window) -> None:
        self._window = window
        self._tray: QSystemTrayIcon | None = None

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()

    def notify(self, title: str, text: str) -> bool:
        if not self.available():
            return False
        if self._tray is None:
            icon = self._window.windowIcon()
            if icon.isNull():
                icon = self._window.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
            self._tray = QSystemTrayIcon(icon, self._window)
            self._tray.setToolTip("nemo_desk")
            self._tray.messageClicked.connect(self._bring_forward)
            self._tray.activated.connect(self._bring_forward)
        self._tray.show()
        self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, TRAY_MESSAGE_MS)
        return True

    def _bring_forward(self, *_args: Any) -> None:
        if self._window.isMinimized():
            self._window.showNormal()
        self._window.raise_()
        self._window.activateWindow()


class BatchEnd(QObject):
    """Watches the window's worker; one per window (parented to it)."""

    def __init__(
        self, window, awake: KeepAwake | None = None, notify: Callable[[str, str], bool] | None = None
    ) -> None:
        super().__init__(window)
        self.window = window
        self.awake = awake if awake is not None else KeepAwake()
        self.summary = BatchSummary()
        self.notify = notify if notify is not None else TrayNotifier(window).notify
        self.label = QLabel("")
        self.label.setAccessibleName("Batch status")
        window.statusBar().addPermanentWidget(self.label)
        w = window.worker
        # Bound methods, not lambdas: Qt drops them with this object.
        w.job_state.connect(self._on_state)
        w.job_done.connect(self._on_done)
        w.job_failed.connect(self._on_failed)
        w.job_cancelled.connect(self._on_cancelled)
        w.idle.connect(self._maybe_end)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.awake.release)  # a window closed mid-batch

    def _begin(self) -> None:
        if self.summary.active:
            return
        self.summary.begin()
        said = self.awake.acquire()
        self.label.setText("Keeping the computer awake" if said == AWAKE_MESSAGE else "May sleep during the batch")
        self.label.setToolTip(said)
        self.window.log("info" if said == AWAKE_MESSAGE else "warning", said)

    def _on_state(self, *_args: Any) -> None:
        self._begin()

    def _on_done(self, *_args: Any) -> None:
        self._count(JobState.DONE)

    def _on_failed(self, *_args: Any) -> None:
        self._count(JobState.FAILED)

    def _on_cancelled(self, *_args: Any) -> None:
        self._count(JobState.CANCELLED)

    def _count(self, state: JobState) -> None:
        self._begin()
        self.summary.add(state)

    def _maybe_end(self) -> None:
        worker = self.window.worker
        if not self.summary.active or (worker is not None and worker.pending):
            return  # more was submitted since the worker ran empty: the same batch goes on
        self.awake.release()
        line = self.summary.end()
        self.label.setText(f"Last batch: {line}")
        self.label.setToolTip("")
        self.window.log("info", f"Batch finished: {line}")
        self.notify("nemo_desk: batch finished", line)
