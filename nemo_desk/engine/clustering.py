"""The speaker-embedding path: windows of speech, their embeddings clustered into
speakers, and the clusters turned into frame probabilities (a `Diarization`), so words get
speakers exactly as from Sortformer (engine/speakers.py).

For more speakers than Sortformer's 4, or when the user asks for it. Four choices make
it hold up on real turn-taking (measured on synthetic conversations,
tools/train_tiny/speakers_eval.py): windows stay inside stretches of sound between pauses,
so a window rarely mixes two voices; only windows long enough for a steady embedding
decide who the speakers are (and how many), shorter ones join the nearest; when the count
is estimated, a group made mostly of windows that straddle a quick change of speaker (no
pause between the two) is a blend of two voices, and a group of windows set inside
another group's stretches is a part of that voice, not a speaker of its own; and the
labels are smoothed in time, so one noisy window does not flip a speaker in mid-sentence.
The whole file is clustered at once: a speaker keeps one label from start to end.

Pure numpy and scikit-learn (imported inside the functions); the embeddings come from
engine/diarizer.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nemo_desk.engine.speakers import FRAME_S, Diarization

SAMPLE_RATE = 16000
WINDOW_S = 1.5  # long enough for a stable speaker embedding, short enough for quick turns
HOP_S = 0.75
# Sound quieter than this (RMS over 10 ms, about -46 dBFS) is no speech worth embedding.
SPEECH_RMS = 0.005
RMS_FRAME_S = 0.01
MIN_PAUSE_S = 0.3  # a pause this long may be a change of speaker: windows do not cross it
# Windows at least this long are embedded well enough to find the speakers; shorter ones
# (a "yes" on its own) join the speaker they sound most like.
MIN_CLUSTER_S = 1.0
# What a change of speaker between two consecutive windows costs, in cosine similarity: a
# tie-breaker for short windows, far below what tells two voices apart.
SWITCH_COST = 0.05
MAX_SPEAKERS = 8  # the most the count estimate considers when the user gives none
# Two groups of windows whose centres are more alike than this (cosine) are one speaker.
# Set on the tiny encoder of the tests (its held-out conversations); not yet measured with
# TitaNet-Large's real weights.
MERGE_COS = 0.7
# With the count estimated, a split that leaves a group smaller than this (windows, and
# share of all) is not taken: such a group is no speaker (overlapped speech, a cough).
MIN_GROUP = 2
MIN_GROUP_SHARE = 0.02
# Two neighbouring windows of one stretch share much of their sound: less alike than this
# (cosine), one of them probably holds a change of speaker (`Stretches`). A group with
# more than MAX_BLEND_SHARE of its windows such blends is two voices blended, not a third
# speaker; one with more than MAX_INSIDE_SHARE of its windows set inside another group's
# stretches (all their neighbours that group's) is a part of that voice, split off by the
# words it says. Measured with the tiny encoder (README, Speakers); not yet with
# TitaNet-Large's real weights.
BLEND_COS = 0.8
MAX_BLEND_SHARE = 0.5
MAX_INSIDE_SHARE = 0.3


def speech_regions(audio: np.ndarray, sample_rate: int = SAMPLE_RATE,
                   min_pause_s: float = MIN_PAUSE_S) -> list[tuple[int, int]]:
    """(start, end) sample ranges of sound, split at every pause of at least `min_pause_s`.
    People rarely hand over the word without such a pause, so a region is mostly one
    speaker's; the pauses inside a sentence are shorter and keep it whole."""
    hop = int(RMS_FRAME_S * sample_rate)
    n = len(audio) // hop
    if n == 0:
        return [(0, len(audio))] if _loud(audio) else []
    frames = np.asarray(audio[: n * hop], dtype=np.float64).reshape(n, hop)
    loud = np.sqrt(np.mean(np.square(frames), axis=1)) >= SPEECH_RMS
    if len(audio) > n * hop and _loud(audio[n * hop :]):  # the tail shorter than a frame
        loud = np.append(loud, True)
    regions: list[tuple[int, int]] = []
    pause = int(round(min_pause_s / RMS_FRAME_S))
    for i in np.flatnonzero(loud):
        if regions and i - regions[-1][1] < pause:
            regions[-1] = (regions[-1][0], int(i) + 1)
        else:
            regions.append((int(i), int(i) + 1))
    return [(a * hop, min(b * hop, len(audio))) for a, b in regions]


def _loud(piece: np.ndarray) -> bool:
    return bool(len(piece)) and float(np.sqrt(np.mean(np.square(piece, dtype=np.float64)))) >= SPEECH_RMS


def speech_windows(audio: np.ndarray, sample_rate: int = SAMPLE_RATE,
                   window_s: float = WINDOW_S, hop_s: float = HOP_S) -> list[tuple[int, int]]:
    """(start, end) sample ranges to embed: each speech region (`speech_regions`) whole when
    it is no longer than a window, else overlapping windows inside it, the last one ending
    where the region ends. No window reaches across a pause into someone else's turn."""
    win, hop = int(window_s * sample_rate), int(hop_s * sample_rate)
    out: list[tuple[int, int]] = []
    for a, b in speech_regions(audio, sample_rate):
        if b - a <= win:
            out.append((a, b))
            continue
        starts = list(range(a, b - win + 1, hop))
        if starts[-1] + win < b:
            starts.append(b - win)
        out += [(s, s + win) for s in starts]
    return out


@dataclass(frozen=True)
class Stretches:
    """Where the windows that find the speakers lie in the sound, for the count estimate:
    `blend` marks a window less alike (cosine < BLEND_COS) to an overlapping neighbour
    than one speaker's windows are (where one person hands over to another without a
    pause, the window across the change holds both voices); `neighbours` lists the windows
    just before and after each one that overlap it (indices among these windows)."""

    blend: np.ndarray
    neighbours: list[list[int]]

    @classmethod
    def of(cls, unit: np.ndarray, windows: list[tuple[int, int]]) -> "Stretches":
        n = len(windows)
        blend = np.zeros(n, dtype=bool)
        neighbours: list[list[int]] = [[] for _ in range(n)]
        for i in range(n - 1):
            if windows[i + 1][0] < windows[i][1]:  # they overlap: one stretch of sound
                neighbours[i].append(i + 1)
                neighbours[i + 1].append(i)
                if float(unit[i] @ unit[i + 1]) < BLEND_COS:
                    blend[i] = blend[i + 1] = True
        return cls(blend, neighbours)

    def take(self, mask: np.ndarray) -> "Stretches":
        """The same for the windows of `mask` only: neighbours outside it dropped, `blend`
        kept as measured against them (a short window beside a change still marks it)."""
        mask = np.asarray(mask, dtype=bool)
        index = np.cumsum(mask) - 1
        return Stretches(self.blend[mask], [[int(index[j]) for j in nb if mask[j]]
                                            for i, nb in enumerate(self.neighbours) if mask[i]])

    def inside_another(self, labels: np.ndarray) -> np.ndarray:
        """Windows whose neighbours in their stretch all carry one label other than their
        own: a piece of someone else's stretch of speech (or its edge)."""
        return np.array([bool(nb) and len({int(labels[j]) for j in nb}) == 1 and labels[nb[0]] != labels[i]
                         for i, nb in enumerate(self.neighbours)], dtype=bool)


def cluster_embeddings(embeddings: np.ndarray, count: int | None = None, max_speakers: int = MAX_SPEAKERS,
                       reliable: np.ndarray | None = None,
                       windows: list[tuple[int, int]] | None = None) -> np.ndarray:
    """A cluster label per embedding. `count` given: exactly that many (or fewer when there
    are fewer embeddings); None: estimated (`_cluster`), one speaker when no two groups
    differ enough. `reliable` (a mask): only those
    embeddings find the speakers; the others join the nearest speaker's centre, so a
    one-word reply can neither invent a speaker nor pull two apart. `windows` (where each
    embedding lies, in time order): the estimate also refuses groups of blended voices or
    of pieces of someone else's stretches (`Stretches`)."""
    emb = np.asarray(embeddings, dtype=np.float64)
    n = len(emb)
    if n < 2 or count == 1:
        return np.zeros(n, dtype=np.int64)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    core = np.ones(n, dtype=bool) if reliable is None else np.asarray(reliable, dtype=bool)
    if core.sum() < 2:
        core = np.ones(n, dtype=bool)
    if windows is not None and len(windows) != n:
        raise ValueError(f"{len(windows)} windows for {n} embeddings")
    stretches = Stretches.of(emb, windows).take(core) if windows is not None and count is None else None
    labels = np.zeros(n, dtype=np.int64)
    labels[core] = _cluster(emb[core], count, max_speakers, stretches)
    if not core.all():
        centres = np.stack([emb[core][labels[core] == k].mean(axis=0) for k in range(int(labels[core].max()) + 1)])
        labels[~core] = np.argmax(emb[~core] @ centres.T, axis=1)
    return labels


def _cluster(emb: np.ndarray, count: int | None, max_speakers: int, stretches: Stretches | None) -> np.ndarray:
    """k-means on the unit vectors: `count` groups, or with no count the most groups
    (up to `max_speakers`) that are all distinct voices (`_distinct`). A silhouette picks
    fewer when two voices are alike next to a very different one (measured:
    tools/train_tiny/speakers_eval.py); distinct centres do not."""
    from sklearn.cluster import KMeans

    n = len(emb)

    def fit(k: int) -> np.ndarray:
        return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(emb).astype(np.int64)

    if count is not None:
        return fit(min(count, n))
    best = np.zeros(n, dtype=np.int64)
    for k in range(2, min(max_speakers, n) + 1):
        labels = fit(k)
        if _distinct(emb, labels, k, stretches):
            best = labels
    return best


def _distinct(emb: np.ndarray, labels: np.ndarray, k: int, stretches: Stretches | None) -> bool:
    """Whether `k` groups are `k` speakers: each at least MIN_GROUP windows and
    MIN_GROUP_SHARE of them, none (of three or more) standing out with more than
    MAX_BLEND_SHARE blends or MAX_INSIDE_SHARE pieces inside another's stretches, and
    every two centres less alike than MERGE_COS."""
    sizes = np.bincount(labels, minlength=k)
    if sizes.min() < max(MIN_GROUP, MIN_GROUP_SHARE * len(emb)):
        return False
    if stretches is not None and k >= 3 and (_stands_out(stretches.blend, labels, k, MAX_BLEND_SHARE)
                                             or _stands_out(stretches.inside_another(labels), labels, k,
                                                            MAX_INSIDE_SHARE)):
        return False
    centres = np.stack([emb[labels == j].mean(axis=0) for j in range(k)])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    alike = centres @ centres.T
    np.fill_diagonal(alike, -1.0)
    return bool(alike.max() < MERGE_COS)


def _stands_out(marked: np.ndarray, labels: np.ndarray, k: int, limit: float) -> bool:
    """Whether some group has more than `limit` of its windows marked while most groups do
    not. Only a third voice or more is judged so: a blend needs two voices, and where most
    voices sit next to changes (people talking over each other's ends, no pauses) the
    marks tell nothing."""
    shares = np.array([marked[labels == j].mean() for j in range(k)])
    return bool(shares.max() > limit and np.median(shares) <= limit)


def smooth_in_time(embeddings: np.ndarray, labels: np.ndarray, windows: list[tuple[int, int]],
                   switch_cost: float = SWITCH_COST, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Labels for windows in time order that trade each window's likeness to the speakers'
    centres (cosine, less for windows shorter than MIN_CLUSTER_S) against a small cost for
    every change of speaker (Viterbi): a short, noisy window between two of the same
    speaker stays with them unless it sounds clearly like someone else. The speakers and
    their centres are those of `labels`."""
    if len(labels) < 2:
        return labels
    emb = np.asarray(embeddings, dtype=np.float64)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    k = int(labels.max()) + 1
    centres = np.stack([emb[labels == j].mean(axis=0) if np.any(labels == j) else np.zeros(emb.shape[1])
                        for j in range(k)])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    weight = np.minimum(1.0, np.array([(e - s) / (MIN_CLUSTER_S * sample_rate) for s, e in windows]))
    score = (emb @ centres.T) * weight[:, None]
    n = len(labels)
    total = score[0].copy()
    back = np.zeros((n, k), dtype=np.int64)
    for i in range(1, n):
        stay = total
        best = int(np.argmax(total))
        switch = total[best] - switch_cost
        back[i] = np.where(stay >= switch, np.arange(k), best)
        total = np.maximum(stay, switch) + score[i]
    out = np.zeros(n, dtype=np.int64)
    out[-1] = int(np.argmax(total))
    for i in range(n - 1, 0, -1):
        out[i - 1] = back[i, out[i]]
    return out


def windows_to_diarization(windows: list[tuple[int, int]], labels: np.ndarray, num_samples: int,
                           sample_rate: int = SAMPLE_RATE, frame_s: float = FRAME_S) -> Diarization:
    """Frame probabilities from labelled windows: each frame's share of the overlapping
    windows that belong to each cluster (frames no window covers are silence)."""
    n_frames = int(np.ceil(num_samples / sample_rate / frame_s))
    k = int(labels.max()) + 1 if len(labels) else 1
    votes = np.zeros((n_frames, k))
    for (start, end), lab in zip(windows, labels):
        a = int(start / sample_rate / frame_s)
        b = max(a + 1, int(np.ceil(end / sample_rate / frame_s)))
        votes[a:b, int(lab)] += 1.0
    covered = votes.sum(axis=1, keepdims=True)
    probs = np.divide(votes, covered, out=np.zeros_like(votes), where=covered > 0)
    return Diarization(probs.astype(np.float32), frame_s)
