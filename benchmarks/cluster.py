"""Cluster mode: files per minute with 1 and 2 Ray workers against the plain CLI, same files,
same model, same machine, in the same run (interleaved rounds, medians), one torch thread
per process (as Ray gives each one-CPU worker).

    .venv/bin/python benchmarks/cluster.py                # 12 files of ~10 s, 3 rounds
    .venv/bin/python benchmarks/cluster.py --files 6 --rounds 1   # a quick look

Each run is the real command in a fresh process (`nemo-desk transcribe FOLDER [--cluster
local --cluster-workers N]`) with its own app folder, so every run loads the model and
(with --cluster) starts Ray: the driver's overhead per file is what a cluster run costs on
top of the plain CLI, start-up included, divided by the files. Writes
benchmarks/results/cluster.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODEL = REPO / "tests" / "data" / "digits-tdt.nemo"
TEXTS = ("one two three four five six seven eight nine zero", "nine eight seven six five four three two one")


def _speech(folder: Path, files: int) -> None:
    from tests.support import audio

    pieces = [audio.speak(text, folder / f"piece{i}.wav") for i, text in enumerate(TEXTS)]
    for n in range(files):
        audio.concat_with_pauses([pieces[(n + k) % 2] for k in range(3)], 0.5, folder / "in" / f"file{n:02d}.wav")


def _run(folder: Path, workers: int | None, home: Path) -> float:
    shutil.rmtree(home, ignore_errors=True)
    for out in folder.glob("*.srt"):
        out.unlink()
    args = [sys.executable, "-m", "nemo_desk", "transcribe", str(folder), "--model-path", str(MODEL),
            "--device", "cpu", "--format", "srt"]
    if workers:
        args += ["--cluster", "local", "--cluster-workers", str(workers)]
    env = {**os.environ, "NEMO_DESK_HOME": str(home), "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled"}
    if not workers:
        # Ray gives each one-CPU worker one thread (OMP_NUM_THREADS=1); the plain CLI gets the
        # same, or on a shared machine the comparison measures thread contention instead.
        env["OMP_NUM_THREADS"] = "1"
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"run failed ({workers} workers): {done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _speech(root, args.files)
        kinds = {"plain CLI": None, "cluster, 1 worker": 1, "cluster, 2 workers": 2}
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(args.rounds):  # interleaved: a busy moment touches every kind alike
            for name, workers in kinds.items():
                times[name].append(_run(root / "in", workers, root / "home"))
    plain = statistics.median(times["plain CLI"])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append({"run": name, "seconds": round(median, 1), "files_per_min": round(args.files * 60 / median, 1),
                     "ratio_to_plain": round(median / plain, 2),
                     "overhead_per_file_s": round((median - plain) / args.files, 2), "all_seconds": values})
        print(json.dumps(rows[-1]), flush=True)
    result = {"files": args.files, "rounds": args.rounds, "cores": os.cpu_count(),
              "load_average": os.getloadavg(), "model": MODEL.name, "runs": rows}
    out = REPO / "benchmarks" / "results" / "cluster.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
