"""Every modal dialog and every hand-off to the operating system, in one module.

Why one module: a modal dialog blocks a test forever, and a desktop app that pops up a
surprise dialog is a bug. Everything else in the GUI calls these functions through the
module (`dialogs.show_error(...)`, never `from dialogs import show_error`), so tests
replace them with recorders by monkeypatching this module, and a stray dialog in a test
is caught instead of hanging the run (see tests/support/gui_helpers.py).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFileDialog, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget,
)

from nemo_desk.locks.lockerror import RETRY_STEP, LockReport
from nemo_desk.media import MEDIA_EXTENSIONS

if TYPE_CHECKING:
    from nemo_desk.settings import Settings

RETRY, CLOSE = "retry", "close"


# -- the operating system --------------------------------------------------------------
def open_path(path: str | os.PathLike[str]) -> bool:
    """Open a file or folder with the user's default program (Explorer for folders)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(os.fspath(path)))


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


# -- messages ------------------------------------------------------------------------
def show_error(parent: QWidget | None, title: str, text: str, detail: str = "") -> None:
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Close, parent)
    if detail:
        box.setDetailedText(detail)  # tracebacks stay one click away, never in the way
    box.exec()


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def confirm(parent: QWidget | None, title: str, text: str, ok_text: str = "OK") -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    ok = box.addButton(ok_text, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is ok


def confirm_download(parent: QWidget | None, name: str, size_gb: float, where: str | os.PathLike[str]) -> bool:
    """Asked before any model download (Start, Re-run, the Models dialog): how big, and where."""
    text = (f"{name} is not on this computer yet. Download it now?\n\n"
            f"Size: {size_gb:.1f} GB\nSaved in: {where}\n\n"
            "It is downloaded once; after that transcription works offline. "
            "(The models folder can be changed in Settings.)")
    return confirm(parent, "Download the model?", text, f"Download {size_gb:.1f} GB")


def confirm_quit(parent: QWidget | None, pending: int) -> bool:
    text = (f"{pending} file(s) are still being transcribed or waiting.\n\n"
            "Quit anyway? The current file is cancelled; finished files are kept.")
    return confirm(parent, "Quit nemo_desk?", text, ok_text="Quit")


# -- file pickers --------------------------------------------------------------------
def pick_files(parent: QWidget | None, start: str = "") -> list[str]:
    patterns = " ".join(f"*.{ext}" for ext in MEDIA_EXTENSIONS)
    files, _ = QFileDialog.getOpenFileNames(parent, "Add audio or video files", start,
                                            f"Audio and video ({patterns});;All files (*)")
    return files


def pick_folder(parent: QWidget | None, title: str = "Choose a folder", start: str = "") -> str:
    return QFileDialog.getExistingDirectory(parent, title, start)


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "") -> str:
    """One line of text from the user; "" when cancelled."""
    from PySide6.QtWidgets import QInputDialog

    value, ok = QInputDialog.getText(parent, title, label, text=text)
    return value.strip() if ok else ""


def pick_model_file(parent: QWidget | None, start: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Choose a NeMo model file", start, "NeMo models (*.nemo)")
    return path


# -- settings -------------------------------------------------------------------------
def edit_settings(parent: QWidget | None, settings: "Settings") -> "Settings | None":
    """The settings dialog; returns the edited copy, or None when cancelled."""
    from nemo_desk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(settings, parent)
    return dialog.result_settings() if dialog.exec() == QDialog.DialogCode.Accepted else None


def manage_models(parent: QWidget | None, services, log=None) -> str:
    """The model manager (download, import, delete). Returns the path of the .nemo file
    imported last, for the window to select as the model (ModelRef.path); "" when none."""
    from nemo_desk.gui.models_dialog import ModelsDialog

    dialog = ModelsDialog(services, parent, log=log)
    dialog.exec()
    return dialog.imported


# -- the locked-file dialog ---------------------------------------------------------
def show_lock_error(parent: QWidget | None, report: LockReport) -> str:
    """The remediation dialog for a file that stayed locked. Returns RETRY or CLOSE."""
    dialog = LockDialog(report, parent)
    dialog.exec()
    return dialog.choice


# What the app was doing, in words (FileOp values; "replace" means nothing to a user).
_DOING = {"replace": "save the new version of this file", "delete": "delete this file",
          "remove folder": "remove this folder", "rename": "rename this file", "open": "read this file",
          "open for writing": "write this file", "unpack": "unpack this model file",
          "load model": "load this model file"}


class LockDialog(QDialog):
    def __init__(self, report: LockReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = report
        self.choice = CLOSE
        self.setWindowTitle("A file is in use by another program")
        layout = QVBoxLayout(self)
        intro = QLabel("nemo_desk waited, but another program kept this file open:")
        path = QLabel(f"<b>{_html(report.path)}</b>")
        path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        path.setWordWrap(True)
        holder = report.holder.name + (f" — {report.holder.evidence}" if report.holder.evidence else "")
        doing = _DOING.get(report.operation, f"use the file ({report.operation})")
        facts = QLabel(f"nemo_desk could not {_html(doing)}.<br>Most likely kept open by: {_html(holder)}")
        # The dialog says "then press Retry" itself; the CLI's "(or run the command again)" is not for here.
        steps = "".join(f"<li>{_html(s)}</li>" for s in report.steps if s != RETRY_STEP)
        what = QLabel(f"What to do, then press Retry:<ol>{steps}</ol>")
        for label in (intro, facts, what):
            label.setWordWrap(True)
        for w in (intro, path, facts, what):
            layout.addWidget(w)
        buttons = QDialogButtonBox()
        self.retry_button = buttons.addButton("Retry", QDialogButtonBox.ButtonRole.AcceptRole)
        open_button = QPushButton("Open folder")
        copy_button = QPushButton("Copy path")
        buttons.addButton(open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.retry_button.clicked.connect(self._retry)
        open_button.clicked.connect(lambda: open_path(Path(report.path).parent))
        copy_button.clicked.connect(lambda: copy_text(report.path))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def _retry(self) -> None:
        self.choice = RETRY
        self.accept()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
