"""Loading a model from its unpacked folder (never from a .nemo, never through %TEMP%).

torch and NeMo are imported here, lazily, on whichever thread loads the model: the GUI
thread never calls this.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemo_desk.core.errors import ModelError
from nemo_desk.engine.catalog import ModelSpec, local_spec

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: Any  # a NeMo ASRModel
    device: str  # "cpu" or "cuda"
    folder: Path

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


def describe_family(model: Any) -> tuple[str, str | None]:
    name = type(model).__name__
    if "MultiTask" in name:
        return "aed", str(getattr(model, "prompt_format", None) or "canary")
    if "RNNT" in name or "Transducer" in name:
        return "tdt", None
    raise ModelError(f"unsupported model type {name}: nemo_desk runs Parakeet (TDT/RNNT) and Canary models")


def load_from_folder(folder: Path, device: str, spec: ModelSpec | None = None,
                     source: Path | None = None) -> LoadedModel:
    """Restore a model from an unpacked folder. `spec` is None for a user's own file, which
    is then named after `source` (the .nemo the user chose), never our internal folder."""
    ASRModel, _ = import_nemo_asr()
    import torch

    from nemo_desk.engine.fastload import folder_connector

    # Reads the folder in place (no tar, no temp folder), skips the random init the
    # checkpoint overwrites and memory-maps the weights: see fastload.py.
    connector = folder_connector(str(folder))
    try:
        model = ASRModel.restore_from(
            str(folder), map_location=torch.device(device), save_restore_connector=connector
        )
    except FileNotFoundError as exc:
        raise ModelError(f"the model folder {folder} is incomplete or was removed: {exc}") from exc
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ModelError(f"could not load the model in {folder}: {exc}") from exc
    model.eval()
    family, prompt_format = describe_family(model)
    if spec is None:
        has_ts = family == "tdt" or getattr(model, "timestamps_asr_model", None) is not None
        spec = local_spec(str(source or folder), family, prompt_format, has_ts)
    elif spec.family != family:
        raise ModelError(f"{folder} holds a {family.upper()} model, not the expected {spec.name}")
    return LoadedModel(spec=spec, model=model, device=device, folder=folder)
