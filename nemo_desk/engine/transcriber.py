"""Chunked, batched transcription of a decoded waveform with a loaded model.

Audio reaches NeMo only as 16 kHz mono float32 arrays: with arrays NeMo writes no
manifest.json and lhotse opens no file, which removes the WinError 32 of a manifest
deleted while still open. `num_workers=0` always (worker processes hold more handles).
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.events import LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.core.transcript import Segment, Transcript
from nemo_desk.core.states import Stage
from nemo_desk.engine.chunking import Window, plan_windows
from nemo_desk.engine.hypotheses import segments_from_chunk
from nemo_desk.engine.loader import LoadedModel
from nemo_desk.engine.merge import merge_windows
from nemo_desk.engine.options import DEFAULT_OVERLAP_S, TranscribeOptions
from nemo_desk.engine.runner import BatchRunner

if TYPE_CHECKING:
    from nemo_desk.engine.vad import SpeechMap

__all__ = ["BatchRunner", "ChunkCache", "TranscribeOptions", "transcribe_array"]

SAMPLE_RATE = 16000
# Below this peak level (-60 dBFS) a chunk holds no speech: the model is not asked, so it
# cannot invent words, and long silent stretches cost nothing.
SILENCE_PEAK = 0.001
# The encoder's convolutional subsampling needs a minimum number of frames; shorter
# pieces are padded with silence (times are unaffected: padding comes after the audio).
MIN_PIECE_S = 1.0


class ChunkCache(Protocol):
    """Where finished chunks are kept so an interrupted job resumes (the journal)."""

    def load(self, plan_key: str) -> dict[int, list[Segment]]: ...

    def save(self, plan_key: str, index: int, segments: list[Segment]) -> None: ...


def plan_key(windows: list[Window], overlap_s: float = 0.0) -> str:
    """Identifies a window plan: saved readings are reused only for the very same windows
    and merge settings, so a changed overlap never mixes old windows with new ones."""
    plan = [[w.start, w.end, w.core_start, w.core_end] for w in windows]
    return hashlib.sha1(json.dumps([plan, round(overlap_s, 3)]).encode()).hexdigest()[:16]


def transcribe_array(
    loaded: LoadedModel,
    audio: np.ndarray,
    options: TranscribeOptions = TranscribeOptions(),
    cancel: CancelToken | None = None,
    observer: ObserverFn = null_observer,
    source: str = "",
    runner: Callable[[list[np.ndarray]], list[Any]] | None = None,
    cache: ChunkCache | None = None,
) -> Transcript:
    loaded.spec.validate_languages(options.language, options.target_language)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    chunk_s = options.chunk_seconds or loaded.spec.max_chunk_s
    overlap_s = DEFAULT_OVERLAP_S if options.overlap_seconds is None else max(0.0, options.overlap_seconds)
    windows = plan_windows(audio, SAMPLE_RATE, chunk_s, overlap_s, _speech(audio, options, observer))
    loud_cuts = [w for w in windows[:-1] if not w.quiet_cut]
    if loud_cuts and overlap_s <= 0:  # with overlap a cut in speech is merged, not lost
        at = ", ".join(f"{w.core_end / SAMPLE_RATE:.0f} s" for w in loud_cuts[:5])
        observer(LogEvent("warning", f"No pause found near {at}; a word there may be cut."))
    return transcribe_windows(loaded, audio, windows, options, cancel, observer, source, runner, cache,
                              plan_key(windows, overlap_s), chunk_s)


def _speech(audio: np.ndarray, options: TranscribeOptions, observer: ObserverFn) -> SpeechMap | None:
    """Where people speak, or None: detection off, unavailable (said in the log), or no
    speech heard anywhere. Such a file is read as before, every stretch of it: the
    detector can miss an unusual voice (singing, a child) and a whole file lost to it
    would be worse than the model time it saves."""
    if not options.speech_detection or len(audio) == 0:
        return None
    from nemo_desk.engine.vad import SPEECH_THRESHOLD, detect_speech  # torch: with the first job

    speech, why = detect_speech(audio, SAMPLE_RATE)
    if speech is None:
        observer(LogEvent("warning", f"{why}; cuts are placed by the audio level alone."))
        return None
    return speech if bool(np.any(speech.probs > SPEECH_THRESHOLD)) else None


def transcribe_windows(
    loaded: LoadedModel,
    audio: np.ndarray,
    windows: list[Window],
    options: TranscribeOptions = TranscribeOptions(),
    cancel: CancelToken | None = None,
    observer: ObserverFn = null_observer,
    source: str = "",
    runner: Callable[[list[np.ndarray]], list[Any]] | None = None,
    cache: ChunkCache | None = None,
    key: str = "",
    max_segment_s: float = 30.0,
) -> Transcript:
    """Every window's raw reading (reused from `cache` where saved), merged at the end:
    a resumed run merges the same readings as an uninterrupted one."""
    spec = loaded.spec
    duration = len(audio) / SAMPLE_RATE
    run = runner or BatchRunner(loaded, options, observer)
    results: dict[int, list[Segment]] = dict(cache.load(key)) if cache is not None else {}
    reused = len(results)
    if reused:
        observer(LogEvent("info", f"Resuming: {reused} of {len(windows)} chunks were already transcribed"))
    # Progress counts each window's own part (cores tile the file): every second once.
    # Counted in samples (integers): a sum of float seconds drifts past the duration.
    done = sum(w.core_length for w in windows if w.index in results)
    observer(Progress(Stage.TRANSCRIBING, done / SAMPLE_RATE, duration))
    started = time.monotonic()
    silent = {w.index for w in windows if not w.speech or _is_silent(audio[w.start : w.end])}
    size = options.batch_size or loaded.default_batch or spec.default_batch_size
    group: list[Window] = []

    def run_group() -> None:
        nonlocal done
        if cancel is not None:
            cancel.raise_if_cancelled()
        hyps = run([_padded(audio[w.start : w.end]) for w in group])
        for window, hyp in zip(group, hyps):
            results[window.index] = _chunk_segments(window, hyp)
            if cache is not None:  # committed at once: a crash after this loses nothing
                cache.save(key, window.index, results[window.index])
            done += window.core_length
        group.clear()
        observer(Progress(Stage.TRANSCRIBING, done / SAMPLE_RATE, duration))

    for w in windows:
        if w.index in results:
            continue
        if w.index in silent:
            # Counted in order, among the windows around it: progress and the ETA move on
            # evenly through a long silent file instead of jumping at the start.
            results[w.index] = []
            done += w.core_length
            observer(Progress(Stage.TRANSCRIBING, done / SAMPLE_RATE, duration))
            continue
        group.append(w)
        if len(group) >= size:
            run_group()
    if group:
        run_group()
    observer(Progress(Stage.TRANSCRIBING, duration, duration))
    segments = merge_windows(windows, results, SAMPLE_RATE, max_segment_s)
    return Transcript(
        segments=segments,
        duration=duration,
        language=options.language,
        model=spec.id,
        source=source,
        target_language=options.target_language if options.target_language != options.language else None,
        has_word_times=any(s.words for s in segments) or (spec.timestamps and not segments),
        meta={"chunks": len(windows), "reused_chunks": reused, "device": loaded.device,
              "silent_chunks": len(silent), "no_speech_chunks": sum(1 for w in windows if not w.speech),
              "seconds": round(time.monotonic() - started, 3)},
    )


def _is_silent(piece: np.ndarray) -> bool:
    return len(piece) == 0 or float(np.max(np.abs(piece))) < SILENCE_PEAK


def _padded(piece: np.ndarray) -> np.ndarray:
    need = int(MIN_PIECE_S * SAMPLE_RATE)
    if len(piece) >= need:
        return piece
    return np.concatenate([piece, np.zeros(need - len(piece), dtype=np.float32)])


def _chunk_segments(window: Window, hyp: Any) -> list[Segment]:
    start, end = window.seconds(SAMPLE_RATE)
    text = hyp if isinstance(hyp, str) else getattr(hyp, "text", "")
    timestamp = getattr(hyp, "timestamp", None)
    return segments_from_chunk(text, timestamp if isinstance(timestamp, dict) else None, start, end)
