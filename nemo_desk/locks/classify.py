"""Telling a file lock apart from other OS errors.

On Windows a sharing violation is `PermissionError` with `winerror` 32 (or 33, lock
violation) and errno EACCES; access denied (winerror 5) has the same errno but is a
permissions problem that no amount of waiting fixes, so errno alone must not decide.
"""
from __future__ import annotations

import errno

WINERROR_ACCESS_DENIED = 5
WINERROR_SHARING_VIOLATION = 32
WINERROR_LOCK_VIOLATION = 33
# A folder whose files were deleted while a scanner still had one open: the file is
# "delete pending" until the scanner closes it, so removing the folder fails for a while.
WINERROR_DIR_NOT_EMPTY = 145
LOCK_WINERRORS = frozenset({WINERROR_SHARING_VIOLATION, WINERROR_LOCK_VIOLATION})
# POSIX analogues of "someone else has it busy": a mount point or a running binary.
LOCK_ERRNOS = frozenset({errno.EBUSY, errno.ETXTBSY})


def is_lock_error(exc: BaseException) -> bool:
    if not isinstance(exc, OSError):
        return False
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return False
    winerror = getattr(exc, "winerror", None)
    if winerror is not None:
        return winerror in LOCK_WINERRORS
    return exc.errno in LOCK_ERRNOS


def is_dir_not_empty(exc: BaseException) -> bool:
    """A folder removal that failed because something is still inside it.

    Only transient while removing a whole tree (we just emptied it, so what is left is a
    delete-pending file some scanner holds); never treat it as a lock elsewhere.
    """
    if not isinstance(exc, OSError):
        return False
    winerror = getattr(exc, "winerror", None)
    if winerror is not None:
        return winerror == WINERROR_DIR_NOT_EMPTY
    return exc.errno in (errno.ENOTEMPTY, errno.EEXIST)


def is_transient_in_rmtree(exc: BaseException) -> bool:
    return is_lock_error(exc) or is_dir_not_empty(exc)
