"""The window's watched folder: new media in it is added to the queue and started.

File > "Watch a folder..." picks the folder (unticking it stops watching), then where its
transcripts go (its own rule: next to each file unless a folder is chosen); both are kept in
the settings (`watch_folder`, `watch_output_dir`), so watching resumes at the next start.
Files use the options panel's other choices as they are when the file arrives. The polling
is engine/watch.py's (no Qt): each look at the folder runs on a short-lived thread, since a
network share or a USB stick can take seconds to list, and the window must not freeze.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMenu

from nemo_desk.engine.watch import DEFAULT_POLL_S, DEFAULT_SETTLE_S, FolderWatcher, MemoryRecord
from nemo_desk.gui import dialogs
from nemo_desk.gui.batch_end import BatchEnd


class FolderWatch(QObject):
    found = Signal(list)  # paths ready to queue, from the polling thread
    said = Signal(str)  # the watcher's warnings, from the polling thread
    poll_s = DEFAULT_POLL_S
    settle_s = DEFAULT_SETTLE_S

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.watcher: FolderWatcher | None = None
        self._polling = False
        self._timer = QTimer(self)
        self._timer.setInterval(int(self.poll_s * 1000))
        self._timer.timeout.connect(self._tick)
        self.found.connect(self._add)
        self.said.connect(lambda text: self.window.log("warning", text))
        self.label = QLabel("")
        self.label.setAccessibleName("Watched folder")
        window.statusBar().addPermanentWidget(self.label)
        self.action = QAction("Watch a folder…", window)
        self.action.setCheckable(True)
        self.action.setToolTip("Add and transcribe new audio and video files that appear in a folder")
        self.action.toggled.connect(self._toggled)
        _file_menu(window).insertAction(_quit_action(window), self.action)  # type: ignore[arg-type]  # None: at the end
        if window.settings.watch_folder:
            self.start(window.settings.watch_folder)

    # -- on and off ---------------------------------------------------------------------------
    def start(self, folder: str) -> None:
        journal = self.window.services.queue.journal
        self.watcher = FolderWatcher(
            [folder],
            settle_s=self.settle_s,
            warn=self.said.emit,
            record=journal if journal is not None else MemoryRecord(),
        )
        self._set_checked(True)
        self.label.setText(f"Watching {Path(folder).name or folder}")
        out = self.window.settings.watch_output_dir
        self.label.setToolTip(f"{folder}\nTranscripts: {out or 'next to each file'}")
        self.window.log(
            "info",
            f"Watching {folder}: its audio and video files not transcribed before, and new ones once they have "
            "stopped growing, are added and transcribed",
        )
        self._timer.start()

    def stop(self) -> None:
        if self.watcher is None:
            return
        self._timer.stop()
        self.window.log("info", f"Stopped watching {self.watcher.folders[0]}")
        self.watcher = None
        self._set_checked(False)
        self.label.setText("")

    def _toggled(self, checked: bool) -> None:
        if not checked:
            self.window.settings.watch_folder = ""
            self.stop()
        else:
            folder = dialogs.pick_folder(
                self.window, "Watch a folder for new audio and video files", self.window.settings.watch_folder
            )
            if not folder:
                self._set_checked(False)
                return
            out = dialogs.pick_folder(
                self.window,
                "Where should transcripts of watched files go? (Cancel: next to each file)",
                self.window.settings.watch_output_dir or folder,
            )
            self.window.settings.watch_folder = folder
            self.window.settings.watch_output_dir = out or ""
            self.start(folder)
        self.window.save_settings()

    def _set_checked(self, on: bool) -> None:
        self.action.blockSignals(True)
        self.action.setChecked(on)
        self.action.blockSignals(False)

    # -- polling ----------------------------------------------------------------------------
    def _running(self) -> bool:
        worker = self.window.worker
        return worker is not None and worker.isRunning()  # not once the window shut down

    def _tick(self) -> None:
        if self._polling or self.watcher is None or not self._running():
            return
        self._polling = True
        threading.Thread(target=self._poll, args=(self.watcher,), name="nemo_desk-watch-poll").start()

    def _poll(self, watcher: FolderWatcher) -> None:
        problem = ""
        try:
            ready = [str(p) for p in watcher.poll()]
        except Exception as exc:  # a bug must not end watching silently: said, and the next tick tries again
            ready, problem = [], f"Could not look at the watched folder: {type(exc).__name__}: {exc}"
        try:
            if problem:
                self.said.emit(problem)
            self.found.emit(ready)
        except RuntimeError:  # the window was closed and deleted while this thread looked
            pass

    def _add(self, files: list) -> None:
        self._polling = False
        if not files or self.watcher is None or not self._running():
            return
        self.window.log("info", f"New in the watched folder: {', '.join(Path(f).name for f in files)}")
        out = self.window.settings.watch_output_dir
        if self.window.add_paths(files, Path(out) if out else None):
            self.window.start()


def _file_menu(window) -> QMenu:
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == "File":
            return action.menu()
    return window.menuBar().addMenu("&File")


def _quit_action(window) -> QAction | None:
    menu = _file_menu(window)
    return next((a for a in menu.actions() if a.text().replace("&", "") == "Quit"), None)


def install_unattended(window) -> None:
    """For an attached window (launch.py): the batch's keep-awake and summary, and the
    watched folder. Kept out of main_window.py, which stays about the queue."""
    window.batch_end = BatchEnd(window)
    window.folder_watch = FolderWatch(window)
