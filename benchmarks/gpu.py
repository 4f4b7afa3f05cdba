"""The CUDA section: nemo_desk's own GPU path on a long file, next to NeMo's own recipe.

Everything goes through the app's code: the model is loaded by the app's ModelManager (CPU
restore, one copy to the GPU, the precision the device check chose), placed by
`loader.place`, and transcribed by `transcribe_array` with the app's BatchRunner. Per row:
precision mode (fp32; bf16 autocast over fp32 weights, the former way; bf16 model cast, the
app's way on Ampere and newer), batch 4-32, CUDA graphs on or off; real-time factor (RTFx:
seconds of audio per second of wall time), the first call's time (kernel selection and
CUDA-graph capture), peak VRAM during the run; and once, peak VRAM during the app's load.
NeMo's long-form recipe (transcribe_speech.py: bf16 model, local attention over the whole
file in one piece, batch 1) runs last on the same model, and the best app row is given as
a ratio to it. Published for comparison (model card, Parakeet TDT 0.6B v2): RTFx 3380 on
the HF Open ASR leaderboard at batch 128 (many short utterances, A100).

Runs in a child process (`worker.py gpu`); without CUDA it returns "skipped: no CUDA";
`dry_run_cpu` runs the same code on the CPU (tiny model, short audio) to check it.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

GB = 1024**3
MODES = ("fp32", "bf16-autocast", "bf16-model")  # fp32 weights first: the bf16 cast is lossy
BATCHES = (4, 8, 16, 32)
GRAPHS = (True, False)


class _CpuStandIn:
    """torch.cuda's calls used here, as no-ops, for the dry run on the CPU."""

    def synchronize(self):
        pass

    def empty_cache(self):
        pass

    def reset_peak_memory_stats(self):
        pass

    def max_memory_allocated(self):
        return 0

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
    from nemo_desk.engine.device import Precision
    from nemo_desk.engine.loader import place, set_cuda_graphs
    from nemo_desk.engine.runner import BatchRunner
    from nemo_desk.engine.transcriber import TranscribeOptions, transcribe_array
    from nemo_desk.media import Ffmpeg, decode

    quiet()
    harness = AppHarness(a["nemo"], a["home"], device)
    cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    loaded = harness.services.models.get(harness.ref)  # the app's own load
    cuda.synchronize()
    load = {"load_s": round(time.perf_counter() - t0, 2), "load_peak_vram_gb": round(cuda.max_memory_allocated() / GB, 2),
            "app_precision": loaded.precision.value, "app_default_batch": loaded.default_batch,
            "weights_gb": round(sum(p.numel() * p.element_size() for p in loaded.model.parameters()) / GB, 2)}
    audio = decode(Path(a["audio"]), Ffmpeg.locate())
    if a.get("max_seconds"):
        audio = audio[: int(a["max_seconds"] * 16000)]
    duration = len(audio) / 16000
    chunk = float(a.get("chunk_s") or loaded.spec.max_chunk_s)
    rows: list[dict] = []

    def placed(mode: str) -> None:
        place(loaded, "cpu")
        place(loaded, device, Precision.BF16 if mode == "bf16-model" else Precision.FP32)

    def measure(mode: str, batch: int, graphs: bool) -> dict:
        set_cuda_graphs(loaded, graphs, reinit=True)
        autocast = (torch.autocast(device_type=device, dtype=torch.bfloat16) if mode == "bf16-autocast"
                    else contextlib.nullcontext())
        inner = BatchRunner(loaded, TranscribeOptions(), lambda e: None)

        def runner(arrays):
            with autocast:
                return inner(arrays)

        options = TranscribeOptions(batch_size=batch, chunk_seconds=chunk)
        row = {"mode": mode, "precision": loaded.precision.value, "batch": batch, "chunk_s": chunk, "graphs": graphs}
        try:
            cuda.synchronize()
            t_first = time.perf_counter()
            transcribe_array(loaded, audio[: int(min(duration, 2 * chunk * batch) * 16000)], options, runner=runner)
            cuda.synchronize()
            row["first_call_s"] = round(time.perf_counter() - t_first, 2)  # capture and kernel choice included
            cuda.empty_cache()
            cuda.reset_peak_memory_stats()
            t_run = time.perf_counter()
            transcript = transcribe_array(loaded, audio, options, runner=runner)
            cuda.synchronize()
            wall = time.perf_counter() - t_run
            row.update(wall_s=round(wall, 3), rtfx=round(duration / wall, 1),
                       peak_vram_gb=round(cuda.max_memory_allocated() / GB, 2),
                       words=sum(len(s.text.split()) for s in transcript.segments),
                       batch_limit=loaded.batch_limit)
        except Exception as exc:  # a failure is a result here
            row["error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
            cuda.empty_cache()
        loaded.batch_limit = None  # each row starts from its own batch size
        rows.append(row)
        return row

    for mode in a.get("modes", MODES):
        placed(mode)
        for graphs in a.get("graphs", GRAPHS):
            for batch in a.get("batches", BATCHES):
                measure(mode, batch, graphs)

    nemo = _nemo_recipe(loaded.model, audio, duration, cuda, torch, dry)
    good = [r for r in rows if "rtfx" in r]
    best = max(good, key=lambda r: r["rtfx"]) if good else None
    return {"ok": True, "gpu": cuda.get_device_name(0), "audio_s": round(duration, 1),
            "total_vram_gb": round(cuda.get_device_properties(0).total_memory / GB, 1), "load": load,
            "rows": rows, "nemo_recipe": nemo, "best": best,
            "best_over_nemo": round(best["rtfx"] / nemo["rtfx"], 2) if best and nemo.get("rtfx") else None}


def _nemo_recipe(model, audio, duration: float, cuda, torch, dry: bool) -> dict:
    """NeMo's long-form recipe on the same weights: bf16 model, local attention, one piece."""
    row = {"mode": "NeMo recipe: bf16 model, local attention, one piece", "batch": 1}
    try:
        if not dry:
            model.to(dtype=torch.bfloat16)
        model.change_attention_model("rel_pos_local_attn", [256, 256])
        model.change_subsampling_conv_chunking_factor(1)
        cuda.empty_cache()
        cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        hyp = model.transcribe([audio], batch_size=1, return_hypotheses=True, timestamps=True,
                               num_workers=0, verbose=False)[0]
        cuda.synchronize()
        wall = time.perf_counter() - t0
        row.update(wall_s=round(wall, 3), rtfx=round(duration / wall, 1),
                   peak_vram_gb=round(cuda.max_memory_allocated() / GB, 2), words=len(hyp.text.split()))
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
    return row
