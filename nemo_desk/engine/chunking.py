"""Splitting long audio into overlapping windows placed at quiet points.

Why: progress, cancel points and bounded memory all need pieces, and full attention
costs memory quadratically with length. Why quiet points: a cut through a word makes
the model hear a fragment on both sides, so each cut goes to the quietest stretch
shortly before the length limit. Why overlap: in continuous speech there is no pause,
and even a cut between words costs the edge word its context (measured: about half a
word per cut). So each window reaches past its cut into its neighbour's part; the two
readings of the shared stretch are merged by engine/merge.py. Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nemo_desk.engine.vad import SpeechMap

FRAME_S = 0.02  # energy frame: 20 ms
SMOOTH_S = 0.2  # a quiet point must be quiet for about this long, not one lucky frame
# Below this level a stretch is quiet whatever the rest of the file does: in a file that
# is mostly silence the loud parts (95th percentile) are silence too, and every cut would
# be called "not quiet" (a false "No pause found" warning at each one).
ABSOLUTE_QUIET_DB = -50.0
# Window starts go on the encoder's frame grid (10 ms features, 8x subsampling = 80 ms):
# then a word heard by two windows, or by a window and the one-piece run, gets the very
# same frame times, which makes the readings of an overlap line up exactly.
FRAME_GRID_S = 0.08
SEARCH_WITH_OVERLAP_S = 8.0
# With a speech detector: frames without speech rank this far below their level (below
# any speech), and a stretch without speech at least SKIP_MIN_S long is not sent to the
# model, except SPEECH_CONTEXT_S at each end, which stays with the speech beside it (the
# detector's edges are not exact to the syllable, and the model wants a little lead-in).
NOT_SPEECH_DB = 60.0
SKIP_MIN_S = 6.0
SPEECH_CONTEXT_S = 1.0


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
    # In blocks of about a minute: a float copy and its square of the whole file would be
    # two more copies of the audio at once (measured: 0.6 GB of peak memory per hour of
    # audio with them, the audio itself is 0.23 GB).
    power = np.empty(n, dtype=np.float32)
    step = max(1, int(60.0 / FRAME_S))
    for i in range(0, n, step):
        frames = audio[i * hop : min(n, i + step) * hop].reshape(-1, hop).astype(np.float32)
        power[i : i + len(frames)] = np.mean(frames * frames, axis=1)
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
    energy: np.ndarray | None = None,
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
    if energy is None:
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
            quiet = best <= loud - quiet_margin_db or best <= ABSOLUTE_QUIET_DB
        cut = min(max(cut, start + hop), limit)
        chunks.append(Chunk(len(chunks), start, cut, quiet))
        start = cut
    chunks.append(Chunk(len(chunks), start, total, True))
    return chunks


@dataclass(frozen=True)
class Window:
    """A stretch the model hears: `start`..`end` (samples). It owns `core_start`..`core_end`
    (its chunk of the plan; cores tile the file exactly, so progress counts each second once)
    and hears up to half the overlap of its neighbours' audio either side, for context."""
    index: int
    start: int
    end: int
    core_start: int
    core_end: int
    quiet_cut: bool = True  # as Chunk.quiet_cut, for the cut that ends the core
    speech: bool = True  # False: the speech detector heard none here; the model is not asked

    def seconds(self, sample_rate: int) -> tuple[float, float]:
        return self.start / sample_rate, self.end / sample_rate

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def core_length(self) -> int:
        return self.core_end - self.core_start


def plan_windows(audio: np.ndarray, sample_rate: int, max_window_s: float, overlap_s: float,
                 speech: SpeechMap | None = None) -> list[Window]:
    """Windows of at most `max_window_s` (plus less than one frame of grid alignment) whose
    neighbours share up to `overlap_s` seconds of audio around each cut.

    The cuts are planned by `plan_chunks` with room left for the overlap, so they still
    fall at quiet points where there are any; the splice of two readings then lands in
    that pause. `overlap_s` 0 gives today's plain chunks (no merge needed). With `speech`
    (engine/vad.py) cuts go where speech pauses, whatever the level, and long stretches
    without speech become windows of their own that the model never hears (`speech=False`).
    """
    total = len(audio)
    hop = max(1, int(sample_rate * FRAME_S))
    energy = frame_energy_db(audio, sample_rate)
    regions = [(0, total, True)]
    if speech is not None:
        # Not speech (music, noise, a pause) ranks below any speech at its level: the cut
        # search then picks a pause in speech over a quiet syllable.
        energy = np.where(speech.per_frame(hop, len(energy)), energy, energy - NOT_SPEECH_DB)
        grid = int(FRAME_GRID_S * sample_rate)
        regions = speech.regions(total, grid, int(SKIP_MIN_S * sample_rate), int(SPEECH_CONTEXT_S * sample_rate))
    windows: list[Window] = []
    for lo, hi, spoken in regions:
        if not spoken:
            windows.append(Window(len(windows), lo, hi, lo, hi, True, speech=False))
            continue
        for w in _plan_region(audio, sample_rate, energy, lo, hi, max_window_s, overlap_s):
            windows.append(replace(w, index=len(windows)))
    return windows


def _plan_region(audio: np.ndarray, sample_rate: int, energy: np.ndarray, lo: int, hi: int,
                 max_window_s: float, overlap_s: float) -> list[Window]:
    """`plan_windows` for `lo`..`hi` (samples; `lo` on the frame grid) of the audio."""
    hop = max(1, int(sample_rate * FRAME_S))
    piece, levels = audio[lo:hi], energy[lo // hop : -(-hi // hop)]
    total = hi - lo
    if overlap_s <= 0 or total <= int(max_window_s * sample_rate):
        return [Window(c.index, lo + c.start, lo + c.end, lo + c.start, lo + c.end, c.quiet_cut)
                for c in plan_chunks(piece, sample_rate, max_window_s, energy=levels)]
    # A window must keep at least half its length for its own core; longer overlaps
    # are shortened (they would cost more model time than they give context).
    overlap_s = min(overlap_s, max_window_s / 2)
    half = int(overlap_s * sample_rate / 2)
    grid = int(FRAME_GRID_S * sample_rate)
    limit = max_window_s - overlap_s - FRAME_GRID_S
    # A pause is looked for only in the last 8 s before each limit (plain cuts look back
    # half a chunk): with overlap a cut in speech costs nothing, while each cut costs the
    # overlap again in model time. Measured on continuous speech with 30 s windows and 3 s
    # overlap: 1.154x the audio sent with the wide search, 1.125x with 8 s.
    chunks = plan_chunks(piece, sample_rate, limit, search_s=min(SEARCH_WITH_OVERLAP_S, limit / 2), energy=levels)
    windows = []
    for k, c in enumerate(chunks):
        a, b = lo + c.start, lo + c.end
        # Every cut reaches into the neighbour, a cut in a pause too: the first word after a
        # pause, heard with silence alone before it, was misread (measured on the 10-minute
        # test recording: "okay" as "okay o" for every window start in the 1.4 s pause, and
        # read right once the window began on the words before the pause).
        start = _quiet_edge(energy, sample_rate, a - half, a - half // 2, grid) if k else lo
        end = _quiet_edge(energy, sample_rate, b + half // 2, b + half, 1) if k + 1 < len(chunks) else hi
        windows.append(Window(c.index, max(lo, start), min(end, hi), a, b, c.quiet_cut))
    return windows


def _quiet_edge(energy: np.ndarray, sample_rate: int, lo: int, hi: int, grid: int) -> int:
    """The quietest point of `lo`..`hi` (samples) on a multiple of `grid`: a window that
    begins or ends between words hears no fragment of one (which it would misread, with
    no context), and in a pause the model hears a clean start. Ties go to the point
    farthest from the cut (more context)."""
    hop = max(1, int(sample_rate * FRAME_S))
    lo = max(0, lo)
    points = np.arange(-(-lo // grid) * grid, hi + 1, grid)
    points = points[points // hop < len(energy)]
    if len(points) == 0:
        return max(0, lo // grid * grid)
    levels = energy[points // hop]
    # Within 1 dB of the quietest counts as equally quiet (as for the cuts).
    quiet = np.flatnonzero(levels <= levels.min() + 1.0)
    return int(points[quiet[-1] if grid == 1 else quiet[0]])


def batches(chunks: list, batch_size: int) -> list[list]:
    size = max(1, batch_size)
    return [chunks[i : i + size] for i in range(0, len(chunks), size)]
