"""The main window's widgets in place: queue and buttons beside the options, the log below,
the menus, and a name, description and tooltip on every control a screen reader reaches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget

from nemo_desk.gui.queue_actions import SETTINGS_KEYS, SHORTCUTS

if TYPE_CHECKING:
    from nemo_desk.gui.main_window import MainWindow


def build_layout(w: "MainWindow") -> None:
    w.start_button = QPushButton("Start")
    w.cancel_button = QPushButton("Cancel current")
    w.rerun_button = QPushButton("Re-run")
    w.remove_button = QPushButton("Remove")
    w.clear_button = QPushButton("Clear finished")
    w.start_button.setDefault(True)
    for button, slot in (
        (w.start_button, w.start),
        (w.cancel_button, w.cancel_current),
        (w.rerun_button, w.rerun_selected),
        (w.remove_button, w.remove_selected),
        (w.clear_button, w.clear_finished),
    ):
        button.clicked.connect(slot)
    buttons = QHBoxLayout()
    for b in (w.start_button, w.cancel_button, w.rerun_button, w.remove_button, w.clear_button):
        buttons.addWidget(b)
    buttons.addStretch(1)

    left = QWidget()
    column = QVBoxLayout(left)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(w.drop)
    column.addWidget(w.view, 1)
    column.addLayout(buttons)
    # The options scroll when the window is small, rather than pushing the queue's Status
    # column off-screen (their own minimum width was most of the window's).
    options = QScrollArea()
    options.setWidget(w.options)
    options.setWidgetResizable(True)
    options.setFrameShape(QFrame.Shape.NoFrame)
    options.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    w.top_split = QSplitter(Qt.Orientation.Horizontal)
    w.top_split.addWidget(left)
    w.top_split.addWidget(options)
    w.top_split.setStretchFactor(0, 3)
    w.top_split.setStretchFactor(1, 1)
    w.top_split.setCollapsible(0, False)  # the queue never disappears behind the options
    # The options whole at the default size (their minimum width); the queue gets the rest.
    wanted = w.options.minimumSizeHint().width() + options.verticalScrollBar().sizeHint().width()
    w.top_split.setSizes([max(w.width() - wanted, w.width() * 3 // 5), wanted])
    w.split = QSplitter(Qt.Orientation.Vertical)
    w.split.addWidget(w.top_split)
    w.split.addWidget(w.log_pane)
    w.split.setStretchFactor(0, 3)
    w.split.setStretchFactor(1, 1)
    w.split.setSizes([430, 130])  # until the user's own layout is restored
    central = QWidget()
    outer = QVBoxLayout(central)
    outer.addWidget(w.split)
    w.setCentralWidget(central)

    w.drop.paths_dropped.connect(w.add_paths)
    w.drop.add_files.connect(w.pick_files)
    w.drop.add_folder.connect(w.pick_folder)


def build_menus(w: "MainWindow") -> None:
    file_menu = w.menuBar().addMenu("&File")
    for text, slot, key in (
        ("Add files…", w.pick_files, QKeySequence.StandardKey.Open),
        ("Add folder…", w.pick_folder, None),
        ("Settings…", w.open_settings, QKeySequence(SETTINGS_KEYS)),
        ("Quit", w.close, QKeySequence.StandardKey.Quit),
    ):
        action = QAction(text, w)
        if key is not None:
            action.setShortcut(key)
        action.triggered.connect(slot)
        file_menu.addAction(action)
    models = w.menuBar().addMenu("&Models")
    manage = QAction("Manage models…", w)
    manage.triggered.connect(w.open_models)
    models.addAction(manage)


def describe(w: "MainWindow") -> None:
    """A name, a description and a tooltip on every control a screen reader reaches."""
    log_tip = "What happened: each file's start, end, warnings and errors"
    for widget, name, tip in (
        (w.start_button, "Start", SHORTCUTS["start"][1]),
        (w.cancel_button, "Cancel current file", SHORTCUTS["cancel"][1]),
        (
            w.rerun_button,
            "Re-run",
            "Run the selected failed or cancelled files again, with the options and model selected now",
        ),
        (
            w.remove_button,
            "Remove",
            "Remove the selected files from the queue (Delete); the file being transcribed must be cancelled first",
        ),
        (w.clear_button, "Clear finished", "Remove every done, failed or cancelled file from the queue"),
        (w.drop, "Drop area", "Drop audio or video files or folders here to queue them"),
        (w.drop.files_button, "Add files", "Choose audio or video files to queue (Ctrl+O)"),
        (w.drop.folder_button, "Add folder", "Queue every audio or video file in a folder and its subfolders"),
        (w.log_pane, "Log", log_tip),
        (w.log_pane.view, "Log", log_tip),
        (w.log_pane.copy_button, "Copy the log", "Copy the whole log to the clipboard"),
        (w.log_pane.open_button, "Open the log file", "Open the log file (with the technical details)"),
        (
            w.view,
            "Queue",
            w.view.accessibleDescription() + ". Enter opens a transcript or a "
            "failed file's message; Delete removes; right-click for more",
        ),
        (w.options, "Transcription options", "Model, languages, device, formats and output folder for the next files"),
    ):
        widget.setAccessibleName(name)
        widget.setAccessibleDescription(tip)
        widget.setToolTip(tip)
