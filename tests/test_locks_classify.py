"""Which OS errors count as a lock (retry) and which do not (fail at once)."""
from __future__ import annotations

import errno

import pytest

from nemo_desk.locks.classify import is_dir_not_empty, is_lock_error, is_transient_in_rmtree
from tests.support.locksim import sharing_violation, windows_error


def _with_winerror(cls: type[OSError], code: int, winerror: int) -> OSError:
    exc = cls(code, "simulated", "C:\\x")
    exc.winerror = winerror  # what CPython sets on Windows
    return exc


@pytest.mark.parametrize("winerror", [32, 33])
def test_sharing_and_lock_violations_are_locks(winerror):
    assert is_lock_error(windows_error(winerror, "C:\\x"))
    assert is_lock_error(_with_winerror(PermissionError, errno.EACCES, winerror))


def test_access_denied_is_not_a_lock_although_errno_is_the_same():
    exc = windows_error(5, "C:\\x")
    assert exc.errno == errno.EACCES
    assert not is_lock_error(exc)


def test_missing_file_is_not_a_lock_even_with_a_lock_like_winerror():
    assert not is_lock_error(FileNotFoundError(errno.ENOENT, "gone", "x"))
    assert not is_lock_error(_with_winerror(FileNotFoundError, errno.ENOENT, 32))


@pytest.mark.parametrize("code", [errno.EBUSY, errno.ETXTBSY])
def test_posix_busy_errors_are_locks(code):
    assert is_lock_error(OSError(code, "busy", "/mnt/x"))


def test_plain_posix_permission_error_and_non_os_errors_are_not_locks():
    assert not is_lock_error(PermissionError(errno.EACCES, "denied", "/x"))
    assert not is_lock_error(ValueError("x"))


def test_directory_not_empty_is_transient_only_inside_rmtree():
    exc = windows_error(145, "C:\\dir")
    assert is_dir_not_empty(exc) and is_transient_in_rmtree(exc)
    assert not is_lock_error(exc)
    assert is_dir_not_empty(OSError(errno.ENOTEMPTY, "not empty", "/d"))
    assert not is_dir_not_empty(sharing_violation("C:\\x"))
    assert is_transient_in_rmtree(sharing_violation("C:\\x"))


def test_simulated_error_reads_like_windows():
    exc = sharing_violation("C:\\Users\\Ann\\talk.srt")
    assert isinstance(exc, PermissionError)
    assert (exc.errno, exc.winerror) == (errno.EACCES, 32)
    assert str(exc) == (
        "[WinError 32] The process cannot access the file because it is being used by another "
        "process: 'C:\\\\Users\\\\Ann\\\\talk.srt'"
    )
    assert str(sharing_violation("a", "b")).endswith(": 'a' -> 'b'")
