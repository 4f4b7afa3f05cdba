"""torch and NeMo are imported once per process; a failed import is fatal, once, clearly.

When the first `import torch` fails part-way (on Windows typically a DLL that does not
initialise: WinError 126 or 1114 in c10.dll), the half-initialised package stays behind.
Importing it again for the next job was seen to end the process with a segmentation
fault. So the first failure is kept and every later job gets the same message, with the
remedy, without touching the import again.
"""
from __future__ import annotations

import sys
from typing import Callable

from nemo_desk.core.errors import EnvironmentBroken

REMEDY_FROZEN = ("Repair the installation: unpack the nemo_desk zip again into an empty folder, and install or "
                 "repair the Microsoft Visual C++ Redistributable (x64) from "
                 "https://aka.ms/vs/17/release/vc_redist.x64.exe; then start nemo_desk again.")
REMEDY_SOURCE = ("Repair the installation: reinstall torch and nemo_toolkit in this Python environment "
                 "(on Windows also the Microsoft Visual C++ Redistributable, x64); then start nemo_desk again.")


def _import_engine() -> None:
    import torch  # noqa: F401  (the import is the check)

    from nemo_desk.engine.loader import import_nemo_asr

    import_nemo_asr()


class Runtime:
    """The outcome of importing torch and NeMo in this process: unknown, fine, or broken."""

    def __init__(self, importer: Callable[[], None] = _import_engine) -> None:
        self._importer = importer
        self._ready = False
        self._broken: str | None = None

    @property
    def broken(self) -> str | None:
        return self._broken

    def require(self) -> None:
        """Raise EnvironmentBroken if torch or NeMo cannot be used; imports at most once."""
        if self._ready:
            return
        if self._broken is None:
            try:
                self._importer()
            except Exception as exc:  # any error inside a package's import means a broken install
                cause = getattr(exc, "user_message", None) or f"{type(exc).__name__}: {exc}"
                remedy = REMEDY_FROZEN if getattr(sys, "frozen", False) else REMEDY_SOURCE
                self._broken = " ".join(f"torch or NeMo could not be loaded ({cause}). {remedy}".split())
            else:
                self._ready = True
                return
        raise EnvironmentBroken(self._broken)
