"""The big "drop files here" target, with Add files… / Add folder… for keyboard users."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

_IDLE = "QFrame#dropArea { border: 2px dashed palette(mid); border-radius: 8px; }"
_HOVER = "QFrame#dropArea { border: 2px dashed palette(highlight); border-radius: 8px; background: palette(alternate-base); }"


class DropArea(QFrame):
    """Emits the local paths dropped on it (files and folders, as given)."""

    paths_dropped = Signal(list)
    add_files = Signal()
    add_folder = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropArea")
        self.setAcceptDrops(True)
        self.setStyleSheet(_IDLE)
        self.setMinimumHeight(110)
        layout = QVBoxLayout(self)
        label = QLabel("Drop audio or video files, or folders, here")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        label.setFont(font)
        layout.addWidget(label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.files_button = QPushButton("Add files…")
        self.folder_button = QPushButton("Add folder…")
        self.files_button.clicked.connect(self.add_files)
        self.folder_button.clicked.connect(self.add_folder)
        buttons.addWidget(self.files_button)
        buttons.addWidget(self.folder_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_paths(event):
            event.acceptProposedAction()
            self.setStyleSheet(_HOVER)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if _local_paths(event):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self.setStyleSheet(_IDLE)

    def dropEvent(self, event: QDropEvent) -> None:
        self.setStyleSheet(_IDLE)
        paths = _local_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.paths_dropped.emit(paths)


def _local_paths(event) -> list[str]:
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    # Web links and the like cannot be transcribed offline; only local files count.
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]
