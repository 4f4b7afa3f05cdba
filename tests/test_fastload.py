"""The fast folder load (no random init, memory-mapped weights) gives exactly NeMo's model.

Skipping the random init is only safe if every tensor the model uses comes from the
checkpoint or from deterministic arithmetic. These tests compare every parameter and every
buffer (persistent or not) with NeMo's own restore_from of the .nemo, on each model family
we run, including the trained model and Canary-v2's packed aligner; and they prove the
guard rails: a checkpoint missing a tensor fails loudly, the initialisers come back even
when a load fails, and the weights file is not left mapped (Windows could not delete it).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from nemo_desk.core.errors import ModelError
from nemo_desk.engine import fastload
from nemo_desk.engine.loader import load_from_folder
from nemo_desk.engine.store import ModelStore
from nemo_desk.locks.fileops import FileOps
from tests.support.windows import FakeWindows

TRAINED = Path(__file__).parent / "data" / "digits-tdt.nemo"


def _tensors(model) -> dict[str, torch.Tensor]:
    """Every parameter and buffer, the non-persistent ones (not in state_dict) included."""
    out = {f"param:{k}": v for k, v in model.named_parameters()}
    out.update({f"buffer:{k}": v for k, v in model.named_buffers()})
    aligner = getattr(model, "timestamps_asr_model", None)
    if aligner is not None:  # Canary-v2's CTC aligner: restored while the main model is built
        out.update({f"aligner:{k}": v for k, v in _tensors(aligner).items()})
    return out


def _plain_restore(nemo: Path):
    from nemo.collections.asr.models import ASRModel

    return ASRModel.restore_from(str(nemo), map_location="cpu").eval()


@pytest.fixture(scope="module")
def canary2_nemo() -> Path:
    from tests.support.model_cache import cached_build

    folder = cached_build("tiny-canary2", "tiny_canary2.py", ["tiny-canary2.nemo"],
                          ["tiny_canary2.py", "tiny_models.py"])
    return folder / "tiny-canary2.nemo"


@pytest.fixture
def unpacked(tmp_path):
    def unpack(nemo: Path) -> Path:
        return ModelStore(tmp_path / "models", FileOps()).import_local(nemo)
    return unpack


@pytest.mark.parametrize("which", ["tdt", "canary", "canary2", "trained"])
def test_every_tensor_equals_nemos_own_restore(which, request, unpacked):
    nemo = {"tdt": lambda: request.getfixturevalue("tiny_tdt"),
            "canary": lambda: request.getfixturevalue("tiny_canary"),
            "canary2": lambda: request.getfixturevalue("canary2_nemo"),
            "trained": lambda: TRAINED}[which]()
    from omegaconf import OmegaConf

    ours_model, their_model = load_from_folder(unpacked(nemo), "cpu").model, _plain_restore(nemo)
    # The same config too (built from the cached JSON, vocabulary lists left to the tokenizer).
    assert OmegaConf.to_container(ours_model.cfg) == OmegaConf.to_container(their_model.cfg)
    ours, theirs = _tensors(ours_model), _tensors(their_model)
    assert ours.keys() == theirs.keys()
    assert any(k.startswith("buffer:") for k in ours)  # the comparison covers buffers too
    differing = [k for k in ours if ours[k].dtype != theirs[k].dtype or not torch.equal(ours[k], theirs[k])]
    assert differing == []


def test_trained_model_hears_the_same_after_a_fast_load(unpacked, speech_dir):
    from nemo_desk.media import Ffmpeg, decode

    audio = decode(speech_dir / "digits.wav", Ffmpeg.locate())
    fast = load_from_folder(unpacked(TRAINED), "cpu").model
    plain = _plain_restore(TRAINED)
    texts = [m.transcribe([audio], batch_size=1, verbose=False)[0].text for m in (fast, plain)]
    assert texts[0] == texts[1] and len(texts[0].split()) >= 5


def test_random_initialisers_are_skipped_only_inside_the_context():
    t = torch.full((8, 8), 7.0)
    with fastload.skip_random_init():
        torch.nn.init.kaiming_uniform_(t)
        torch.nn.init.normal_(t)
        assert torch.all(t == 7.0)
    torch.nn.init.kaiming_uniform_(t)
    assert not torch.all(t == 7.0)


def test_initialisers_come_back_when_a_load_fails(tmp_path):
    originals = {name: getattr(torch.nn.init, name) for name in fastload.RANDOM_INITS}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model_config.yaml").write_text("target: nemo.collections.asr.models.NoSuchModel\n")
    with pytest.raises(Exception):
        load_from_folder(bad, "cpu")
    assert {name: getattr(torch.nn.init, name) for name in fastload.RANDOM_INITS} == originals


def test_a_checkpoint_missing_a_tensor_fails_loudly(unpacked, tiny_tdt):
    """The safety net for skipping init: a weight the checkpoint lacks would otherwise stay
    as torch.empty garbage. NeMo's strict load refuses it, and we say so."""
    folder = unpacked(tiny_tdt)
    weights = folder / "model_weights.ckpt"
    state = torch.load(weights, map_location="cpu")
    dropped = next(k for k in state if k.startswith("encoder."))
    del state[dropped]
    torch.save(state, weights)
    with pytest.raises(ModelError, match="Missing key"):
        load_from_folder(folder, "cpu")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_weights_file_is_not_left_mapped_after_the_load(unpacked, tiny_tdt):
    """On Windows a mapped file cannot be deleted, so a model that kept its checkpoint
    mapped would make 'Delete model' fail with WinError 32. /proc/self/maps shows mappings."""
    folder = unpacked(tiny_tdt)
    weights = str((folder / "model_weights.ckpt").resolve())

    def mapped() -> bool:
        return weights in Path("/proc/self/maps").read_text()

    loaded = load_from_folder(folder, "cpu")
    assert loaded.model is not None and not mapped()
    kept = fastload.load_checkpoint(weights)  # the control: a live mmap'd state dict shows up
    assert mapped()
    del kept
    assert not mapped()


def test_legacy_checkpoints_that_cannot_be_mapped_still_load(tmp_path):
    path = tmp_path / "legacy.ckpt"
    torch.save({"w": torch.arange(6.0)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="mmap"):
        torch.load(path, mmap=True)  # the case the fallback exists for
    assert torch.equal(fastload.load_checkpoint(str(path))["w"], torch.arange(6.0))


def test_config_is_parsed_once_then_read_from_its_json_copy(unpacked, tiny_tdt, monkeypatch):
    from omegaconf import OmegaConf

    folder = unpacked(tiny_tdt)
    first = fastload.read_config(folder)
    assert (folder / fastload.CONFIG_CACHE).is_file()
    assert first == OmegaConf.to_container(OmegaConf.load(folder / "model_config.yaml"), resolve=False)

    def no_yaml(*a, **k):
        raise AssertionError("YAML parsed although its JSON copy is current")

    monkeypatch.setattr(OmegaConf, "load", no_yaml)
    assert fastload.read_config(folder) == first
    assert load_from_folder(folder, "cpu").model is not None


def test_stale_or_damaged_config_copy_is_not_used(unpacked, tiny_tdt):
    folder = unpacked(tiny_tdt)
    fastload.read_config(folder)
    yaml_path = folder / "model_config.yaml"
    yaml_path.write_text(yaml_path.read_text() + "nemo_desk_probe: 42\n")
    assert fastload.read_config(folder)["nemo_desk_probe"] == 42
    (folder / fastload.CONFIG_CACHE).write_text("{not json")
    assert fastload.read_config(folder)["nemo_desk_probe"] == 42


def test_a_config_copy_that_cannot_be_written_is_not_an_error(unpacked, tiny_tdt):
    folder = unpacked(tiny_tdt)
    (folder / fastload.CONFIG_CACHE).mkdir()  # os.replace onto a folder fails, as a lock would
    assert fastload.read_config(folder)["target"].endswith("EncDecRNNTBPEModel")
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_a_config_json_would_change_is_not_cached(tmp_path):
    (tmp_path / "model_config.yaml").write_text("target: x\nmap:\n  1: one\n")
    assert fastload.read_config(tmp_path)["map"] == {1: "one"}
    assert not (tmp_path / fastload.CONFIG_CACHE).exists()  # JSON would make the key "1"


def test_only_the_class_that_rebuilds_the_lists_gets_them_trimmed():
    rnnt = "nemo.collections.asr.models.rnnt_bpe_models.EncDecRNNTBPEModel"
    config = {"target": rnnt, "labels": ["a"], "joint": {"vocabulary": ["a"], "num_classes": 1}}
    assert fastload.trimmed(config) == {"target": rnnt, "joint": {"num_classes": 1}}
    assert config["joint"]["vocabulary"] == ["a"]  # the caller's copy is untouched
    other = dict(config, target="nemo.collections.asr.models.EncDecMultiTaskModel")
    assert fastload.trimmed(other) == other


def test_a_damaged_checkpoint_still_fails_with_a_model_error(unpacked, tiny_tdt):
    folder = unpacked(tiny_tdt)
    weights = folder / "model_weights.ckpt"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelError):
        load_from_folder(folder, "cpu")


def test_a_locked_checkpoint_is_not_read_a_second_way(tmp_path, monkeypatch):
    """A scanner's lock must reach the retry logic as it is, once per attempt."""
    calls = []

    def locked(*a, **k):
        calls.append(k.get("mmap"))
        raise FakeWindows.error(32, str(tmp_path / "model_weights.ckpt"))

    monkeypatch.setattr(torch, "load", locked)
    with pytest.raises(PermissionError):
        fastload.load_checkpoint(str(tmp_path / "model_weights.ckpt"))
    assert calls == [True]
