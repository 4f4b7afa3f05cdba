"""Diarizers through the model store and the fast folder load, run on decoded arrays:
tiny real NeMo models (random weights, tests/support/tiny_diarizers.py), no mocks of NeMo.
What random weights cannot show (that speakers are right) is tested with synthetic
probabilities and embeddings in test_speakers_assign.py and test_speakers_clustering.py."""
from __future__ import annotations

import builtins
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from nemo_desk.core.cancel import CancelToken, Cancelled
from nemo_desk.core.events import Progress
from nemo_desk.engine import diarizer
from nemo_desk.engine.diarizer import diarize_array, streaming_features
from nemo_desk.engine.loader import load_from_folder
from nemo_desk.engine.store import ModelStore
from nemo_desk.locks.fileops import FileOps

SR = 16000


def _tensors(model) -> dict[str, torch.Tensor]:
    out = {f"param:{k}": v for k, v in model.named_parameters()}
    out.update({f"buffer:{k}": v for k, v in model.named_buffers()})
    return out


def _audio(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(SR * seconds)) * 0.1).astype(np.float32)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ModelStore(tmp_path_factory.mktemp("models"), FileOps())


@pytest.fixture(scope="module")
def sortformer(store, tiny_sortformer):
    return load_from_folder(store.import_local(tiny_sortformer), "cpu", source=tiny_sortformer)


@pytest.fixture(scope="module")
def titanet(store, tiny_titanet):
    return load_from_folder(store.import_local(tiny_titanet), "cpu", source=tiny_titanet)


@pytest.fixture(scope="module")
def full_diarizers_dir() -> Path:
    from tests.support.model_cache import cached_build

    return cached_build("full-diarizers", "full_diarizers.py", ["full-sortformer.nemo", "full-titanet.nemo"],
                        ["full_diarizers.py", "tiny_diarizers.py"])


@pytest.mark.parametrize("which", ["sortformer", "titanet", "full-sortformer", "full-titanet"])
def test_fast_folder_load_equals_nemos_own_restore(which, request, store):
    """Tiny and full-size architectures (random weights) load through the store and the
    fast folder load exactly as NeMo's own restore_from gives them."""
    from omegaconf import OmegaConf

    import nemo.collections.asr.models as models

    if which.startswith("full-"):
        nemo: Path = request.getfixturevalue("full_diarizers_dir") / f"{which}.nemo"
        loaded = load_from_folder(store.import_local(nemo), "cpu", source=nemo)
        which = which.removeprefix("full-")
    else:
        nemo = request.getfixturevalue(f"tiny_{which}")
        loaded = request.getfixturevalue(which)
    cls = {"sortformer": models.SortformerEncLabelModel, "titanet": models.EncDecSpeakerLabelModel}[which]
    theirs_model = cls.restore_from(str(nemo), map_location="cpu").eval()
    assert type(loaded.model) is cls  # told apart by the config's class, not restored as an ASRModel
    assert OmegaConf.to_container(loaded.model.cfg) == OmegaConf.to_container(theirs_model.cfg)
    ours, theirs = _tensors(loaded.model), _tensors(theirs_model)
    assert ours.keys() == theirs.keys() and any(k.startswith("buffer:") for k in ours)
    assert [k for k in ours if not torch.equal(ours[k], theirs[k])] == []


def test_a_local_diarizer_is_described_as_one(sortformer, titanet, tiny_sortformer):
    assert (sortformer.family, sortformer.spec.kind) == ("sortformer", "diarizer")
    assert (titanet.family, titanet.spec.kind) == ("titanet", "diarizer")
    assert sortformer.spec.name == tiny_sortformer.stem and not sortformer.spec.timestamps


def test_streaming_steps_equal_nemos_streaming_forward(sortformer):
    """Our step loop (for progress and cancel) gives exactly NeMo's own streaming forward."""
    audio = _audio(3.0, seed=1)
    events: list[Progress] = []
    diar = diarize_array(sortformer, audio, observer=events.append)
    with torch.inference_mode():
        theirs = sortformer.model.forward(audio_signal=torch.from_numpy(audio)[None],
                                          audio_signal_length=torch.tensor([len(audio)]))
    n = int(np.ceil(3.0 / 0.08))
    assert diar.probs.shape == (n, 4) and diar.frame_s == 0.08
    assert np.allclose(diar.probs, theirs[0, :n].numpy(), atol=1e-6)
    steps = [e for e in events if e.stage == "diarizing"]
    assert len(steps) >= 5  # 0.48 s chunks: one progress per step
    assert [e.done for e in steps] == sorted(e.done for e in steps)
    assert steps[-1].done == pytest.approx(3.0) and steps[-1].total == pytest.approx(3.0)


def test_each_step_sees_a_bounded_window_whatever_the_length(sortformer, monkeypatch):
    """Memory stays flat with length: the encoder never sees more than chunk + FIFO +
    speaker cache (frames), however long the audio."""
    seen: list[int] = []
    real = sortformer.model.frontend_encoder

    def spy(processed_signal, processed_signal_length, bypass_pre_encode=False):
        seen.append(int(processed_signal.shape[1] if bypass_pre_encode else processed_signal.shape[2]))
        return real(processed_signal=processed_signal, processed_signal_length=processed_signal_length,
                    bypass_pre_encode=bypass_pre_encode)

    monkeypatch.setattr(sortformer.model, "frontend_encoder", spy)
    diarize_array(sortformer, _audio(8.0))  # 100 frames of 80 ms
    mods = sortformer.model.sortformer_modules
    bound = mods.spkcache_len + mods.fifo_len + mods.chunk_len + mods.chunk_left_context + mods.chunk_right_context + 1
    assert len(seen) >= 15 and max(seen) <= bound < 100
    assert max(seen[len(seen) // 2:]) == max(seen)  # full by the middle, and no growth after


def _count_feature_passes(model, monkeypatch) -> list[int]:
    """Samples given to each feature pass."""
    passes: list[int] = []
    real = model.process_signal

    def spy(audio_signal, audio_signal_length):
        passes.append(int(audio_signal.shape[1]))
        return real(audio_signal=audio_signal, audio_signal_length=audio_signal_length)

    monkeypatch.setattr(model, "process_signal", spy)
    return passes


def test_a_long_files_features_come_in_pieces_equal_to_one_pass(sortformer, monkeypatch):
    """The streaming v2.1 model normalises nothing per file ("NA"), so its features are
    computed a piece at a time (the whole spectrum of a 60-minute file was the memory
    peak) and must equal one pass over the file, frame for frame."""
    model = sortformer.model
    monkeypatch.setattr(model.preprocessor.featurizer, "normalize", "NA")
    audio = _audio(7.37, seed=2)
    passes = _count_feature_passes(model, monkeypatch)
    with torch.inference_mode():
        pieces, n = streaming_features(model, audio, piece_s=2.0)
        assert len(passes) == 4 and max(passes) < 2.2 * SR  # 2 s pieces with a short margin
        whole, m = streaming_features(model, audio, piece_s=60.0)
    assert len(passes) == 5 and passes[-1] == len(audio)
    assert int(n) == int(m) == pieces.shape[2] == whole.shape[2]
    assert torch.allclose(pieces, whole, atol=1e-4), float((pieces - whole).abs().max())
    # ... and so the speakers: the whole streaming run gives the same probabilities.
    monkeypatch.setattr(diarizer, "FEATURE_PIECE_S", 2.0)
    a = diarize_array(sortformer, audio).probs
    assert len(passes) == 9
    monkeypatch.setattr(diarizer, "FEATURE_PIECE_S", 60.0)
    assert np.allclose(a, diarize_array(sortformer, audio).probs, atol=1e-4)
    assert len(passes) == 10


def test_features_normalised_per_file_are_computed_in_one_pass(sortformer, monkeypatch):
    """Per-feature normalisation uses the whole file's statistics: pieces would differ."""
    assert str(sortformer.model.preprocessor.featurizer.normalize) == "per_feature"
    passes = _count_feature_passes(sortformer.model, monkeypatch)
    with torch.inference_mode():
        streaming_features(sortformer.model, _audio(5.0), piece_s=2.0)
    assert passes == [5 * SR]


def test_no_manifest_or_temp_folder_for_arrays(sortformer, monkeypatch):
    """Our call opens no file and makes no temp folder; the control (NeMo's diarize() on the
    same array) shows the spy sees the temp folder NeMo's own entry point makes."""
    opened: list[str] = []
    lock = threading.Lock()
    real_open, real_mkdtemp = builtins.open, tempfile.mkdtemp

    def spy_open(file, *args, **kwargs):
        with lock:
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_mkdtemp(*args, **kwargs):
        path = real_mkdtemp(*args, **kwargs)
        opened.append(f"tempdir:{path}")
        return path

    audio = _audio(2.0, seed=2)
    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(tempfile, "mkdtemp", spy_mkdtemp)
    diarize_array(sortformer, audio)
    ours = list(opened)
    sortformer.model.diarize([audio], sample_rate=SR, batch_size=1, verbose=False)
    assert ours == []
    assert any(p.startswith("tempdir:") for p in opened), "the spy failed to see NeMo's temp folder"


def test_cancel_between_steps_is_prompt(sortformer, monkeypatch):
    token = CancelToken()
    calls = []
    real = sortformer.model.forward_streaming_step

    def step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            token.cancel()  # the user presses Cancel while the second step runs
        return real(*args, **kwargs)

    monkeypatch.setattr(sortformer.model, "forward_streaming_step", step)
    with pytest.raises(Cancelled):
        diarize_array(sortformer, _audio(6.0), cancel=token)
    assert len(calls) == 2  # the step in flight finished; no further step started


class MemoryCache:
    """The journal's chunk-cache interface (engine/pipeline.py JournalChunks)."""

    def __init__(self):
        self.saved: dict[str, dict[int, list]] = {}

    def load(self, key):
        return dict(self.saved.get(key, {}))

    def save(self, key, index, segments):
        self.saved.setdefault(key, {})[index] = segments


def test_the_result_is_reused_on_resume(sortformer, monkeypatch):
    cache = MemoryCache()
    audio = _audio(2.0, seed=3)
    first = diarize_array(sortformer, audio, cache=cache)
    assert len(cache.saved) == 1

    def no_model(*args, **kwargs):
        raise AssertionError("diarized again although the result was saved")

    monkeypatch.setattr(sortformer.model, "forward_streaming_step", no_model)
    again = diarize_array(sortformer, audio, cache=cache)
    assert np.allclose(again.probs, first.probs, atol=1e-4)
    # A different count is a different result: not taken from the cache.
    with pytest.raises(AssertionError, match="diarized again"):
        diarize_array(sortformer, audio, count=2, cache=cache)


def test_a_count_is_an_upper_bound_for_sortformer(sortformer):
    diar = diarize_array(sortformer, _audio(2.0, seed=4), count=2)
    assert int((diar.probs.sum(axis=0) > 0).sum()) <= 2


def test_the_embedding_path_runs_on_the_array(titanet):
    sr = SR
    audio = np.zeros(sr * 8, dtype=np.float32)
    audio[: sr * 2] = _audio(2.0, seed=5)
    audio[sr * 6 :] = _audio(2.0, seed=6) * 3
    events: list[Progress] = []
    diar = diarize_array(titanet, audio, count=2, observer=events.append)
    assert diar.probs.shape == (int(np.ceil(8 / 0.08)), 2)
    # Windows (1.5 s) that hold no sound are not embedded: the middle of the pause is nobody's.
    assert np.all(diar.probs[int(3.5 / 0.08) : int(4.5 / 0.08)] == 0)
    assert np.all(diar.probs[:int(2 / 0.08)].sum(axis=1) > 0.99)
    assert events[-1].done == pytest.approx(8.0)


def test_a_recogniser_is_not_a_diarizer(tiny_tdt, store):
    from nemo_desk.core.errors import ModelError

    asr = load_from_folder(store.import_local(tiny_tdt), "cpu", source=tiny_tdt)
    assert asr.spec.kind == "recogniser"
    with pytest.raises(ModelError, match="not a diarizer"):
        diarize_array(asr, _audio(1.0))
