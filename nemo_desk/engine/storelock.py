"""One model folder changed by one process at a time, across processes.

A window and a CLI (or two CLIs) can share one profile. Without this, the second one's
start-up sweep deleted the first one's half-written `<name>.partial-<pid>` folder, and the
first run then failed with a false "not a NeMo model file"; or both unpacked the same
model and one replaced the folder the other was loading. So every check, unpack, repair or
delete of a model folder holds an OS file lock (`filelock`: fcntl on POSIX, msvcrt on
Windows), and a sweep removes only the leftovers of a model whose lock it can take: the OS
releases a lock when its process dies, however it dies (kill -9, a crash, a power cut
leaves no process), so a leftover whose lock is free belongs to no live process.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.events import LogEvent, ObserverFn, null_observer

LOCKS = ".locks"  # under the models folder; dot-named, so never listed as a model
_POLL_S = 0.2  # how often a waiting job checks its cancel token


def _lock(root: Path, name: str):
    from filelock import FileLock  # lazily: the window imports the store before it shows

    folder = Path(root) / LOCKS
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / f"{name}.lock"))


@contextlib.contextmanager
def model_lock(root: Path, name: str, observer: ObserverFn = null_observer,
               cancel: CancelToken | None = None) -> Iterator[None]:
    """Hold the lock of model folder `name`, waiting (cancellably) while another process has it."""
    from filelock import Timeout

    lock = _lock(root, name)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        observer(LogEvent("info", f"{name}: another nemo_desk window or command is unpacking or changing "
                                  "this model; waiting for it to finish"))
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                lock.acquire(timeout=_POLL_S)
                break
            except Timeout:
                continue
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def if_unowned(root: Path, name: str) -> Iterator[bool]:
    """True (and the lock held meanwhile) when no live process holds model `name`'s lock."""
    from filelock import Timeout

    lock = _lock(root, name)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
