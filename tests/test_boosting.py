"""Phrase boosting on real models: per job, isolated, reported, never failing a job.

The trained digits model (tests/data/digits-tdt.nemo) under a steady noise bed mishears
common words; boosting one of them must change what it writes, only for the job that
asked. The effect itself (fixes most misses, no false insertions) is measured in
tests/test_boosting_effect.py.
"""
from __future__ import annotations

import builtins
import threading

import numpy as np
import pytest

from nemo_desk.core.events import LogEvent
from nemo_desk.engine import boosting
from nemo_desk.engine.loader import load_from_folder
from nemo_desk.engine.runner import BatchRunner, _run_nemo
from nemo_desk.engine.transcriber import TranscribeOptions, transcribe_array
from nemo_desk.engine.unpack import unpack_nemo
from nemo_desk.locks.fileops import FileOps
from tests.support import truth
from tools.train_tiny import synth

pytestmark = pytest.mark.slow
WORD = "world"


def _load(nemo, root, name):
    folder = root / name
    if not folder.exists():
        unpack_nemo(nemo, folder, FileOps())
    return load_from_folder(folder, "cpu")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("boost-models")


@pytest.fixture(scope="module")
def digits(root):
    return _load(truth.MODEL, root, "digits")


@pytest.fixture(scope="module")
def noisy():
    """Two minutes-ish of held-out speech with "world" in every utterance, under noise."""
    rng = np.random.default_rng(2024)
    speakers = synth.random_speakers(rng, 4, synth.TRAIN_VOICES)
    banks = synth.clip_banks(speakers)
    utts = []
    for i in range(12):
        words = synth.random_words(rng, int(rng.integers(3, 6)))
        words.insert(int(rng.integers(0, len(words) + 1)), WORD)
        utts.append(synth.compose(words, banks[i % 4], rng))
    rec = synth.join(utts, [0.8] * (len(utts) - 1), lead_s=0.3)
    return synth.noise_bed(rec.audio, 10.0, np.random.default_rng(7)), rec


def _words(transcript):
    return [(w.text, w.start, w.end) for s in transcript.segments for w in s.words]


def _logs(events, level):
    """The job's log lines about the vocabulary (noise also brings "no pause found" lines)."""
    return [e.message for e in events if isinstance(e, LogEvent) and e.level == level and "Vocabulary" in e.message]


def test_a_list_changes_only_its_own_job_and_the_next_job_equals_a_fresh_model(digits, root, noisy):
    audio, _ = noisy
    # Plain cuts: on this short clip the one word boosting flips lies where the overlapping
    # windows' layout differs; the control below needs a change to see (the effect itself is
    # measured with overlapping windows in test_boosting_effect.py).
    opts = TranscribeOptions(chunk_seconds=20, batch_size=2, overlap_seconds=0.0)
    events: list = []
    boosted = transcribe_array(digits, audio, TranscribeOptions(chunk_seconds=20, batch_size=2, overlap_seconds=0.0,
                                                                boost=(WORD,), boost_strength="strong"),
                               observer=events.append)
    assert boosting.applied(digits) == (WORD,)
    after = transcribe_array(digits, audio, opts)
    assert boosting.applied(digits) == ()
    fresh = transcribe_array(_load(truth.MODEL, root, "digits-fresh"), audio, opts)
    assert _words(after) == _words(fresh)  # nothing of job 1's list is left in job 2
    assert [w[0] for w in _words(boosted)] != [w[0] for w in _words(after)], "boosting changed nothing"
    assert [w[0] for w in _words(boosted)].count(WORD) > [w[0] for w in _words(after)].count(WORD)
    assert _logs(events, "info") == ["Vocabulary: boosting 1 phrases (strong)"]


def test_unspellable_phrases_are_reported_once_per_job_and_the_rest_is_boosted(digits, noisy):
    audio, _ = noisy
    opts = TranscribeOptions(chunk_seconds=20, batch_size=1, boost=("World", "Zoë", "東京"))
    for _ in range(2):  # each job says it once, however many batches it has
        events: list = []
        t = transcribe_array(digits, audio, opts, observer=events.append)
        assert t.meta["chunks"] >= 3
        warnings = _logs(events, "warning")
        assert len(warnings) == 1, warnings
        assert '2 of 3 phrases' in warnings[0] and '"Zoë"' in warnings[0] and '"東京"' in warnings[0]
        assert "World" not in warnings[0]
        assert boosting.applied(digits) == ("World",)  # one spelling: this tokenizer folds case


def test_case_variants_are_spelled_once_per_distinct_piece_sequence(digits):
    tok = digits.model.tokenizer
    spellings, bad = boosting.spell(tok, ("Hello World", "ZERO", "x"))
    assert spellings == ["Hello World", "ZERO", "x"] and bad == []  # the digits tokenizer folds case

    class Cased:  # a cased tokenizer: every casing is a different piece sequence
        def text_to_ids(self, text):
            return [ord(c) for c in text]

        def ids_to_text(self, ids):
            return "".join(map(chr, ids))

    spellings, _ = boosting.spell(Cased(), ("acme corp", "NASA"))
    assert spellings == ["acme corp", "Acme corp", "Acme Corp", "NASA", "nasa", "Nasa"]


def test_boosting_writes_no_file_and_no_manifest(digits, noisy, monkeypatch):
    """The phrases go to NeMo as a list: no key-phrases file, no manifest, nothing written."""
    audio, _ = noisy
    opened: list[tuple[str, str]] = []
    real_open = builtins.open
    lock = threading.Lock()

    def spy(file, mode="r", *args, **kwargs):
        with lock:
            opened.append((str(file), str(mode)))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    events: list = []
    transcribe_array(digits, audio[: 16000 * 8], TranscribeOptions(boost=(WORD, "hello world")),
                     observer=events.append)
    monkeypatch.undo()
    assert boosting.applied(digits) == (WORD, "hello world")
    assert [p for p, _ in opened if p.endswith("manifest.json")] == []
    assert [(p, m) for p, m in opened if any(c in m for c in "wax+")] == []


def test_a_model_nemo_cannot_boost_says_so_once_and_runs_without(root, noisy):
    """Greedy (not batched) TDT decoding has no fusion support in NeMo: a real refusal."""
    from omegaconf import open_dict

    loaded = _load(truth.MODEL, root, "digits-greedy")
    cfg = loaded.model.cfg.decoding
    with open_dict(cfg):
        cfg.strategy = "greedy"
    loaded.model.change_decoding_strategy(cfg, verbose=False)
    audio = noisy[0][: 16000 * 12]
    plain = transcribe_array(loaded, audio, TranscribeOptions(chunk_seconds=5, batch_size=1))
    events: list = []
    t = transcribe_array(loaded, audio, TranscribeOptions(chunk_seconds=5, batch_size=1, boost=(WORD,)),
                         observer=events.append)
    warnings = _logs(events, "warning")
    assert len(warnings) == 1 and "not available" in warnings[0] and "transcribing without it" in warnings[0]
    assert "\n" not in warnings[0]
    assert _words(t) == _words(plain)
    assert boosting.applied(loaded) == ()


def test_a_tdt_model_that_decodes_with_beam_search_is_boosted_too(root, noisy):
    """malsd_batch: NeMo wrote its beam options back into model.cfg as enum names, which it
    then refused ("LATE is not a valid PruningMode"), so boosting said "not available"."""
    from omegaconf import open_dict

    loaded = _load(truth.MODEL, root, "digits-beam")
    cfg = loaded.model.cfg.decoding
    with open_dict(cfg):
        cfg.strategy = "malsd_batch"
        cfg.beam.beam_size = 4
    loaded.model.change_decoding_strategy(cfg, verbose=False)
    audio, _ = noisy
    opts = TranscribeOptions(chunk_seconds=20, batch_size=2)
    plain = transcribe_array(loaded, audio, opts)
    events: list = []
    boosted = transcribe_array(loaded, audio, TranscribeOptions(chunk_seconds=20, batch_size=2, boost=(WORD,)),
                               observer=events.append)
    assert _logs(events, "warning") == []
    assert type(loaded.model.decoding.decoding).__name__ == "BeamBatchedTDTInfer"
    assert [w[0] for w in _words(boosted)].count(WORD) > [w[0] for w in _words(plain)].count(WORD)
    assert _words(transcribe_array(loaded, audio, opts)) == _words(plain)  # the next job is plain again


def test_a_boosted_call_that_fails_is_retried_without_boosting(digits, noisy):
    audio = noisy[0][: 16000 * 12]
    calls: list[bool] = []

    def run(loaded, arrays, options):
        calls.append(bool(boosting.applied(loaded)))
        if boosting.applied(loaded):
            raise RuntimeError("fusion kernel failed\nsecond line")
        return _run_nemo(loaded, arrays, options)

    events: list = []
    opts = TranscribeOptions(chunk_seconds=5, batch_size=1, boost=(WORD,))
    t = transcribe_array(digits, audio, opts, observer=events.append,
                         runner=BatchRunner(digits, opts, events.append, run=run))
    assert calls[:2] == [True, False] and not any(calls[2:])  # the job stays without boosting
    warnings = _logs(events, "warning")
    assert len(warnings) == 1 and "RuntimeError: fusion kernel failed" in warnings[0]
    assert t.segments  # the job finished


def test_canary_boosting_runs_and_changes_nothing_when_no_phrase_occurs(tiny_canary, root):
    from tests.support.tiny_models import steer_canary_head

    loaded = _load(tiny_canary, root, "canary")
    steer_canary_head(loaded.model, "the", "en")
    decoder = type(loaded.model.decoding.decoding).__name__
    audio = (np.random.default_rng(5).standard_normal(16000 * 4) * 0.1).astype(np.float32)
    plain = transcribe_array(loaded, audio, TranscribeOptions(language="en"))
    events: list = []
    boosted = transcribe_array(loaded, audio, TranscribeOptions(language="en", boost=("hello",)),
                               observer=events.append)
    assert boosting.applied(loaded)[:1] == ("hello",), _logs(events, "warning")
    assert not _logs(events, "warning")
    beam = loaded.model.decoding.decoding  # Canary boosts only in beam search (width 1 here)
    assert type(beam).__name__ == "TransformerAEDBeamInfer" and beam.beam_size == 1
    assert [s.text for s in boosted.segments] == [s.text for s in plain.segments] and plain.segments
    again = transcribe_array(loaded, audio, TranscribeOptions(language="en"))
    assert boosting.applied(loaded) == ()
    assert type(loaded.model.decoding.decoding).__name__ == decoder
    assert [s.text for s in again.segments] == [s.text for s in plain.segments]
