"""Shared helpers: the machine's description, child processes with a memory cap, medians.

Every heavy measurement runs in a fresh child process (`benchmarks/worker.py TASK ARGS`)
that prints one `RESULT {json}` line. The parent watches the child's whole process tree
(psutil, every 50 ms) and kills it when its resident memory passes the cap, or when the
machine itself gets low on memory, so a run that would exhaust memory is reported as
"killed at N GB" instead of taking the machine (and everyone else's work) down.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "benchmarks" / "worker.py"
RESULTS = REPO / "benchmarks" / "results"
GB = 1024**3
# Kill a child when the machine has less than this available, whatever the cap says:
# other people's processes share the machine.
MIN_AVAILABLE_GB = 1.5


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / GB, 1),
        "available_gb_at_start": round(psutil.virtual_memory().available / GB, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        from importlib.metadata import version

        for pkg in ("torch", "nemo_toolkit", "PySide6_Essentials", "numpy"):
            try:
                info[pkg] = version(pkg)
            except Exception:
                info[pkg] = None
    except Exception:
        pass
    # CUDA is asked in a child so this process never imports torch (cheap and clean).
    probe = subprocess.run([sys.executable, "-c",
                            "import json, torch; a = torch.cuda.is_available();"
                            "print(json.dumps({'cuda': a, 'gpu': torch.cuda.get_device_name(0) if a else None,"
                            "'torch_threads': torch.get_num_threads()}))"],
                           capture_output=True, text=True)
    try:
        info.update(json.loads(probe.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        info["cuda"] = False
    try:
        from nemo_desk.media import Ffmpeg

        ff = Ffmpeg.locate()
        info["ffmpeg"] = ff.check()
        info["ffmpeg_exe"] = ff.exe
    except Exception as exc:
        info["ffmpeg"] = f"unavailable: {exc}"
    return info


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_child(task: str, args: dict, *, mem_cap_gb: float | None = None, timeout_s: float | None = None,
              env: dict | None = None, log=None) -> dict:
    """Run `worker.py task args` in a fresh process; return its RESULT plus what the
    parent saw: wall_s, tree_peak_gb, killed ("cap" / "low memory" / "timeout" / None)."""
    cmd = [sys.executable, str(WORKER), task, json.dumps(args)]
    child_env = {**os.environ, **(env or {})}
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    with tempfile.TemporaryFile(mode="w+") as err_file:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err_file, text=True,
                                env=child_env, start_new_session=True)
        state = {"peak": 0, "killed": None, "killed_at": None}
        stop = threading.Event()

        def kill(reason: str, rss: int) -> None:
            state["killed"], state["killed_at"] = reason, rss
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

        def watch() -> None:
            try:
                ps = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not stop.is_set():
                rss = _tree_rss(ps)
                state["peak"] = max(state["peak"], rss)
                if state["killed"] is None:
                    if mem_cap_gb and rss > mem_cap_gb * GB:
                        kill("cap", rss)
                    elif psutil.virtual_memory().available < MIN_AVAILABLE_GB * GB:
                        kill("low memory", rss)
                    elif timeout_s and time.monotonic() - started > timeout_s:
                        kill("timeout", rss)
                stop.wait(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        out, _ = proc.communicate()
        wall = time.monotonic() - started
        stop.set()
        watcher.join()
        err_file.seek(0)
        err = err_file.read()
    result: dict = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    result.update({
        "task": task,
        "child_wall_s": round(wall, 2),
        "tree_peak_gb": round(state["peak"] / GB, 2),
        "killed": state["killed"],
        "killed_at_gb": round(state["killed_at"] / GB, 1) if state["killed_at"] else None,
        "returncode": proc.returncode,
    })
    if not result.get("ok") and state["killed"] is None:
        result.setdefault("error", f"exit code {proc.returncode}")
        result["stderr_tail"] = err[-2500:]
        if log:
            log(f"  {task} failed: {result.get('error')}\n{err[-1500:]}")
    return result


class Logger:
    """Progress lines on stderr with the elapsed time; the table goes to stdout."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        t = time.monotonic() - self.started
        sys.stderr.write(f"[{int(t) // 60:3d}:{int(t) % 60:02d}] {text}\n")
        sys.stderr.flush()
