"""What a job asks for: which model, on which device. Light to import on purpose: the
window's modules need ModelRef at start-up, while the store and loader (tarfile, tenacity,
hashlib) are imported only once the window is on screen."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nemo_desk.engine.catalog import DEFAULT_MODEL_ID

FOREIGN_MODEL_NOTE = (
    "A model file can run programs on this computer when it is loaded. "
    "Only use model files from sources you trust."
)


@dataclass(frozen=True)
class ModelRef:
    """Which model a job wants: a catalog id, or a .nemo file the user chose."""

    model_id: str = DEFAULT_MODEL_ID
    path: Path | None = None
    device: str = "auto"
    # The TDT decoder's CUDA graphs (faster on a GPU). Not part of the key: switching them
    # needs no reload.
    cuda_graphs: bool = True

    @property
    def key(self) -> tuple:
        return (str(self.path) if self.path else self.model_id, self.device)

    @property
    def label(self) -> str:
        return Path(self.path).name if self.path else self.model_id
