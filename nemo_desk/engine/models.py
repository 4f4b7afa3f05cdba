"""Keeps one model loaded and reuses it across jobs; switching models frees the old one.

It also owns where the model runs: the device check (engine/device.py) with the VRAM the
model really needs (engine/vram.py), a GPU that cannot hold the model at load time (auto:
the CPU, with the reason; `--device cuda`: an error), and the way back to the GPU for the
next job after the batch runner had to finish a file on the CPU.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Callable

from nemo_desk.core.cancel import CancelToken, Cancelled
from nemo_desk.core.errors import DeviceError
from nemo_desk.core.states import FileOp, Stage
from nemo_desk.core.events import LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.engine import vram
from nemo_desk.engine.catalog import ModelSpec, get_spec
from nemo_desk.engine.device import (
    DeviceReport, Precision, cap_vram_use, free_accelerator_memory, is_out_of_memory, preflight,
)
from nemo_desk.engine.loader import GpuMemoryError, LoadedModel, load_from_folder, place, set_cuda_graphs
from nemo_desk.engine.modelref import FOREIGN_MODEL_NOTE, ModelRef
from nemo_desk.engine.store import ModelStore
from nemo_desk.locks.lockerror import LockError

__all__ = ["ModelManager", "ModelRef"]  # ModelRef lives in modelref.py (light to import)

GB = 1024**3


def weights_size_gb(folder: Path) -> float:
    """The checkpoints' size (fp32 weights, the aligner's included) in an unpacked folder."""
    return sum(p.stat().st_size for p in Path(folder).glob("*.ckpt")) / GB


class ModelManager:
    def __init__(self, store: ModelStore, platform: str = sys.platform,
                 lookup: Callable[[str], ModelSpec] = get_spec) -> None:
        self.store = store
        self.lookup = lookup  # which catalog ids name: recognisers, or diarizers
        self.platform = platform
        self._loaded: LoadedModel | None = None
        self._key: tuple | None = None
        self._report: DeviceReport | None = None
        self._warned: set[str] = set()  # model files already warned about: once each, not every load

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def device_report(self) -> DeviceReport | None:
        """The device check's result, as things are now: a model that had to finish a file
        on the CPU says so (the window's status must not keep saying GPU)."""
        report, loaded = self._report, self._loaded
        if report is None or loaded is None or loaded.device == report.device:
            return report
        return dataclasses.replace(report, device=loaded.device, notes=report.notes + (
            "Out of GPU memory during the last file; the next file starts on the GPU again.",))

    def get(self, ref: ModelRef, observer: ObserverFn = null_observer,
            cancel: CancelToken | None = None) -> LoadedModel:
        if self._loaded is not None and self._key == ref.key:
            self._come_home(self._loaded, observer)
            if self._loaded.cuda_graphs != ref.cuda_graphs:
                set_cuda_graphs(self._loaded, ref.cuda_graphs)
            return self._loaded
        self.unload()
        spec = None if ref.path else self.lookup(ref.model_id)
        if ref.path:
            if str(ref.path) not in self._warned:
                self._warned.add(str(ref.path))
                observer(LogEvent("warning", FOREIGN_MODEL_NOTE))
            folder = self.store.import_local(Path(ref.path), observer, cancel)
            size_gb = weights_size_gb(folder)
        else:
            assert spec is not None
            size_gb = spec.size_gb
        # Before any download: `--device cuda` on an unusable GPU must fail in a second.
        chunk_s = spec.max_chunk_s if spec else 30.0
        report = preflight(ref.device, lambda p: vram.need_gb(size_gb, p, 1, chunk_s),
                           fp16_validated=bool(spec and spec.fp16_validated))
        self._report = report
        observer(LogEvent("info", f"Device: {report.summary()}"))
        if spec is not None:
            folder = self.store.ensure_catalog_model(spec, observer, cancel)
        if cancel is not None:
            cancel.raise_if_cancelled()
        observer(Progress(Stage.LOADING, 0, 0, f"loading {ref.label}"))
        # Reading the weights can meet a scanner's exclusive lock on a freshly unpacked
        # file: the whole load is one retry point.
        fileops = self.store.fileops.with_observer(observer)

        def load(where: Path) -> LoadedModel:
            return fileops.call(FileOp.LOAD_MODEL, where, load_from_folder, where, report.device, spec,
                                Path(ref.path) if ref.path else None, report.precision, ref.cuda_graphs)

        try:
            try:
                loaded = load(folder)
            except (LockError, Cancelled, MemoryError, GpuMemoryError):
                raise
            except Exception as exc:  # damaged files are unpacked again once; else a plain reason
                if is_out_of_memory(exc):
                    raise
                loaded = load(self.store.recover(folder, exc, observer, cancel))
        except GpuMemoryError as exc:
            if ref.device == "cuda":
                raise DeviceError(f"{exc}; close programs that use the GPU, or choose CPU or Auto") from exc
            loaded = exc.loaded
            loaded.home_device = "cpu"
            self._report = dataclasses.replace(report, device="cpu", precision=Precision.FP32,
                                               notes=(f"{exc}; using the CPU.",))
            observer(LogEvent("warning", f"{exc}; using the CPU (slower)."))
        if loaded.device == "cuda":
            self._size_batches(loaded, report, size_gb, chunk_s, observer)
        self._loaded, self._key = loaded, ref.key
        observer(LogEvent("info", f"Model ready: {loaded.spec.name} on {loaded.device.upper()}"
                                  + (f" ({loaded.precision.value})" if loaded.device == "cuda" else "")))
        return loaded

    def _size_batches(self, loaded: LoadedModel, report: DeviceReport, size_gb: float, chunk_s: float,
                      observer: ObserverFn) -> None:
        import torch

        loaded.default_batch = vram.gpu_batch(report.free_vram_gb, size_gb, loaded.precision, chunk_s)
        fraction = cap_vram_use(torch, int(report.free_vram_gb * GB), int(report.total_vram_gb * GB), self.platform)
        if fraction is not None:
            observer(LogEvent("info", f"GPU memory use capped at {fraction:.0%} of the card, so a full card "
                                      f"shows as out-of-memory (smaller batches) instead of a silent slowdown."))

    def _come_home(self, loaded: LoadedModel, observer: ObserverFn) -> None:
        """After a file finished on the CPU for lack of VRAM, try the GPU again."""
        if loaded.device == loaded.home_device:
            return
        report = self._report
        try:
            place(loaded, loaded.home_device, report.precision if report else Precision.FP32)
        except GpuMemoryError:
            observer(LogEvent("warning", "The GPU still has too little free memory; this file runs on the CPU."))
            return
        set_cuda_graphs(loaded, loaded.cuda_graphs, reinit=True)
        observer(LogEvent("info", f"Model back on the {loaded.device.upper()}"))

    def unload(self) -> None:
        if self._loaded is None:
            return
        self._loaded = None
        self._key = None
        free_accelerator_memory()
