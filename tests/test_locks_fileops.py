"""The one retry policy: transient locks pass with logged retries, persistent ones end
as LockError within the budget, everything else fails at once."""
from __future__ import annotations

import gc
import os
import stat
import sys
import time
from pathlib import Path

import pytest
import tenacity  # noqa: F401  (loaded before tests patch sys.version_info; fileops imports it lazily)

from nemo_desk.core.events import RetryEvent
from nemo_desk.locks.fileops import FileOps, RetryPolicy
from nemo_desk.locks.lockerror import Holder, LockError, LockReport
from tests.support.locksim import LockSimulator, fd_path, windows_error

FAST = RetryPolicy(budget_s=1.0, initial_delay=0.01, max_delay=0.1, jitter=0.0)


class Recorder:
    def __init__(self) -> None:
        self.events: list[RetryEvent] = []
        self.sleeps: list[float] = []

    def observe(self, event) -> None:
        self.events.append(event)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def rec():
    return Recorder()


@pytest.fixture
def ops(rec):
    return FileOps(FAST, rec.observe, sleep=rec.sleep)


def _assert_retries(rec: Recorder, operation: str, path: Path, count: int) -> None:
    assert [e.attempt for e in rec.events] == list(range(1, count + 1))
    assert all(e.operation == operation and e.path == str(path) for e in rec.events)
    assert all(e.delay > 0 for e in rec.events)
    assert [e.delay for e in rec.events] == rec.sleeps
    assert "WinError 32" in rec.events[0].error
    assert str(path) in rec.events[0].describe() and "attempt 1/" in rec.events[0].describe()


def test_transient_lock_on_replace_succeeds_after_retries(tmp_path, ops, rec):
    src, dst = tmp_path / "new.srt.tmp", tmp_path / "talk.srt"
    src.write_text("new")
    dst.write_text("old")
    with LockSimulator() as sim:
        sim.lock(dst, ops="replace", times=3)
        ops.replace(src, dst)
    assert dst.read_text() == "new"
    _assert_retries(rec, "replace", dst, 3)


def test_transient_lock_on_unlink(tmp_path, ops, rec):
    victim = tmp_path / "x.wav"
    victim.write_bytes(b"x")
    with LockSimulator() as sim:
        sim.lock(victim, ops="unlink", times=2)
        ops.unlink(victim)
    assert not victim.exists()
    _assert_retries(rec, "delete", victim, 2)


def test_transient_lock_inside_rmtree(tmp_path, ops, rec):
    folder = tmp_path / "extract"
    (folder / "deep").mkdir(parents=True)
    (folder / "deep" / "model_weights.ckpt").write_bytes(b"w" * 10)
    (folder / "model_config.yaml").write_text("a: 1")
    with LockSimulator() as sim:
        sim.lock("*.ckpt", ops="rmtree", times=4)
        ops.rmtree(folder)
    assert not folder.exists()
    _assert_retries(rec, "remove folder", folder, 4)


def test_transient_lock_on_open_for_writing_and_rename(tmp_path, ops, rec):
    target = tmp_path / "talk.vtt"
    with LockSimulator() as sim:
        sim.lock(target, ops={"open_write", "rename"}, times=2)
        with ops.open(target, "w", encoding="utf-8") as f:
            f.write("WEBVTT")
        _assert_retries(rec, "open for writing", target, 2)
        rec.events.clear(), rec.sleeps.clear()
        sim.lock(target, ops="rename", times=1)
        ops.rename(target, tmp_path / "renamed.vtt")
    assert (tmp_path / "renamed.vtt").read_text() == "WEBVTT"
    assert len(rec.events) == 1 and rec.events[0].operation == "rename"


def test_folder_left_not_empty_by_a_delete_pending_file_is_retried(tmp_path, ops, rec):
    folder = tmp_path / "tmpabc"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    with LockSimulator() as sim:
        sim.lock(folder, ops="rmdir", times=2, winerror=145)
        ops.rmtree(folder)
    assert not folder.exists() and len(rec.events) == 2


def test_persistent_lock_ends_in_lock_error_within_the_budget(tmp_path):
    seen = []

    def diagnose(path, operation, exc):
        seen.append((path, operation, exc))
        return LockReport(path, operation, Holder("antivirus", "Microsoft Defender"), ("Retry.",), str(exc))

    ops = FileOps(RetryPolicy(budget_s=1.0, initial_delay=0.05, max_delay=0.4, jitter=0.05), diagnose=diagnose)
    src, dst = tmp_path / "a.tmp", tmp_path / "talk.srt"
    src.write_text("a")
    with LockSimulator() as sim:
        rule = sim.lock(dst, ops="replace")
        start = time.monotonic()
        with pytest.raises(LockError) as info:
            ops.replace(src, dst)
        elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 2.0
    assert rule.total_hits >= 4
    err = info.value
    assert (err.path, err.operation, err.holder.kind) == (str(dst), "replace", "antivirus")
    assert err.__cause__.winerror == 32
    assert seen and seen[0][:2] == (str(dst), "replace")
    assert str(dst) in err.user_message and "1. Retry." in err.user_message


def test_persistent_lock_with_a_fake_sleep_still_ends_at_the_budget(tmp_path, rec):
    """Tenacity's clock ignores an injected sleep; the budget must count the sleeps."""
    ops = FileOps(RetryPolicy(budget_s=10.0, initial_delay=0.05, max_delay=2.0, jitter=0.0),
                  rec.observe, sleep=rec.sleep)
    victim = tmp_path / "x"
    victim.write_text("x")
    start = time.monotonic()
    with LockSimulator() as sim, pytest.raises(LockError):
        sim.lock(victim, ops="unlink")
        ops.unlink(victim)
    assert time.monotonic() - start < 1.0
    # The budget counts sleeps plus the time our one or two gc.collect() calls took.
    assert 9.0 <= sum(rec.sleeps) <= 10.0 + 1e-6
    assert max(rec.sleeps) <= 2.0


def test_access_denied_is_tried_exactly_once(rec):
    calls = []

    def denied():
        calls.append(1)
        raise windows_error(5, "C:\\Program Files\\x.srt")

    with pytest.raises(PermissionError) as info:
        FileOps(FAST, rec.observe, sleep=rec.sleep).call("replace", "C:\\Program Files\\x.srt", denied)
    assert not isinstance(info.value, LockError) and info.value.winerror == 5
    assert calls == [1] and rec.events == []


def test_missing_file_is_not_retried(tmp_path, ops, rec):
    with pytest.raises(FileNotFoundError):
        ops.unlink(tmp_path / "nope", missing_ok=False)
    with pytest.raises(FileNotFoundError):
        ops.rmtree(tmp_path / "nope", missing_ok=False)
    ops.rmtree(tmp_path / "nope")
    assert rec.events == []


def test_gc_collect_runs_between_tries_on_windows(tmp_path, rec, monkeypatch, fake_windows):
    # simulated: the default follows the platform
    ops = FileOps(FAST, rec.observe, sleep=rec.sleep)
    assert ops.collect_garbage and ops.with_observer(rec.observe).collect_garbage
    collected = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(1) or 0)
    victim = tmp_path / "x"
    victim.write_text("x")
    with LockSimulator() as sim:
        sim.lock(victim, ops="unlink", times=5)
        ops.unlink(victim)
    # After the first failed try (our own leaked handles) and once more later; not on
    # every try, since a full collection is slow in a process holding a model.
    assert len(collected) == 2


def test_broken_observer_or_diagnosis_does_not_hide_the_lock(tmp_path, rec):
    def bad_observer(event):
        raise RuntimeError("GUI gone")

    def bad_diagnose(*args):
        raise RuntimeError("diagnosis bug")

    ops = FileOps(FAST, bad_observer, bad_diagnose, sleep=rec.sleep)
    victim = tmp_path / "x"
    victim.write_text("x")
    with LockSimulator() as sim:
        sim.lock(victim, ops="unlink", times=2)
        ops.unlink(victim)  # retried despite the observer failing
        victim.write_text("x")
        sim.lock(victim, ops="unlink")
        with pytest.raises(LockError) as info:
            ops.unlink(victim)
    assert info.value.holder.kind == "unknown"


def test_read_only_file_in_a_tree_is_removed_without_retries(tmp_path, ops, rec, monkeypatch):
    """Windows refuses to delete read-only files (access denied, winerror 5)."""
    folder = tmp_path / "unpacked"
    folder.mkdir()
    ro = folder / "tokenizer.model"
    ro.write_text("t")
    ro.chmod(stat.S_IREAD)
    real_unlink = os.unlink

    def windows_unlink(path, *, dir_fd=None):
        full = os.path.join(fd_path(dir_fd), path) if dir_fd is not None else path
        if not os.stat(full).st_mode & stat.S_IWRITE:
            raise windows_error(5, os.fspath(full))
        return real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", windows_unlink)
    ops.rmtree(folder)
    assert not folder.exists() and rec.events == []


def test_access_denied_that_stays_is_raised_at_once_from_rmtree(tmp_path, ops, rec, monkeypatch):
    folder = tmp_path / "protected"
    folder.mkdir()
    (folder / "f").write_text("f")
    attempts = []

    def denied(path, *, dir_fd=None):
        attempts.append(path)
        raise windows_error(5, os.fspath(path))

    monkeypatch.setattr(os, "unlink", denied)
    with pytest.raises(PermissionError):
        ops.rmtree(folder)
    assert len(attempts) == 2  # the first try and the one after clearing read-only
    assert rec.events == []


def test_attempt_estimate_matches_the_budget():
    assert FAST.max_attempts_estimate() >= 10
    assert RetryPolicy(budget_s=0.0).max_attempts_estimate() == 1


def test_python_312_gets_onexc_instead_of_the_deprecated_onerror(tmp_path, monkeypatch, ops):
    import shutil
    import sys

    seen = {}

    def fake_rmtree(path, **kwargs):
        seen.update(kwargs)
        kwargs["onexc"](os.unlink, os.path.join(path, "gone"), FileNotFoundError(2, "gone"))

    (tmp_path / "d").mkdir()
    monkeypatch.setattr(sys, "version_info", (3, 12, 0))
    monkeypatch.setattr(shutil, "rmtree", fake_rmtree)
    ops.rmtree(tmp_path / "d")
    assert set(seen) == {"onexc"}


def test_slow_attempts_do_not_use_up_the_budget(rec):
    """A model load takes longer than the whole budget; a lock met at its end must still be
    retried: the budget bounds waiting, not the work."""
    calls = []

    def slow_load():
        calls.append(1)
        time.sleep(0.3)
        if len(calls) < 3:
            raise windows_error(32, "C:\\models\\x\\model_weights.ckpt")
        return "model"

    ops = FileOps(RetryPolicy(budget_s=0.2, initial_delay=0.01, max_delay=0.05), rec.observe)
    assert ops.call("load model", "C:\\models\\x", slow_load) == "model"
    assert len(calls) == 3


def test_no_garbage_collection_where_open_files_never_block(tmp_path, rec, monkeypatch):
    """POSIX deletes and renames open files freely: a collection would only cost time."""
    monkeypatch.setattr(sys, "platform", "linux")
    collected = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(1) or 0)
    victim = tmp_path / "x"
    victim.write_text("x")
    with LockSimulator() as sim:
        sim.lock(victim, ops="unlink", times=2)
        FileOps(FAST, rec.observe, sleep=rec.sleep).unlink(victim)
    assert collected == []
