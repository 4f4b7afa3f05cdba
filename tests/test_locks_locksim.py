"""The lock simulator itself: other tests trust it to look like Windows."""
from __future__ import annotations

import io
import os
import shutil
import tarfile
import threading

import pytest

from tests.support.locksim import LockSimulator


def test_open_for_write_is_locked_and_read_is_not_by_default(tmp_path):
    target = tmp_path / "out.srt"
    target.write_text("old")
    with LockSimulator() as sim:
        sim.lock(target)
        with pytest.raises(PermissionError) as info:
            open(target, "w")
        assert info.value.winerror == 32 and str(target) in str(info.value)
        with pytest.raises(PermissionError):
            target.write_text("new")  # pathlib goes through io.open
        assert target.read_text() == "old"
        assert sim.hits["open_write"] == 2


def test_open_for_read_can_be_locked(tmp_path):
    target = tmp_path / "in.wav"
    target.write_bytes(b"x")
    with LockSimulator() as sim:
        sim.lock("*.wav", ops="open_read")
        with pytest.raises(PermissionError):
            io.open(target, "rb")


def test_first_n_attempts_then_success(tmp_path):
    src, dst = tmp_path / "a", tmp_path / "b"
    src.write_text("a")
    with LockSimulator() as sim:
        rule = sim.lock("*/b", ops={"replace"}, times=2)
        for _ in range(2):
            with pytest.raises(PermissionError):
                os.replace(src, dst)
        os.replace(src, dst)
    assert dst.read_text() == "a" and rule.hits["replace"] == 2


def test_lock_for_a_duration_uses_the_clock(tmp_path):
    now = [0.0]
    victim = tmp_path / "v"
    victim.write_text("v")
    with LockSimulator(clock=lambda: now[0]) as sim:
        sim.lock(victim, ops="unlink", seconds=5)
        with pytest.raises(PermissionError):
            os.remove(victim)
        now[0] = 5.0
        victim.unlink()
    assert not victim.exists()


def test_persistent_lock_until_lift(tmp_path):
    victim = tmp_path / "v"
    victim.write_text("v")
    with LockSimulator() as sim:
        sim.lock(victim, ops="rename")
        for _ in range(5):
            with pytest.raises(PermissionError):
                victim.rename(tmp_path / "w")
        sim.lift()
        victim.rename(tmp_path / "w")
    assert (tmp_path / "w").exists()


def test_rmtree_of_folder_with_locked_file_raises_and_keeps_the_file(tmp_path):
    folder = tmp_path / "job"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "manifest.json").write_text("{}")
    (folder / "other.txt").write_text("x")
    with LockSimulator() as sim:
        sim.lock("*/manifest.json", ops="rmtree")
        os.unlink(folder / "other.txt")  # "rmtree" locks only deletes made by a tree removal
        with pytest.raises(PermissionError) as info:
            shutil.rmtree(folder)
        assert info.value.filename.endswith("manifest.json")
        assert sim.hits["rmtree"] == 1
    assert (folder / "sub" / "manifest.json").exists()


def test_exact_path_with_glob_characters_is_not_a_glob(tmp_path):
    odd = tmp_path / "talk[1].srt"
    odd.write_text("x")
    with LockSimulator() as sim:
        sim.lock(odd, ops="unlink")
        with pytest.raises(PermissionError):
            odd.unlink()


def test_tar_extraction_is_intercepted(tmp_path):
    payload = tmp_path / "model_config.yaml"
    payload.write_text("a: 1")
    archive = tmp_path / "m.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(payload, arcname="model_config.yaml")
    with LockSimulator() as sim, tarfile.open(archive) as tar:
        sim.lock("*/out/model_config.yaml", ops="open_write")
        with pytest.raises(PermissionError):
            tar.extractall(tmp_path / "out")


def test_uninstall_restores_everything():
    originals = (os.replace, os.rename, os.unlink, os.remove, os.rmdir, shutil.rmtree, open, io.open)
    with LockSimulator():
        assert os.replace is not originals[0]
    assert (os.replace, os.rename, os.unlink, os.remove, os.rmdir, shutil.rmtree, open, io.open) == originals


def test_hit_counting_is_exact_across_threads(tmp_path):
    target = tmp_path / "shared.srt"
    failures = []
    with LockSimulator() as sim:
        rule = sim.lock(target, ops="open_write", times=50)

        def hammer():
            for _ in range(40):
                try:
                    with open(target, "w"):
                        pass
                except PermissionError:
                    failures.append(1)

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(failures) == 50 == rule.total_hits


def test_unknown_operation_is_rejected():
    with pytest.raises(ValueError):
        LockSimulator().lock("*", ops="chmod")
