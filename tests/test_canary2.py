"""Canary-1B-v2 style models end to end on a tiny *real* NeMo model (no mocks of NeMo).

Canary-1B-v2 gets word times from a CTC model packed inside its .nemo
(`timestamps_asr_model_*`), which NeMo restores while building the main model. These
tests prove that the packed aligner also loads from our unpacked folder (no tar, no temp
folder) and that its word times come through our pipeline, and that the canary2 prompt
carries the languages (canary2 has no `task` slot: it translates when source != target).

The model (tests/support/tiny_canary2.py) says "the" on every decoder step and stops after
a few words, so the aligner always has a feasible alignment.
"""
from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest

from nemo_desk.core.errors import ModelError
from nemo_desk.engine.catalog import get_spec
from nemo_desk.engine.loader import load_from_folder
from nemo_desk.engine.store import ModelStore
from nemo_desk.engine.transcriber import TranscribeOptions, transcribe_array
from nemo_desk.locks.fileops import FileOps

SR = 16000
V2 = "nvidia/canary-1b-v2"


@pytest.fixture(scope="module")
def canary2_nemo() -> Path:
    """tiny-canary2.nemo (with its packed CTC aligner), built once per machine."""
    from tests.support.model_cache import cached_build

    folder = cached_build("tiny-canary2", "tiny_canary2.py", ["tiny-canary2.nemo"],
                          ["tiny_canary2.py", "tiny_models.py"])
    return folder / "tiny-canary2.nemo"


@pytest.fixture(scope="module")
def canary2_folder(canary2_nemo, tmp_path_factory) -> Path:
    return ModelStore(tmp_path_factory.mktemp("models"), FileOps()).import_local(canary2_nemo)


@pytest.fixture(scope="module")
def loaded(canary2_folder):
    return load_from_folder(canary2_folder, "cpu", get_spec(V2))


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1).astype(np.float32)


class _Counter:
    """Counts calls to tarfile.open and tempfile.mkdtemp (TemporaryDirectory uses it)."""

    def __init__(self, monkeypatch):
        self.tars: list[str] = []
        self.temps: list[str] = []
        real_open, real_mkdtemp = tarfile.open, tempfile.mkdtemp

        def tar_open(name=None, *args, **kwargs):
            self.tars.append(str(name))
            return real_open(name, *args, **kwargs)

        def mkdtemp(*args, **kwargs):
            path = real_mkdtemp(*args, **kwargs)
            self.temps.append(path)
            return path

        monkeypatch.setattr(tarfile, "open", tar_open)
        monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


def test_archive_packs_the_aligner_without_name_clashes(canary2_nemo):
    with tarfile.open(canary2_nemo) as tar:
        names = [os.path.normpath(m.name) for m in tar.getmembers() if m.isfile()]
    assert len(names) == len(set(names))
    assert {"model_config.yaml", "model_weights.ckpt", "timestamps_asr_model_config.yaml",
            "timestamps_asr_model_weights.ckpt"} <= set(names)


def test_packed_aligner_loads_from_the_folder_without_tar_or_temp(canary2_nemo, canary2_folder, monkeypatch):
    from nemo.collections.asr.models import ASRModel, EncDecCTCModelBPE

    counter = _Counter(monkeypatch)
    loaded = load_from_folder(canary2_folder, "cpu", get_spec(V2))
    aligner = loaded.model.timestamps_asr_model
    assert isinstance(aligner, EncDecCTCModelBPE)
    assert (counter.tars, counter.temps) == ([], [])
    # The aligner's tokenizer files are referenced as `nemo:<name>`, resolved in our folder.
    model_path = str(aligner.cfg.tokenizer.model_path)
    assert model_path.startswith("nemo:") and (canary2_folder / model_path[5:]).is_file()
    assert aligner.tokenizer.text_to_ids("the")
    assert loaded.model.prompt_format == "canary2"

    # Control: NeMo's own restore from the archive unpacks it into a temp folder.
    control = _Counter(monkeypatch)
    plain = ASRModel.restore_from(str(canary2_nemo), map_location="cpu")
    assert plain.timestamps_asr_model is not None
    assert control.tars and control.temps


def test_word_times_from_the_packed_aligner(loaded):
    audio = _noise(3.0, seed=1)
    tr = transcribe_array(loaded, audio, TranscribeOptions(language="en"))
    assert tr.has_word_times
    words = tr.words
    assert len(words) >= 3 and {w.text for w in words} == {"the"}
    assert all(0.0 <= w.start <= w.end <= tr.duration for w in words)
    for a, b in zip(words, words[1:]):
        assert a.start < b.start and a.end <= b.start, "aligned words must be ordered and not overlap"
    assert all(s.words for s in tr.segments)
    assert " ".join(s.text for s in tr.segments).split() == [w.text for w in words]


def test_word_times_of_batched_chunks_are_in_file_time(loaded):
    silence = np.zeros(int(0.6 * SR), np.float32)
    audio = np.concatenate([_noise(4.0, seed=2), silence, _noise(3.0, seed=3)])
    tr = transcribe_array(loaded, audio, TranscribeOptions(language="en", chunk_seconds=5.0, batch_size=2))
    assert tr.meta["chunks"] >= 2 and tr.has_word_times  # overlapping windows, merged
    starts = [w.start for w in tr.words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert any(s < 4.0 for s in starts) and any(s >= 4.0 for s in starts), "both chunks carry words"
    assert all(0.0 <= w.start <= w.end <= tr.duration for w in tr.words)


def test_canary2_prompt_carries_languages_without_a_task_slot(loaded):
    model = loaded.model
    seen: list[tuple[dict, str]] = []
    real = model.prompt.encode_dialog

    def spy(turns):
        out = real(turns)
        seen.append((turns[0]["slots"].copy(), model.tokenizer.ids_to_text(out["context_ids"].tolist())))
        return out

    model.prompt.encode_dialog = spy
    try:
        audio = _noise(3.0, seed=4)
        de = transcribe_array(loaded, audio, TranscribeOptions(language="en", target_language="de"))
        transcribe_array(loaded, audio, TranscribeOptions(language="de", target_language="en", punctuation=False))
    finally:
        del model.prompt.encode_dialog
    assert len(seen) == 2
    (slots_ende, text_ende), (slots_deen, text_deen) = seen
    assert "task" not in slots_ende and "task" not in slots_deen
    assert "<|en|><|de|>" in text_ende and "<|pnc|>" in text_ende
    assert "<|de|><|en|>" in text_deen and "<|nopnc|>" in text_deen
    # With a packed aligner NeMo asks the decoder for no timestamp tokens of its own.
    assert "<|notimestamp|>" in text_ende and "<|notimestamp|>" in text_deen
    assert de.target_language == "de" and de.has_word_times


def test_catalog_spec_for_canary_v2_is_accepted(loaded, canary2_folder):
    spec = get_spec(V2)
    assert loaded.spec is spec and loaded.family == "aed" and spec.prompt_format == "canary2"
    assert spec.timestamps
    # Without a spec (a user's own file) the description comes from the loaded model.
    local = load_from_folder(canary2_folder, "cpu")
    assert (local.spec.family, local.spec.prompt_format, local.spec.timestamps) == ("aed", "canary2", True)
    with pytest.raises(ModelError, match="not the expected"):
        load_from_folder(canary2_folder, "cpu", get_spec("nvidia/parakeet-tdt-0.6b-v3"))


def test_a_translation_is_merged_across_overlapping_windows_on_its_own_text(loaded, monkeypatch):
    """AST output (the target language) goes through the same overlap merge as a transcript:
    each window's translated reading is what is merged, and the words come out once, in order."""
    from nemo_desk.engine import transcriber

    readings: list[dict] = []
    real = transcriber.merge_windows

    def spy(windows, results, *args, **kwargs):
        readings.append({i: [w.text for s in segs for w in s.words] for i, segs in results.items()})
        return real(windows, results, *args, **kwargs)

    monkeypatch.setattr(transcriber, "merge_windows", spy)
    audio = np.concatenate([_noise(5.0, seed=5), _noise(4.0, seed=6), _noise(4.0, seed=7)])
    tr = transcribe_array(loaded, audio, TranscribeOptions(language="en", target_language="de", chunk_seconds=5.0,
                                                           batch_size=2, overlap_seconds=2.0))
    assert tr.target_language == "de" and tr.meta["chunks"] >= 3 and len(readings) == 1
    merged = [w.text for w in tr.words]
    window_words = [w for i in sorted(readings[0]) for w in readings[0][i]]
    assert merged and set(merged) <= set(window_words)  # words of the translated readings, nothing else
    assert len(merged) <= len(window_words)  # a shared stretch read twice comes out once
    starts = [w.start for w in tr.words]
    assert starts == sorted(starts) and all(0.0 <= w.start <= w.end <= tr.duration for w in tr.words)
