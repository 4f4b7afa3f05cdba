"""Keyword arguments that stop a child process from flashing a console window.

The app is a windowed (no console) program on Windows; without CREATE_NO_WINDOW every
ffmpeg call would pop up a black console window for its lifetime.
"""
from __future__ import annotations

import sys
from typing import Any

# Value from the Windows SDK (winbase.h); used when the constant is absent, which is
# the case on non-Windows Pythons (and lets tests simulate win32 on Linux).
_CREATE_NO_WINDOW = 0x08000000


def no_window_kwargs() -> dict[str, Any]:
    """Extra `subprocess` kwargs for every child we start: no console window on Windows."""
    if sys.platform == "win32":
        import subprocess  # here: the window imports this package before it shows

        return {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", _CREATE_NO_WINDOW)}
    return {}
