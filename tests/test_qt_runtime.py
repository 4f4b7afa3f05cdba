"""The Qt binding itself must not break the interpreter over a long session."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar
app = QApplication([])
label, bar = QLabel(), QProgressBar()
before = sys.getrefcount(None)
for i in range(3000):  # a long batch: status text and progress updates
    label.setText(f"{i}")
    bar.setValue(i % 100)
print(sys.getrefcount(None) - before)
"""


def test_qt_calls_keep_none_alive():
    """PySide6 6.12.0 on Python 3.11 lost one reference to None per void Qt call, so the app
    aborted ("deallocating None") after a few thousand status and progress updates."""
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert abs(int(done.stdout.strip().splitlines()[-1])) < 100, done.stdout
