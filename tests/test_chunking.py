"""Cutting long audio at quiet points (pure numpy; no model)."""
from __future__ import annotations

import numpy as np
import pytest

from nemo_desk.engine.chunking import batches, frame_energy_db, plan_chunks

SR = 16000


def _speechlike(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Noise bursts with a syllable-like envelope: loud, no pause longer than ~60 ms."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
    return (rng.standard_normal(n) * 0.2 * env).astype(np.float32)


def _with_pauses(pieces: list[float], pause: float, rng) -> tuple[np.ndarray, list[tuple[float, float]]]:
    parts, pauses, t = [], [], 0.0
    for i, sec in enumerate(pieces):
        parts.append(_speechlike(sec, rng))
        t += sec
        if i < len(pieces) - 1:
            parts.append((rng.standard_normal(int(pause * SR)) * 1e-4).astype(np.float32))
            pauses.append((t, t + pause))
            t += pause
    return np.concatenate(parts), pauses


def test_short_audio_is_one_chunk():
    audio = np.zeros(SR * 10, np.float32)
    chunks = plan_chunks(audio, SR, 30)
    assert [(c.start, c.end) for c in chunks] == [(0, len(audio))]


def test_chunks_cover_audio_exactly_and_respect_limit():
    rng = np.random.default_rng(1)
    audio, _ = _with_pauses([7.3, 11.0, 5.2, 9.9, 13.4, 6.1, 8.8, 12.0, 4.4], 0.6, rng)
    chunks = plan_chunks(audio, SR, 20)
    assert chunks[0].start == 0 and chunks[-1].end == len(audio)
    for a, b in zip(chunks, chunks[1:]):
        assert a.end == b.start  # no gap, no overlap: nothing lost, nothing doubled
    assert all(c.length <= 20 * SR for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_every_cut_lies_in_a_pause():
    rng = np.random.default_rng(2)
    audio, pauses = _with_pauses([6.0, 9.5, 8.1, 10.2, 7.7, 9.0, 11.3, 5.5, 8.6, 9.9, 7.2], 0.5, rng)
    chunks = plan_chunks(audio, SR, 25)
    assert len(chunks) >= 4
    for c in chunks[:-1]:
        cut = c.end / SR
        assert any(lo <= cut <= hi for lo, hi in pauses), f"cut at {cut:.2f}s is not in a pause"
        assert c.quiet_cut


def test_continuous_sound_is_still_cut_and_flagged():
    rng = np.random.default_rng(3)
    audio = _speechlike(95, rng)
    chunks = plan_chunks(audio, SR, 30)
    assert len(chunks) >= 4
    assert not all(c.quiet_cut for c in chunks[:-1])
    assert all(c.length <= 30 * SR for c in chunks)


@pytest.mark.parametrize("size,expected", [(1, [[0], [1], [2], [3], [4]]), (2, [[0, 1], [2, 3], [4]]), (9, [[0, 1, 2, 3, 4]])])
def test_batches(size, expected):
    rng = np.random.default_rng(4)
    audio, _ = _with_pauses([8.0] * 5, 0.5, rng)
    chunks = plan_chunks(audio, SR, 9)
    assert len(chunks) == 5
    assert [[c.index for c in b] for b in batches(chunks, size)] == expected


def test_energy_is_lower_in_silence():
    audio = np.concatenate([np.ones(SR, np.float32) * 0.5, np.zeros(SR, np.float32)])
    e = frame_energy_db(audio, SR)
    assert e[:20].mean() > e[-20:].mean() + 40


def test_mostly_silent_file_cuts_count_as_quiet():
    """In a file that is mostly silence the loud parts (95th percentile) are silence too:
    cuts in silence must still count as quiet (no false 'No pause found' warning)."""
    rng = np.random.default_rng(6)
    audio = (rng.standard_normal(SR * 600) * 1e-4).astype(np.float32)  # -80 dB hiss
    for at in (100, 250, 400):
        audio[at * SR : (at + 3) * SR] += _speechlike(3, rng)
    chunks = plan_chunks(audio, SR, 30)
    assert len(chunks) >= 20
    assert all(c.quiet_cut for c in chunks[:-1])
    # Continuous loud sound is still flagged, as before.
    assert not all(c.quiet_cut for c in plan_chunks(_speechlike(95, rng), SR, 30)[:-1])
