"""The live log: what the app is doing, retries of locked files as they happen.

Bounded (maximumBlockCount) so a night-long batch cannot eat memory; read-only; levels
differ by colour *and* by a text prefix, so a copied log (or a colour-blind reader)
keeps the distinction. The same lines go to the rotating log file, written by whoever
produced them (engine events via Services.observer, GUI lines via MainWindow.log).
"""
from __future__ import annotations

import html
import time
from typing import Callable

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from nemo_desk.gui import colours

MAX_LINES = 5000
STYLES = {  # prefix, bold (the colour: colours.for_state, readable on the palette in use)
    "info": ("INFO ", False),
    "retry": ("RETRY", False),
    "warning": ("WARN ", True),
    "error": ("ERROR", True),
}


class LogPane(QWidget):
    def __init__(self, on_copy: Callable[[str], None], on_open_file: Callable[[], None],
                 parent: QWidget | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self._clock = clock
        self.lines: list[tuple[str, str]] = []  # (level, text) most recent MAX_LINES, for tests and copy
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Log"))
        top.addStretch(1)
        copy_all = QPushButton("Copy all")
        open_file = QPushButton("Open log file")
        copy_all.clicked.connect(lambda: on_copy(self.text()))
        open_file.clicked.connect(on_open_file)
        top.addWidget(copy_all)
        top.addWidget(open_file)
        layout.addLayout(top)
        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)  # long paths stay readable
        font: QFont = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.view.setFont(font)
        layout.addWidget(self.view)
        self.copy_button, self.open_button = copy_all, open_file

    def add(self, level: str, text: str) -> None:
        level = level if level in STYLES else "info"
        prefix, bold = STYLES[level]
        found = colours.for_state(level, self.view.palette())
        colour = found.name() if found is not None else ""
        stamp = time.strftime("%H:%M:%S", time.localtime(self._clock()))
        self.lines.append((level, text))
        del self.lines[:-MAX_LINES]
        # One block per line: multi-line messages (tracebacks) are joined with " | ".
        flat = " | ".join(part for part in text.splitlines() if part.strip()) or text
        style = ";".join(s for s in ("white-space:pre", f"color:{colour}" if colour else "",
                                      "font-weight:bold" if bold else "") if s)
        body = html.escape(f"{stamp} {prefix} {flat}")
        self.view.appendHtml(f'<span style="{style}">{body}</span>')
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def text(self) -> str:
        return self.view.toPlainText()

    def count(self, level: str | None = None, containing: str = "") -> int:
        return sum(1 for lv, t in self.lines if (level is None or lv == level) and containing in t)
