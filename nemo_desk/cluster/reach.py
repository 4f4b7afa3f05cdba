"""Can a worker see the files? Sources and outputs must be on storage every node mounts
at the same path; a worker that cannot see one stops the run with one line, before any
file is handed out (otherwise every file would fail with a misleading "not found")."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from nemo_desk.core.longpaths import long_path


def folders_to_check(sources: Iterable[Path], output_dir: Path | None) -> list[str]:
    """The folders the workers must see, as the driver sees them: each source's folder and
    the output folder (or the nearest existing folder above it: it is created on the first
    write). A folder the driver cannot see either is left out: that file fails on its own."""
    wanted = {os.path.abspath(Path(s).parent) for s in sources}
    if output_dir is not None:
        out = Path(os.path.abspath(output_dir))
        wanted.add(str(next((p for p in (out, *out.parents) if os.path.isdir(long_path(p))), out)))
    return sorted(f for f in wanted if os.path.isdir(long_path(f)))


def first_unreachable(folders: Iterable[str]) -> str | None:
    """Run on the worker: the first folder it cannot see, or None."""
    return next((f for f in folders if not os.path.isdir(long_path(f))), None)


def unreachable_message(worker: str, folder: str) -> str:
    return (f"{worker} cannot reach {folder}: sources and outputs must be on storage that every node "
            f"mounts at the same path")
