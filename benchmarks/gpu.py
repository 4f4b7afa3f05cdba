"""The CUDA section: real-time factor of nemo_desk's chunked transcription of a 1-hour file
on a GPU, for fp32 / bf16 / fp16 (autocast, as the app runs), batch sizes 1-32, chunk
lengths 20-120 s, and NeMo's long-form alternative (local attention over the whole hour
in one piece) against chunking.

Runs in a child process (`worker.py gpu`); without CUDA it returns "skipped: no CUDA".
RTFx = seconds of audio per second of wall time (higher is faster); peak VRAM from
torch.cuda.max_memory_allocated. To compare with NVIDIA's published figures for
Parakeet TDT 0.6B v2 (model card): "RTFx of 3380 on the HF Open ASR leaderboard with a
batch size of 128" (many short utterances, A100) and "audio segments up to 24 minutes in a
single pass" with full attention; NeMo's long-form recipe is local attention
(`change_attention_model("rel_pos_local_attn", [256, 256])`).
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

GB = 1024**3
PRECISIONS = ("fp32", "bf16", "fp16")
BATCHES = (1, 2, 4, 8, 16, 32)
CHUNKS = (20, 30, 45, 60, 90, 120)


def _autocast(torch, precision: str, device: str = "cuda"):
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device, dtype=dtype)


class _CpuStandIn:
    """torch.cuda's calls used here, as no-ops: `dry_run_cpu` runs this section's code
    path on the CPU (tiny model, short audio) to check it where no GPU is available."""

    def synchronize(self):
        pass

    def empty_cache(self):
        pass

    def reset_peak_memory_stats(self):
        pass

    def max_memory_allocated(self):
        return 0

    def is_bf16_supported(self):
        return True

    def get_device_name(self, _=0):
        return "CPU (dry run)"

    def get_device_properties(self, _=0):
        import psutil

        class P:
            total_memory = psutil.virtual_memory().total

        return P()


def run_gpu(a: dict) -> dict:
    import torch

    dry = bool(a.get("dry_run_cpu"))
    if not dry and not torch.cuda.is_available():
        return {"ok": True, "skipped": "skipped: no CUDA"}
    cuda = _CpuStandIn() if dry else torch.cuda
    device = "cpu" if dry else "cuda"
    from benchmarks.probes import AppHarness, quiet
    from nemo_desk.engine.transcriber import TranscribeOptions, transcribe_array
    from nemo_desk.media import Ffmpeg, decode

    quiet()
    harness = AppHarness(a["nemo"], a["home"], device)
    loaded = harness.services.models.get(harness.ref)  # not instrumented: plain app code
    model = loaded.model
    audio = decode(Path(a["audio"]), Ffmpeg.locate())
    if a.get("max_seconds"):
        audio = audio[: int(a["max_seconds"] * 16000)]
    duration = len(audio) / 16000
    precisions = [p for p in a.get("precisions", PRECISIONS)
                  if p != "bf16" or cuda.is_bf16_supported()]
    rows: list[dict] = []

    def measure(precision: str, batch: int, chunk: float, label: str) -> dict:
        def runner(arrays):
            with _autocast(torch, precision, device):
                return model.transcribe(arrays, batch_size=len(arrays), return_hypotheses=True,
                                        timestamps=True, num_workers=0, verbose=False)

        cuda.synchronize()
        cuda.empty_cache()
        cuda.reset_peak_memory_stats()
        row = {"mode": label, "precision": precision, "batch": batch, "chunk_s": chunk}
        t0 = time.perf_counter()
        try:
            transcript = transcribe_array(loaded, audio, TranscribeOptions(batch_size=batch, chunk_seconds=chunk),
                                          runner=runner)
            cuda.synchronize()
            wall = time.perf_counter() - t0
            row.update(wall_s=round(wall, 3), rtfx=round(duration / wall, 1),
                       peak_vram_gb=round(cuda.max_memory_allocated() / GB, 2),
                       words=sum(len(s.text.split()) for s in transcript.segments))
        except Exception as exc:  # OOM is a result here, not a failure
            row.update(error=f"{type(exc).__name__}: {str(exc)[:160]}")
            cuda.empty_cache()
        rows.append(row)
        return row

    # Warm-up per precision (kernel selection, CUDA graphs of the TDT greedy decoder).
    warm = audio[: 60 * 16000].copy()
    for precision in precisions:
        with _autocast(torch, precision, device):
            model.transcribe([warm], batch_size=1, return_hypotheses=True, timestamps=True,
                             num_workers=0, verbose=False)

    batches = a.get("batches", BATCHES)
    chunks = a.get("chunks", CHUNKS)
    for precision in precisions:
        for batch in batches:
            measure(precision, batch, 60.0, "chunked")
        good = [r for r in rows if r["precision"] == precision and "rtfx" in r]
        best_batch = max(good, key=lambda r: r["rtfx"])["batch"] if good else 8
        for chunk in chunks:
            if chunk != 60.0:
                measure(precision, best_batch, float(chunk), "chunked")
    # Local attention over the whole hour in one piece (NeMo's long-form recipe), last,
    # because it changes the model.
    model.change_attention_model("rel_pos_local_attn", [256, 256])
    model.change_subsampling_conv_chunking_factor(1)
    for precision in precisions:
        measure(precision, 1, duration + 1.0, "local attention, one piece")
    return {"ok": True, "gpu": cuda.get_device_name(0), "audio_s": round(duration, 1),
            "total_vram_gb": round(cuda.get_device_properties(0).total_memory / GB, 1), "rows": rows}
