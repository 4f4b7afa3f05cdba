"""Chunked, batched transcription of a decoded waveform with a loaded model.

Audio reaches NeMo only as 16 kHz mono float32 arrays: with arrays NeMo writes no
manifest.json and lhotse opens no file, which removes the WinError 32 of a manifest
deleted while still open. `num_workers=0` always (worker processes hold more handles).
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Callable, Protocol

import numpy as np

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.events import LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.core.transcript import Segment, Transcript
from nemo_desk.engine.chunking import Chunk, batches, plan_chunks
from nemo_desk.engine.hypotheses import segments_from_chunk
from nemo_desk.engine.loader import LoadedModel
from nemo_desk.engine.options import TranscribeOptions
from nemo_desk.engine.runner import BatchRunner

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


def plan_key(chunks: list[Chunk]) -> str:
    """Identifies a chunk plan: saved chunks are reused only for the very same cuts."""
    return hashlib.sha1(json.dumps([(c.start, c.end) for c in chunks]).encode()).hexdigest()[:16]


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
    spec = loaded.spec
    spec.validate_languages(options.language, options.target_language)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    duration = len(audio) / SAMPLE_RATE
    chunk_s = options.chunk_seconds or spec.max_chunk_s
    chunks = plan_chunks(audio, SAMPLE_RATE, chunk_s)
    loud_cuts = [c for c in chunks[:-1] if not c.quiet_cut]
    if loud_cuts:
        at = ", ".join(f"{c.end / SAMPLE_RATE:.0f} s" for c in loud_cuts[:5])
        observer(LogEvent("warning", f"No pause found near {at}; a word there may be cut."))
    run = runner or BatchRunner(loaded, options, observer)
    key = plan_key(chunks)
    results: dict[int, list[Segment]] = dict(cache.load(key)) if cache is not None else {}
    reused = len(results)
    if reused:
        observer(LogEvent("info", f"Resuming: {reused} of {len(chunks)} chunks were already transcribed"))
    done = sum(chunks[i].length for i in results) / SAMPLE_RATE
    observer(Progress("transcribing", done, duration))
    started = time.monotonic()
    for c in chunks:
        if c.index not in results and _is_silent(audio[c.start : c.end]):
            results[c.index] = []
            done += c.length / SAMPLE_RATE
    pending = [c for c in chunks if c.index not in results]
    for group in batches(pending, options.batch_size or loaded.default_batch or spec.default_batch_size):
        if cancel is not None:
            cancel.raise_if_cancelled()
        hyps = run([_padded(audio[c.start : c.end]) for c in group])
        for chunk, hyp in zip(group, hyps):
            results[chunk.index] = _chunk_segments(chunk, hyp)
            if cache is not None:  # committed at once: a crash after this loses nothing
                cache.save(key, chunk.index, results[chunk.index])
            done += chunk.length / SAMPLE_RATE
        observer(Progress("transcribing", done, duration))
    segments = [seg for c in chunks for seg in results[c.index]]
    return Transcript(
        segments=segments,
        duration=duration,
        language=options.language,
        model=spec.id,
        source=source,
        target_language=options.target_language if options.target_language != options.language else None,
        has_word_times=any(s.words for s in segments) or (spec.timestamps and not segments),
        meta={"chunks": len(chunks), "reused_chunks": reused, "device": loaded.device,
              "silent_chunks": sum(1 for c in chunks if _is_silent(audio[c.start : c.end])),
              "seconds": round(time.monotonic() - started, 3)},
    )


def _is_silent(piece: np.ndarray) -> bool:
    return len(piece) == 0 or float(np.max(np.abs(piece))) < SILENCE_PEAK


def _padded(piece: np.ndarray) -> np.ndarray:
    need = int(MIN_PIECE_S * SAMPLE_RATE)
    if len(piece) >= need:
        return piece
    return np.concatenate([piece, np.zeros(need - len(piece), dtype=np.float32)])


def _chunk_segments(chunk: Chunk, hyp: Any) -> list[Segment]:
    start, end = chunk.seconds(SAMPLE_RATE)
    text = hyp if isinstance(hyp, str) else getattr(hyp, "text", "")
    timestamp = getattr(hyp, "timestamp", None)
    return segments_from_chunk(text, timestamp if isinstance(timestamp, dict) else None, start, end)
