"""Unpacking a .nemo archive once, into a folder the app owns.

NeMo's own restore_from unpacks the whole archive (GBs) into a fresh %TEMP% folder on
every load, where scanners lock the new files and the cleanup then fails with WinError
32. We unpack once: into a sibling `<name>.partial-<pid>` folder, write a completion
marker last, then rename the folder into place. A crash therefore never leaves a folder
that looks complete; a folder without the marker is redone.
"""
from __future__ import annotations

import json
import os
import tarfile
import time
from pathlib import Path

from nemo_desk.core.states import FileOp
from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.errors import ModelError
from nemo_desk.core.events import ObserverFn, Progress, null_observer
from nemo_desk.locks.fileops import FileOps

MARKER = "nemo_desk_model.json"
CONFIG_NAME = "model_config.yaml"


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / CONFIG_NAME).is_file()


def read_marker(folder: Path) -> dict:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _open_archive(nemo_path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(nemo_path, "r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ModelError(f"{nemo_path} is not a NeMo model file (.nemo archive): {exc}") from exc


def unpack_nemo(
    nemo_path: Path,
    dest: Path,
    fileops: FileOps,
    observer: ObserverFn = null_observer,
    cancel: CancelToken | None = None,
    info: dict | None = None,
) -> Path:
    """Unpack `nemo_path` into `dest` atomically. Returns `dest`."""
    nemo_path = Path(nemo_path)
    if not nemo_path.is_file():
        raise ModelError(f"model file not found: {nemo_path}")
    partial = dest.with_name(f"{dest.name}.partial-{os.getpid()}")
    fileops.rmtree(partial)
    partial.mkdir(parents=True)
    files: dict[str, int] = {}
    try:
        with _open_archive(nemo_path) as tar:
            members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
            total = sum(m.size for m in members if m.isfile())
            done = 0
            for m in members:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                name = os.path.normpath(m.name).lstrip("./\\")
                if not name or name == ".":
                    continue
                # The 'data' filter refuses absolute paths, '..' and links out of the
                # folder: a .nemo from the internet must not write outside its folder.
                fileops.call(FileOp.UNPACK, partial / name, tar.extract, m, partial, filter="data")
                if m.isfile():
                    files[name] = m.size
                    done += m.size
                    observer(Progress("unpacking", done, total, f"unpacking {nemo_path.name}"))
    except (tarfile.TarError, EOFError) as exc:
        fileops.rmtree(partial)
        raise ModelError(f"{nemo_path} is damaged or not a NeMo model file: {exc}") from exc
    except BaseException:
        fileops.rmtree(partial)
        raise
    if not (partial / CONFIG_NAME).is_file():
        fileops.rmtree(partial)
        raise ModelError(f"{nemo_path} is not a NeMo model file: it holds no {CONFIG_NAME}")
    marker = {
        "source": str(nemo_path),
        "source_size": nemo_path.stat().st_size,
        "unpacked_at": time.time(),
        "files": files,
        **(info or {}),
    }
    with fileops.open(partial / MARKER, "w", encoding="utf-8") as fh:
        json.dump(marker, fh, indent=2)
    fileops.rmtree(dest)  # an incomplete or outdated folder from an earlier run
    fileops.rename(partial, dest)
    return dest


def verify(folder: Path) -> list[str]:
    """Problems found in an unpacked model folder; empty when it is complete."""
    if not folder.is_dir():
        return [f"{folder} does not exist"]
    if not is_complete(folder):
        return [f"{folder} was not fully unpacked"]
    problems = []
    for name, size in read_marker(folder).get("files", {}).items():
        path = folder / name
        if not path.is_file():
            problems.append(f"missing {name}")
        elif path.stat().st_size != size:
            problems.append(f"{name} has {path.stat().st_size} bytes, expected {size}")
    return problems
