"""Damaged models are repaired or explained; archives are checked before unpacking.

Tiny real NeMo models (tests/conftest.py), real torch loads: the errors below are the ones
torch and NeMo really raise for these damages.
"""
from __future__ import annotations

import errno
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from nemo_desk.core.errors import ModelError
from nemo_desk.core.events import LogEvent
from nemo_desk.engine import unpack as unpack_module
from nemo_desk.engine.catalog import DEFAULT_MODEL_ID, get_spec
from nemo_desk.engine.models import ModelManager, ModelRef
from nemo_desk.engine.store import ModelStore
from nemo_desk.engine.unpack import MARKER, unpack_nemo, verify
from nemo_desk.locks.fileops import FileOps, RetryPolicy

FAST = RetryPolicy(budget_s=1.0, initial_delay=0.01, max_delay=0.1)


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models", FileOps(FAST))


def garble(path: Path) -> None:
    """Same size, other bytes: only a hash can tell."""
    path.write_bytes(os.urandom(path.stat().st_size))


def tokenizer_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if "tokenizer" in p.name or p.name.endswith("vocab.txt")]


def catalog_copy(store: ModelStore, nemo: Path, tmp_path: Path) -> Path:
    """The tiny model installed as if it were the default catalog model, whose downloaded
    .nemo is deleted after unpacking (as the store does)."""
    download = tmp_path / "download.nemo"
    shutil.copy(nemo, download)
    folder = unpack_nemo(download, store.folder_for(get_spec(DEFAULT_MODEL_ID)), store.fileops,
                         info={"model_id": DEFAULT_MODEL_ID})
    download.unlink()
    return folder


def test_unpack_records_size_and_hash_and_verify_checks_them(store, tiny_tdt):
    folder = store.import_local(tiny_tdt)
    marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    assert set(marker["sha256"]) == set(marker["files"]) and "model_weights.ckpt" in marker["files"]
    assert store.verify(folder) == []
    garble(folder / "model_weights.ckpt")
    assert store.verify(folder) == ["model_weights.ckpt has changed since it was unpacked (its SHA-256 differs)"]
    assert verify(folder, deep=False) == []  # the per-load check is sizes only


def test_verify_reports_a_damaged_marker(store, tiny_tdt):
    folder = store.import_local(tiny_tdt)
    (folder / MARKER).write_text("{ not json", encoding="utf-8")
    assert store.verify(folder) == [f"the record of what was unpacked ({MARKER}) is damaged"]
    (folder / MARKER).write_text("[]", encoding="utf-8")
    assert store.verify(folder) == [f"the record of what was unpacked ({MARKER}) is damaged"]


def test_models_verify_command_fails_for_bad_weights(tmp_path, tiny_tdt, monkeypatch):
    from nemo_desk import cli
    from nemo_desk.app import build_services

    monkeypatch.setenv("NEMO_DESK_HOME", str(tmp_path / "home"))
    services = build_services()
    folder = catalog_copy(services.store, tiny_tdt, tmp_path)
    services.close()
    def run() -> tuple[int, io.StringIO]:
        out = io.StringIO()
        return cli.run(["models", "verify", DEFAULT_MODEL_ID], lambda **kw: build_services(**kw),
                       out=out, err=io.StringIO()), out

    code, out = run()
    assert code == 0 and out.getvalue() == f"{folder}: OK\n"
    garble(folder / "model_weights.ckpt")
    code, out = run()
    assert code == 1 and "model_weights.ckpt has changed since it was unpacked" in out.getvalue()


def test_garbage_weights_of_a_local_model_are_unpacked_again_and_load(store, tiny_tdt):
    folder = store.import_local(tiny_tdt)
    garble(folder / "model_weights.ckpt")
    events: list = []
    loaded = ModelManager(store).get(ModelRef(path=tiny_tdt, device="cpu"), events.append)
    assert loaded.model is not None and store.verify(folder) == []
    assert any(isinstance(e, LogEvent) and "is damaged (model_weights.ckpt has changed" in e.message
               and "unpacking it again" in e.message for e in events)


def test_half_deleted_local_model_is_unpacked_again(store, tiny_tdt):
    folder = store.import_local(tiny_tdt)
    for p in tokenizer_files(folder):
        p.unlink()
    events: list = []
    loaded = ModelManager(store).get(ModelRef(path=tiny_tdt, device="cpu"), events.append)
    assert loaded.model is not None and tokenizer_files(folder)
    assert any(isinstance(e, LogEvent) and "damaged (missing" in e.message for e in events)


def test_damaged_catalog_model_without_its_nemo_says_how_to_repair(store, tiny_tdt, tmp_path):
    folder = catalog_copy(store, tiny_tdt, tmp_path)
    garble(folder / "model_weights.ckpt")
    with pytest.raises(ModelError) as info:
        ModelManager(store).get(ModelRef(model_id=DEFAULT_MODEL_ID, device="cpu"))
    message = info.value.user_message
    assert "weights_only" not in message and "arbitrary code" not in message
    assert message == (f"the model in {folder} is damaged (model_weights.ckpt has changed since it was unpacked "
                       f"(its SHA-256 differs)). To repair it, delete it (nemo-desk models delete {DEFAULT_MODEL_ID}, "
                       "or Models in the window) and download it again")
    for p in tokenizer_files(folder):  # half deleted: found before loading, no abstract-class TypeError
        p.unlink()
    with pytest.raises(ModelError, match=r"is damaged \(missing .*\)\. To repair it, delete it") as info:
        ModelManager(store).get(ModelRef(model_id=DEFAULT_MODEL_ID, device="cpu"))
    assert "abstract" not in info.value.user_message


def _repacked(src: Path, dst: Path, change=None, extra: dict[str, bytes] | None = None, mode: str = "w") -> Path:
    """A copy of the .nemo `src`, with members changed or added."""
    with tarfile.open(src, "r:*") as tar_in, tarfile.open(dst, mode) as tar_out:
        for m in tar_in.getmembers():
            data = tar_in.extractfile(m).read() if m.isfile() else None
            if data is not None and change is not None:
                data = change(m.name, data)
                m.size = len(data)
            tar_out.addfile(m, io.BytesIO(data) if data is not None else None)
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar_out.addfile(info, io.BytesIO(data))
    return dst


def test_a_nemo_with_bad_weights_gets_a_plain_message_not_torchs_advice(store, tiny_tdt, tmp_path):
    bad = _repacked(tiny_tdt, tmp_path / "bad-weights.nemo",
                    change=lambda name, data: os.urandom(len(data)) if name.endswith(".ckpt") else data)
    with pytest.raises(ModelError) as info:
        ModelManager(store).get(ModelRef(path=bad, device="cpu"))
    message = info.value.user_message
    assert "weights_only" not in message and "arbitrary code" not in message
    assert "its weights file is not a readable PyTorch checkpoint" in message


def test_an_archive_never_supplies_the_apps_own_files(store, tiny_tdt, tmp_path):
    planted = json.dumps({"key": [0, 0], "config": {"target": "os.system"}}).encode()
    bad = _repacked(tiny_tdt, tmp_path / "planted.nemo",
                    extra={"./nemo_desk_config.json": planted, f"./{MARKER}": b'{"files": {}}'})
    folder = store.import_local(bad)
    assert not (folder / "nemo_desk_config.json").exists()
    marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    assert "model_weights.ckpt" in marker["files"] and "nemo_desk_config.json" not in marker["files"]
    assert ModelManager(store).get(ModelRef(path=bad, device="cpu")).model is not None


def test_an_archive_bomb_is_refused_before_writing(store, tiny_tdt, tmp_path):
    bomb = tmp_path / "bomb.nemo"
    zeros = 150 * 1024**2
    with tarfile.open(bomb, "w:gz") as tar:
        for name in ("model_config.yaml", "model_weights.ckpt"):
            info = tarfile.TarInfo(name)
            info.size = zeros if name.endswith(".ckpt") else 10
            tar.addfile(info, _Zeros(info.size))
    assert bomb.stat().st_size < 1024**2
    with pytest.raises(ModelError, match=r"would expand from .* KB to 150.0 MB \(.* times its size\)"):
        store.import_local(bomb)
    assert [p.name for p in store.root.iterdir()] == [".locks"]  # only the (released) lock files


class _Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def test_not_enough_free_space_is_refused_before_writing(store, tiny_tdt, monkeypatch):
    real = shutil.disk_usage
    monkeypatch.setattr(unpack_module.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=unpack_module.FREE_MARGIN + 1000))
    with pytest.raises(ModelError, match=r"^unpacking tiny-tdt.nemo needs .* MB but only .* are free on the drive"):
        store.import_local(tiny_tdt)
    assert [p.name for p in store.root.iterdir()] == [".locks"]  # only the (released) lock files


def test_disk_full_while_unpacking_is_a_message_not_a_traceback(store, tiny_tdt, monkeypatch):
    real = tarfile.TarFile.extract

    def full(self, member, *a, **k):
        if member.name.endswith(".ckpt"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, member, *a, **k)

    monkeypatch.setattr(tarfile.TarFile, "extract", full)
    with pytest.raises(ModelError, match="^not enough disk space to unpack tiny-tdt.nemo into"):
        store.import_local(tiny_tdt)
    assert [p.name for p in store.root.iterdir()] == [".locks"]  # only the (released) lock files
