"""Decoding time with a 100-phrase vocabulary vs without: same model, same audio, same process.

    .venv/bin/python benchmarks/boosting.py                      # trained digits model, CPU
    .venv/bin/python benchmarks/boosting.py --device cuda --model-path parakeet.nemo --seconds 600

Each measured run is one job (`transcribe_array`, as the app runs it), so the boosted
figure includes what a job with a list pays once: spelling the phrases and rebuilding the
decoder with the boosting tree. Jobs alternate (plain, boosted, plain, ...) so the
machine's load falls on both alike; the figure is the ratio of the medians (CPU time
next to wall time, see benchmarks/README.md). A third series repeats the same list job
after job: the decoder is then kept and only decoding with the tree is paid.
Writes benchmarks/results/boosting.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def phrases(n: int, seed: int = 7) -> tuple[str, ...]:
    """`n` distinct two- and three-word phrases from the digits model's vocabulary, so the
    tree's paths are really walked while decoding."""
    import numpy as np

    from tools.train_tiny import synth

    rng = np.random.default_rng(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        k = int(rng.integers(2, 4))
        out[" ".join(str(w) for w in rng.choice(synth.VOCABULARY, size=k, replace=False))] = None
    return tuple(out)


def audio(seconds: float):
    import numpy as np

    from tools.train_tiny import synth

    rec = synth.long_recording(11, seconds, synth.TRAIN_VOICES, n_speakers=4)
    return synth.noise_bed(rec.audio, 15.0, np.random.default_rng(3))


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-path", type=Path, default=REPO / "tests" / "data" / "digits-tdt.nemo")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--phrases", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "boosting.json")
    a = ap.parse_args(argv)

    import torch

    from nemo_desk.engine.loader import load_from_folder
    from nemo_desk.engine.options import TranscribeOptions
    from nemo_desk.engine.transcriber import transcribe_array
    from nemo_desk.engine.unpack import unpack_nemo
    from nemo_desk.locks.fileops import FileOps

    if a.threads:
        torch.set_num_threads(a.threads)
    folder = Path(tempfile.mkdtemp(prefix="boost-bench-")) / "model"
    unpack_nemo(a.model_path, folder, FileOps())
    loaded = load_from_folder(folder, a.device)
    wave = audio(a.seconds)
    listing = phrases(a.phrases)
    plain, boosted = TranscribeOptions(), TranscribeOptions(boost=listing)
    transcribe_array(loaded, wave, plain)  # warm-up: first-call costs are nobody's
    runs: dict[str, list[tuple[float, float]]] = {"plain": [], "boosted": [], "boosted_same_list": []}
    for _ in range(a.repeats):
        runs["plain"].append(timed(lambda: transcribe_array(loaded, wave, plain)))
        runs["boosted"].append(timed(lambda: transcribe_array(loaded, wave, boosted)))
    for _ in range(a.repeats):  # the same list job after job: the decoder is kept
        runs["boosted_same_list"].append(timed(lambda: transcribe_array(loaded, wave, boosted)))

    def med(name: str, k: int) -> float:
        return statistics.median(r[k] for r in runs[name])

    result = {
        "model": str(a.model_path.name), "device": loaded.device, "audio_s": round(len(wave) / 16000, 1),
        "phrases": len(listing), "repeats": a.repeats, "threads": a.threads,
        "torch": torch.__version__, "runs_s": {k: [[round(w, 3), round(c, 3)] for w, c in v] for k, v in runs.items()},
        "ratio_wall": round(med("boosted", 0) / med("plain", 0), 3),
        "ratio_cpu": round(med("boosted", 1) / med("plain", 1), 3),
        "ratio_wall_same_list": round(med("boosted_same_list", 0) / med("plain", 0), 3),
        "ratio_cpu_same_list": round(med("boosted_same_list", 1) / med("plain", 1), 3),
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{a.phrases}-phrase list vs none, {result['audio_s']} s of audio on {loaded.device}: "
          f"x{result['ratio_wall']} wall, x{result['ratio_cpu']} CPU per job "
          f"(same list again: x{result['ratio_wall_same_list']} wall, x{result['ratio_cpu_same_list']} CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
