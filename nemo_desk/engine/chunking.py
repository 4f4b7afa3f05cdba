"""Splitting long audio at quiet points.

Why: progress, cancel points and bounded memory all need pieces, and full attention
costs memory quadratically with length. Why quiet points: a cut through a word makes
the model hear a fragment on both sides (a lost or doubled word after stitching), so
each cut goes to the quietest stretch shortly before the length limit. Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_S = 0.02  # energy frame: 20 ms
SMOOTH_S = 0.2  # a quiet point must be quiet for about this long, not one lucky frame


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # sample offsets into the source audio
    end: int
    # Whether the cut that ends this chunk fell on a quiet stretch. False means no
    # pause was found in the search window (continuous music or speech).
    quiet_cut: bool = True

    def seconds(self, sample_rate: int) -> tuple[float, float]:
        return self.start / sample_rate, self.end / sample_rate

    @property
    def length(self) -> int:
        return self.end - self.start


def frame_energy_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Smoothed RMS level per 20 ms frame, in dB."""
    hop = max(1, int(sample_rate * FRAME_S))
    n = len(audio) // hop
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    frames = audio[: n * hop].reshape(n, hop).astype(np.float32)
    power = np.mean(frames * frames, axis=1)
    width = max(1, int(round(SMOOTH_S / FRAME_S)))
    kernel = np.ones(width, dtype=np.float32) / width
    smoothed = np.convolve(power, kernel, mode="same")
    return 10.0 * np.log10(smoothed + 1e-10)


def plan_chunks(
    audio: np.ndarray,
    sample_rate: int,
    max_chunk_s: float,
    search_s: float | None = None,
    quiet_margin_db: float = 25.0,
) -> list[Chunk]:
    """Cut `audio` into chunks of at most `max_chunk_s`, each cut at the quietest point
    of the last `search_s` seconds before the limit.

    A cut counts as quiet when its level is `quiet_margin_db` below the loud parts
    (95th percentile) of the file.
    """
    total = len(audio)
    max_len = int(max_chunk_s * sample_rate)
    if total <= max_len:
        return [Chunk(0, 0, total, True)]
    if search_s is None:
        # Wide enough to contain a pause in ordinary speech, late enough to keep chunks long.
        search_s = min(30.0, max_chunk_s / 2)
    hop = max(1, int(sample_rate * FRAME_S))
    energy = frame_energy_db(audio, sample_rate)
    loud = float(np.percentile(energy, 95)) if len(energy) else 0.0
    chunks: list[Chunk] = []
    start = 0
    while total - start > max_len:
        limit = start + max_len
        lo_f = max((limit - int(search_s * sample_rate)) // hop, start // hop + 1)
        hi_f = min(limit // hop, len(energy))
        window = energy[lo_f:hi_f]
        if len(window) == 0:
            cut, quiet = limit, False
        else:
            best = float(window.min())
            # Among frames within 1 dB of the minimum, take the middle of the latest quiet
            # run: long chunks mean fewer cuts, the middle keeps clear of word edges.
            mask = window <= best + 1.0
            run_end = int(np.flatnonzero(mask)[-1])
            run_start = run_end
            while run_start > 0 and mask[run_start - 1]:
                run_start -= 1
            centre = (run_start + run_end) // 2
            cut = (lo_f + centre) * hop + hop // 2
            quiet = best <= loud - quiet_margin_db
        cut = min(max(cut, start + hop), limit)
        chunks.append(Chunk(len(chunks), start, cut, quiet))
        start = cut
    chunks.append(Chunk(len(chunks), start, total, True))
    return chunks


def batches(chunks: list[Chunk], batch_size: int) -> list[list[Chunk]]:
    size = max(1, batch_size)
    return [chunks[i : i + size] for i in range(0, len(chunks), size)]
