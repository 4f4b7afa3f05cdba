"""What the worker measures with, inside the measured process: peak RSS (ru_maxrss and a
20 ms sampler thread per phase), CPU time, word counts, NeMo loaded quietly or by NeMo's own
API, and `AppHarness`, the app's pipeline with every component timed.
"""
from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

GB = 1024**3


def ru_maxrss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB  # KiB on Linux


class Sampler:
    """Peak RSS of this process per named phase (20 ms polling), and peak VRAM on CUDA."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.phase = "start"
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.02)

    def sample(self) -> None:
        rss = self._proc.memory_info().rss
        if rss > self.peaks.get(self.phase, 0):
            self.peaks[self.phase] = rss

    def enter(self, phase: str) -> None:
        self.sample()
        self.phase = phase
        self.sample()

    def stop(self) -> dict[str, float]:
        self.sample()
        self._stop.set()
        self._thread.join()
        return {k: round(v / GB, 3) for k, v in self.peaks.items()}


def quiet() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from nemo_desk.engine.loader import import_nemo_asr

    import_nemo_asr()  # imports NeMo and quiets its loggers
    threads = int(os.environ.get("BENCH_TORCH_THREADS", "0") or 0)
    if threads > 0:  # see run.py --threads
        import torch

        torch.set_num_threads(threads)


def nemo_restore_folder(folder: str, device: str = "cpu"):
    """NeMo's own API (no nemo_desk code) loading an unpacked folder: what a NeMo user does
    after `SaveRestoreConnector._unpack_nemo_file`."""
    import torch
    from nemo.collections.asr.models import ASRModel
    from nemo.core.connectors.save_restore_connector import SaveRestoreConnector

    connector = SaveRestoreConnector()
    connector.model_extracted_dir = folder
    model = ASRModel.restore_from(folder, map_location=torch.device(device), save_restore_connector=connector)
    model.eval()
    return model


def cpu_now() -> float:
    """CPU seconds of this process (all threads) and of its finished children (ffmpeg,
    NeMo's dataloader workers). Less sensitive than wall time to other processes on a
    shared machine, so it is reported next to wall time."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def word_count(hyp) -> int:
    text = hyp if isinstance(hyp, str) else getattr(hyp, "text", "")
    return len(text.split())


# ---------------------------------------------------------------------------------------
# The app, instrumented: every component is timed directly by wrapping it (the wrappers
# add microseconds), and the observer's Progress events are timestamped as well.

class AppHarness:
    def __init__(self, nemo: str, home: str, device: str = "cpu") -> None:
        os.environ["NEMO_DESK_HOME"] = home
        from nemo_desk.app import build_services
        from nemo_desk.engine.models import ModelRef

        self.services = build_services(env=os.environ)
        self.ref = ModelRef(path=Path(nemo), device=device)
        self.timers: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._patched = False

    def load(self):
        loaded = self.services.models.get(self.ref)
        self._instrument(loaded)
        return loaded

    def _timed(self, name: str, fn):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.timers[name] = self.timers.get(name, 0.0) + time.perf_counter() - t0
                self.calls[name] = self.calls.get(name, 0) + 1
        return wrapper

    def _instrument(self, loaded) -> None:
        if self._patched:
            return
        import nemo_desk.media as media
        from nemo_desk.engine import pipeline, transcriber

        # The pipeline imports probe/decode/transcribe_array either at module level or, since
        # start-up got lazier, inside Pipeline._run from nemo_desk.media / the transcriber
        # module: wrap each name where the pipeline will look it up, never twice.
        for name, label, home in (("probe", "probe", media), ("decode", "decode", media),
                                  ("transcribe_array", "transcribe_array", transcriber)):
            if name in vars(pipeline):
                setattr(pipeline, name, self._timed(label, getattr(pipeline, name)))
            else:
                setattr(home, name, self._timed(label, getattr(home, name)))
        pipeline.write_outputs = self._timed("export", pipeline.write_outputs)
        transcriber.plan_windows = self._timed("plan_chunks", transcriber.plan_windows)
        # The instance attribute shadows the method: only this model is timed.
        loaded.model.transcribe = self._timed("model", loaded.model.transcribe)
        self._patched = True

    def run(self, audio: str, out_dir: str, batch_size=None, chunk_seconds=None,
            formats=("srt", "txt")) -> dict:
        from nemo_desk.core.cancel import CancelToken
        from nemo_desk.engine.jobs import Job
        from nemo_desk.engine.transcriber import TranscribeOptions

        job = Job(source=Path(audio), model=self.ref, formats=tuple(formats), output_dir=Path(out_dir),
                  options=TranscribeOptions(batch_size=batch_size, chunk_seconds=chunk_seconds), overwrite=True)
        # As the CLI does: through the job queue, which keeps the journal (resume after a crash).
        (job,) = self.services.queue.add([job])
        self.timers.clear()
        self.calls.clear()
        events: list[tuple[float, str]] = []
        cpu0 = cpu_now()
        started = time.perf_counter()

        def observer(event) -> None:
            stage = getattr(event, "stage", None)
            if stage and (not events or events[-1][1] != stage):
                events.append((time.perf_counter() - started, stage))

        result = self.services.queue.run(job, CancelToken(), observer)
        wall = time.perf_counter() - started
        cpu = cpu_now() - cpu0
        if result.status != "done":
            raise RuntimeError(f"job {result.status}: {result.failure}")
        t = dict(self.timers)
        model = t.get("model", 0.0)
        stitch = t.get("transcribe_array", 0.0) - model - t.get("plan_chunks", 0.0)
        parts = {"probe": t.get("probe", 0.0), "decode": t.get("decode", 0.0),
                 "chunk_planning": t.get("plan_chunks", 0.0), "model": model,
                 "stitch_and_journal": stitch, "export": t.get("export", 0.0)}
        parts["other"] = wall - sum(parts.values())
        transcript = result.transcript
        return {
            "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "parts_s": {k: round(v, 3) for k, v in parts.items()},
            "model_calls": self.calls.get("model", 0),
            "chunks": transcript.meta.get("chunks"),
            "words": sum(len(s.text.split()) for s in transcript.segments),
            "audio_s": round(transcript.duration, 2),
            "stage_times_s": [(round(a, 3), s) for a, s in events],
        }
