"""The window's settings, geometry, model manager and log file: the parts of the main
window that talk to the settings file and the model store rather than to the queue.

A mixin so MainWindow stays one readable class while each file stays small; it expects
`services`, `settings`, `options`, `split`, `log_pane` and `log()` on the window.
"""
from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray

from nemo_desk.core.errors import NemoDeskError
from nemo_desk.gui import dialogs
from nemo_desk.locks.fileops import RetryPolicy
from nemo_desk.settings import Settings

# The GUI thread must not freeze for the full lock budget over its own settings file.
_GUI_WRITE_BUDGET_S = 2.0


if TYPE_CHECKING:  # what the mixin uses from the window, spelled out for the type checker
    from PySide6.QtWidgets import QMainWindow, QSplitter

    from nemo_desk.gui.log_pane import LogPane
    from nemo_desk.gui.options_panel import OptionsPanel

    class _Window(QMainWindow):
        services: Any
        settings: Settings
        options: OptionsPanel
        split: QSplitter
        log_pane: LogPane

        def log(self, level: str, text: str) -> None: ...
else:
    _Window = object


class WindowSettingsMixin(_Window):
    def open_log_file(self) -> None:
        from nemo_desk.logsetup import LOG_FILE  # logging.handlers: not needed to show the window

        path = self.services.paths.logs / LOG_FILE
        if not dialogs.open_path(path if path.exists() else path.parent):
            self.log("warning", f"Could not open {path}")

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        fileops = self.services.fileops
        fileops.policy = dataclasses.replace(fileops.policy, budget_s=settings.retry_seconds)
        try:
            self.services.pipeline.rules = settings.cue_rules()
            self.services.pipeline.txt_timestamps = settings.txt_timestamps
        except ValueError as exc:
            self.log("warning", f"Subtitle line rules not usable ({exc}); keeping the previous ones")

    def open_settings(self) -> None:
        self.options.store(self.settings)
        edited = dialogs.edit_settings(self, dataclasses.replace(self.settings))
        if edited is None:
            return
        if (edited.models_dir, edited.temp_dir) != (self.settings.models_dir, self.settings.temp_dir):
            self.log("info", "The new models/temporary folders are used from the next start of nemo_desk")
        self.apply_settings(edited)
        self.options.load(edited)
        self.save_settings()

    def save_settings(self) -> bool:
        self.options.store(self.settings)
        self.settings.window_geometry = self.saveGeometry().toBase64().toStdString()
        self.settings.splitter_state = self.split.saveState().toBase64().toStdString()
        ops = self.services.fileops.derive(policy=RetryPolicy(budget_s=min(_GUI_WRITE_BUDGET_S,
                                                                             self.settings.retry_seconds)))
        try:
            self.settings.save(self.services.paths.settings_file, ops)
            return True
        except (OSError, NemoDeskError) as exc:
            self.log("warning", f"Could not save the settings: {exc}")
            return False

    def restore_geometry(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode("ascii")))
        if self.settings.splitter_state:
            self.split.restoreState(QByteArray.fromBase64(self.settings.splitter_state.encode("ascii")))

    def local_model_paths(self) -> list[str]:
        found = []
        for m in self.services.store.installed():
            path = m.model_id.removeprefix("local:")
            if m.model_id.startswith("local:") and m.complete and os.path.isfile(path):
                found.append(path)
        return found

    def open_models(self) -> None:
        dialogs.manage_models(self, self.services, log=self.log_pane.add)
        self.options.fill_models(self.local_model_paths())

