"""One retry policy for every file operation that Windows can lock.

Scanners and sync clients open fresh files for milliseconds to seconds, so a lock is
usually gone if we wait: exponential backoff with jitter inside a bounded total budget,
`gc.collect()` between tries (our own leaked handles are a holder too), and each retry
reported as an event. When the budget is spent the error becomes a `LockError` with a
diagnosis. Anything that is not a lock (access denied, missing file) is raised at once.
"""
from __future__ import annotations

import gc
import logging
import os
import shutil
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from nemo_desk.core.states import FileOp
from nemo_desk.core.events import ObserverFn, RetryEvent, null_observer
from nemo_desk.core.longpaths import long_path
from nemo_desk.locks.classify import is_lock_error, is_transient_in_rmtree
from nemo_desk.locks.lockerror import Holder, LockError, LockReport

T = TypeVar("T")
Diagnoser = Callable[[str, str, BaseException], LockReport]
_log = logging.getLogger(__name__)


def plain_diagnosis(path: str, operation: str, exc: BaseException) -> LockReport:
    """Fallback diagnosis used when the composition root supplies none."""
    return LockReport(
        path=path,
        operation=operation,
        holder=Holder("unknown", "another program"),
        steps=("Close other programs that may use the file, then retry.",),
        error=str(exc),
    )


@dataclass(frozen=True)
class RetryPolicy:
    budget_s: float = 10.0
    initial_delay: float = 0.05
    max_delay: float = 2.0
    jitter: float = 0.1

    def max_attempts_estimate(self) -> int:
        """Roughly how many tries fit in the budget; only for 'attempt n/N' in messages."""
        total, delay, n = 0.0, self.initial_delay, 1
        while total + delay <= self.budget_s:
            total += delay
            delay = min(delay * 2, self.max_delay)
            n += 1
        return n


class FileOps:
    """Lock-aware file operations. One instance is made by the composition root."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        observer: ObserverFn = null_observer,
        diagnose: Diagnoser = plain_diagnosis,
        sleep: Callable[[float], None] = time.sleep,
        collect_garbage: bool | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.observer = observer
        self.diagnose = diagnose
        self._sleep = sleep
        # Only Windows refuses to delete or rename a file that is still open, so only there
        # can one of our own unreferenced file objects be the holder worth collecting.
        self.collect_garbage = sys.platform == "win32" if collect_garbage is None else collect_garbage

    def with_observer(self, observer: ObserverFn) -> "FileOps":
        return FileOps(self.policy, observer, self.diagnose, self._sleep, self.collect_garbage)

    def derive(
        self,
        *,
        policy: RetryPolicy | None = None,
        observer: ObserverFn | None = None,
        diagnose: Diagnoser | None = None,
    ) -> "FileOps":
        """A sibling with some parts swapped, e.g. a short budget for start-up sweeps."""
        return FileOps(policy or self.policy, observer or self.observer, diagnose or self.diagnose,
                       self._sleep, self.collect_garbage)

    def call(self, operation: str, path: str | os.PathLike, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._run(operation, path, is_lock_error, fn, args, kwargs)

    def _run(
        self,
        operation: str,
        path: str | os.PathLike,
        transient: Callable[[BaseException], bool],
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        import tenacity  # here, not at module level: the window shows before it is needed

        policy = self.policy
        path_s = os.fsdecode(path)
        max_attempts = policy.max_attempts_estimate()
        # Built from primitives that every tenacity >= 8 has (wait_exponential_jitter
        # renamed its arguments in 9.x and warns about the old ones).
        backoff = tenacity.wait_exponential(multiplier=policy.initial_delay, max=policy.max_delay) + (
            tenacity.wait_random(0, policy.jitter)
        )

        # The budget bounds the time spent *waiting* (sleeps and collections), not the
        # attempts themselves: a model load that takes 15 s and then meets a scanner's
        # lock must still get its retries. Counting our own waits also keeps an injected
        # fake sleep (tests, a cancellable wait) within the budget.
        spent = [0.0]

        def elapsed(state: Any) -> float:
            return spent[0]

        # The last wait is cut to what is left of the budget instead of overshooting it
        # by up to max_delay: the user waits at most about budget_s.
        def wait(state: Any) -> float:
            return max(0.0, min(backoff(state), policy.budget_s - elapsed(state)))

        def stop(state: Any) -> bool:
            return elapsed(state) >= policy.budget_s

        def before_sleep(state: Any) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            event = RetryEvent(
                operation=operation,
                path=path_s,
                attempt=state.attempt_number,
                max_attempts=max(max_attempts, state.attempt_number + 1),
                delay=delay,
                error=str(exc),
            )
            try:
                self.observer(event)
            except Exception:  # a broken listener must not turn a busy file into a failure
                _log.exception("retry observer failed")
            # Our own unreferenced file objects (in reference cycles) are holders too; one
            # collection frees them. Later retries wait for other processes, and a full
            # collection costs real time in a process holding a large model.
            if self.collect_garbage and state.attempt_number in (1, 4):
                started = time.monotonic()
                gc.collect()
                spent[0] += time.monotonic() - started
            spent[0] += delay

        retrying = tenacity.Retrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(transient),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(fn, *args, **kwargs)
        except OSError as exc:
            if transient(exc):
                raise LockError(self._diagnose(path_s, operation, exc)) from exc
            raise

    def _diagnose(self, path: str, operation: str, exc: BaseException) -> LockReport:
        # The diagnosis is advice; if it breaks, the user must still get the lock error.
        try:
            return self.diagnose(path, operation, exc)
        except Exception:
            _log.exception("lock diagnosis failed for %s", path)
            return plain_diagnosis(path, operation, exc)

    # The common operations, each a named retry point.
    # The OS gets long_path(...) (Windows' 260-character limit lifted); messages, retry
    # events and lock reports keep the path as the user knows it.
    def replace(self, src: str | os.PathLike, dst: str | os.PathLike) -> None:
        self.call(FileOp.REPLACE, dst, os.replace, long_path(src), long_path(dst))

    def unlink(self, path: str | os.PathLike, missing_ok: bool = True) -> None:
        self.call(FileOp.DELETE, path, Path(long_path(path)).unlink, missing_ok=missing_ok)

    def rmtree(self, path: str | os.PathLike, missing_ok: bool = True) -> None:
        if missing_ok and not os.path.lexists(long_path(path)):
            return
        # Each retry starts over on what is left; a folder emptied while a scanner holds a
        # delete-pending file inside reports "not empty" for a while, which is a lock too.
        self._run(FileOp.REMOVE_FOLDER, path, is_transient_in_rmtree, _rmtree_once, (long_path(path), missing_ok), {})

    def rename(self, src: str | os.PathLike, dst: str | os.PathLike) -> None:
        self.call(FileOp.RENAME, src, os.rename, long_path(src), long_path(dst))

    def open(self, path: str | os.PathLike, mode: str = "rb", **kwargs: Any):
        op = FileOp.OPEN_FOR_WRITING if any(c in mode for c in "wax+") else FileOp.OPEN
        return self.call(op, path, open, long_path(path), mode, **kwargs)


def _rmtree_once(root: str | os.PathLike, missing_ok: bool) -> None:
    root_s = os.fsdecode(root)

    def handle(func: Callable[..., Any], path: str, exc: BaseException) -> None:
        # Entries that vanished under us (another cleanup, a sync client) are fine.
        if isinstance(exc, FileNotFoundError) and (missing_ok or os.fsdecode(path) != root_s):
            return
        # Read-only files (unpacked archives keep their modes) cannot be deleted on
        # Windows: access denied, not a lock. Clear the flag and try that entry again.
        if isinstance(exc, PermissionError) and not is_lock_error(exc):
            try:
                _remove_readonly(path)
                return
            except FileNotFoundError:
                return
            except OSError as again:
                if is_lock_error(again):
                    raise again from exc
        raise exc

    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=handle)
    else:  # onerror gets exc_info; it is deprecated from 3.12 on
        shutil.rmtree(root, onerror=lambda func, path, info: handle(func, path, info[1]))


def _remove_readonly(path: str) -> None:
    os.chmod(path, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
    if os.path.isdir(path) and not os.path.islink(path):
        os.rmdir(path)
    else:
        os.unlink(path)
