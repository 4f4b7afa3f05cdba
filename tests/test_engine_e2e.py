"""The engine end to end on tiny *real* NeMo models (no mocks of NeMo).

The steered TDT model says "the" every 2 encoder frames (0.16 s) whatever it hears, so
words and times are known in advance; the Canary model is steered the same way through
its output head.
"""
from __future__ import annotations

import builtins
import threading
from pathlib import Path

import numpy as np
import pytest

from nemo_desk.core.cancel import CancelToken, Cancelled
from nemo_desk.core.events import Progress
from nemo_desk.engine.loader import load_from_folder
from nemo_desk.engine.transcriber import BatchRunner, TranscribeOptions, transcribe_array
from nemo_desk.engine.unpack import unpack_nemo
from nemo_desk.locks.fileops import FileOps

SR = 16000
FRAME = 0.08  # encoder frame: 10 ms hop x 8 subsampling


@pytest.fixture(scope="module")
def model_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


def _load(nemo: Path, root: Path, name: str):
    folder = root / name
    if not folder.exists():
        unpack_nemo(nemo, folder, FileOps())
    return load_from_folder(folder, "cpu")


@pytest.fixture(scope="module")
def steered(tiny_steered, model_root):
    return _load(tiny_steered, model_root, "steered")


@pytest.fixture(scope="module")
def canary(tiny_canary, model_root):
    from tests.support.tiny_models import steer_canary_head

    loaded = _load(tiny_canary, model_root, "canary")
    steer_canary_head(loaded.model, "the", "en")
    return loaded


def _speech_with_pauses(minutes: float, seed: int = 0) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Noise 'utterances' of 4-9 s separated by 0.6 s of near-silence; returns the pauses."""
    rng = np.random.default_rng(seed)
    parts, pauses, t = [], [], 0.0
    while t < minutes * 60:
        sec = float(rng.uniform(4, 9))
        parts.append((rng.standard_normal(int(sec * SR)) * 0.1).astype(np.float32))
        t += sec
        parts.append(np.zeros(int(0.6 * SR), np.float32))
        pauses.append((t, t + 0.6))
        t += 0.6
    return np.concatenate(parts), pauses


def test_words_and_times_of_a_known_model(steered):
    audio = np.random.default_rng(1).standard_normal(SR * 4).astype(np.float32) * 0.1
    tr = transcribe_array(steered, audio)
    words = tr.words
    assert {w.text for w in words} == {"the"}
    assert len(words) == pytest.approx(4.0 / 0.16, abs=2)
    starts = np.array([w.start for w in words])
    assert np.allclose(np.diff(starts), 0.16, atol=1e-3)
    assert all(w.end <= tr.duration for w in words)
    assert tr.duration == pytest.approx(4.0)


def test_chunked_times_match_unchunked_away_from_cuts(steered):
    audio, pauses = _speech_with_pauses(3.0)
    whole = transcribe_array(steered, audio, TranscribeOptions(chunk_seconds=10_000))
    chunked = transcribe_array(steered, audio, TranscribeOptions(chunk_seconds=30, batch_size=3))
    assert whole.meta["chunks"] == 1 and chunked.meta["chunks"] >= 6
    starts = np.array([w.start for w in chunked.words])
    assert np.all(np.diff(starts) > 0), "word times must increase across chunk cuts"
    # Cuts are where consecutive chunked words jump by less than a full step (a new chunk
    # restarts its frame grid); every cut must lie in a pause.
    cuts = _chunk_cuts(steered, audio, 30)
    for cut in cuts:
        assert any(lo <= cut <= hi for lo, hi in pauses), f"cut at {cut:.2f}s outside a pause"
    ref = np.array([w.start for w in whole.words])
    for t in ref:
        if min(abs(t - c) for c in cuts) < 1.0:
            continue
        assert np.min(np.abs(starts - t)) <= FRAME + 1e-6


def _chunk_cuts(loaded, audio, chunk_s):
    from nemo_desk.engine.chunking import plan_windows
    from nemo_desk.engine.options import DEFAULT_OVERLAP_S

    return [w.core_end / SR for w in plan_windows(audio, SR, chunk_s, DEFAULT_OVERLAP_S)[:-1]]


def test_progress_per_batch_reaches_total(steered):
    audio, _ = _speech_with_pauses(1.5, seed=2)
    events = []
    transcribe_array(steered, audio, TranscribeOptions(chunk_seconds=20, batch_size=2), observer=events.append)
    done = [e.done for e in events if isinstance(e, Progress) and e.stage == "transcribing"]
    assert done[0] == 0.0 and done == sorted(done)
    assert done[-1] == pytest.approx(len(audio) / SR)
    assert len(done) >= 3  # one per batch, plus the start


def test_cancel_is_checked_between_batches(steered):
    audio, _ = _speech_with_pauses(2.0, seed=3)
    token = CancelToken()
    calls = []
    inner = BatchRunner(steered, TranscribeOptions(), lambda e: None)

    def runner(arrays):
        calls.append(len(arrays))
        if len(calls) == 2:
            token.cancel()
        return inner(arrays)

    with pytest.raises(Cancelled):
        transcribe_array(steered, audio, TranscribeOptions(chunk_seconds=15, batch_size=1), cancel=token, runner=runner)
    assert len(calls) == 2  # the batch in flight finished; no further batch started


def test_no_manifest_is_written(steered, tmp_path, monkeypatch):
    """Arrays only: NeMo must not write manifest.json (the WinError 32 of the old app).
    The control run shows the spy does see the manifest when a path is given."""
    opened: list[str] = []
    real_open = builtins.open
    lock = threading.Lock()

    def spy(file, *args, **kwargs):
        with lock:
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    audio = np.random.default_rng(4).standard_normal(SR * 3).astype(np.float32) * 0.1
    monkeypatch.setattr(builtins, "open", spy)
    transcribe_array(steered, audio)
    ours = [p for p in opened if p.endswith("manifest.json")]
    import soundfile as sf

    wav = tmp_path / "x.wav"
    sf.write(wav, audio, SR)
    steered.model.transcribe([str(wav)], batch_size=1, num_workers=0, verbose=False)
    control = [p for p in opened if p.endswith("manifest.json")]
    assert ours == []
    assert control, "the spy failed to see NeMo's manifest for a path input"


def test_canary_prompt_carries_languages_and_task(canary):
    seen = []
    real = canary.model.prompt.encode_dialog

    def spy(turns):
        out = real(turns)
        seen.append(canary.model.tokenizer.ids_to_text(out["context_ids"].tolist()) if "context_ids" in out
                    else str(turns))
        return out

    canary.model.prompt.encode_dialog = spy
    try:
        audio = np.random.default_rng(5).standard_normal(SR * 3).astype(np.float32) * 0.1
        transcribe_array(canary, audio, TranscribeOptions(language="en", target_language="de"))
        transcribe_array(canary, audio, TranscribeOptions(language="fr", punctuation=False))
    finally:
        del canary.model.prompt.encode_dialog
    joined = "\n".join(seen)
    assert "<|en|>" in joined and "<|translate|>" in joined and "<|de|>" in joined
    assert "<|fr|>" in joined and "<|transcribe|>" in joined and "<|nopnc|>" in joined


def test_canary_without_timestamps_gives_one_segment_per_chunk(canary):
    audio, _ = _speech_with_pauses(1.0, seed=6)
    audio = audio[: -int(0.6 * SR)]  # no silent tail: every chunk holds sound
    tr = transcribe_array(canary, audio, TranscribeOptions(language="en", chunk_seconds=20))
    assert tr.meta["silent_chunks"] == 0
    chunks = tr.meta["chunks"]
    assert chunks >= 3
    assert len(tr.segments) == chunks
    assert not tr.has_word_times
    assert all(not s.words and s.text for s in tr.segments)
    assert tr.segments[0].start == 0.0 and tr.segments[-1].end == pytest.approx(len(audio) / SR, abs=1e-3)
    for a, b in zip(tr.segments, tr.segments[1:]):
        assert a.end == pytest.approx(b.start, abs=1e-3)


def test_language_the_model_lacks_is_refused(canary):
    from nemo_desk.core.errors import ModelError
    from nemo_desk.engine.catalog import get_spec

    spec = get_spec("nvidia/canary-1b")
    with pytest.raises(ModelError, match="does not support language 'ja'"):
        spec.validate_languages("ja", None)
    with pytest.raises(ModelError, match="cannot translate"):
        get_spec("nvidia/canary-1b-v2").validate_languages("de", "fr")


def test_real_speech_minutes_long_is_cut_only_in_silence(tmp_path):
    """espeak-ng sentences joined with pauses into ~4 minutes: every cut falls where the
    signal is quiet for at least 150 ms around it, never inside a word."""
    import soundfile as sf

    from tests.support import audio as media

    sentences = ["the quick brown fox jumps over the lazy dog", "one two three four five six seven",
                 "we speak about audio and video files", "hello world this is a long test"]
    pieces = [media.speak(s, tmp_path / f"s{i}.wav", speed=140 + 10 * i) for i, s in enumerate(sentences)]
    rng = np.random.default_rng(7)
    order = [pieces[i % 4] for i in range(70)]
    media.concat_with_pauses(order, [float(p) for p in rng.uniform(0.4, 1.2, len(order) - 1)],
                             tmp_path / "long.wav", noise_level=0.001)
    signal, sr = sf.read(tmp_path / "long.wav", dtype="float32")
    assert len(signal) / sr > 180
    from nemo_desk.engine.chunking import plan_windows
    from nemo_desk.engine.options import DEFAULT_OVERLAP_S

    # The cut plan only (the merging across these cuts is tested with the model above).
    cuts = [w.core_end for w in plan_windows(signal, SR, 40, DEFAULT_OVERLAP_S)[:-1]]
    assert len(cuts) >= 4
    half = int(0.075 * SR)
    for cut in cuts:
        around = signal[cut - half: cut + half]
        rms_db = 10 * np.log10(np.mean(around ** 2) + 1e-12)
        assert rms_db < -45, f"cut at {cut / SR:.2f}s is not in silence ({rms_db:.1f} dB)"


def test_silent_chunks_skip_the_model_and_say_so(steered):
    """Digital silence (or near it) never reaches the model: no invented words."""
    rng = np.random.default_rng(8)
    sound = rng.standard_normal(SR * 8).astype(np.float32) * 0.1
    quiet = rng.standard_normal(SR * 30).astype(np.float32) * 1e-5
    audio = np.concatenate([quiet, sound, quiet])
    calls = []
    inner = BatchRunner(steered, TranscribeOptions(), lambda e: None)
    tr = transcribe_array(steered, audio, TranscribeOptions(chunk_seconds=20, batch_size=1),
                          runner=lambda arrays: calls.append(len(arrays)) or inner(arrays))
    assert tr.meta["silent_chunks"] >= 2 and len(calls) == tr.meta["chunks"] - tr.meta["silent_chunks"]
    from nemo_desk.engine.chunking import plan_windows
    from nemo_desk.engine.options import DEFAULT_OVERLAP_S

    # Windows overlap: a word belongs to the window whose own part (core) holds its middle.
    silent = [(w.core_start / SR, w.core_end / SR) for w in plan_windows(audio, SR, 20, DEFAULT_OVERLAP_S)
              if np.max(np.abs(audio[w.start:w.end])) < 1e-3]
    assert tr.words and not any(lo <= (w.start + w.end) / 2 < hi for w in tr.words for lo, hi in silent)
    assert transcribe_array(steered, quiet).is_empty


def test_very_short_audio_is_padded_not_refused(steered):
    tr = transcribe_array(steered, np.random.default_rng(9).standard_normal(int(0.2 * SR)).astype(np.float32) * 0.1)
    assert tr.duration == pytest.approx(0.2)
    assert all(w.end <= 0.2 for w in tr.words)
