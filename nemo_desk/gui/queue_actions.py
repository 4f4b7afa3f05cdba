"""What the user can do to queue rows by mouse and keyboard: the context menu, double-click,
and the window's shortcuts (Start Ctrl+Enter, Cancel Esc, Delete, Settings Ctrl+,,
Open transcript Enter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QMenu

from nemo_desk.core.states import JobState
from nemo_desk.gui import dialogs, editor_launch
from nemo_desk.gui.queue_table import FINISHED, RERUNNABLE

if TYPE_CHECKING:
    from nemo_desk.gui.main_window import MainWindow

# (text, shortcut, tooltip); Ctrl+, is what Settings is on most desktop apps.
SHORTCUTS = {
    "start": ("Ctrl+Return", "Start the waiting files (Ctrl+Enter)"),
    "cancel": ("Escape", "Stop the file being transcribed after its current batch (Esc)"),
}
SETTINGS_KEYS = "Ctrl+,"  # on the File menu's Settings… item


class QueueActions(QObject):
    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.w = window
        view = window.view
        view.doubleClicked.connect(lambda index: self.activate(view.id_at(index)))
        view.customContextMenuRequested.connect(self.context_menu)
        view.installEventFilter(self)  # Enter and Delete on the rows
        self._window_shortcuts()

    def _window_shortcuts(self) -> None:
        w = self.w
        for name, slot in (("start", w.start), ("cancel", w.cancel_current)):
            keys, tip = SHORTCUTS[name]
            action = QAction(tip, w)
            action.setObjectName(f"shortcut-{name}")
            action.setShortcuts([QKeySequence(keys)] + ([QKeySequence("Ctrl+Enter")] if name == "start" else []))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _=False, slot=slot, name=name: self._shortcut(name, slot))
            w.addAction(action)

    def _shortcut(self, name: str, slot) -> None:
        if self.w.services is None:  # nothing to act on before the services are attached
            return
        if name == "start" and not self.w.start_button.isEnabled():
            return
        slot()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key == Qt.Key.Key_Delete and event.modifiers() == Qt.KeyboardModifier.NoModifier:
                self.w.remove_selected()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and event.modifiers() in (
                Qt.KeyboardModifier.NoModifier,
                Qt.KeyboardModifier.KeypadModifier,
            ):
                ids = self.w.view.selected_ids()
                if ids:
                    self.activate(ids[0])
                    return True
        return super().eventFilter(watched, event)

    def activate(self, job_id: str | None) -> None:
        """Enter or double-click: a done row opens in the editor; a failed one shows why."""
        row = self.w.queue.row(job_id) if job_id else None
        if row is None:
            return
        if row.state == JobState.DONE:
            editor_launch.open_for_job(self.w, job_id)
        elif row.state == JobState.FAILED:
            dialogs.show_error(
                self.w,
                f"{row.job.source.name} failed",
                row.detail or row.message,
                f"File: {row.job.source}\nModel: {row.job.model.label}",
            )

    def context_menu(self, pos) -> None:
        w = self.w
        job_id = w.view.id_at(w.view.indexAt(pos))
        row = w.queue.row(job_id) if job_id else None
        if row is None or job_id is None:
            return
        menu = QMenu(w)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per right-click: do not pile up
        menu.addAction("Open transcript", lambda: editor_launch.open_for_job(w, job_id)).setEnabled(row.state == JobState.DONE)
        if row.state == JobState.FAILED:
            menu.addAction("Show the error…", lambda: self.activate(job_id))
        menu.addAction("Open output file", lambda: w.open_output(job_id)).setEnabled(bool(row.outputs))
        menu.addAction("Open output folder", lambda: w.open_output(job_id, folder=True))
        menu.addSeparator()
        menu.addAction("Re-run", lambda: w.rerun(job_id)).setEnabled(row.state in RERUNNABLE)
        menu.addAction(
            "Run again with current options", lambda: w.controller.rerun(job_id, finished_too=True)
        ).setEnabled(row.state in FINISHED)
        self._track_menu(menu, job_id)
        menu.addSeparator()
        menu.addAction("Cancel", lambda: w.cancel(job_id)).setEnabled(row.submitted)
        menu.addAction("Remove", lambda: w.forget([job_id])).setEnabled(job_id != self._running())
        menu.popup(w.view.viewport().mapToGlobal(pos))

    def _track_menu(self, menu: QMenu, job_id: str) -> QMenu | None:
        """ "Audio track" for a file with several (a film with dubbed languages, a recorder
        with one track per microphone): the choice is the row's, used when it runs."""
        row = self.w.queue.row(job_id)
        if row is None or len(row.tracks) < 2:
            return None
        sub = menu.addMenu("Audio track")
        sub.setEnabled(not row.submitted)
        chosen = row.audio_track or 1
        for n, description in enumerate(row.tracks, 1):
            action = sub.addAction(f"Track {n}: {description}")
            action.setCheckable(True)
            action.setChecked(n == chosen)
            action.triggered.connect(lambda _=False, n=n: self.w.controller.set_audio_track(job_id, n))
        return sub

    def _running(self) -> str | None:
        return self.w.worker.current_job if self.w.worker is not None else None
