"""Where people speak: Silero VAD (the `silero-vad` package, its trained model inside the
wheel) gives a speech probability per 32 ms of audio.

Why a detector and not the level alone: music, noise and room tone are as loud as speech,
so a level cannot tell a pause in speech from a stretch of music, and a window that is
mostly silence or music with one phrase in it is read worse than the phrase alone. With
speech known, cuts go where speech pauses and long stretches without speech are not sent
to the model (engine/chunking.py).

Imported with the first job, never at start-up (torch). If the detector cannot load,
`detect_speech` says why and returns None: the planner then falls back to the level.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

VAD_FRAME = 512  # samples at 16 kHz: the model's step (32 ms)
# Above this a frame is speech (the package's own default threshold).
SPEECH_THRESHOLD = 0.5
# A stretch is left out only where every frame is below this: a missed word costs more
# than a few seconds of model time, so doubt keeps the audio in.
SKIP_THRESHOLD = 0.2
# The model is a small recurrent net stepped 32 ms at a time: one file in one sequence
# makes tens of thousands of tiny calls. Cut into pieces run side by side as a batch
# (each piece first hears WARMUP of the audio before it, so its state has settled), the
# same probabilities come in a fraction of the time (measured on two busy cores: 120 s of
# speech in 0.6 s with the model's loading, against 45 s one step at a time; speech flags
# differ on 0.6 % of frames, at the edges of speech).
PIECE_S = 8.0
WARMUP_S = 0.5
MAX_BATCH = 256


@dataclass(frozen=True)
class SpeechMap:
    """Speech probability per VAD frame (VAD_FRAME samples) from the start of the audio."""

    probs: np.ndarray
    sample_rate: int

    def per_frame(self, hop: int, n: int) -> np.ndarray:
        """Speech flags resampled to `n` frames of `hop` samples (the planner's grid)."""
        idx = np.minimum((np.arange(n) * hop + hop // 2) // VAD_FRAME, max(0, len(self.probs) - 1))
        if len(self.probs) == 0:
            return np.zeros(n, dtype=bool)
        return self.probs[idx] > SPEECH_THRESHOLD

    def regions(self, total: int, grid: int, min_gap: int, context: int) -> list[tuple[int, int, bool]]:
        """`0..total` (samples) as consecutive (start, end, has_speech) stretches: every run
        of frames below SKIP_THRESHOLD at least `min_gap` long, less `context` at each end,
        is a stretch without speech. Boundaries lie on multiples of `grid` (the encoder's
        frame grid, so the windows after them hear words at the one-piece frame times)."""
        quiet = self.probs <= SKIP_THRESHOLD
        out: list[tuple[int, int, bool]] = []
        at, k, n = 0, 0, len(quiet)
        while k < n:
            if not quiet[k]:
                k += 1
                continue
            run = k
            while k < n and quiet[k]:
                k += 1
            lo = run * VAD_FRAME + (context if run else 0)
            hi = k * VAD_FRAME - context if k < n else total
            lo, hi = -(-lo // grid) * grid, hi // grid * grid if hi < total else total
            if hi - lo >= min_gap - 2 * context and lo > at:
                out.append((at, lo, True))
            if hi - lo >= min_gap - 2 * context:
                out.append((max(at, lo), hi, False))
                at = hi
        if at < total:
            out.append((at, total, True))
        return out


def _load() -> Any:
    import torch

    threads = torch.get_num_threads()
    try:
        # Loads silero_vad.data/silero_vad.jit from the installed package: no network, no
        # torch.hub. The package sets torch to one thread when imported; NeMo needs them all.
        from silero_vad import load_silero_vad

        return load_silero_vad()
    finally:
        torch.set_num_threads(threads)


# Loaded once per process (a few MB, 0.1 s) and kept: a cache, not state that jobs share.
# The model keeps its recurrent state between calls, so one caller at a time uses it (the
# worker runs one job at a time; the lock keeps a second thread, e.g. a cluster actor's
# status call or a future parallel path, from interleaving with it).
_MODEL: list[Any] = []
_LOCK = threading.Lock()


def detect_speech(audio: np.ndarray, sample_rate: int) -> tuple[SpeechMap | None, str]:
    """Speech probabilities of `audio` (16 kHz mono float32), or None and the reason."""
    if sample_rate != 16000:
        return None, f"speech detection needs 16 kHz audio, not {sample_rate} Hz"
    try:
        with _LOCK:
            if not _MODEL:
                _MODEL.append(_load())
            return SpeechMap(_probabilities(_MODEL[0], audio), sample_rate), ""
    except Exception as exc:  # any failure: the level-based plan still works
        text = str(exc).strip().splitlines()
        return None, f"speech detection is unavailable ({type(exc).__name__}: {text[0][:100] if text else ''})"


def _probabilities(model: Any, audio: np.ndarray) -> np.ndarray:
    import torch

    steps = len(audio) // VAD_FRAME
    if steps == 0:
        return np.zeros(0, dtype=np.float32)
    per = max(1, int(PIECE_S * 16000) // VAD_FRAME)
    warm = int(WARMUP_S * 16000) // VAD_FRAME
    pieces = -(-steps // per)
    out = np.empty(pieces * per, dtype=np.float32)
    threads = torch.get_num_threads()
    # One thread: each call is tiny, and with more the threads wait on each other (measured
    # on two busy cores: 200 ms a call with two threads, 1.3-5 ms with one).
    torch.set_num_threads(1)
    try:
        _run_pieces(model, audio, out, steps, per, warm, pieces)
    finally:
        torch.set_num_threads(threads)
    return out[:steps]


def _run_pieces(model: Any, audio: np.ndarray, out: np.ndarray, steps: int, per: int, warm: int, pieces: int) -> None:
    import torch

    with torch.inference_mode():
        for first in range(0, pieces, MAX_BATCH):
            batch = range(first, min(pieces, first + MAX_BATCH))
            # Each row: `warm` frames of the audio before the piece (zeros at the start), the piece.
            rows = np.zeros((len(batch), (warm + per) * VAD_FRAME), dtype=np.float32)
            for r, p in enumerate(batch):
                lo = max(0, (p * per - warm) * VAD_FRAME)
                hi = min(steps, (p + 1) * per) * VAD_FRAME
                at = warm * VAD_FRAME - (p * per * VAD_FRAME - lo)  # where sample `lo` goes in the row
                rows[r, at : at + hi - lo] = audio[lo:hi]
            x = torch.from_numpy(rows)
            model.reset_states()
            probs = [model(x[:, k * VAD_FRAME : (k + 1) * VAD_FRAME], 16000) for k in range(warm + per)]
            got = torch.cat(probs, dim=1)[:, warm:].numpy()
            out[first * per : (first + len(batch)) * per] = got.reshape(-1)
