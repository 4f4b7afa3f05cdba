"""The window's settings, geometry, model manager and log file: the parts of the main
window that talk to the settings file and the model store rather than to the queue.

Its own object (not a base class of the window): it holds the window and uses its
`services`, `settings`, `options`, `split`, `log_pane` and `log()`.
"""
from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray

from nemo_desk.core.errors import NemoDeskError
from nemo_desk.gui import dialogs
from nemo_desk.locks.fileops import RetryPolicy
from nemo_desk.settings import Settings

if TYPE_CHECKING:
    from nemo_desk.gui.main_window import MainWindow

# The GUI thread must not freeze for the full lock budget over its own settings file.
_GUI_WRITE_BUDGET_S = 2.0


class WindowSettings:
    def __init__(self, window: "MainWindow") -> None:
        self.w = window

    def open_log_file(self) -> None:
        from nemo_desk.logsetup import LOG_FILE  # logging.handlers: not needed to show the window

        path = self.w.services.paths.logs / LOG_FILE
        if not dialogs.open_path(path if path.exists() else path.parent):
            self.w.log("warning", f"Could not open {path}")

    def apply_settings(self, settings: Settings) -> None:
        self.w.settings = settings
        fileops = self.w.services.fileops
        fileops.policy = dataclasses.replace(fileops.policy, budget_s=settings.retry_seconds)
        try:
            self.w.services.pipeline.rules = settings.cue_rules()
            self.w.services.pipeline.txt_timestamps = settings.txt_timestamps
        except ValueError as exc:
            self.w.log("warning", f"Subtitle line rules not usable ({exc}); keeping the previous ones")

    def open_settings(self) -> None:
        self.w.options.store(self.w.settings)
        edited = dialogs.edit_settings(self.w, dataclasses.replace(self.w.settings))
        if edited is None:
            return
        if (edited.models_dir, edited.temp_dir) != (self.w.settings.models_dir, self.w.settings.temp_dir):
            self.w.log("info", "The new models/temporary folders are used from the next start of nemo_desk")
        self.apply_settings(edited)
        self.w.options.load(edited)
        self.save_settings()

    def save_settings(self) -> bool:
        self.w.options.store(self.w.settings)
        self.w.settings.window_geometry = self.w.saveGeometry().toBase64().toStdString()
        self.w.settings.splitter_state = self.w.split.saveState().toBase64().toStdString()
        ops = self.w.services.fileops.derive(policy=RetryPolicy(budget_s=min(_GUI_WRITE_BUDGET_S,
                                                                             self.w.settings.retry_seconds)))
        try:
            self.w.settings.save(self.w.services.paths.settings_file, ops)
            return True
        except (OSError, NemoDeskError) as exc:
            self.w.log("warning", f"Could not save the settings: {exc}")
            return False

    def restore_geometry(self) -> None:
        if self.w.settings.window_geometry:
            self.w.restoreGeometry(QByteArray.fromBase64(self.w.settings.window_geometry.encode("ascii")))
        if self.w.settings.splitter_state:
            self.w.split.restoreState(QByteArray.fromBase64(self.w.settings.splitter_state.encode("ascii")))

    def local_model_paths(self) -> list[str]:
        found = []
        for m in self.w.services.store.installed():
            path = m.model_id.removeprefix("local:")
            if m.model_id.startswith("local:") and m.complete and os.path.isfile(path):
                found.append(path)
        return found

    def open_models(self) -> None:
        imported = dialogs.manage_models(self.w, self.w.services, log=self.w.log_pane.add)
        self.w.options.fill_models(self.local_model_paths())
        if imported:  # the model just imported is the one the user wants next (#19)
            self.w.options.set_local_model(imported)
            self.w.log("info", f"Model selected: {os.path.basename(imported)} (used by Start and Re-run)")

