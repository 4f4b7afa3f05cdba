"""Which programs are running, and whether a process id is still alive.

Both answer questions asked at awkward moments (a lock dialog, start-up), so neither may
crash or hang: every failure means "don't know" ([] or True, whichever is safe).
"""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from typing import Any, Callable

TASKLIST_TIMEOUT_S = 3.0
# subprocess.CREATE_NO_WINDOW exists only on Windows; without it a console window would
# flash up from the windowed (pythonw) app each time we list processes.
_CREATE_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)
_STILL_ACTIVE = 259
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_ERROR_ACCESS_DENIED = 5


def parse_tasklist_csv(text: str) -> list[str]:
    """Image names from `tasklist /fo csv /nh` output ("name","pid",...)."""
    names = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and row[0] and row[1].strip().isdigit():  # skips "INFO: No tasks" lines
            names.append(row[0])
    return names


def _psutil_names() -> list[str] | None:
    try:
        import psutil  # optional dependency
    except ImportError:
        return None
    names = []
    for proc in psutil.process_iter(["name"]):
        name = (getattr(proc, "info", None) or {}).get("name")
        if name:
            names.append(name)
    return names


def _tasklist_names(timeout: float = TASKLIST_TIMEOUT_S) -> list[str]:
    done = subprocess.run(
        ["tasklist", "/fo", "csv", "/nh"],
        stdin=subprocess.DEVNULL,  # a windowed app has no valid stdin handle to inherit
        capture_output=True,
        timeout=timeout,
        creationflags=_CREATE_NO_WINDOW,
        check=False,
    )
    # Output is in the OEM code page; the names we look for are ASCII, so decoding
    # leniently is enough and avoids a codec that exists only on Windows.
    return parse_tasklist_csv(done.stdout.decode("ascii", errors="replace"))


def default_process_lister() -> list[str]:
    """Names of running processes: psutil if installed, else tasklist on Windows, else [].

    Never raises; a failure or a timeout gives []."""
    try:
        names = _psutil_names()
        if names is not None:
            return names
        if sys.platform == "win32":
            return _tasklist_names()
    except Exception:
        return []
    return []


def pid_alive(pid: int, started_at: float | None = None) -> bool:
    """Whether process `pid` still exists. Unsure answers are True: the caller uses this
    to decide whether to delete the process's temp files, and keeping them is safe.

    `started_at` (epoch seconds the owner was known to run) lets psutil spot a reused pid:
    a process created after that moment is someone else."""
    if pid <= 0:
        return False
    if pid == os.getpid() and started_at is None:
        return True  # with a start time, even our own pid may be a reused one (checked below)
    try:
        import psutil
    except ImportError:
        psutil = None
    try:
        if psutil is not None:
            if not psutil.pid_exists(pid):
                return False
            if started_at is not None:
                return psutil.Process(pid).create_time() <= started_at + 2.0
            return True
        if sys.platform == "win32":
            import ctypes

            return _pid_alive_windows(pid, ctypes.WinDLL("kernel32", use_last_error=True), ctypes.get_last_error)
        return _pid_alive_posix(pid)
    except Exception:
        return True


def _pid_alive_posix(pid: int) -> bool:
    # Signal 0 checks existence without touching the process. Never on Windows: there
    # os.kill() terminates the process whatever the signal number.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _pid_alive_windows(pid: int, kernel32: Any, get_last_error: Callable[[], int]) -> bool:
    import ctypes

    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        # Access denied means it exists (a service, another user's process); anything
        # else (invalid parameter) means there is no such process.
        return get_last_error() == _ERROR_ACCESS_DENIED
    try:
        code = ctypes.c_ulong(0)
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        # A process that has exited but whose handle someone keeps open still "exists".
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
