"""nemo_desk performance benchmarks: every figure is a ratio against a reference measured
in the same run (interleaved, repeated, medians), because the CPU is shared.

    .venv/bin/python benchmarks/run.py --quick     # small model, short audio: a few minutes
    .venv/bin/python benchmarks/run.py             # full: realistic sizes (about 40 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --sections decode,startup

Prints a Markdown report, writes benchmarks/results/latest.json (or quick.json with --quick)
and benchmarks/results/memory.png. See benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import fixtures  # noqa: E402
from benchmarks.common import GB, RESULTS, Logger, machine_info  # noqa: E402
from benchmarks.report import markdown, plot_memory  # noqa: E402
from benchmarks.sections import Sections  # noqa: E402

SECTIONS = ("startup", "decode", "compare", "memory", "sweep", "load", "sweep_big", "compare_big", "gpu")

MODES = {
    "quick": {
        "compare": {"model": "tiny", "minutes": 2, "reps": 2},
        "compare_big": None,
        "memory": {"model": "tiny", "minutes": [1, 3, 6]},
        "sweep": {"model": "tiny", "minutes": 2, "rounds": 2, "configs": [[20, 1], [60, 1], [60, 4]]},
        "sweep_big": None,
        "load": {"model": "small-20m", "reps": 1},
        "decode": {"minutes": 10, "reps": 2},
        "startup": {"reps": 3},
        "gpu": {"model": "small-20m", "minutes": 10, "modes": ["fp32", "bf16-model"], "batches": [4, 16],
                "graphs": [True]},
    },
    "full": {
        "compare": {"model": "small-20m", "minutes": 5, "reps": 3},
        "compare_big": {"model": "parakeet-0.6b", "minutes": 5, "reps": 1},
        "memory": {"model": "small-20m", "minutes": [5, 30, 60]},
        # Configs in increasing memory order (peak RSS is read in the first round).
        "sweep": {"model": "small-20m", "minutes": 5, "rounds": 3,
                  "configs": [[20, 1], [30, 1], [60, 1], [120, 1], [30, 4], [60, 2], [60, 4], [60, 8]]},
        "sweep_big": {"model": "parakeet-0.6b", "minutes": 2, "rounds": 2,
                      "configs": [[20, 1], [30, 1], [60, 1], [120, 1], [30, 4]]},
        "load": {"model": "parakeet-0.6b", "reps": 3},
        "decode": {"minutes": 60, "reps": 3},
        "startup": {"reps": 9},
        "gpu": {"model": "parakeet-0.6b", "minutes": 60},
    },
}

def describe_model(preset: str, info: dict) -> str:
    p = fixtures.PRESETS[preset]
    return (f"{preset}: TDT FastConformer d_model {p['d_model']}, {p['n_layers']} layers, {p['n_heads']} heads, "
            f"{p['mels']} mels, pred/joint {p['pred']}, vocab {p['vocab']}; {info['params'] / 1e6:.1f} M params, "
            f"{info['size_bytes'] / 1e6:.0f} MB .nemo; random weights, joint steered to emit "
            f"'{fixtures.STEER_WORD}' every {fixtures.STEER_DURATION_INDEX} frames (0.32 s)")


class Bench(Sections):
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.mode = "quick" if args.quick else "full"
        self.cfg = MODES[self.mode]
        self.log = Logger()
        self.cache = fixtures.CACHE
        self.home = str(self.cache / "home")  # the app's folders (its unpacked models persist here)
        self.out_dir = str(self.cache / "outputs")
        self.results: dict = {"mode": self.mode, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                              "command": "benchmarks/run.py " + " ".join(sys.argv[1:]), "sections": {},
                              "models": {}, "audio": {}}
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.json_path = Path(args.json) if args.json else RESULTS / ("quick.json" if args.quick else "latest.json")
        if args.merge and self.json_path.is_file():
            # Keep the sections of an earlier run of the same mode; the ones run now replace theirs.
            old = json.loads(self.json_path.read_text())
            if old.get("mode") == self.mode:
                old.setdefault("merged_runs", []).append({"started": self.results["started"],
                                                          "command": self.results["command"]})
                old["models"].update(self.results["models"])
                self.results = {**old, "command": old["command"]}

    # ---- fixtures ------------------------------------------------------------------
    def model(self, preset: str) -> Path:
        path, info = fixtures.build_model(preset, log=self.log)
        self.results["models"][preset] = {**info, "path": str(path), "description": describe_model(preset, info)}
        return path

    def wav(self, minutes: float) -> Path:
        path = fixtures.speech_wav(minutes)
        self.results["audio"][f"{minutes:g} min wav"] = (
            f"{path.name}: espeak-ng speech (5 voices, 12 sentences) with 0.25-1.2 s pauses and a "
            f"-54 dBFS noise floor, 16 kHz mono 16-bit WAV, {minutes:g} min")
        return path

    def mp4(self, minutes: float) -> Path:
        path = fixtures.speech_mp4(minutes)
        self.results["audio"][f"{minutes:g} min mp4"] = (
            f"{path.name}: the same speech as H.264 96x64 10 fps + AAC 128 kb/s 48 kHz stereo, {minutes:g} min, "
            f"{path.stat().st_size / 1e6:.0f} MB")
        return path

    def thread_env(self) -> dict:
        """Measured processes run torch with --threads intra-op threads (default 1): on a busy
        2-core machine, a 2-thread op waits at every barrier for whichever thread the OS
        preempted, which makes wall and CPU time swing by 2x between identical runs."""
        n = self.args.threads
        self.results["timing_threads"] = n or "torch default"
        if not n:
            return {}
        return {"BENCH_TORCH_THREADS": str(n), "OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n)}

    def mem_cap(self) -> float:
        import psutil

        available = psutil.virtual_memory().available / GB
        return round(max(4.0, min(self.args.mem_cap_gb, available - 2.5)), 1)

    def save(self) -> None:
        self.results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        self.json_path.write_text(json.dumps(self.results, indent=2, default=str))

    # ---- driver -------------------------------------------------------------------------------
    def run(self) -> None:
        self.log(f"nemo_desk benchmarks, {self.mode} mode")
        machine = machine_info()
        if "machine" in self.results:  # --merge: the first run's description stays; this run's is kept too
            self.results.setdefault("machine_merged_runs", []).append(machine)
        else:
            self.results["machine"] = machine
        wanted = [s for s in SECTIONS if s in self.args.sections.split(",")] if self.args.sections else list(SECTIONS)
        for name in wanted:
            if self.cfg.get(name) is None:
                continue
            self.log(f"{name} ...")
            t0 = time.monotonic()
            try:
                result = getattr(self, name)()
            except Exception as exc:  # one broken section must not lose the others
                import traceback

                traceback.print_exc()
                result = {"error": f"{type(exc).__name__}: {exc}"}
            result["section_s"] = round(time.monotonic() - t0, 1)
            result["run_started"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - result["section_s"]))
            self.results["sections"][name] = result
            self.save()
            self.log(f"{name} done in {result['section_s']} s")
        report = markdown(self.results)
        self.results["report_markdown"] = report
        self.save()
        print(report)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small models and short audio (a few minutes)")
    parser.add_argument("--sections", help=f"comma-separated subset of: {','.join(SECTIONS)}")
    parser.add_argument("--mem-cap-gb", type=float, default=18.0,
                        help="kill a measured process above this RSS (also capped at available memory - 2.5 GB)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads in the measured processes (all CPU sections); 0 = torch's "
                             "default (all cores). The GPU section always uses the default.")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sections of the existing JSON (re-run a subset of a full run)")
    parser.add_argument("--json", help="where to write the results (default benchmarks/results/latest.json)")
    parser.add_argument("--gpu-dry-run", action="store_true",
                        help="run the GPU section's code on the CPU (tiny model, 2 minutes) to check it")
    parser.add_argument("--report-only", action="store_true", help="print the Markdown report of an existing JSON")
    args = parser.parse_args(argv)
    if args.report_only:
        path = Path(args.json) if args.json else RESULTS / ("quick.json" if args.quick else "latest.json")
        results = json.loads(path.read_text())
        mem = results["sections"].get("memory")
        if mem and mem.get("rows"):
            plot_memory(results, mem, results["mode"])
        print(markdown(results))
        return 0
    Bench(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
