"""Starting the window. Imports only Qt here: torch and NeMo load later, on the worker."""
from __future__ import annotations

import sys
from typing import Callable, Sequence


def launch_gui(args: Sequence[str], services_factory: Callable) -> int:
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication.instance() or QApplication([sys.argv[0], *args])
    window = QMainWindow()
    window.setWindowTitle("nemo_desk")
    window.setCentralWidget(QLabel("nemo_desk: drop files here (the full window is on its way)"))
    window.resize(800, 500)
    window.show()
    return app.exec()
