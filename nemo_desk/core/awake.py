"""Keep the computer awake while a batch runs (no Qt).

A laptop that goes to sleep an hour into an overnight batch loses the night. While a
batch runs we ask the system not to sleep, and only that: the screen may still turn off.

- Windows: `SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)`. The request
  belongs to the calling thread and ends with it (and with the process, so a crash cannot
  leave the PC sleepless); `release` must run on the thread that called `acquire` (the
  window's GUI thread, the CLI's main thread).
- Linux: `systemd-inhibit --what=sleep:idle ... cat`, reading our pipe: when this process
  ends, crash included, `cat` sees the end of its input and the inhibitor goes with it.
- macOS: `caffeinate -i -w <our pid>`: it ends with us as well.
- Anything else, or the tool missing: nothing, and the caller is told so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any, Callable

ES_CONTINUOUS = 0x80000000
ES_SYSTEM_REQUIRED = 0x00000001
AWAKE_MESSAGE = "Keeping the computer awake until the batch ends"
_STARTUP_S = 0.3  # how long a refusing inhibitor takes to exit, with margin
WHY = "nemo_desk is transcribing a batch of files"


class KeepAwake:
    """acquire() when a batch starts, release() when it ends (both idempotent)."""

    def __init__(
        self,
        platform: str | None = None,
        which: Callable[[str], str | None] = shutil.which,
        popen: Callable[..., Any] = subprocess.Popen,
    ) -> None:
        self.platform = sys.platform if platform is None else platform
        self._which = which
        self._popen = popen
        self._child: Any = None
        self._windows_held = False

    @property
    def held(self) -> bool:
        return self._windows_held or self._child is not None

    def acquire(self) -> str:
        """Ask the system to stay awake; returns the line to show the user."""
        if self.held:
            return AWAKE_MESSAGE
        try:
            if self.platform == "win32":
                return self._windows(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)
            if self.platform == "darwin":
                return self._spawn("caffeinate", ["-i", "-w", str(os.getpid())])
            return self._spawn(
                "systemd-inhibit", ["--what=sleep:idle", "--who=nemo_desk", f"--why={WHY}", "--mode=block", "cat"]
            )
        except (OSError, AttributeError, ValueError) as exc:
            return f"Could not keep the computer awake ({exc}); it may go to sleep during the batch"

    def release(self) -> None:
        if self._windows_held:
            self._windows_held = False
            try:
                self._windows(ES_CONTINUOUS)  # back to normal: the system may sleep again
            except (OSError, AttributeError):
                pass
        child, self._child = self._child, None
        if child is not None:
            try:
                if child.stdin is not None:
                    child.stdin.close()  # systemd-inhibit's `cat` ends: the lock is gone
                child.terminate()
                child.wait(timeout=5)
            except (OSError, subprocess.SubprocessError):
                pass

    def _windows(self, flags: int) -> str:
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        if not kernel32.SetThreadExecutionState(flags):
            raise OSError("SetThreadExecutionState refused")
        self._windows_held = flags != ES_CONTINUOUS
        return AWAKE_MESSAGE

    def _spawn(self, tool: str, args: list[str]) -> str:
        exe = self._which(tool)
        if exe is None:
            return f"The computer may go to sleep during the batch ({tool} is not available to prevent it)"
        child = self._popen([exe, *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:  # no session bus or no logind (a container, a bare server): it ends at once
            code = child.wait(timeout=_STARTUP_S)
        except subprocess.TimeoutExpired:
            self._child = child
            return AWAKE_MESSAGE
        if child.stdin is not None:
            child.stdin.close()
        return f"The computer may go to sleep during the batch ({tool} ended with status {code})"
