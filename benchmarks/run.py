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
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import fixtures  # noqa: E402
from benchmarks.common import GB, Logger, machine_info, median, run_child  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
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
        "gpu": {"model": "small-20m", "minutes": 10, "precisions": ["fp32", "bf16"], "batches": [1, 8],
                "chunks": [30, 60]},
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
        "startup": {"reps": 5},
        "gpu": {"model": "parakeet-0.6b", "minutes": 60},
    },
}

TARGETS = {
    "compare": ("app / raw NeMo wall time, 5-minute file", "<= 1.05"),
    "memory": ("app peak RSS, 60 min / 5 min", "<= 1.3"),
    "load": ("load from unpacked folder / restore_from(.nemo)", "<= 0.5"),
    "decode": ("ffmpeg pipe, x real time (60-minute mp4)", ">= 200x"),
    "startup": ("time to first window / bare PySide6 window", "<= 2"),
}


def describe_model(preset: str, info: dict) -> str:
    p = fixtures.PRESETS[preset]
    return (f"{preset}: TDT FastConformer d_model {p['d_model']}, {p['n_layers']} layers, {p['n_heads']} heads, "
            f"{p['mels']} mels, pred/joint {p['pred']}, vocab {p['vocab']}; {info['params'] / 1e6:.1f} M params, "
            f"{info['size_bytes'] / 1e6:.0f} MB .nemo; random weights, joint steered to emit "
            f"'{fixtures.STEER_WORD}' every {fixtures.STEER_DURATION_INDEX} frames (0.32 s)")


def app_defaults() -> dict:
    """The chunk length and batch size the app uses for the benchmark models (local .nemo
    files of the TDT family get nemo_desk.engine.catalog.local_spec's defaults)."""
    from nemo_desk.engine.catalog import get_spec, local_spec

    spec = local_spec("bench.nemo", "tdt")
    parakeet = get_spec("nvidia/parakeet-tdt-0.6b-v3")
    return {"local_tdt": {"chunk_s": spec.max_chunk_s, "batch": spec.default_batch_size},
            "parakeet-tdt-0.6b-v3": {"chunk_s": parakeet.max_chunk_s, "batch": parakeet.default_batch_size}}


class Bench:
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

    # ---- 5. start-up -----------------------------------------------------------------
    def startup(self) -> dict:
        subject = ("import sys\nfrom nemo_desk.app import main\nsys.exit(main(['--quit-after-show']))\n")
        bare = (
            "import sys\n"
            "from PySide6.QtCore import QTimer\n"
            "from PySide6.QtWidgets import QApplication, QMainWindow\n"
            "app = QApplication(sys.argv[:1])\n"
            "w = QMainWindow(); w.resize(1000, 700); w.setWindowTitle('bare'); w.show()\n"
            "def done():\n"
            "    print(f'bare: window shown: {w.isVisible()}', flush=True); w.close()\n"
            "QTimer.singleShot(0, done)\n"
            "sys.exit(app.exec())\n"
        )

        def once(script: str, marker: str) -> float | None:
            home = tempfile.mkdtemp(prefix="bench-home-")
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NEMO_DESK_HOME": home, "PYTHONUNBUFFERED": "1"}
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            shown = None
            for line in proc.stdout:
                if marker in line and shown is None:
                    shown = time.perf_counter() - t0
            proc.wait(timeout=120)
            shutil.rmtree(home, ignore_errors=True)
            return shown

        once(bare, "window shown: True")  # warm the file cache for both (same Qt libraries)
        once(subject, "window shown: True")
        app_t, bare_t = [], []
        for i in range(self.cfg["startup"]["reps"]):
            pair = [("bare", bare), ("app", subject)]
            for name, script in (pair if i % 2 == 0 else pair[::-1]):
                t = once(script, "window shown: True")
                (app_t if name == "app" else bare_t).append(t)
                self.log(f"  start-up {name}: {t:.2f} s" if t else f"  start-up {name}: no window")
        a, b = median(app_t), median(bare_t)
        return {"app_s": app_t, "bare_s": bare_t, "app_median_s": a, "bare_median_s": b,
                "ratio": round(a / b, 2) if a and b else None,
                "how": "subprocess, QT_QPA_PLATFORM=offscreen, fresh NEMO_DESK_HOME; from process start until "
                       "the first event-loop turn after show() (nemo_desk.app.main(['--quit-after-show']) vs a "
                       "bare QMainWindow doing the same); interpreter start-up included in both"}

    # ---- 4. decode -------------------------------------------------------------------
    def decode(self) -> dict:
        import numpy as np
        import soundfile as sf

        from nemo_desk.media import Ffmpeg, decode

        c = self.cfg["decode"]
        path = self.mp4(c["minutes"])
        ff = Ffmpeg.locate()
        ff.check()

        def pipe() -> tuple[float, int]:
            t0 = time.perf_counter()
            samples = decode(path, ff)
            return time.perf_counter() - t0, len(samples)

        def temp_wav() -> tuple[float, int]:
            with tempfile.TemporaryDirectory() as d:
                wav = Path(d) / "audio.wav"
                t0 = time.perf_counter()
                subprocess.run([ff.exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(path),
                                "-vn", "-ac", "1", "-ar", "16000", str(wav)], check=True)
                samples, _ = sf.read(str(wav), dtype="float32")
                return time.perf_counter() - t0, len(np.asarray(samples))

        pipe()  # warm the file cache
        p_t, w_t, n = [], [], 0
        for i in range(c["reps"]):
            for name, fn in ((("pipe", pipe), ("wav", temp_wav)) if i % 2 == 0 else (("wav", temp_wav), ("pipe", pipe))):
                t, n_samples = fn()
                (p_t if name == "pipe" else w_t).append(t)
                n = n_samples
                self.log(f"  decode {name}: {t:.2f} s")
        seconds = c["minutes"] * 60
        pm, wm = median(p_t), median(w_t)
        return {"file_minutes": c["minutes"], "samples": n, "pipe_s": p_t, "temp_wav_s": w_t,
                "pipe_x_realtime": round(seconds / pm, 1), "temp_wav_x_realtime": round(seconds / wm, 1),
                "ratio_pipe_over_wav_time": round(pm / wm, 2), "ffmpeg": ff.exe,
                "how": "nemo_desk.media.decode (ffmpeg -> f32le pipe -> numpy) vs ffmpeg -> 16-bit temp WAV on "
                       "disk -> soundfile.read(float32); alternating, median"}

    # ---- 1. pipeline vs raw --------------------------------------------------------------
    def _compare(self, c: dict, variants: list[dict]) -> dict:
        nemo = self.model(c["model"])
        audio = self.wav(c["minutes"])
        warm = self.wav(0.5)
        r = run_child("compare", env=self.thread_env(), args={"nemo": str(nemo), "home": self.home, "audio": str(audio), "warm_audio": str(warm),
                                  "out_dir": self.out_dir, "reps": c["reps"], "variants": variants},
                      mem_cap_gb=self.mem_cap(), log=self.log)
        if not r.get("ok"):
            return {"model": c["model"], "error": r.get("error"), "killed": r.get("killed")}
        out = {"model": c["model"], "audio_minutes": c["minutes"], "reps": c["reps"], "runs": r["runs"],
               "app_settings": app_defaults(),
               "settings": {v["label"]: {k: v.get(k) for k in ("chunk_seconds", "batch_size", "raw_timestamps")}
                            for v in variants}}
        out.update(compare_stats(out))
        for label, v in out["variants"].items():
            self.log(f"  {label}: {v['median_s']:.2f} s vs raw {out['raw_median_s']:.2f} s -> "
                     f"{v['paired_ratio']:.3f} (median of per-round ratios)")
        return out

    def compare(self) -> dict:
        c = self.cfg["compare"]
        return self._compare(c, [{"label": "app (defaults)"},
                                 {"label": "app (one piece)", "chunk_seconds": 3600.0, "batch_size": 1},
                                 {"label": "raw NeMo, timestamps=True", "raw_timestamps": True}])

    def compare_big(self) -> dict:
        c = self.cfg["compare_big"]
        return self._compare(c, [{"label": "app (defaults)"}])

    # ---- 2. memory vs length --------------------------------------------------------------
    def memory(self) -> dict:
        c = self.cfg["memory"]
        nemo = self.model(c["model"])
        cap = self.mem_cap()
        rows = []
        for minutes in c["minutes"]:
            audio = self.wav(minutes)
            for kind in ("app", "raw"):
                args = {"nemo": str(nemo), "audio": str(audio)}
                if kind == "app":
                    args.update(home=self.home, out_dir=self.out_dir)
                r = run_child(kind, args, mem_cap_gb=cap, log=self.log, env=self.thread_env())
                row = {"kind": kind, "minutes": minutes, "ok": bool(r.get("ok")), "peak_rss_gb": r.get("peak_rss_gb"),
                       "transcribe_peak_gb": (r.get("phase_peak_gb") or {}).get("transcribe"),
                       "after_load_gb": (r.get("phase_peak_gb") or {}).get("load"),
                       "tree_peak_gb": r.get("tree_peak_gb"), "wall_s": r.get("wall_s"), "words": r.get("words"),
                       "chunks": r.get("chunks"),
                       "killed": r.get("killed"), "killed_at_gb": r.get("killed_at_gb"), "error": r.get("error")}
                if r.get("peak_vram_gb") is not None:
                    row["peak_vram_gb"] = r["peak_vram_gb"]
                rows.append(row)
                self.log(f"  memory {kind} {minutes} min: " + (
                    f"peak {row['peak_rss_gb']} GB, {row['wall_s']} s" if row["ok"] else
                    f"killed at {row['killed_at_gb']} GB ({row['killed']})" if row["killed"] else
                    f"failed: {row['error']}"))
        app = {r["minutes"]: r for r in rows if r["kind"] == "app" and r["ok"]}
        lo, hi = min(c["minutes"]), max(c["minutes"])
        out = {"model": c["model"], "cap_gb": cap, "rows": rows, "app_settings": app_defaults(),
               "how": "each run a fresh process; peak RSS = ru_maxrss of that process (model load included); "
                      "transcribe peak = 20 ms RSS sampling during the transcription only; raw NeMo runs are "
                      "killed by a watchdog when their process tree passes the cap"}
        if lo in app and hi in app:
            out["ratio_longest_over_shortest"] = round(app[hi]["peak_rss_gb"] / app[lo]["peak_rss_gb"], 3)
            out["ratio_transcribe_phase"] = round(app[hi]["transcribe_peak_gb"] / app[lo]["transcribe_peak_gb"], 3)
        path = plot_memory(self.results, out, self.mode, self.log)
        if path:
            self.results["memory_plot"] = path
        return out

    # ---- chunk length x batch size ------------------------------------------------------------
    def _sweep(self, c: dict) -> dict:
        nemo = self.model(c["model"])
        audio = self.wav(c["minutes"])
        r = run_child("sweep", env=self.thread_env(), args={"nemo": str(nemo), "home": self.home, "audio": str(audio), "configs": c["configs"],
                                "rounds": c["rounds"]}, mem_cap_gb=self.mem_cap(), log=self.log)
        if not r.get("ok"):
            return {"model": c["model"], "error": r.get("error"), "killed": r.get("killed")}
        for row in r["rows"]:
            self.log(f"  sweep {c['model']} chunk {row['chunk_s']} s batch {row['batch']}: {row['walls_s']} s, "
                     f"x{row['relative_to_fastest']} of the fastest, peak {row['peak_rss_gb']} GB")
        return {"model": c["model"], "audio_minutes": c["minutes"], "rounds": c["rounds"],
                "baseline_rss_gb": r["baseline_rss_gb"], "rows": r["rows"],
                "how": f"one process, model loaded once, {c['rounds']} rounds in alternating order; time = median "
                       f"over rounds of each config's time relative to that round's fastest; peak RSS while the "
                       f"config ran in the first round (configs in increasing memory order)"}

    def sweep(self) -> dict:
        return self._sweep(self.cfg["sweep"])

    def sweep_big(self) -> dict:
        return self._sweep(self.cfg["sweep_big"])

    # ---- 3. model load ------------------------------------------------------------------------
    def load(self) -> dict:
        c = self.cfg["load"]
        nemo = self.model(c["model"])
        cap = self.mem_cap()
        scratch = self.cache / "unpack-scratch"
        folder = scratch / "folder"
        # The folder the loads read, made by the same one-time step the app uses.
        r = run_child("unpack", {"nemo": str(nemo), "dest": str(folder)}, mem_cap_gb=cap, log=self.log)
        unpack_t = [r.get("seconds")]
        plain_t, folder_t, nemo_t, plain_mem, folder_mem, nemo_mem = [], [], [], [], [], []
        for i in range(c["reps"]):
            # Rotate the order so no variant always runs first (cold caches, machine load).
            order = ("plain", "folder", "nemo_folder", "unpack")
            order = order[i % 3:3] + order[:i % 3] + ("unpack",)
            for name in order:
                if name == "plain":
                    r = run_child("load_plain", {"nemo": str(nemo)}, mem_cap_gb=cap, log=self.log, env=self.thread_env())
                    plain_t.append(r.get("seconds"))
                    plain_mem.append(r.get("peak_rss_gb"))
                elif name in ("folder", "nemo_folder"):
                    task = "load_folder" if name == "folder" else "load_folder_nemo"
                    r = run_child(task, {"folder": str(folder)}, mem_cap_gb=cap, log=self.log, env=self.thread_env())
                    (folder_t if name == "folder" else nemo_t).append(r.get("seconds"))
                    (folder_mem if name == "folder" else nemo_mem).append(r.get("peak_rss_gb"))
                else:
                    r = run_child("unpack", {"nemo": str(nemo), "dest": str(scratch / "again")}, mem_cap_gb=cap,
                                  log=self.log)
                    unpack_t.append(r.get("seconds"))
                self.log(f"  load {name}: {r.get('seconds')} s")
        shutil.rmtree(scratch, ignore_errors=True)
        p, f, u, n = median(plain_t), median(folder_t), median(unpack_t), median(nemo_t)
        return {"model": c["model"], "plain_s": plain_t, "folder_s": folder_t, "unpack_s": unpack_t,
                "nemo_folder_s": nemo_t, "nemo_folder_median_s": n, "nemo_folder_peak_rss_gb": median(nemo_mem),
                "plain_median_s": p, "folder_median_s": f, "unpack_median_s": u,
                "ratio_folder_over_plain": round(f / p, 3) if p and f else None,
                "break_even_loads": round(u / (p - f), 2) if p and f and p > f else None,
                "plain_peak_rss_gb": median(plain_mem), "folder_peak_rss_gb": median(folder_mem),
                "build": self.results["models"][c["model"]],
                "how": "fresh process per load, imports done before the clock starts; restore_from(.nemo) "
                       "unpacks the whole archive to a temp folder on every load; the app unpacks once "
                       "(unpack_nemo) and loads the folder in place (load_from_folder: no random init that the "
                       "checkpoint overwrites, weights memory-mapped); 'NeMo, unpacked folder' is NeMo's own "
                       "restore_from(model_extracted_dir) of the same folder, without those two"}

    # ---- 6. GPU -------------------------------------------------------------------------------
    def gpu(self) -> dict:
        if self.args.gpu_dry_run:  # the same code path on the CPU: tiny model, 2 minutes
            c = {"model": "tiny", "minutes": 10, "precisions": ["fp32", "bf16"], "batches": [1, 4], "chunks": [30, 60]}
            extra = {"dry_run_cpu": True, "max_seconds": 120}
        elif not self.results["machine"].get("cuda"):
            self.log("  gpu: skipped: no CUDA")
            return {"skipped": "skipped: no CUDA"}
        else:
            c, extra = self.cfg["gpu"], {}
        nemo = self.model(c["model"])
        audio = self.mp4(c["minutes"])
        args = {"nemo": str(nemo), "home": self.home, "audio": str(audio), **extra}
        args.update({k: c[k] for k in ("precisions", "batches", "chunks") if k in c})
        r = run_child("gpu", args, log=self.log)
        return r

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


# ---- report ----------------------------------------------------------------------------------
def _refused_gb(row: dict) -> float | None:
    import re

    m = re.search(r"allocate (\d+) bytes", row.get("error") or "")
    return round(int(m.group(1)) / GB, 1) if m else None


def plot_memory(results: dict, mem: dict, mode: str, log=print) -> str | None:
    """benchmarks/results/memory.png: peak RSS vs audio length, app and raw NeMo."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("  matplotlib is not installed: no memory.png (pip install matplotlib)")
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for kind, label, colour in (("app", "nemo_desk (chunked)", "tab:blue"),
                                ("raw", "raw NeMo model.transcribe([path])", "tab:red")):
        rows = [r for r in mem["rows"] if r["kind"] == kind]
        ok = [r for r in rows if r["ok"]]
        ax.plot([r["minutes"] for r in ok], [r["peak_rss_gb"] for r in ok], "o-", color=colour, label=label)
        bad = [r for r in rows if not r["ok"]]
        for r in bad:
            y = r["killed_at_gb"] or r.get("tree_peak_gb") or mem["cap_gb"]
            ax.plot([r["minutes"]], [y], "x", color=colour, markersize=11, mew=2.5)
            why = (f"killed at {y} GB" if r["killed"] else
                   f"reached {y} GB, then a {_refused_gb(r)} GB\nallocation was refused" if _refused_gb(r) else
                   "failed")
            ax.annotate(why, (r["minutes"], y), textcoords="offset points", xytext=(-165, -32), fontsize=8,
                        color=colour)
        if ok and bad:
            ax.plot([ok[-1]["minutes"], bad[0]["minutes"]],
                    [ok[-1]["peak_rss_gb"], bad[0]["killed_at_gb"] or bad[0].get("tree_peak_gb") or mem["cap_gb"]],
                    ":", color=colour)
    ax.axhline(mem["cap_gb"], color="grey", ls="--", lw=1)
    ax.text(0.01, mem["cap_gb"] + 0.35, f"memory cap {mem['cap_gb']} GB (raw runs above it are killed)",
            fontsize=8, color="grey", transform=ax.get_yaxis_transform())
    model = results["models"].get(mem["model"], {})
    ax.set_title(f"Peak RSS vs audio length ({mem['model']}, {model.get('params', 0) / 1e6:.0f} M params, CPU)",
                 fontsize=10)
    ax.set_xlabel("audio length (minutes)")
    ax.set_ylabel("peak resident memory (GB)")
    ax.set_ylim(0, mem["cap_gb"] + 2.5)
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", fontsize=9)
    fig.tight_layout()
    path = RESULTS / ("memory-quick.png" if mode == "quick" else "memory.png")
    fig.savefig(path)
    plt.close(fig)
    return str(path.relative_to(REPO))


def compare_stats(c: dict) -> dict:
    """Medians, and the median of per-round ratios (each round runs raw and every variant
    back to back, so a round's ratio is measured under one level of machine load)."""
    runs = c["runs"]
    raw = [x["wall_s"] for x in runs["raw"]]
    out = {"raw_median_s": median(raw), "raw_words": runs["raw"][0]["words"], "variants": {}}
    for label, rs in runs.items():
        if label == "raw":
            continue
        walls = [x["wall_s"] for x in rs]
        v = {"median_s": median(walls), "ratio_of_medians": round(median(walls) / median(raw), 3),
             "paired_ratio": round(median([w / r for w, r in zip(walls, raw)]), 3),
             "round_ratios": [round(w / r, 3) for w, r in zip(walls, raw)], "words": rs[0]["words"],
             "settings": c.get("settings", {}).get(label, {})}
        if "cpu_s" in rs[0] and "cpu_s" in runs["raw"][0]:
            cpu = [x["cpu_s"] for x in rs]
            raw_cpu = [x["cpu_s"] for x in runs["raw"]]
            v.update(cpu_median_s=median(cpu), cpu_paired_ratio=round(median([a / b for a, b in zip(cpu, raw_cpu)]), 3),
                     cpu_round_ratios=[round(a / b, 3) for a, b in zip(cpu, raw_cpu)])
            out["raw_cpu_median_s"] = median(raw_cpu)
        if "parts_s" in rs[0]:
            parts = {k: round(median([x["parts_s"][k] for x in rs]), 3) for k in rs[0]["parts_s"]}
            own = [(x["wall_s"] - x["parts_s"]["model"]) / x["wall_s"] for x in rs]
            v.update(parts_median_s=parts, non_model_share=round(median(own), 4), chunks=rs[0]["chunks"])
        out["variants"][label] = v
    return out


def _fmt(x, unit="", nd=2):
    if x is None:
        return "n/a"
    return f"{x:.{nd}f}{unit}" if isinstance(x, float) else f"{x}{unit}"


def _verdict(value, target: str) -> str:
    if value is None:
        return "n/a"
    op, num = target.split()
    num = float(num.rstrip("x"))
    ok = value <= num if op == "<=" else value >= num
    return "met" if ok else "NOT met"


def markdown(res: dict) -> str:
    s = res["sections"]
    m = res.get("machine", {})
    lines = [f"## nemo_desk benchmarks ({res['mode']} mode, {res['started']})", ""]
    lines.append(f"Machine: {m.get('cpu')}, {m.get('logical_cores')} logical cores, {m.get('ram_gb')} GB RAM "
                 f"({m.get('available_gb_at_start')} GB available at start, load average "
                 f"{m.get('load_average_at_start')}), torch {m.get('torch')} ({'CUDA: ' + str(m.get('gpu')) if m.get('cuda') else 'no CUDA'}), "
                 f"NeMo {m.get('nemo_toolkit')}, PySide6 {m.get('PySide6_Essentials')}, Python {m.get('python')}; "
                 f"{m.get('ffmpeg')}.")
    lines.append("")
    lines.append("Models (random weights; TDT joint steered so one token wins every 4 frames, like a trained "
                 "model's decoding):")
    for info in res.get("models", {}).values():
        lines.append(f"- {info['description']}")
    lines.append("")
    lines.append("Audio:")
    for desc in res.get("audio", {}).values():
        lines.append(f"- {desc}")
    lines.append("")
    lines.append(f"torch intra-op threads in the measured processes: {res.get('timing_threads', 'torch default')} "
                 f"(`--threads`; on a shared 2-core machine one thread gives stable timings, two swing by 2x).")
    if res.get("merged_runs"):
        when = ", ".join(f"{k} {v.get('run_started') or 'first run'}" for k, v in s.items())
        lines.append(f"Sections come from {len(res['merged_runs']) + 1} invocations (`--merge`), each section "
                     f"whole from one: {when}.")
    if res["mode"] == "quick":
        lines += ["", "Quick mode: small model and short audio, to check the scripts; the targets are set for "
                      "the full mode's sizes (5/30/60-minute files, the 0.6B model), so verdicts here are indicative."]
    lines += ["", "### Summary (every figure is a ratio against a reference measured in the same run)", "",
              "| # | measurement | nemo_desk | reference | ratio | target | verdict |",
              "|---|---|---|---|---|---|---|"]

    def row(n, key, subject, ref, ratio, what=None):
        what = what or TARGETS[key][0]
        target = TARGETS[key][1]
        lines.append(f"| {n} | {what} | {subject} | {ref} | {_fmt(ratio, nd=3) if ratio is not None else 'n/a'} | "
                     f"{target} | {_verdict(ratio, target)} |")

    for key in ("compare", "compare_big"):
        c = s.get(key)
        if c and "runs" in c:
            c.update(compare_stats(c))
            what = f"app / raw NeMo, {c['audio_minutes']}-minute file, {c['model']}"
            for label, v in c["variants"].items():
                if "parts_median_s" not in v:
                    continue
                how = ("default chunking" if label == "app (defaults)" else
                       "one piece, batch 1: the same model work as raw")
                row(1, "compare", f"{_fmt(v['median_s'], ' s')} ({how})",
                    f"{_fmt(c['raw_median_s'], ' s')} raw `model.transcribe([path])`", v["paired_ratio"], what + ", wall time")
                if "cpu_paired_ratio" in v:
                    row(1, "compare", f"{_fmt(v['cpu_median_s'], ' s')} CPU", f"{_fmt(c['raw_cpu_median_s'], ' s')} CPU",
                        v["cpu_paired_ratio"], what + ", CPU time (less sensitive to a shared machine)")
                lines.append(f"|   | of which nemo_desk's own code (not the model call) | "
                             f"{v['non_model_share'] * 100:.2f} % of the app's time | | | | |")
    mem = s.get("memory")
    if mem and "rows" in mem:
        app = {r["minutes"]: r for r in mem["rows"] if r["kind"] == "app" and r["ok"]}
        lo, hi = min(app) if app else None, max(app) if app else None
        if lo is not None:
            row(2, "memory", f"{_fmt(app[hi]['peak_rss_gb'], ' GB')} at {hi} min",
                f"{_fmt(app[lo]['peak_rss_gb'], ' GB')} at {lo} min", mem.get("ratio_longest_over_shortest"),
                f"app peak RSS, {hi} min / {lo} min, {mem['model']}")
    ld = s.get("load")
    if ld and "plain_median_s" in ld:
        row(3, "load", f"{_fmt(ld['folder_median_s'], ' s')}",
            f"{_fmt(ld['plain_median_s'], ' s')} restore_from(.nemo)", ld["ratio_folder_over_plain"],
            f"load from unpacked folder / restore_from(.nemo), {ld['model']}")
    dc = s.get("decode")
    if dc and "pipe_x_realtime" in dc:
        what, target = TARGETS["decode"]
        lines.append(f"| 4 | ffmpeg pipe, x real time ({dc['file_minutes']}-minute mp4) | {dc['pipe_x_realtime']}x | "
                     f"{dc['temp_wav_x_realtime']}x (temp WAV + read) | {dc['ratio_pipe_over_wav_time']} (time, pipe/wav) | "
                     f"{target} | {_verdict(dc['pipe_x_realtime'], target)} |")
    st = s.get("startup")
    if st and "ratio" in st:
        row(5, "startup", f"{_fmt(st['app_median_s'], ' s')}", f"{_fmt(st['bare_median_s'], ' s')} bare QMainWindow",
            st["ratio"])
    g = s.get("gpu")
    if g:
        lines.append(f"| 6 | GPU real-time factors | {g.get('skipped') or ('see below' if g.get('rows') else g.get('error'))} | | | | |")

    for key in ("compare", "compare_big"):
        c = s.get(key)
        if c and "runs" in c:
            st_ = (c.get("app_settings") or {}).get("local_tdt")
            lines += ["", f"### 1. Where the time goes ({c['model']}, {c['audio_minutes']}-minute WAV, "
                          f"{c['reps']} rounds, medians, seconds"
                          + (f"; app defaults: chunks {st_['chunk_s']:g} s, batch {st_['batch']}" if st_ else "")
                          + ")", "",
                      "| run | total | probe | decode | chunk planning | model | stitch + journal | export | other | "
                      "nemo_desk's own share | chunks | words | ratio to raw (per round) |",
                      "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
            lines.append(f"| raw NeMo | {_fmt(c['raw_median_s'])} | | | | (all) | | | | | 1 | {c['raw_words']} | 1 |")
            for label, v in c["variants"].items():
                p = v.get("parts_median_s")
                rr = ", ".join(f"{x:.2f}" for x in v["round_ratios"])
                if "cpu_round_ratios" in v:
                    rr += "; CPU " + ", ".join(f"{x:.2f}" for x in v["cpu_round_ratios"])
                if p is None:
                    lines.append(f"| {label} | {_fmt(v['median_s'])} | | | | (all) | | | | | 1 | {v['words']} | {rr} |")
                    continue
                lines.append(f"| {label} | {_fmt(v['median_s'])} | {_fmt(p['probe'], nd=3)} | {_fmt(p['decode'], nd=3)} | "
                             f"{_fmt(p['chunk_planning'], nd=3)} | {_fmt(p['model'])} | {_fmt(p['stitch_and_journal'], nd=3)} | "
                             f"{_fmt(p['export'], nd=3)} | {_fmt(p['other'], nd=3)} | {v['non_model_share'] * 100:.2f} % | "
                             f"{v['chunks']} | {v['words']} | {rr} |")
    if mem and "rows" in mem:
        st_ = (mem.get("app_settings") or {}).get("local_tdt")
        lines += ["", f"### 2. Memory vs audio length ({mem['model']}, fresh process per run, cap {mem['cap_gb']} GB"
                      + (f"; app chunks {st_['chunk_s']:g} s, batch {st_['batch']}" if st_ else "") + ")", "",
                  "| audio | nemo_desk peak RSS | nemo_desk during transcription | raw NeMo peak RSS | raw / app |",
                  "|---|---|---|---|---|"]
        for minutes in sorted({r["minutes"] for r in mem["rows"]}):
            a = next((r for r in mem["rows"] if r["kind"] == "app" and r["minutes"] == minutes), None)
            r = next((r for r in mem["rows"] if r["kind"] == "raw" and r["minutes"] == minutes), None)

            def cell(x):
                if x is None:
                    return "n/a"
                if x["ok"]:
                    return f"{x['peak_rss_gb']:.2f} GB ({x['wall_s']:.0f} s)"
                if x["killed"]:
                    return f"killed at {x['killed_at_gb']} GB ({x['killed']})"
                if _refused_gb(x):
                    return (f"failed at {x['tree_peak_gb']} GB: torch's next allocation, {_refused_gb(x)} GB "
                            f"(one relative-position attention score tensor), was refused")
                return f"failed: {(x['error'] or '')[:90]}"

            ratio = (f"{r['peak_rss_gb'] / a['peak_rss_gb']:.2f}" if a and r and a["ok"] and r["ok"] else
                     f"> {(r['killed_at_gb'] or r['tree_peak_gb'] or 0) / a['peak_rss_gb']:.1f}"
                     if a and r and a["ok"] else "n/a")
            lines.append(f"| {minutes} min | {cell(a)} | {_fmt(a and a['transcribe_peak_gb'], ' GB')} | {cell(r)} | {ratio} |")
        if mem.get("ratio_longest_over_shortest") is not None:
            lines.append("")
            lines.append(f"nemo_desk {max(r['minutes'] for r in mem['rows'])} min / {min(r['minutes'] for r in mem['rows'])} "
                         f"min: {mem['ratio_longest_over_shortest']} (process peak), {mem['ratio_transcribe_phase']} "
                         f"(transcription phase). Plot: {res.get('memory_plot')}")
    for key in ("sweep", "sweep_big"):
        sw = s.get(key)
        if sw and sw.get("rows") and "relative_to_fastest" in sw["rows"][0]:
            lines += ["", f"### Chunk length x batch size ({sw['model']}, {sw['audio_minutes']}-minute file, CPU; "
                          f"{sw['how']})", "",
                      "| chunk (s) | batch | time vs fastest (median of rounds) | wall per round (s) | CPU per round (s) | "
                      "CPU vs lowest | x real time (median wall) | peak RSS (GB) | chunks | words |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            cpu_min = min((median(r["cpu_s"]) for r in sw["rows"] if r.get("cpu_s")), default=None)
            for r in sw["rows"]:
                cpu = r.get("cpu_s") or []
                lines.append(f"| {r['chunk_s']} | {r['batch']} | {r['relative_to_fastest']:.2f} | "
                             f"{', '.join(f'{w:.1f}' for w in r['walls_s'])} | {', '.join(f'{w:.1f}' for w in cpu)} | "
                             f"{(median(cpu) / cpu_min) if cpu and cpu_min else float('nan'):.2f} | {r['rtfx']:.1f} | "
                             f"{r['peak_rss_gb']:.2f} | {r['chunks']} | {r['words']} |")
            if sw.get("baseline_rss_gb"):
                lines.append(f"\nRSS with the model loaded, before the sweep: {sw['baseline_rss_gb']} GB.")
    if ld and "plain_median_s" in ld:
        b = ld["build"]
        lines += ["", f"### 3. Model load ({ld['model']}, fresh process each, seconds)", "",
                  "| step | runs | median | peak RSS |", "|---|---|---|---|",
                  f"| restore_from(.nemo) (NeMo default: unpacks to temp each load) | {ld['plain_s']} | "
                  f"{_fmt(ld['plain_median_s'])} | {_fmt(ld['plain_peak_rss_gb'], ' GB')} |",
                  f"| NeMo restore_from(unpacked folder) | {ld.get('nemo_folder_s')} | "
                  f"{_fmt(ld.get('nemo_folder_median_s'))} | {_fmt(ld.get('nemo_folder_peak_rss_gb'), ' GB')} |",
                  f"| load_from_folder (nemo_desk: no random init, mmap) | {ld['folder_s']} | "
                  f"{_fmt(ld['folder_median_s'])} | {_fmt(ld['folder_peak_rss_gb'], ' GB')} |",
                  f"| unpack_nemo (once per model) | {ld['unpack_s']} | {_fmt(ld['unpack_median_s'])} | |", "",
                  f"folder / plain = {ld['ratio_folder_over_plain']}; the one-time unpack pays for itself after "
                  f"{ld['break_even_loads']} loads. Building this model here took {b.get('total_s')} s "
                  f"(init {b.get('init_s')} s, save {b.get('save_s')} s) and {b.get('peak_rss_gb')} GB peak RSS."]
    if dc and "pipe_s" in dc:
        lines += ["", f"### 4. Decode ({dc['file_minutes']}-minute mp4)", "",
                  f"ffmpeg pipe (nemo_desk): {[round(x, 2) for x in dc['pipe_s']]} s -> {dc['pipe_x_realtime']}x real time; "
                  f"temp WAV + read: {[round(x, 2) for x in dc['temp_wav_s']]} s -> {dc['temp_wav_x_realtime']}x."]
    if st and "app_s" in st:
        lines += ["", "### 5. Start-up", "",
                  f"time to first window: nemo_desk {[round(x, 2) for x in st['app_s'] if x]} s, bare PySide6 "
                  f"{[round(x, 2) for x in st['bare_s'] if x]} s ({st['how']})."]
    lines += ["", "### 6. GPU", ""]
    if not g:
        lines.append("not run")
    elif g.get("skipped"):
        lines.append(g["skipped"])
    elif g.get("rows"):
        lines += [f"{g.get('gpu')}, {g.get('total_vram_gb')} GB; {g.get('audio_s')} s of audio.", "",
                  "| mode | precision | batch | chunk (s) | RTFx | peak VRAM (GB) | note |", "|---|---|---|---|---|---|---|"]
        for r in g["rows"]:
            lines.append(f"| {r['mode']} | {r['precision']} | {r['batch']} | {r['chunk_s']:.0f} | {_fmt(r.get('rtfx'), nd=1)} | "
                         f"{_fmt(r.get('peak_vram_gb'))} | {r.get('error', '')} |")
        lines.append("\nPublished (model card, Parakeet TDT 0.6B v2): RTFx 3380 on the HF Open ASR leaderboard at batch "
                     "128 (short utterances, A100); full attention handles up to 24 minutes in one pass.")
    else:
        lines.append(f"failed: {g.get('error')}")
    lines.append("")
    lines.append(f"Reproduce: `.venv/bin/python {res['command'].strip()}`")
    return "\n".join(lines)


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
