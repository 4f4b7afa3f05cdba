"""Running a loaded diarizer on the decoded 16 kHz float32 array (never a path).

Sortformer is driven one streaming step at a time through NeMo's own
`forward_streaming_step` (the speaker cache keeps a speaker's label across the whole
file; memory per step is bounded by the chunk, FIFO and cache sizes), so the job can
report progress and honour a cancel between steps. NeMo's `diarize()` is not used: it
opens a temp folder per call and reports nothing until the end. A TitaNet-style model
embeds windows of speech, which are clustered (engine/clustering.py).

The result (frame probabilities) is kept through the journal's chunk cache, so a resumed
job does not diarize again. torch is imported inside the functions.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.events import ObserverFn, Progress, null_observer
from nemo_desk.core.transcript import Segment
from nemo_desk.core.states import Stage
from nemo_desk.engine.clustering import (MIN_CLUSTER_S, cluster_embeddings, smooth_in_time, speech_windows,
                                         windows_to_diarization)
from nemo_desk.engine.loader import LoadedModel
from nemo_desk.engine.speakers import FRAME_S, Diarization, limit_speakers

SAMPLE_RATE = 16000
# A Sortformer trained offline (no streaming config) takes a file whole up to this length,
# as its card's offline use does; longer files go through the streaming steps.
OFFLINE_MAX_S = 90.0
EMBED_BATCH = 32  # windows per TitaNet call
# Sortformer's features are computed this much audio at a time where they depend only on
# nearby samples: the whole file at once held its spectrogram (about 1.5 GB an hour) at
# the peak, so memory grew with length (5 min 1.6 GB, 60 min 3.2 GB: benchmarks/diarize.py).
FEATURE_PIECE_S = 60.0


def cache_key(loaded: LoadedModel, count: int | None, num_samples: int) -> str:
    """What the saved result depends on beyond the job's own fingerprint."""
    raw = f"{loaded.spec.id}|{count}|{num_samples}"
    return "diarize-" + hashlib.sha1(raw.encode()).hexdigest()[:12]


def diarize_array(loaded: LoadedModel, audio: np.ndarray, count: int | None = None,
                  cancel: CancelToken | None = None, observer: ObserverFn = null_observer,
                  cache: Any = None) -> Diarization:
    """Who speaks when in `audio`. `count`: the expected number of speakers (Sortformer: an
    upper bound; the embedding path: exactly that many); None: estimated."""
    cancel = cancel or CancelToken()
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    key = cache_key(loaded, count, len(audio))
    saved = cache.load(key) if cache is not None else {}
    if saved.get(0):
        return Diarization.from_json(saved[0][0].text)
    duration = len(audio) / SAMPLE_RATE
    observer(Progress(Stage.DIARIZING, 0, duration))
    if loaded.family == "sortformer":
        diar = limit_speakers(_sortformer(loaded.model, audio, cancel, observer), count)
    elif loaded.family == "titanet":
        diar = _embeddings(loaded.model, audio, count, cancel, observer)
    else:
        from nemo_desk.core.errors import ModelError

        raise ModelError(f"{loaded.spec.name} is a speech recogniser, not a diarizer")
    observer(Progress(Stage.DIARIZING, duration, duration))
    if cache is not None:  # one "chunk": the whole result, as JSON in a segment's text
        cache.save(key, 0, [Segment(diar.to_json(), 0.0, round(duration, 3))])
    return diar


def _sortformer(model: Any, audio: np.ndarray, cancel: CancelToken, observer: ObserverFn) -> Diarization:
    import torch

    duration = len(audio) / SAMPLE_RATE
    n_frames = math.ceil(duration / FRAME_S)
    with torch.inference_mode():
        if not model.streaming_mode and duration <= OFFLINE_MAX_S:
            cancel.raise_if_cancelled()
            preds = model.forward(**_one_signal(model, audio))
            return Diarization(preds[0, :n_frames].float().cpu().numpy(), FRAME_S)
        feats, feat_len = streaming_features(model, audio)
        mods = model.sortformer_modules
        state = mods.init_streaming_state(batch_size=1, async_streaming=model.async_streaming, device=model.device)
        total = torch.zeros((1, 0, mods.n_spk), device=model.device)
        offset = torch.zeros((1,), dtype=torch.long, device=model.device)
        for _, chunk, lengths, left, right in mods.streaming_feat_loader(
                feat_seq=feats, feat_seq_length=feat_len, feat_seq_offset=offset):
            cancel.raise_if_cancelled()
            state, total = model.forward_streaming_step(
                processed_signal=chunk, processed_signal_length=lengths, streaming_state=state,
                total_preds=total, left_offset=left, right_offset=right)
            observer(Progress(Stage.DIARIZING, min(duration, total.shape[1] * FRAME_S), duration))
        return Diarization(total[0, :n_frames].float().cpu().numpy(), FRAME_S)


def streaming_features(model: Any, audio: np.ndarray, piece_s: float | None = None) -> tuple[Any, Any]:
    """Sortformer's input features for its streaming steps, (1, feats, frames) and their
    length, equal to one pass over the whole file. Where the features depend only on the
    samples near each frame (a streaming model without per-file normalisation, as the
    streaming v2.1 model's "NA") they are computed in pieces with a margin of real audio
    on each side, so the spectrum of the whole file is never held at once."""
    import torch

    feat = model.preprocessor.featurizer
    hop, n = int(feat.hop_length), len(audio)
    piece = max(1, int((piece_s or FEATURE_PIECE_S) * SAMPLE_RATE) // hop) * hop
    # Outside streaming mode NeMo scales the file by its loudest sample first: not local.
    whole = not model.streaming_mode or str(feat.normalize) in ("per_feature", "all_features") or n <= piece
    if whole:
        feats, feat_len = model.process_signal(**_one_signal(model, audio))
        return feats[:, :, : int(feat_len.max())], feat_len
    margin = math.ceil(feat.n_fft / hop) * hop  # covers a frame's window and the pre-emphasis
    total = int(feat.get_seq_len(torch.tensor([n]))[0])
    parts = []
    for start in range(0, n, piece):
        a, b = max(0, start - margin), min(n, start + piece + margin)
        feats, _ = model.process_signal(**_one_signal(model, audio[a:b]))
        first = (start - a) // hop
        parts.append(feats[:, :, first : first + min(piece // hop, total - start // hop)])
    return torch.cat(parts, dim=2), torch.tensor([total], device=model.device)


def _one_signal(model: Any, audio: np.ndarray) -> dict[str, Any]:
    """A batch of one on the model's device, as Sortformer's forward and process_signal take it."""
    import torch

    return {"audio_signal": torch.from_numpy(audio)[None].to(model.device),
            "audio_signal_length": torch.tensor([len(audio)], device=model.device)}


def _embeddings(model: Any, audio: np.ndarray, count: int | None, cancel: CancelToken,
                observer: ObserverFn) -> Diarization:
    import torch

    windows = speech_windows(audio, SAMPLE_RATE)
    duration = len(audio) / SAMPLE_RATE
    parts: list[np.ndarray] = []
    with torch.inference_mode():
        for i in range(0, len(windows), EMBED_BATCH):
            cancel.raise_if_cancelled()
            group = windows[i : i + EMBED_BATCH]
            longest = max(e - s for s, e in group)
            batch = np.zeros((len(group), longest), dtype=np.float32)
            for j, (s, e) in enumerate(group):
                batch[j, : e - s] = audio[s:e]
            _, emb = model.forward(input_signal=torch.from_numpy(batch).to(model.device),
                                   input_signal_length=torch.tensor([e - s for s, e in group], device=model.device))
            parts.append(emb.float().cpu().numpy())
            observer(Progress(Stage.DIARIZING, min(duration, group[-1][1] / SAMPLE_RATE), duration))
    embeddings = np.vstack(parts) if parts else np.zeros((0, 1))
    reliable = np.array([e - s >= MIN_CLUSTER_S * SAMPLE_RATE for s, e in windows], dtype=bool)
    labels = smooth_in_time(embeddings, cluster_embeddings(embeddings, count, reliable=reliable, windows=windows),
                            windows)
    return windows_to_diarization(windows, labels, len(audio), SAMPLE_RATE)
