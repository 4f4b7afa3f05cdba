"""Windows, simulated on Linux: the one way tests reach a Windows-only branch.

`fake_windows` (a fixture in conftest.py) makes `sys.platform` read "win32" for one test
and makes OSErrors shaped as CPython raises them on Windows (errno as CPython maps the
winerror, the `winerror` attribute, the "[WinError N]" text). `os.name` and the path
flavour stay POSIX: pathlib cannot switch, and the code under test reads `sys.platform`
(or takes a `platform` argument) for its Windows branches.
"""
from __future__ import annotations

import errno
import sys

import pytest

from tests.support.locksim import windows_error


class FakeWindows:
    platform = "win32"

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        monkeypatch.setattr(sys, "platform", "win32")

    @staticmethod
    def error(winerror: int, path: str | None = None, path2: str | None = None,
              errno_code: int | None = None) -> OSError:
        """An OSError as Windows raises it (`errno_code` overrides CPython's mapping: some
        network redirectors report only the winerror)."""
        exc = windows_error(winerror, path, path2)
        if errno_code is not None:
            exc.errno = errno_code
        return exc

    def without_errno(self, *names: str) -> None:
        """Windows' errno module lacks some POSIX codes (EDQUOT): code must not need them."""
        for name in names:
            self._monkeypatch.delattr(errno, name, raising=False)
