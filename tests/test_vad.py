"""Speech detection with the real Silero VAD (the model inside the `silero-vad` wheel) on
espeak-ng speech with long stretches of silence, noise and music between (synthesised,
seeded): windows cover every spoken word, and the stretches without speech cost no model
time. The model-backed reading is in test_vad_reading below."""

from __future__ import annotations

import numpy as np
import pytest

from nemo_desk.core.events import LogEvent
from nemo_desk.engine import vad
from nemo_desk.engine.chunking import plan_windows
from nemo_desk.engine.transcriber import SAMPLE_RATE, TranscribeOptions, _speech, transcribe_array
from tests.support import truth
from tests.test_trained_model import loaded  # noqa: F401 (the trained model, loaded once per module)
from tools.train_tiny import synth

SR = SAMPLE_RATE


def _music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Chords of harmonic tones changing every half second, with a soft attack (no voice)."""
    t = np.arange(int(0.5 * SR)) / SR
    notes = []
    for _ in range(int(seconds / 0.5)):
        base = 110.0 * 2 ** (int(rng.integers(0, 24)) / 12)
        chord = sum(np.sin(2 * np.pi * base * r * h * t) / h for r in (1.0, 1.26, 1.5) for h in (1, 2, 3))
        notes.append(chord * np.minimum(1.0, t / 0.02) * np.exp(-2 * t))
    return (0.08 * np.concatenate(notes)).astype(np.float32)


def _blank(audio: np.ndarray) -> synth.Utterance:
    return synth.Utterance(audio, "", [], "")


@pytest.fixture(scope="module")
def recording():
    """Speech, 20 s of silence, speech, 15 s of music, speech, 12 s of noise, speech."""
    rng = np.random.default_rng(77)
    utts = synth.held_out_set(7070, 16, truth.TRAIN_VOICES, n_speakers=4)
    gaps = {
        4: _blank(np.zeros(20 * SR, np.float32)),
        8: _blank(_music(15.0, rng)),
        12: _blank((rng.standard_normal(12 * SR) * 0.05).astype(np.float32)),
    }
    parts = []
    for k, u in enumerate(utts):
        if k in gaps:
            parts.append(gaps[k])
        parts.append(u)
    rec = synth.join(parts, [0.6] * (len(parts) - 1), lead_s=0.5)
    # The stretches without speech, in seconds, as placed by join.
    offsets, at = [], 0.5
    for p in parts:
        if not p.words:
            offsets.append((at, at + len(p.audio) / SR))
        at += len(p.audio) / SR + 0.6
    return rec, offsets


@pytest.fixture(scope="module")
def speech(recording):
    found, why = vad.detect_speech(recording[0].audio, SR)
    assert found is not None, why
    return found


def test_windows_cover_every_word_and_leave_out_silence_noise_and_music(recording, speech):
    rec, stretches = recording
    windows = plan_windows(rec.audio, SR, 20, 3.0, speech)
    spoken = [w for w in windows if w.speech]
    for word in rec.words:  # each word whole inside a window the model hears
        assert any(w.start / SR <= word.start and word.end <= w.end / SR for w in spoken), word
    left_out = sum(w.length for w in windows if not w.speech) / SR
    without_speech = sum(hi - lo for lo, hi in stretches)
    assert left_out >= 0.7 * without_speech, (left_out, without_speech)
    for lo, hi in stretches:  # each long stretch: most of it left out, whatever it holds
        out = sum(max(0.0, min(hi, w.end / SR) - max(lo, w.start / SR)) for w in windows if not w.speech)
        # (Measured: silence and noise all but the second of context at each end; of the
        # music 11.4 of 15 s, the detector doubting a few chords.)
        assert out >= 0.6 * (hi - lo), (lo, hi, out)
    # The cores still tile the file (progress counts every second once).
    assert windows[0].core_start == 0 and windows[-1].core_end == len(rec.audio)
    assert all(a.core_end == b.core_start for a, b in zip(windows, windows[1:]))


def test_cuts_fall_where_speech_pauses(recording, speech):
    rec, _ = recording
    windows = plan_windows(rec.audio, SR, 12, 3.0, speech)
    cuts = [w.core_end / SR for w in windows[:-1]]
    assert len(cuts) >= 6
    for c in cuts:
        assert not [w for w in rec.words if w.start < c < w.end], f"cut at {c:.2f} s splits a word"


def test_detection_restores_torch_threads_and_is_fast_enough(recording):
    import time

    import torch

    threads = torch.get_num_threads()
    started = time.monotonic()
    found, _ = vad.detect_speech(recording[0].audio, SR)
    took = time.monotonic() - started
    assert found is not None and torch.get_num_threads() == threads
    # Measured about 0.5 % of the audio's length on one busy core; this bound only catches
    # a fall back to one 32 ms step at a time across the whole file.
    assert took <= 0.1 * len(recording[0].audio) / SR


def test_a_detector_that_cannot_load_falls_back_to_the_level_and_says_so(recording, monkeypatch):
    def broken():
        raise OSError("silero_vad.jit: no such file")

    monkeypatch.setattr(vad, "_MODEL", [])
    monkeypatch.setattr(vad, "_load", broken)
    events: list = []
    assert _speech(recording[0].audio, TranscribeOptions(), events.append) is None
    assert [e.level for e in events if isinstance(e, LogEvent)] == ["warning"]
    assert "speech detection is unavailable (OSError" in events[0].message
    assert "level alone" in events[0].message
    # And the plan is the level-based one.
    assert plan_windows(recording[0].audio, SR, 20, 3.0, None) == plan_windows(recording[0].audio, SR, 20, 3.0)


def test_no_speech_anywhere_reads_the_file_as_before(monkeypatch):
    """Noise only: the detector hears no speech, and the whole file is still read (the model
    judges it), so a voice the detector misses is never lost whole."""
    noise = (np.random.default_rng(3).standard_normal(40 * SR) * 0.05).astype(np.float32)
    assert _speech(noise, TranscribeOptions(), lambda e: None) is None
    assert _speech(noise, TranscribeOptions(speech_detection=False), lambda e: None) is None


def test_regions_on_the_grid_with_context_kept():
    probs = np.zeros(1000, np.float32)  # 32 s at 32 ms a frame
    probs[100:200] = 0.9  # speech 3.2-6.4 s
    probs[700:720] = 0.9  # speech 22.4-23.04 s
    m = vad.SpeechMap(probs, SR)
    regions = m.regions(1000 * vad.VAD_FRAME, 1280, 6 * SR, SR)
    assert [r[2] for r in regions] == [True, False, True, False]
    assert regions[0][0] == 0 and regions[-1][1] == 1000 * vad.VAD_FRAME
    assert all(a[1] == b[0] for a, b in zip(regions, regions[1:]))
    assert all(r[0] % 1280 == 0 for r in regions)
    lo, hi, _ = regions[1]  # a second of context after the first speech, before the next
    assert lo >= 200 * vad.VAD_FRAME + SR and hi <= 700 * vad.VAD_FRAME - SR


@pytest.mark.slow
def test_vad_reading_with_the_trained_model_skips_what_holds_no_speech(recording, loaded):  # noqa: F811
    """Through the transcriber with the trained digits model: no spoken word is lost, the
    long stretches without speech never reach the model, and far fewer words are invented
    in them. (Measured: 8 % word errors with detection, all but one of them words invented
    in the second of music kept beside speech or in chords the detector doubted; 24 %
    without, the model hearing digits in the music.)"""
    from nemo_desk.engine.runner import BatchRunner

    rec, stretches = recording
    inner = BatchRunner(loaded, TranscribeOptions(), lambda e: None)
    sent: list[int] = []

    def counting(arrays):
        sent.extend(len(a) for a in arrays)
        return inner(arrays)

    ref = [w.word for w in rec.words]
    tr = transcribe_array(loaded, rec.audio, TranscribeOptions(chunk_seconds=20), runner=counting)
    hyp = [w for w, _, _ in truth.transcript_words(tr)]
    assert [i for i, j in truth.align(ref, hyp) if j is None] == []  # no word lost
    assert tr.meta["no_speech_chunks"] >= 3
    without_speech = sum(hi - lo for lo, hi in stretches)
    # Less than the file, by most of what holds no speech, though every cut adds overlap.
    assert sum(sent) / SR <= len(rec.audio) / SR - 0.6 * without_speech
    plain = transcribe_array(loaded, rec.audio, TranscribeOptions(chunk_seconds=20, speech_detection=False))
    assert plain.meta["no_speech_chunks"] == 0
    with_detection = truth.wer([ref], [hyp])
    assert with_detection <= 0.5 * truth.wer([ref], [[w for w, _, _ in truth.transcript_words(plain)]])
    assert with_detection <= 0.1


def test_speech_detection_can_be_turned_off_from_the_cli_and_the_settings():
    from pathlib import Path

    from nemo_desk import cli
    from nemo_desk.settings import Settings

    parser = cli.build_parser()
    on = cli._jobs_from_args(parser.parse_args(["transcribe", "a.wav"]), [Path("a.wav")])[0]
    off = cli._jobs_from_args(parser.parse_args(["transcribe", "a.wav", "--no-speech-detection"]), [Path("a.wav")])[0]
    assert on.options.speech_detection is True and off.options.speech_detection is False
    # Unsaid on the command line: the settings' choice.
    quiet = Settings(speech_detection=False)
    assert cli._jobs_from_args(parser.parse_args(["transcribe", "a.wav"]), [Path("a.wav")],
                               quiet)[0].options.speech_detection is False
    assert quiet.job_options().speech_detection is False and Settings().job_options().speech_detection is True
