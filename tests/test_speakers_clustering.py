"""The embedding path's pure parts: speech windows, clustering (count given or estimated)
and clusters to frame probabilities, on synthetic embeddings with known speakers."""
from __future__ import annotations

import numpy as np
import pytest

from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.engine.clustering import (Stretches, cluster_embeddings, smooth_in_time, speech_regions,
                                         speech_windows, windows_to_diarization)
from nemo_desk.engine.speakers import assign_speakers


def voices(n_speakers: int, per: int, dim: int = 64, noise: float = 0.35, seed: int = 0):
    """`per` embeddings for each of `n_speakers` random unit directions, shuffled."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_speakers, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(n_speakers), per)
    rng.shuffle(truth)
    emb = centres[truth] + rng.normal(scale=noise / np.sqrt(dim), size=(len(truth), dim)) * np.sqrt(dim) / 4
    return emb * rng.uniform(0.5, 3.0, size=(len(truth), 1)), truth  # scale must not matter (cosine)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = {(int(x), int(y)) for x, y in zip(a, b)}
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_count_is_estimated_and_every_embedding_attributed(n, seed):
    emb, truth = voices(n, 12, seed=seed)
    labels = cluster_embeddings(emb)
    assert len(set(labels.tolist())) == n
    assert same_partition(labels, truth)


@pytest.mark.parametrize("n", [2, 6])
def test_a_given_count_is_used(n):
    emb, truth = voices(n, 10, seed=5)
    assert same_partition(cluster_embeddings(emb, count=n), truth)
    assert len(set(cluster_embeddings(emb, count=n - 1).tolist())) == n - 1


def test_too_few_embeddings():
    assert cluster_embeddings(np.zeros((0, 8))).tolist() == []
    assert cluster_embeddings(np.ones((1, 8))).tolist() == [0]
    assert len(cluster_embeddings(np.eye(3), count=5)) == 3


def test_speech_windows_skip_silence_and_reach_the_end():
    sr = 16000
    audio = np.zeros(sr * 10, dtype=np.float32)
    audio[sr * 2 : sr * 4] = 0.1  # sound from 2 s to 4 s
    audio[-sr // 2 :] = 0.1  # and in the last half second
    wins = speech_windows(audio, sr)
    assert wins == [(2 * sr, int(3.5 * sr)), (int(2.5 * sr), 4 * sr), (len(audio) - sr // 2, len(audio))]
    assert speech_windows(np.zeros(0, dtype=np.float32)) == []
    short = speech_windows(np.full(sr // 2, 0.1, dtype=np.float32), sr)
    assert short == [(0, sr // 2)]


def test_no_window_crosses_a_pause():
    """Two turns 0.4 s apart: each is embedded on its own; a 0.2 s pause (inside a
    sentence) does not split."""
    sr = 16000
    audio = np.zeros(sr * 6, dtype=np.float32)
    audio[sr : int(2.2 * sr)] = 0.1
    audio[int(2.6 * sr) : int(3.0 * sr)] = 0.1  # the other turn, after 0.4 s
    audio[int(3.2 * sr) : int(3.5 * sr)] = 0.1  # its next word, 0.2 s later
    assert speech_regions(audio, sr) == [(sr, int(2.2 * sr)), (int(2.6 * sr), int(3.5 * sr))]
    assert speech_windows(audio, sr) == speech_regions(audio, sr)  # both shorter than a window
    assert speech_regions(np.full(50, 0.1, dtype=np.float32), sr) == [(0, 50)]  # shorter than a frame


def test_unreliable_embeddings_join_the_nearest_speaker():
    """Short windows' embeddings neither make a speaker of their own nor decide the count."""
    emb, truth = voices(2, 10, seed=7)
    stray = np.array([[1.0] + [0.0] * (emb.shape[1] - 1)])  # unlike either speaker
    near0 = emb[truth == 0][:1] * 0.9
    all_emb = np.vstack([emb, stray, near0])
    reliable = np.array([True] * len(emb) + [False, False])
    labels = cluster_embeddings(all_emb, reliable=reliable)
    assert len(set(labels.tolist())) == 2
    assert same_partition(labels[: len(emb)], truth)
    assert labels[-1] == labels[: len(emb)][truth == 0][0]
    # Too few reliable ones: all are used.
    assert len(cluster_embeddings(all_emb, count=2, reliable=np.zeros(len(all_emb), bool))) == len(all_emb)


def test_six_speakers_through_windows_to_words():
    """Six speakers' turns as windows; their (synthetic) embeddings clustered; every word
    ends with its own speaker, numbered by first appearance."""
    sr, per_turn = 16000, 3.0
    order = [0, 1, 2, 3, 4, 5, 0, 2, 4, 1, 3, 5]
    emb_by_speaker, _ = voices(6, 1, noise=0.0, seed=3)
    rng = np.random.default_rng(0)
    windows, embs, words = [], [], []
    for t, spk in enumerate(order):
        start = t * per_turn
        for k in range(3):  # windows of 1.5 s every 0.75 s inside the turn
            s = start + k * 0.75
            windows.append((int(s * sr), int((s + 1.5) * sr)))
            embs.append(emb_by_speaker[spk] + rng.normal(scale=0.05, size=emb_by_speaker.shape[1]))
        words.append(Word(f"w{t}", start + 0.8, start + 2.2))
    labels = cluster_embeddings(np.array(embs))
    diar = windows_to_diarization(windows, labels, int(len(order) * per_turn * sr), sr)
    out = assign_speakers(Transcript([Segment(" ".join(w.text for w in words), 0, 36, tuple(words))], 36.0), diar)
    first: dict[int, int] = {}
    for spk in order:
        first.setdefault(spk, len(first) + 1)
    assert [w.speaker for w in out.words] == [f"Speaker {first[s]}" for s in order]
    assert len(out.speaker_table) == 6


def test_a_short_window_between_two_of_a_speaker_stays_with_them_unless_clearly_another():
    sr = 16000
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    full, short = int(1.5 * sr), int(0.4 * sr)
    starts = [0, 2, 4, 5, 7, 9]
    windows = [(t * sr, t * sr + (short if i == 2 else full)) for i, t in enumerate(starts)]
    labels = np.array([0, 0, 1, 0, 1, 1])
    unsure = np.vstack([a, a, 0.5 * a + 0.5 * b, a, b, b])  # short, and a little closer to B's centre
    assert smooth_in_time(unsure, labels, windows).tolist() == [0, 0, 0, 0, 1, 1]
    assert smooth_in_time(unsure, labels, windows, switch_cost=0.0).tolist() == [0, 0, 1, 0, 1, 1]
    clear = np.vstack([a, a, b, a, b, b])  # plainly B: a short reply by B stays B's
    assert smooth_in_time(clear, labels, windows).tolist() == [0, 0, 1, 0, 1, 1]


def _stretch_windows(labels_in_time: list[int | None], sr: int = 16000) -> list[tuple[int, int]]:
    """1.5 s windows every 0.75 s; None starts a new stretch (a pause) before the next one."""
    windows, t = [], 0.0
    for lab in labels_in_time:
        if lab is None:
            t += 1.5  # past the last window's end, and a pause
            continue
        windows.append((int(t * sr), int((t + 1.5) * sr)))
        t += 0.75
    return windows


def test_windows_across_a_quick_change_of_speaker_do_not_make_a_speaker_of_their_own():
    """Two people hand over without a pause; the windows across each change hold both
    voices and sound like neither. Counted alone they are a third speaker; set in their
    stretches they are seen as blends (unlike their neighbours) and the count is two."""
    rng = np.random.default_rng(11)
    dim = 64
    c = rng.normal(size=(3, dim))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    blend = c[0] + c[1] + 1.5 * c[2]  # an embedding of two voices at once is like neither
    order: list[int | None] = []
    embs, truth = [], []
    for turn in range(6):
        a, b = turn % 2, 1 - turn % 2
        order += [a] * 8 + [2, 2] + [b] * 8 + [None]  # a hands over to b with no pause: two windows across
        truth += [a] * 8 + [-1, -1] + [b] * 8
    for lab in order:
        if lab is None:
            continue
        centre = blend if lab == 2 else c[lab]
        embs.append(centre / np.linalg.norm(centre) + rng.normal(scale=0.03, size=dim))
    emb, truth = np.array(embs), np.array(truth)
    windows = _stretch_windows(order)
    assert len(set(cluster_embeddings(emb).tolist())) == 3  # without their place in time
    labels = cluster_embeddings(emb, windows=windows)
    assert len(set(labels.tolist())) == 2
    assert same_partition(labels[truth >= 0], truth[truth >= 0])
    stretches = Stretches.of(emb / np.linalg.norm(emb, axis=1, keepdims=True), windows)
    assert stretches.blend[truth < 0].all() and stretches.blend.sum() == 2 * (truth < 0).sum()
    with pytest.raises(ValueError, match="windows for"):
        cluster_embeddings(emb, windows=windows[:-1])


def test_a_piece_of_one_voice_inside_its_stretches_is_told_from_a_speaker_of_its_own():
    """Windows whose neighbours in their stretch all carry one other label are pieces of
    that stretch (or its edge); a speaker with stretches of their own, or alone between
    pauses, is not."""
    windows = _stretch_windows([0, 0, 1, 0, 0, None, 0, 1, 0, None, 2, 2, 2, None, 2, None, 0])
    stretches = Stretches.of(np.ones((len(windows), 1)), windows)
    assert stretches.neighbours[0] == [1] and stretches.neighbours[6] == [5, 7] and stretches.neighbours[11] == []
    labels = np.array([0, 0, 1, 0, 0, 0, 1, 0, 2, 2, 2, 2, 0])
    assert stretches.inside_another(labels).tolist() == [False, False, True, False, False, True, True, True,
                                                         False, False, False, False, False]
    # Only the windows that find the speakers: neighbours outside them are dropped.
    core = np.ones(len(windows), dtype=bool)
    core[3] = False
    kept = stretches.take(core)
    assert kept.neighbours[2] == [1] and kept.neighbours[3] == [] and kept.neighbours[5] == [4, 6]
    assert len(kept.neighbours) == len(kept.blend) == len(windows) - 1


def test_two_people_talking_without_pauses_stay_two_speakers():
    """Latched turns in one long stretch: most windows sit next to a change, so most are
    marked as blends. That tells nothing about which group is a speaker: two stay two."""
    rng = np.random.default_rng(5)
    c = rng.normal(size=(2, 64))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    units = [turn % 2 for turn in range(16) for _ in range(4)]  # 0.75 s pieces, four per turn, no pause
    embs = [c[a] + c[b] for a, b in zip(units, units[1:])]  # a 1.5 s window holds two pieces
    emb = np.array([e / np.linalg.norm(e) for e in embs]) + rng.normal(scale=0.01, size=(len(embs), 64))
    windows = _stretch_windows([0] * len(embs))
    assert Stretches.of(emb / np.linalg.norm(emb, axis=1, keepdims=True), windows).blend.mean() > 0.6
    labels = cluster_embeddings(emb, windows=windows)
    assert len(set(labels.tolist())) == 2
    pure = np.array([a == b for a, b in zip(units, units[1:])])
    assert same_partition(labels[pure], np.array(units[:-1])[pure])
