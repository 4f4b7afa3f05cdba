"""Keeps one model loaded and reuses it across jobs; switching models frees the old one."""
from __future__ import annotations

from pathlib import Path

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.states import FileOp
from nemo_desk.core.events import LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.engine.catalog import get_spec
from nemo_desk.engine.device import DeviceReport, free_accelerator_memory, preflight
from nemo_desk.engine.loader import LoadedModel, load_from_folder
from nemo_desk.engine.modelref import FOREIGN_MODEL_NOTE, ModelRef
from nemo_desk.engine.store import ModelStore

__all__ = ["ModelManager", "ModelRef"]  # ModelRef lives in modelref.py (light to import)


class ModelManager:
    def __init__(self, store: ModelStore) -> None:
        self.store = store
        self._loaded: LoadedModel | None = None
        self._key: tuple | None = None
        self.device_report: DeviceReport | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def get(self, ref: ModelRef, observer: ObserverFn = null_observer,
            cancel: CancelToken | None = None) -> LoadedModel:
        if self._loaded is not None and self._key == ref.key:
            return self._loaded
        self.unload()
        spec = None if ref.path else get_spec(ref.model_id)
        report = preflight(ref.device, spec.min_vram_gb if spec else 0.0)
        self.device_report = report
        observer(LogEvent("info", f"Device: {report.summary()}"))
        if ref.path:
            observer(LogEvent("warning", FOREIGN_MODEL_NOTE))
            folder = self.store.import_local(Path(ref.path), observer, cancel)
        else:
            assert spec is not None  # a catalog model: get_spec gave it above
            folder = self.store.ensure_catalog_model(spec, observer, cancel)
        if cancel is not None:
            cancel.raise_if_cancelled()
        observer(Progress("loading", 0, 0, f"loading {ref.label}"))
        # Reading the weights can meet a scanner's exclusive lock on a freshly unpacked
        # file: the whole load is one retry point.
        fileops = self.store.fileops.with_observer(observer)
        self._loaded = fileops.call(FileOp.LOAD_MODEL, folder, load_from_folder, folder, report.device, spec,
                                    Path(ref.path) if ref.path else None)
        self._key = ref.key
        observer(LogEvent("info", f"Model ready: {self._loaded.spec.name} on {report.device.upper()}"))
        return self._loaded

    def unload(self) -> None:
        if self._loaded is None:
            return
        self._loaded = None
        self._key = None
        free_accelerator_memory()
