"""Loading a model from its unpacked folder (never from a .nemo, never through %TEMP%).

torch and NeMo are imported here, lazily, on whichever thread loads the model: the GUI
thread never calls this.
"""
from __future__ import annotations

import contextlib
import inspect
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from nemo_desk.core.errors import DeviceError, ModelError
from nemo_desk.engine.catalog import DIARIZER_CLASSES, ModelSpec, local_spec
from nemo_desk.engine.device import Precision, free_accelerator_memory, is_out_of_memory

log = logging.getLogger(__name__)


class GpuMemoryError(DeviceError):
    """The model did not fit in the GPU's free memory while it was being moved there; it
    is back on the CPU in `loaded`."""

    def __init__(self, message: str, loaded: "LoadedModel") -> None:
        super().__init__(message)
        self.loaded = loaded


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: Any  # a NeMo ASRModel
    device: str  # "cpu" or "cuda": where the model is now
    folder: Path
    precision: Precision = Precision.FP32
    # Where the model belongs. After an out-of-memory at batch 1 a job finishes on the CPU;
    # the next job brings the model back here.
    home_device: str = ""
    # The largest batch that fitted after an out-of-memory; None until one happens.
    batch_limit: int | None = None
    cuda_graphs: bool = True
    # Chunks per model call when the job does not say: sized from free VRAM on a GPU
    # (engine/vram.py); 0 means the catalog's CPU default.
    default_batch: int = 0

    def __post_init__(self) -> None:
        self.home_device = self.home_device or self.device

    @property
    def family(self) -> str:
        return self.spec.family


def quiet_nemo() -> None:
    """NeMo logs pages at import and load; keep the user's log readable."""
    import os

    os.environ.setdefault("NEMO_TESTING", "0")
    for name in ("nemo_logger", "nemo", "lightning", "pytorch_lightning", "lightning_fabric", "numba",
                 "nv_one_logger"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Some of NeMo's dependencies call logging.config.dictConfig at import, which
    # disables every logger that already exists, ours included: switch ours back on.
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("nemo_desk") and isinstance(logger, logging.Logger):
            logger.disabled = False
    try:
        from nemo.utils import logging as nemo_logging

        nemo_logging.setLevel(logging.ERROR)
    except Exception:  # never let log tuning break a load
        pass


def import_nemo_asr():
    quiet_nemo()
    try:
        import nemo.collections.asr as nemo_asr  # noqa: F401
        from nemo.collections.asr.models import ASRModel
        from nemo.core.connectors.save_restore_connector import SaveRestoreConnector
    except ImportError as exc:  # a broken install: say which module is missing
        raise ModelError(f"NeMo is not installed correctly: {exc}") from exc
    quiet_nemo()
    return ASRModel, SaveRestoreConnector


def model_class(folder: Path, asr_model: Any) -> Any:
    """The NeMo class to restore `folder` with: a diarizer's own, else ASRModel."""
    from nemo_desk.engine.fastload import read_config

    try:
        target = str(read_config(folder).get("target", ""))
    except (OSError, ValueError):
        return asr_model  # let the restore report the broken folder
    name = target.rsplit(".", 1)[-1]
    if name in DIARIZER_CLASSES:
        import nemo.collections.asr.models as models

        return getattr(models, name)
    return asr_model


def describe_family(model: Any) -> tuple[str, str | None]:
    name = type(model).__name__
    if name in DIARIZER_CLASSES:
        return DIARIZER_CLASSES[name], None
    if "MultiTask" in name:
        return "aed", str(getattr(model, "prompt_format", None) or "canary")
    if "RNNT" in name or "Transducer" in name:
        return "tdt", None
    raise ModelError(f"unsupported model type {name}: nemo_desk runs Parakeet (TDT/RNNT) and Canary models, "
                     f"and Sortformer or TitaNet diarizers")


@contextlib.contextmanager
def nested_restores_on_cpu() -> Iterator[None]:
    """NeMo restores Canary-1B-v2's packed aligner inside the main model's constructor with
    map_location=None, which NeMo turns into CUDA whenever a GPU exists, even when the user
    chose the CPU (and even when that GPU is the reason they did). While our restore runs,
    a restore without a map_location goes to the CPU; place() moves it where it belongs."""
    import torch
    from nemo.core.connectors.save_restore_connector import SaveRestoreConnector

    from nemo_desk.engine.fastload import PATCH_LOCK

    with PATCH_LOCK:
        original = SaveRestoreConnector.restore_from
        signature = inspect.signature(original)

        def restore_from(self: Any, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(self, *args, **kwargs)  # ModelPT passes map_location by position
            if bound.arguments.get("map_location") is None:
                bound.arguments["map_location"] = torch.device("cpu")
            return original(*bound.args, **bound.kwargs)

        SaveRestoreConnector.restore_from = restore_from
        try:
            yield
        finally:
            SaveRestoreConnector.restore_from = original


def place(loaded: LoadedModel, device: str, precision: Precision = Precision.FP32) -> None:
    """Put the model on `device` in `precision`. To a GPU the weights travel once, already
    cast (bf16 halves what is copied and what VRAM holds): NeMo's own restore would load
    the state dict onto the GPU next to the model's weights, twice the VRAM at the peak.
    Raises GpuMemoryError (the model is back on the CPU) when it does not fit."""
    import torch

    model = loaded.model
    aligner = getattr(model, "timestamps_asr_model", None)  # not a registered submodule
    if device == "cuda":
        # TF32 for what stays fp32 (Ampere and newer); these switches touch CUDA only, unlike
        # set_float32_matmul_precision, which would also change CPU results.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        try:
            if precision is Precision.BF16:
                model.to(dtype=torch.bfloat16)
            model.to(device)
            if aligner is not None:  # fp32: forced alignment is cheap and wants exact times
                aligner.to(device)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            model.to("cpu", dtype=torch.float32)
            if aligner is not None:
                aligner.to("cpu")
            free_accelerator_memory()  # after the move: the cached blocks are free only now
            loaded.device, loaded.precision = "cpu", Precision.FP32
            raise GpuMemoryError(f"{loaded.spec.name} does not fit in the GPU's free memory", loaded) from exc
        loaded.device, loaded.precision = device, precision
        return
    model.to("cpu", dtype=torch.float32)
    if aligner is not None:
        aligner.to("cpu")
    loaded.device, loaded.precision = "cpu", Precision.FP32
    free_accelerator_memory()


def set_cuda_graphs(loaded: LoadedModel, enabled: bool, reinit: bool = False) -> bool:
    """Switch the TDT label-looping decoder's CUDA graphs on or off (or re-capture them
    after an out-of-memory or a device move, `reinit`). Graphs need cuda-bindings that
    match the driver; when they fail, decoding without them is only slower. Returns True
    when the model has a decoder with graphs to switch."""
    model = loaded.model
    computer = getattr(getattr(getattr(model, "decoding", None), "decoding", None), "decoding_computer", None)
    loaded.cuda_graphs = enabled
    if computer is None or not hasattr(computer, "allow_cuda_graphs"):
        return False
    computer.allow_cuda_graphs = enabled
    if not enabled:
        model.disable_cuda_graphs()
    else:
        model.maybe_enable_cuda_graphs(force_reinit=reinit)
    return True


def load_from_folder(folder: Path, device: str, spec: ModelSpec | None = None,
                     source: Path | None = None, precision: Precision = Precision.FP32,
                     cuda_graphs: bool = True) -> LoadedModel:
    """Restore a model from an unpacked folder. `spec` is None for a user's own file, which
    is then named after `source` (the .nemo the user chose), never our internal folder."""
    ASRModel, _ = import_nemo_asr()
    import torch

    from nemo_desk.engine.fastload import folder_connector

    # Reads the folder in place (no tar, no temp folder), skips the random init the
    # checkpoint overwrites and memory-maps the weights: see fastload.py. Everything is
    # restored on the CPU and placed afterwards (see place()).
    connector = folder_connector(str(folder))
    try:
        with nested_restores_on_cpu():
            model = model_class(folder, ASRModel).restore_from(
                str(folder), map_location=torch.device("cpu"), save_restore_connector=connector
            )
    except FileNotFoundError as exc:
        raise ModelError(f"the model folder {folder} is incomplete or was removed: {exc}") from exc
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ModelError(f"could not load the model in {folder}: {exc}") from exc
    model.eval()
    family, prompt_format = describe_family(model)
    if spec is None:
        has_ts = family == "tdt" or getattr(model, "timestamps_asr_model", None) is not None
        has_ts = has_ts and family not in DIARIZER_CLASSES.values()
        spec = local_spec(str(source or folder), family, prompt_format, has_ts)
    elif spec.family != family:
        raise ModelError(f"{folder} holds a {family.upper()} model, not the expected {spec.name}")
    loaded = LoadedModel(spec=spec, model=model, device="cpu", folder=folder)
    place(loaded, device, precision)
    loaded.home_device = loaded.device
    set_cuda_graphs(loaded, cuda_graphs)
    return loaded
