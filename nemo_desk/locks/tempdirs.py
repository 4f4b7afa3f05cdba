"""Make `tempfile.TemporaryDirectory` cleanup lock-tolerant, process-wide.

NeMo creates `tempfile.TemporaryDirectory()` without `ignore_cleanup_errors` (model
restore, transcribe manifests). On Windows a scanner still reading a fresh file makes
the delete fail with WinError 32, and that error escapes from an otherwise successful
load. Our subclass removes the folder through `FileOps.rmtree` (short locks are retried
and reported), and when it still cannot, it logs a warning and moves on: the folder is
inside the app's temp root, which the start-up sweep clears.

The patch is installed by the composition root (which owns the FileOps and the log),
before NeMo is imported; NeMo looks `tempfile.TemporaryDirectory` up at call time.
"""
from __future__ import annotations

import tempfile
from typing import Any, Callable

from nemo_desk.locks.fileops import FileOps
from nemo_desk.locks.lockerror import LockError


def install_tolerant_tempdirs(fileops: FileOps, log: Callable[[str], None]) -> Callable[[], None]:
    """Replace `tempfile.TemporaryDirectory`; returns a function that puts the original back."""
    original = tempfile.TemporaryDirectory

    def remove(name: str) -> None:
        try:
            fileops.rmtree(name)
        except (LockError, OSError) as exc:
            try:
                log(f"could not remove temporary folder {name}; it will be removed at next start ({exc})")
            except Exception:
                pass

    class TolerantTemporaryDirectory(original):  # type: ignore[misc, valid-type]
        # All three ways out lead here: `with` exit and explicit cleanup() call
        # self._rmtree; the weakref finalizer calls cls._cleanup, which calls cls._rmtree.
        # Extra arguments (3.12 added `repeated`) are accepted and ignored.
        @classmethod
        def _rmtree(cls, name: str, ignore_errors: bool = False, *args: Any, **kwargs: Any) -> None:
            remove(name)

    def uninstall() -> None:
        if tempfile.TemporaryDirectory is TolerantTemporaryDirectory:
            tempfile.TemporaryDirectory = original  # type: ignore[misc]

    tempfile.TemporaryDirectory = TolerantTemporaryDirectory  # type: ignore[misc]
    return uninstall
