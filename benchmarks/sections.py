"""The measured sections of a benchmark run, one method each (numbered as in the report and
benchmarks/README.md), as a mixin of run.py's `Bench`: they use its configuration
(`self.cfg`, `self.args`), its fixtures (`self.model`, `self.wav`, `self.mp4`), its child
settings (`self.thread_env`, `self.mem_cap`) and its log, and return the section's JSON.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, median, run_child
from benchmarks.report import compare_stats, plot_memory


def app_defaults() -> dict:
    """The chunk length and batch size the app uses for the benchmark models (local .nemo
    files of the TDT family get nemo_desk.engine.catalog.local_spec's defaults)."""
    from nemo_desk.engine.catalog import get_spec, local_spec

    spec = local_spec("bench.nemo", "tdt")
    parakeet = get_spec("nvidia/parakeet-tdt-0.6b-v3")
    return {"local_tdt": {"chunk_s": spec.max_chunk_s, "batch": spec.default_batch_size},
            "parakeet-tdt-0.6b-v3": {"chunk_s": parakeet.max_chunk_s, "batch": parakeet.default_batch_size}}


class Sections:
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

        def once(script: str, marker: str) -> tuple[float | None, float | None]:
            """Seconds until `marker` (the window is shown) and until 'nemo_desk: ready'
            (the services are attached: the app's only)."""
            home = tempfile.mkdtemp(prefix="bench-home-")
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NEMO_DESK_HOME": home, "PYTHONUNBUFFERED": "1"}
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            shown = ready = None
            for line in proc.stdout:
                if marker in line and shown is None:
                    shown = time.perf_counter() - t0
                if "nemo_desk: ready: True" in line and ready is None:
                    ready = time.perf_counter() - t0
            proc.wait(timeout=120)
            shutil.rmtree(home, ignore_errors=True)
            return shown, ready

        # An installed app runs from compiled bytecode (pip and PyInstaller compile it), as
        # PySide6 does here; a checkout run with PYTHONDONTWRITEBYTECODE=1 would recompile
        # every nemo_desk module from source on each start instead.
        import compileall

        compileall.compile_dir(str(REPO / "nemo_desk"), quiet=1)
        once(bare, "window shown: True")  # warm the file cache for both (same Qt libraries)
        once(subject, "window shown: True")
        app_t, bare_t, ready_t = [], [], []
        for i in range(self.cfg["startup"]["reps"]):
            pair = [("bare", bare), ("app", subject)]
            for name, script in (pair if i % 2 == 0 else pair[::-1]):
                t, ready = once(script, "window shown: True")
                (app_t if name == "app" else bare_t).append(t)
                if name == "app":
                    ready_t.append(ready)
                self.log(f"  start-up {name}: {t:.2f} s" if t else f"  start-up {name}: no window")
        a, b, r = median(app_t), median(bare_t), median(ready_t)
        return {"app_s": app_t, "bare_s": bare_t, "app_median_s": a, "bare_median_s": b,
                "ready_s": ready_t, "ready_median_s": r,
                "ratio": round(a / b, 2) if a and b else None,
                "ready_ratio": round(r / b, 2) if r and b else None,
                "how": "subprocess, QT_QPA_PLATFORM=offscreen, fresh NEMO_DESK_HOME; from process start until "
                       "the window is shown and painted (nemo_desk.app.main(['--quit-after-show']) prints after "
                       "the first paint; a bare QMainWindow prints at its first event-loop turn); 'ready' = the "
                       "services (folders, temp sweep, log file, journal, model store) are attached and the "
                       "worker runs, right after that first paint; interpreter start-up included in all"}

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
            c = {"model": "tiny", "minutes": 10, "modes": ["fp32", "bf16-autocast", "bf16-model"], "batches": [4],
                 "graphs": [True, False]}
            extra = {"dry_run_cpu": True, "max_seconds": 120}
        elif not self.results["machine"].get("cuda"):
            self.log("  gpu: skipped: no CUDA")
            return {"skipped": "skipped: no CUDA"}
        else:
            c, extra = self.cfg["gpu"], {}
        nemo = self.model(c["model"])
        audio = self.mp4(c["minutes"])
        args = {"nemo": str(nemo), "home": self.home, "audio": str(audio), **extra}
        args.update({k: c[k] for k in ("modes", "batches", "graphs") if k in c})
        r = run_child("gpu", args, log=self.log)
        return r
