"""Loading for a GPU, proven on the CPU with real tiny NeMo models: the state dict never
follows NeMo's map_location to CUDA (one copy of the weights in VRAM), every nested
restore (Canary-1B-v2's aligner) goes where the user chose, and a model cast to bf16 -
what runs on Ampere and newer - transcribes through the app's own path."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nemo_desk.engine import fastload
from nemo_desk.engine.device import Precision
from nemo_desk.engine.loader import load_from_folder, place
from nemo_desk.engine.store import ModelStore
from nemo_desk.engine.transcriber import SAMPLE_RATE, TranscribeOptions, transcribe_array
from nemo_desk.locks.fileops import FileOps
from tests.support import truth
from tools.train_tiny import synth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def canary2_nemo():
    from tests.support.model_cache import cached_build

    return cached_build("tiny-canary2", "tiny_canary2.py", ["tiny-canary2.nemo"],
                        ["tiny_canary2.py", "tiny_models.py"]) / "tiny-canary2.nemo"


@pytest.fixture
def unpacked(tmp_path):
    return lambda nemo: ModelStore(tmp_path / "models", FileOps()).import_local(nemo)


def test_a_cuda_map_location_still_gives_cpu_tensors_to_copy(tmp_path):
    """NeMo passes map_location=cuda once the model is on the GPU; on this CPU-only torch
    that used to raise, and on a GPU it held the weights twice in VRAM."""
    path = tmp_path / "w.ckpt"
    torch.save({"w": torch.arange(6.0)}, path)
    state = fastload.load_checkpoint(str(path), map_location=torch.device("cuda"))
    assert state["w"].device.type == "cpu" and torch.equal(state["w"], torch.arange(6.0))


def test_every_restore_follows_the_chosen_device(canary2_nemo, unpacked, monkeypatch):
    """Even with a GPU present (simulated), a CPU load maps nothing to CUDA: not the main
    weights, not Canary-1B-v2's packed aligner that NeMo restores with map_location=None."""
    folder = unpacked(canary2_nemo)
    real_load = torch.load
    seen = []

    def spy(*args, **kwargs):
        seen.append(str(kwargs.get("map_location")))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)  # NeMo asks once it sees a GPU
    loaded = load_from_folder(folder, "cpu")
    monkeypatch.undo()
    aligner = loaded.model.timestamps_asr_model
    assert aligner is not None and len(seen) >= 2, seen  # the main weights and the aligner's
    assert set(seen) == {"cpu"}, seen
    assert {p.device.type for p in aligner.parameters()} == {"cpu"}


@pytest.fixture(scope="module")
def recording():
    rec = synth.join(synth.held_out_set(5151, 12, truth.TRAIN_VOICES, n_speakers=6), [1.0] * 11, lead_s=0.3)
    return rec


def word_errors(rec, transcript) -> int:
    from tests.support.truth import transcript_words, truth_words

    ref = [w for w, _, _ in truth_words(rec)]
    hyp = [w for w, _, _ in transcript_words(transcript)]
    # Levenshtein distance over words.
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[-1]


def test_a_bf16_cast_model_transcribes_through_the_app_path(unpacked, recording):
    """On Ampere and newer the whole model runs cast to bf16 (NeMo's own recipe). The CPU
    runs bf16 too, so the cast model's path is proven here: words and times stay close to
    fp32, and moving back to the CPU casts back to fp32."""
    loaded = load_from_folder(unpacked(truth.MODEL), "cpu")
    audio = recording.audio.astype(np.float32)
    options = TranscribeOptions(chunk_seconds=30.0)
    exact = transcribe_array(loaded, audio, options)
    loaded.model.to(dtype=torch.bfloat16)  # what place() does before the copy to the GPU
    loaded.precision = Precision.BF16
    cast = transcribe_array(loaded, audio, options)
    n = len(truth.truth_words(recording))
    assert word_errors(recording, exact) <= 0.1 * n
    assert word_errors(recording, cast) <= word_errors(recording, exact) + 0.05 * n
    starts = {round(w.start, 2) for w in exact.words}
    matched = sum(round(w.start, 2) in starts for w in cast.words)
    assert matched >= 0.9 * len(cast.words)
    place(loaded, "cpu")
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
    assert loaded.precision is Precision.FP32 and len(audio) / SAMPLE_RATE > 20
