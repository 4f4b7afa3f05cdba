"""TemporaryDirectory cleanup that a scanner's lock cannot turn into a failed job."""
from __future__ import annotations

import gc
import os
import sys
import tempfile
from pathlib import Path

import pytest

from nemo_desk.locks.fileops import FileOps, RetryPolicy
from nemo_desk.locks.tempdirs import install_tolerant_tempdirs
from nemo_desk.paths import sweep_temp
from tests.support.locksim import LockSimulator

POLICY = RetryPolicy(budget_s=0.5, initial_delay=0.01, max_delay=0.1, jitter=0.0)


class Harness:
    def __init__(self) -> None:
        self.events: list = []
        self.warnings: list[str] = []
        self.fileops = FileOps(POLICY, self.events.append, sleep=lambda s: None)


@pytest.fixture
def tolerant():
    h = Harness()
    original = tempfile.TemporaryDirectory
    uninstall = install_tolerant_tempdirs(h.fileops, h.warnings.append)
    try:
        yield h
    finally:
        uninstall()
    assert tempfile.TemporaryDirectory is original


@pytest.fixture
def root(tmp_path):
    # A leftover belongs to a run folder of a process that is gone by the next start.
    run = tmp_path / "temp" / "run-4999999-1"
    run.mkdir(parents=True)
    return run


def _fill(folder: str) -> Path:
    (Path(folder) / "sub").mkdir()
    manifest = Path(folder) / "sub" / "manifest.json"
    manifest.write_text("{}")
    return manifest


def test_the_plain_class_fails_like_nemo_does(root):
    """Control: without the patch the simulated lock escapes from a `with` block."""
    with LockSimulator() as sim:
        sim.lock("*/manifest.json", ops="rmtree")
        with pytest.raises(OSError):
            with tempfile.TemporaryDirectory(dir=root) as d:
                _fill(d)
        sim.lift()


def test_transient_lock_is_retried_and_the_folder_removed(tolerant, root):
    with LockSimulator() as sim:
        sim.lock("*/manifest.json", ops="rmtree", times=3)
        with tempfile.TemporaryDirectory(dir=root) as d:
            _fill(d)
    assert not os.path.exists(d)
    assert len(tolerant.events) == 3 and tolerant.events[0].operation == "remove folder"
    assert tolerant.events[0].path == d and tolerant.warnings == []


def test_persistent_lock_warns_keeps_the_leftover_and_the_sweep_removes_it(tolerant, root):
    with LockSimulator() as sim:
        sim.lock("*/manifest.json", ops="rmtree")
        with tempfile.TemporaryDirectory(dir=root) as d:  # no exception leaves the block
            _fill(d)
        sim.lift()
    assert os.path.exists(d)
    assert len(tolerant.warnings) == 1
    assert d in tolerant.warnings[0] and "removed at next start" in tolerant.warnings[0]
    result = sweep_temp(root.parent, tolerant.fileops)  # the next start
    assert result.removed == [root] and not os.path.exists(d)


def test_explicit_cleanup_with_a_persistent_lock(tolerant, root):
    td = tempfile.TemporaryDirectory(dir=root, ignore_cleanup_errors=False)
    _fill(td.name)
    with LockSimulator() as sim:
        sim.lock("*/manifest.json", ops="rmtree")
        td.cleanup()
        sim.lift()
    assert os.path.exists(td.name) and len(tolerant.warnings) == 1
    td.cleanup()  # a second call after the lock is gone removes it
    assert not os.path.exists(td.name)


@pytest.mark.parametrize("persistent", [False, True])
def test_finalizer_path(tolerant, root, monkeypatch, persistent):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    td = tempfile.TemporaryDirectory(dir=root)
    name = td.name
    _fill(name)
    with LockSimulator() as sim:
        sim.lock("*/manifest.json", ops="rmtree", times=None if persistent else 2)
        with pytest.warns(ResourceWarning, match="Implicitly cleaning up"):
            del td
            gc.collect()
        sim.lift()
    assert unraisable == []
    assert os.path.exists(name) is persistent
    assert len(tolerant.warnings) == (1 if persistent else 0)


def test_any_other_os_error_is_a_warning_too(tolerant, root, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(tolerant.fileops, "rmtree", broken)
    with tempfile.TemporaryDirectory(dir=root) as d:
        pass
    assert d in tolerant.warnings[0] and "I/O error" in tolerant.warnings[0]


def test_instances_are_still_temporary_directories(root):
    original = tempfile.TemporaryDirectory
    uninstall = install_tolerant_tempdirs(Harness().fileops, print)
    try:
        td = tempfile.TemporaryDirectory(dir=root, ignore_cleanup_errors=True)
        assert isinstance(td, original) and tempfile.TemporaryDirectory is not original
        _fill(td.name)
        td.cleanup()
        assert not os.path.exists(td.name)
    finally:
        uninstall()
    assert tempfile.TemporaryDirectory is original
