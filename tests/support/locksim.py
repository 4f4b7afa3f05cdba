"""Simulate Windows file locks (WinError 32) on any platform, for tests.

A scanner or sync client that holds a file makes Windows refuse to open it for writing,
rename, replace or delete it, with `PermissionError` errno 13 and `winerror` 32. This
module makes chosen operations on chosen paths fail exactly like that, for the first N
attempts, for a while, or until `.lift()`, so retry, diagnosis and dialogs can be tested
on Linux. It patches the functions the app and the stdlib call at run time:
os.replace/rename/unlink/remove/rmdir, builtins.open/io.open (and tarfile's private
copy of open), and shutil.rmtree (so "rmtree" can lock only deletes made by a tree
removal). Deletes that shutil.rmtree makes with `dir_fd` are resolved to full paths.

    with LockSimulator() as sim:
        rule = sim.lock("*/manifest.json", ops={"unlink", "rmtree"}, times=3)
        ...
        assert rule.hits["rmtree"] == 3

Thread-safe: rules and counters are guarded by a lock (the GUI worker runs in a thread).
"""
from __future__ import annotations

import builtins
import errno
import fnmatch
import functools
import io
import os
import shutil
import tarfile
import threading
import time
from collections import Counter
from pathlib import PurePath
from typing import Any, Callable, Iterable, Union

import pytest

OPS = frozenset({"open_write", "open_read", "replace", "rename", "unlink", "rmdir", "rmtree"})
# A scanner opens files with read sharing, so reading is allowed unless asked for.
DEFAULT_OPS = OPS - {"open_read"}
MESSAGES = {
    5: "Access is denied",
    32: "The process cannot access the file because it is being used by another process",
    33: "The process cannot access the file because another process has locked a portion of the file",
    145: "The directory is not empty",
    39: "The disk is full",
    112: "There is not enough space on the disk",
    1314: "A required privilege is not held by the client",
}
# errno as CPython's winerror_to_errno maps these (PC/errmap.h); others become EINVAL.
_ERRNO = {39: errno.ENOSPC, 112: errno.ENOSPC, 145: errno.ENOTEMPTY}
Match = Union[str, PurePath, Callable[[str], bool]]


class _WindowsText:
    """str() as CPython prints a Windows OSError: "[WinError 32] message: 'path'"."""

    def __str__(self) -> str:
        text = f"[WinError {self.winerror}] {self.strerror}"  # type: ignore[attr-defined]
        if self.filename is not None:  # type: ignore[attr-defined]
            text += f": {self.filename!r}"  # type: ignore[attr-defined]
        if self.filename2 is not None:  # type: ignore[attr-defined]
            text += f" -> {self.filename2!r}"  # type: ignore[attr-defined]
        return text


class SimulatedWindowsPermissionError(_WindowsText, PermissionError):
    pass


class SimulatedWindowsOSError(_WindowsText, OSError):
    pass


def windows_error(winerror: int, path: str | None, path2: str | None = None) -> OSError:
    """An OSError shaped like Windows raises it; errno as CPython maps that winerror."""
    message = MESSAGES.get(winerror, f"Windows error {winerror}")
    if winerror in (5, 32, 33):
        exc: OSError = SimulatedWindowsPermissionError(errno.EACCES, message, path, None, path2)
    else:
        exc = SimulatedWindowsOSError(_ERRNO.get(winerror, errno.EINVAL), message, path, None, path2)
    exc.winerror = winerror  # type: ignore[attr-defined]  # a real attribute only on Windows
    return exc


def sharing_violation(path: str, path2: str | None = None) -> OSError:
    return windows_error(32, path, path2)


def fd_path(fd: int) -> str | None:
    """The path of an open directory descriptor (what rmtree passes as dir_fd)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")  # Linux
    except OSError:
        pass
    try:
        import fcntl

        raw = fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))  # macOS
        return os.fsdecode(raw.split(b"\0", 1)[0])
    except (ImportError, AttributeError, OSError):
        return None


def _full_path(path: Any, dir_fd: int | None = None) -> str | None:
    if isinstance(path, int):
        return None  # an open descriptor, not a name
    p = os.fsdecode(path)
    if dir_fd is not None and not os.path.isabs(p):
        base = fd_path(dir_fd)
        if base is not None:
            p = os.path.join(base, p)
    return os.path.abspath(p)


def _matcher(match: Match) -> Callable[[str], bool]:
    if callable(match):
        return match
    if isinstance(match, PurePath):  # an exact path: brackets in it are not a glob
        wanted = os.path.normcase(os.path.abspath(match))
        return lambda p: os.path.normcase(p) == wanted
    pattern = str(match)
    return lambda p: fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(os.path.basename(p), pattern)


class LockRule:
    """One simulated holder. Active until `times` hits, `seconds` pass, or lift()."""

    def __init__(self, match: Match, ops: Iterable[str], times: int | None, seconds: float | None,
                 winerror: int, clock: Callable[[], float]) -> None:
        self.ops = frozenset(ops)
        self.times = times
        self.winerror = winerror
        self.hits: Counter[str] = Counter()
        self._match = _matcher(match)
        self._clock = clock
        self._until = None if seconds is None else clock() + seconds
        self._lifted = False

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    @property
    def active(self) -> bool:
        if self._lifted or (self.times is not None and self.total_hits >= self.times):
            return False
        return self._until is None or self._clock() < self._until

    def lift(self) -> None:
        self._lifted = True

    def matches(self, path: str) -> bool:
        return self._match(path)


class LockSimulator:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.hits: Counter[str] = Counter()
        self.rules: list[LockRule] = []
        self._clock = clock
        self._lock = threading.RLock()
        self._local = threading.local()  # rmtree depth per thread
        self._saved: list[tuple[Any, str, Any]] = []

    # -- rules --------------------------------------------------------------------
    def lock(self, match: Match, ops: str | Iterable[str] = DEFAULT_OPS, *, times: int | None = None,
             seconds: float | None = None, winerror: int = 32) -> LockRule:
        """Make `ops` on paths matching `match` fail. `match`: a glob (tried on the full
        path and on the name), an exact Path, or a predicate on the absolute path."""
        ops = {ops} if isinstance(ops, str) else set(ops)
        unknown = ops - OPS
        if unknown:
            raise ValueError(f"unknown operations {sorted(unknown)}; choose from {sorted(OPS)}")
        rule = LockRule(match, ops, times, seconds, winerror, self._clock)
        with self._lock:
            self.rules.append(rule)
        return rule

    def lift(self) -> None:
        """End every lock (a persistent one included): the holder closed the file."""
        with self._lock:
            for rule in self.rules:
                rule.lift()

    def _check(self, op: str, *paths: str | None) -> None:
        in_rmtree = getattr(self._local, "rmtree_depth", 0) > 0
        error = None
        with self._lock:
            for rule in self.rules:
                if in_rmtree and op in ("unlink", "rmdir") and "rmtree" in rule.ops:
                    counted = "rmtree"
                elif op in rule.ops:
                    counted = op
                else:
                    continue
                if rule.active and any(p is not None and rule.matches(p) for p in paths):
                    rule.hits[counted] += 1
                    self.hits[counted] += 1
                    error = windows_error(rule.winerror, *(p for p in paths[:2]))
                    break
        if error is not None:
            raise error

    # -- patching -----------------------------------------------------------------
    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        self._saved.append((owner, name, original))
        wrapper = make(original)
        functools.update_wrapper(wrapper, original)  # keeps e.g. rmtree.avoids_symlink_attacks
        setattr(owner, name, wrapper)

    def install(self) -> "LockSimulator":
        check = self._check

        def two_paths(op: str):
            def make(orig):
                def wrapper(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
                    check(op, _full_path(src, src_dir_fd), _full_path(dst, dst_dir_fd))
                    return orig(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
                return wrapper
            return make

        def one_path(op: str):
            def make(orig):
                def wrapper(path, *, dir_fd=None):
                    check(op, _full_path(path, dir_fd))
                    return orig(path, dir_fd=dir_fd)
                return wrapper
            return make

        def make_open(orig):
            def wrapper(file, mode="r", *args, **kwargs):
                if not isinstance(file, int):
                    check("open_write" if any(c in mode for c in "wax+") else "open_read", _full_path(file))
                return orig(file, mode, *args, **kwargs)
            return wrapper

        def make_rmtree(orig):
            def wrapper(path, *args, **kwargs):
                self._local.rmtree_depth = getattr(self._local, "rmtree_depth", 0) + 1
                try:
                    return orig(path, *args, **kwargs)
                finally:
                    self._local.rmtree_depth -= 1
            return wrapper

        self._patch(os, "replace", two_paths("replace"))
        self._patch(os, "rename", two_paths("rename"))
        self._patch(os, "unlink", one_path("unlink"))
        self._patch(os, "remove", one_path("unlink"))
        self._patch(os, "rmdir", one_path("rmdir"))
        self._patch(shutil, "rmtree", make_rmtree)
        opener = make_open(builtins.open)
        functools.update_wrapper(opener, builtins.open)
        for owner, name in ((builtins, "open"), (io, "open"), (tarfile, "bltn_open")):
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, opener)
        return self

    def uninstall(self) -> None:
        while self._saved:
            owner, name, original = self._saved.pop()
            setattr(owner, name, original)

    def __enter__(self) -> "LockSimulator":
        return self.install()

    def __exit__(self, *exc_info: Any) -> None:
        self.uninstall()


@pytest.fixture
def locksim():
    """A LockSimulator installed for one test (import this fixture into a test module)."""
    with LockSimulator() as sim:
        yield sim


__all__ = ["DEFAULT_OPS", "OPS", "LockRule", "LockSimulator", "fd_path", "locksim", "sharing_violation",
           "windows_error"]
