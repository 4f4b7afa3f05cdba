"""The speaker-embedding path: windows of speech, their embeddings clustered into
speakers, and the clusters turned into frame probabilities (a `Diarization`), so words get
speakers exactly as from Sortformer (engine/speakers.py).

For more speakers than Sortformer's 4, or when the user asks for it. Pure numpy and
scikit-learn (imported inside the functions); the embeddings come from engine/diarizer.py.
"""
from __future__ import annotations

import numpy as np

from nemo_desk.engine.speakers import FRAME_S, Diarization

SAMPLE_RATE = 16000
WINDOW_S = 1.5  # long enough for a stable speaker embedding, short enough for quick turns
HOP_S = 0.75
# A window quieter than this (RMS, about -46 dBFS) holds no speech worth embedding.
SPEECH_RMS = 0.005
MAX_SPEAKERS = 8  # the most the count estimate considers when the user gives none
# Below this mean silhouette a split into 2+ groups is no better than noise: one speaker.
MIN_SILHOUETTE = 0.2


def speech_windows(audio: np.ndarray, sample_rate: int = SAMPLE_RATE,
                   window_s: float = WINDOW_S, hop_s: float = HOP_S) -> list[tuple[int, int]]:
    """(start, end) sample ranges of overlapping windows that hold sound. The last window
    ends at the end of the audio, so no speech at the end goes unheard."""
    n, win, hop = len(audio), int(window_s * sample_rate), int(hop_s * sample_rate)
    if n == 0:
        return []
    starts = list(range(0, max(n - win, 0) + 1, hop))
    if starts[-1] + win < n:
        starts.append(n - win)
    out = []
    for s in starts:
        piece = audio[s : s + win]
        if len(piece) and float(np.sqrt(np.mean(np.square(piece, dtype=np.float64)))) >= SPEECH_RMS:
            out.append((s, min(s + win, n)))
    return out


def cluster_embeddings(embeddings: np.ndarray, count: int | None = None,
                       max_speakers: int = MAX_SPEAKERS) -> np.ndarray:
    """A cluster label per embedding. `count` given: exactly that many (or fewer when there
    are fewer embeddings); None: estimated by the silhouette on cosine distance, and one
    speaker when no split is clearly better than none."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    emb = np.asarray(embeddings, dtype=np.float64)
    n = len(emb)
    if n < 2 or count == 1:
        return np.zeros(n, dtype=np.int64)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)

    def fit(k: int) -> np.ndarray:
        return AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(emb)

    if count is not None:
        return fit(min(count, n))
    best_score, best_labels = MIN_SILHOUETTE, np.zeros(n, dtype=np.int64)
    for k in range(2, min(max_speakers, n - 1) + 1):
        labels = fit(k)
        score = float(silhouette_score(emb, labels, metric="cosine"))
        if score > best_score:
            best_score, best_labels = score, labels
    return best_labels


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
