"""One measurement in a fresh process: `python benchmarks/worker.py TASK '{json args}'`.

Prints `RESULT {json}` as its last line. Tasks:
  app          nemo_desk's pipeline (probe, decode, chunk, batch, stitch, export) on one file
  raw          NeMo's own `model.transcribe([path])` on the same file
  compare      app and raw interleaved in one process (same loaded weights, two instances)
  sweep        chunk length x batch size, model loaded once
  load_plain   ASRModel.restore_from(.nemo)
  load_folder  nemo_desk.engine.loader.load_from_folder(unpacked folder)
  unpack       nemo_desk.engine.unpack.unpack_nemo(.nemo -> folder), the one-time step
  gpu          the CUDA section (benchmarks/gpu.py)

Memory: ru_maxrss of this process (its peak RSS over the whole run, model load included)
and, from a 20 ms sampler thread, the peak during the transcription only.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.probes import (  # noqa: E402
    GB, AppHarness, Sampler, cpu_now, nemo_restore_folder, quiet, ru_maxrss_gb, word_count)


def task_app(a: dict) -> dict:
    sampler = Sampler()
    sampler.enter("import")
    quiet()
    harness = AppHarness(a["nemo"], a["home"], a.get("device", "cpu"))
    sampler.enter("load")
    t0 = time.perf_counter()
    harness.load()
    load_s = time.perf_counter() - t0
    sampler.enter("transcribe")
    cuda = a.get("device") == "cuda"
    if cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
    run = harness.run(a["audio"], a["out_dir"], a.get("batch_size"), a.get("chunk_seconds"))
    peaks = sampler.stop()
    out = {"ok": True, "load_s": round(load_s, 2), **run, "peak_rss_gb": round(ru_maxrss_gb(), 3),
           "phase_peak_gb": peaks}
    if cuda:
        import torch

        out["peak_vram_gb"] = round(torch.cuda.max_memory_allocated() / GB, 3)
    return out


def task_raw(a: dict) -> dict:
    sampler = Sampler()
    sampler.enter("import")
    quiet()
    sampler.enter("load")
    device = a.get("device", "cpu")
    t0 = time.perf_counter()
    model = nemo_restore_folder(a["folder"], device) if a.get("folder") else None
    if model is None:
        from nemo.collections.asr.models import ASRModel

        model = ASRModel.restore_from(a["nemo"], map_location=device)
    load_s = time.perf_counter() - t0
    sampler.enter("transcribe")
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    try:
        hyps = model.transcribe([a["audio"]], verbose=False)
    except Exception as exc:  # e.g. torch refusing one huge allocation
        peaks = sampler.stop()
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                "peak_rss_gb": round(ru_maxrss_gb(), 3), "phase_peak_gb": peaks}
    wall = time.perf_counter() - t0
    peaks = sampler.stop()
    out = {"ok": True, "load_s": round(load_s, 2), "wall_s": round(wall, 3), "words": word_count(hyps[0]),
           "peak_rss_gb": round(ru_maxrss_gb(), 3), "phase_peak_gb": peaks}
    if device == "cuda":
        import torch

        out["peak_vram_gb"] = round(torch.cuda.max_memory_allocated() / GB, 3)
    return out


def task_compare(a: dict) -> dict:
    """App vs raw NeMo in one process, interleaved (the order rotates every round), after a
    warm-up of each. Two instances of the same weights: the app's (loaded by nemo_desk from
    its unpacked folder) and the raw one (NeMo's restore_from on that folder), so neither
    one's decoding-config changes (timestamps) leak into the other.

    `variants` are app settings to compare besides raw, e.g. the defaults and "one piece"
    (chunk longer than the file, batch 1: the same model work as raw, so the difference
    is nemo_desk's own overhead)."""
    quiet()
    harness = AppHarness(a["nemo"], a["home"], a.get("device", "cpu"))
    loaded = harness.load()
    raw = nemo_restore_folder(str(loaded.folder), a.get("device", "cpu"))
    variants = a.get("variants") or [{"label": "app"}]
    # A variant with "raw_timestamps" is raw NeMo asked for timestamps, as the app asks
    # (subtitles need word times); its own instance, since that setting sticks to a model.
    raw_ts = nemo_restore_folder(str(loaded.folder), a.get("device", "cpu")) \
        if any(v.get("raw_timestamps") for v in variants) else None
    # Warm-up: first calls pay one-time costs (lazy inits, kernel selection).
    harness.run(a["warm_audio"], a["out_dir"])
    raw.transcribe([a["warm_audio"]], verbose=False)
    if raw_ts is not None:
        raw_ts.transcribe([a["warm_audio"]], timestamps=True, verbose=False)
    runs: dict[str, list] = {"raw": [], **{v["label"]: [] for v in variants}}
    labels = ["raw", *[v["label"] for v in variants]]
    for i in range(a["reps"]):
        k = i % len(labels)
        for label in labels[k:] + labels[:k]:
            v = next((v for v in variants if v["label"] == label), {})
            if label == "raw" or v.get("raw_timestamps"):
                cpu0, t0 = cpu_now(), time.perf_counter()
                if label == "raw":
                    hyps = raw.transcribe([a["audio"]], verbose=False)
                else:
                    hyps = raw_ts.transcribe([a["audio"]], timestamps=True, verbose=False)
                runs[label].append({"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(cpu_now() - cpu0, 3),
                                    "words": word_count(hyps[0])})
            else:
                runs[label].append(harness.run(a["audio"], a["out_dir"], v.get("batch_size"),
                                               v.get("chunk_seconds")))
    return {"ok": True, "runs": runs, "order": labels, "peak_rss_gb": round(ru_maxrss_gb(), 3)}


def task_sweep(a: dict) -> dict:
    """Chunk length x batch size on one decoded file, model loaded once, `rounds` rounds
    (the first in the given order, later ones reversed/rotated, so a change in machine load
    hits every config alike). Wall time: median over rounds, and the median of each
    round's time relative to that round's fastest config. Peak RSS: while each config ran
    in the first round (give configs in increasing memory order: RSS freed by one config
    is kept by the allocator for the next)."""
    import gc

    import numpy as np

    sampler = Sampler()
    quiet()
    harness = AppHarness(a["nemo"], a["home"], a.get("device", "cpu"))
    loaded = harness.load()
    from nemo_desk.engine.transcriber import TranscribeOptions, transcribe_array
    from nemo_desk.media import Ffmpeg, decode

    audio = decode(Path(a["audio"]), Ffmpeg.locate())
    duration = len(audio) / 16000
    warm = np.ascontiguousarray(audio[: 20 * 16000])
    transcribe_array(loaded, warm, TranscribeOptions(batch_size=1, chunk_seconds=20))
    gc.collect()
    sampler.enter("baseline")
    configs = [tuple(c) for c in a["configs"]]
    walls: dict[tuple, list[float]] = {c: [] for c in configs}
    cpus: dict[tuple, list[float]] = {c: [] for c in configs}
    info: dict[tuple, dict] = {}
    relative: dict[tuple, list[float]] = {c: [] for c in configs}
    for rnd in range(a.get("rounds", 1)):
        if rnd == 0:
            order = list(configs)
        elif rnd % 2 == 1:
            order = list(reversed(configs))
        else:
            k = rnd % len(configs)
            order = configs[k:] + configs[:k]
        this_round = {}
        for chunk, batch in order:
            name = f"{chunk}x{batch}" if rnd == 0 else "later rounds"
            sampler.enter(name)
            cpu0, t0 = cpu_now(), time.perf_counter()
            transcript = transcribe_array(loaded, audio, TranscribeOptions(batch_size=batch, chunk_seconds=chunk))
            wall = time.perf_counter() - t0
            cpus[(chunk, batch)].append(round(cpu_now() - cpu0, 3))
            sampler.enter("between")
            walls[(chunk, batch)].append(round(wall, 3))
            this_round[(chunk, batch)] = wall
            if rnd == 0:
                info[(chunk, batch)] = {"chunks": transcript.meta.get("chunks"),
                                        "words": sum(len(s.text.split()) for s in transcript.segments),
                                        "peak_rss_gb": round(sampler.peaks.get(name, 0) / GB, 3)}
            del transcript
            gc.collect()
        fastest = min(this_round.values())
        for c, w in this_round.items():
            relative[c].append(round(w / fastest, 3))
    peaks = sampler.stop()
    rows = []
    for c in configs:
        wall = sorted(walls[c])[len(walls[c]) // 2] if len(walls[c]) % 2 else \
            sum(sorted(walls[c])[len(walls[c]) // 2 - 1: len(walls[c]) // 2 + 1]) / 2
        rel = sorted(relative[c])
        rel_median = rel[len(rel) // 2] if len(rel) % 2 else (rel[len(rel) // 2 - 1] + rel[len(rel) // 2]) / 2
        rows.append({"chunk_s": c[0], "batch": c[1], "wall_s": round(wall, 3), "walls_s": walls[c], "cpu_s": cpus[c],
                     "rtfx": round(duration / wall, 2), "relative_to_fastest": round(rel_median, 3),
                     "relative_per_round": relative[c], **info[c]})
    return {"ok": True, "audio_s": round(duration, 1), "baseline_rss_gb": peaks.get("baseline"),
            "rounds": a.get("rounds", 1), "rows": rows, "peak_rss_gb": round(ru_maxrss_gb(), 3)}


def task_load_plain(a: dict) -> dict:
    quiet()
    import torch
    from nemo.collections.asr.models import ASRModel

    t0 = time.perf_counter()
    model = ASRModel.restore_from(a["nemo"], map_location=torch.device("cpu"))
    seconds = time.perf_counter() - t0
    return {"ok": True, "seconds": round(seconds, 3), "params": sum(p.numel() for p in model.parameters()),
            "peak_rss_gb": round(ru_maxrss_gb(), 3)}


def task_load_folder(a: dict) -> dict:
    quiet()
    from nemo_desk.engine.loader import load_from_folder

    t0 = time.perf_counter()
    loaded = load_from_folder(Path(a["folder"]), "cpu")
    seconds = time.perf_counter() - t0
    return {"ok": True, "seconds": round(seconds, 3), "family": loaded.family,
            "peak_rss_gb": round(ru_maxrss_gb(), 3)}


def task_load_folder_nemo(a: dict) -> dict:
    """NeMo's own restore_from of the same unpacked folder (no nemo_desk code): separates
    what unpacking once saves from what fastload (no random init, mmap) saves."""
    quiet()
    t0 = time.perf_counter()
    nemo_restore_folder(a["folder"])
    seconds = time.perf_counter() - t0
    return {"ok": True, "seconds": round(seconds, 3), "peak_rss_gb": round(ru_maxrss_gb(), 3)}


def task_unpack(a: dict) -> dict:
    from nemo_desk.engine.unpack import unpack_nemo
    from nemo_desk.locks.fileops import FileOps

    dest = Path(a["dest"])
    fileops = FileOps()
    t0 = time.perf_counter()
    unpack_nemo(Path(a["nemo"]), dest, fileops)
    seconds = time.perf_counter() - t0
    return {"ok": True, "seconds": round(seconds, 3), "peak_rss_gb": round(ru_maxrss_gb(), 3)}


def task_gpu(a: dict) -> dict:
    from benchmarks.gpu import run_gpu

    return run_gpu(a)


TASKS = {"app": task_app, "raw": task_raw, "compare": task_compare, "sweep": task_sweep, "load_plain": task_load_plain,
         "load_folder": task_load_folder,
         "load_folder_nemo": task_load_folder_nemo, "unpack": task_unpack, "gpu": task_gpu}


def main() -> None:
    task, args = sys.argv[1], json.loads(sys.argv[2])
    try:
        result = TASKS[task](args)
    except Exception as exc:
        import traceback

        traceback.print_exc()
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:500]}",
                  "peak_rss_gb": round(ru_maxrss_gb(), 3)}
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip NeMo's slow interpreter teardown


if __name__ == "__main__":
    main()
