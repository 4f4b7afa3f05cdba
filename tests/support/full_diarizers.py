"""Full-size diarizer architectures with random weights (the released models' shapes, see
tiny_diarizers.py): for the store/fastload tests and benchmarks. Hundreds of MB; built once
per machine and cached like the tiny models."""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.tiny_diarizers import build, sortformer_config, titanet_config  # noqa: E402


def build_all(dest: Path) -> list[Path]:
    import torch

    torch.manual_seed(0)
    dest.mkdir(parents=True, exist_ok=True)
    return [
        build("SortformerEncLabelModel", sortformer_config(full_size=True), dest / "full-sortformer.nemo"),
        build("EncDecSpeakerLabelModel", titanet_config(full_size=True), dest / "full-titanet.nemo"),
    ]


if __name__ == "__main__":
    for p in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else "full-diarizers")):
        print(p)
    sys.stdout.flush()
    os._exit(0)
