"""The model store and the lock points around loading, on tiny real NeMo models."""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from nemo_desk.core.errors import ModelError
from nemo_desk.core.events import LogEvent, RetryEvent
from nemo_desk.engine.models import ModelManager, ModelRef
from nemo_desk.engine.store import ModelStore
from nemo_desk.engine.unpack import MARKER, is_complete
from nemo_desk.locks.fileops import FileOps, RetryPolicy
from nemo_desk.locks.lockerror import LockError
from tests.support.locksim import LockSimulator

FAST = RetryPolicy(budget_s=1.5, initial_delay=0.01, max_delay=0.2)


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models", FileOps(FAST))


def test_second_load_unpacks_nothing_and_makes_no_temp_dir(store, tiny_tdt, monkeypatch):
    manager = ModelManager(store)
    manager.get(ModelRef(path=tiny_tdt, device="cpu"))
    manager.unload()
    # Count every archive opened and every temp folder made during the second load.
    opened, made = [], []
    real_tar_open, real_mkdtemp = tarfile.open, tempfile.mkdtemp
    monkeypatch.setattr(tarfile, "open", lambda *a, **k: opened.append(a) or real_tar_open(*a, **k))
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(a) or real_mkdtemp(*a, **k))
    before = set(os.listdir(tempfile.gettempdir()))
    loaded = ModelManager(store).get(ModelRef(path=tiny_tdt, device="cpu"))
    assert loaded.model is not None
    assert opened == [] and made == []
    assert set(os.listdir(tempfile.gettempdir())) == before
    # The control: a plain NeMo restore_from of the .nemo does unpack through a temp dir.
    from nemo.collections.asr.models import ASRModel

    ASRModel.restore_from(str(tiny_tdt), map_location="cpu")
    assert opened and made


def test_model_stays_loaded_between_jobs_and_switching_frees_it(store, tiny_tdt, tiny_steered):
    manager = ModelManager(store)
    first = manager.get(ModelRef(path=tiny_tdt, device="cpu"))
    assert manager.get(ModelRef(path=tiny_tdt, device="cpu")) is first
    import weakref

    ref = weakref.ref(first.model)
    del first
    manager.get(ModelRef(path=tiny_steered, device="cpu"))
    import gc

    gc.collect()
    assert ref() is None, "the old model is still referenced after switching"


def test_half_unpacked_folder_is_detected_and_redone(store, tiny_tdt):
    folder = store.import_local(tiny_tdt)
    # Simulate a crash: the marker (written last) is missing, plus a stale partial folder.
    (folder / MARKER).unlink()
    stale = folder.with_name(folder.name + ".partial-99999")
    stale.mkdir()
    (stale / "model_weights.ckpt").write_bytes(b"half")
    assert not is_complete(folder)
    events = []
    again = store.import_local(tiny_tdt, events.append)
    assert again == folder and is_complete(folder)
    assert not stale.exists()
    assert any(isinstance(e, LogEvent) and "Unpacking" in e.message for e in events)
    assert store.verify(folder) == []


def test_verify_finds_a_damaged_file_and_delete_removes(store, tiny_tdt):
    folder = store.import_local(tiny_tdt)
    weights = folder / "model_weights.ckpt"
    with open(weights, "ab") as fh:
        fh.write(b"x")
    assert any("model_weights.ckpt" in p for p in store.verify(folder))
    [m] = store.installed()
    assert m.folder == folder and m.complete and m.size_bytes > 1_000_000
    store.delete(folder)
    assert not folder.exists() and store.installed() == []
    with pytest.raises(ModelError, match="not inside the model store"):
        store.delete(tiny_tdt.parent)


def test_not_a_nemo_file_is_refused_cleanly(store, tmp_path):
    bad = tmp_path / "bad.nemo"
    bad.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(ModelError, match="not a NeMo model file"):
        store.import_local(bad)
    truncated = tmp_path / "trunc.nemo"
    with tarfile.open(truncated, "w") as tar:
        tar.add(__file__, arcname="something.py")
    with pytest.raises(ModelError, match="holds no model_config.yaml"):
        store.import_local(truncated)
    assert [p.name for p in store.root.iterdir()] == [".locks"]  # nothing half-made left behind


def test_transient_lock_while_unpacking_is_retried(store, tiny_tdt):
    retries = []
    with LockSimulator() as sim:
        rule = sim.lock("*.partial-*/model_weights.ckpt", ops={"open_write"}, times=2)
        folder = store.import_local(tiny_tdt, retries.append)
    assert rule.hits["open_write"] == 2
    assert [e.operation for e in retries if isinstance(e, RetryEvent)] == ["unpack", "unpack"]
    assert is_complete(folder)


def test_transient_lock_while_loading_is_retried(store, tiny_tdt):
    folder = store.import_local(tiny_tdt)
    events = []
    with LockSimulator() as sim:
        rule = sim.lock(str(folder / "model_weights.ckpt"), ops={"open_read"}, times=2)
        loaded = ModelManager(store).get(ModelRef(path=tiny_tdt, device="cpu"), events.append)
    assert rule.hits["open_read"] == 2 and loaded.model is not None
    assert [e.operation for e in events if isinstance(e, RetryEvent)] == ["load model", "load model"]


def test_persistent_lock_while_unpacking_gives_lock_error_in_budget(store, tiny_tdt):
    with LockSimulator() as sim:
        sim.lock("*.partial-*/model_config.yaml", ops={"open_write"})
        started = time.monotonic()
        with pytest.raises(LockError) as info:
            store.import_local(tiny_tdt)
    assert time.monotonic() - started < FAST.budget_s + 2
    assert info.value.path.endswith("model_config.yaml")
    assert info.value.steps and "in use by another process" in info.value.user_message
    assert not list(store.root.glob("*.partial-*"))  # cleaned after the failure


def test_two_threads_importing_the_same_model_unpack_it_once(store, tiny_tdt):
    import threading

    events, results = [], []
    threads = [threading.Thread(target=lambda: results.append(store.import_local(tiny_tdt, events.append)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2 and results[0] == results[1] and is_complete(results[0])
    assert sum(1 for e in events if isinstance(e, LogEvent) and "Unpacking" in e.message) == 1


def test_a_job_waiting_for_the_store_can_be_cancelled(store, tiny_tdt):
    """A download or import in the Models dialog holds the store; a job that needs a model
    meanwhile says it waits, stops promptly when cancelled, and proceeds when it is free."""
    import threading

    from nemo_desk.core.cancel import CancelToken, Cancelled

    held, release = threading.Event(), threading.Event()

    def dialog_task():
        with store._lock:  # what a long download holds
            held.set()
            release.wait(30)

    holder = threading.Thread(target=dialog_task)
    holder.start()
    try:
        held.wait(10)
        token, events = CancelToken(), []
        threading.Timer(0.3, token.cancel).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            store.import_local(tiny_tdt, events.append, token)
        assert time.monotonic() - started < 3
        assert any(isinstance(e, LogEvent) and "waiting for another download" in e.message for e in events)
        # Not cancelled: it waits, then proceeds once the store is free.
        later = threading.Timer(0.3, release.set)
        later.start()
        assert is_complete(store.import_local(tiny_tdt, events.append, CancelToken()))
    finally:
        release.set()
        holder.join(10)
