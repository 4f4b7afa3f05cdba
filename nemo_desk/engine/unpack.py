"""Unpacking a .nemo archive once, into a folder the app owns.

NeMo's own restore_from unpacks the whole archive (GBs) into a fresh %TEMP% folder on
every load, where scanners lock the new files and the cleanup then fails with WinError
32. We unpack once: into a sibling `<name>.partial-<pid>` folder, write a completion
marker last, then rename the folder into place. A crash therefore never leaves a folder
that looks complete; a folder without the marker is redone.

The marker records each file's size and SHA-256, so `verify` finds a file that was
changed, cut or replaced later (a disk error, a cleaner, a user). Before anything is
written, the archive's headers are checked against the free space and a sane expansion
ratio (an 8 MB gzip that expands to 3 GB is refused, not unpacked until the disk is full),
and the files the app writes itself are never taken from an archive: a .nemo could
otherwise ship its own "cached" config that the loader would trust over the real one.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import time
from pathlib import Path

from nemo_desk.core.states import FileOp, Stage
from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.errors import ModelError, is_disk_full_os
from nemo_desk.core.events import ObserverFn, Progress, null_observer
from nemo_desk.engine.fastload import CONFIG_CACHE
from nemo_desk.locks.fileops import FileOps

MARKER = "nemo_desk_model.json"
CONFIG_NAME = "model_config.yaml"
# Written by the app next to the model; an archive's copy is skipped, never trusted.
APP_FILES = frozenset({MARKER, CONFIG_CACHE})
# Model weights hardly compress (about 1.1:1); tokenizers and configs are small. A .nemo
# that claims to expand more than this, by more than SMALL, is refused.
MAX_RATIO = 20.0
SMALL = 100 * 1024**2
# Room left free on the drive after unpacking: Windows and other programs need some.
FREE_MARGIN = 200 * 1024**2
_HASH_BLOCK = 4 * 1024**2


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / CONFIG_NAME).is_file()


def read_marker(folder: Path) -> dict:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def _open_archive(nemo_path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(nemo_path, "r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ModelError(f"{nemo_path} is damaged or not a NeMo model file; download it again") from exc


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
    hashes: dict[str, str] = {}
    try:
        with _open_archive(nemo_path) as tar:
            members = [m for m in tar.getmembers() if (m.isfile() or m.isdir()) and _member_name(m) not in APP_FILES]
            total = sum(m.size for m in members if m.isfile())
            check_room(nemo_path, total, partial)
            done = 0
            for m in members:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                name = _member_name(m)
                if not name or name == ".":
                    continue
                # The 'data' filter refuses absolute paths, '..' and links out of the
                # folder: a .nemo from the internet must not write outside its folder.
                fileops.call(FileOp.UNPACK, partial / name, tar.extract, m, partial, filter="data")
                if m.isfile():
                    files[name] = m.size
                    hashes[name] = fileops.call("unpack", partial / name, file_sha256, partial / name, cancel)
                    done += m.size
                    observer(Progress(Stage.UNPACKING, done, total, f"unpacking {nemo_path.name}"))
    except (tarfile.TarError, EOFError) as exc:
        fileops.rmtree(partial)
        raise ModelError(f"{nemo_path} is damaged or not a NeMo model file (it ends early?); download it again") from exc
    except OSError as exc:  # locks arrive as LockError (not OSError): their own message
        fileops.rmtree(partial)
        if is_disk_full_os(exc):
            raise ModelError(f"not enough disk space to unpack {nemo_path.name} into {dest.parent}; free some "
                             "space or choose another models folder in Settings") from exc
        raise ModelError(f"could not unpack {nemo_path.name} into {dest.parent}: {exc.strerror or exc}") from exc
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
        "sha256": hashes,
        **(info or {}),
    }
    with fileops.open(partial / MARKER, "w", encoding="utf-8") as fh:
        json.dump(marker, fh, indent=2)
    fileops.rmtree(dest)  # an incomplete or outdated folder from an earlier run
    fileops.rename(partial, dest)
    return dest


def _member_name(member: tarfile.TarInfo) -> str:
    return os.path.normpath(member.name).lstrip("./\\")


def check_room(nemo_path: Path, total: int, folder: Path) -> None:
    """Refuse an archive whose headers promise an absurd expansion, or more than the
    drive has room for, before a byte is written."""
    packed = max(1, nemo_path.stat().st_size)
    if total > SMALL and total / packed > MAX_RATIO:
        raise ModelError(f"{nemo_path.name} would expand from {_size(packed)} to {_size(total)} "
                         f"({total / packed:,.0f} times its size); real models barely compress, so it "
                         "is refused as damaged or malicious")
    free = shutil.disk_usage(folder).free
    if total + FREE_MARGIN > free:
        raise ModelError(f"unpacking {nemo_path.name} needs {_size(total)} but only {_size(free)} are free on "
                         f"the drive of {folder.parent}; free some space or choose another models folder "
                         "in Settings")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def file_sha256(path: Path, cancel: CancelToken | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            if cancel is not None:
                cancel.raise_if_cancelled()
            digest.update(block)
    return digest.hexdigest()


def verify(folder: Path, deep: bool = True) -> list[str]:
    """Problems found in an unpacked model folder; empty when it is as it was unpacked.
    `deep=False` checks presence and sizes only (cheap: every load does it); `deep` also
    compares each file's SHA-256 with the one recorded at unpack."""
    if not folder.is_dir():
        return [f"{folder} does not exist"]
    if not is_complete(folder):
        return [f"{folder} was not fully unpacked"]
    marker = read_marker(folder)
    sizes, hashes = marker.get("files"), marker.get("sha256", {})
    if not isinstance(sizes, dict) or not sizes or not isinstance(hashes, dict):
        return [f"the record of what was unpacked ({MARKER}) is damaged"]
    problems = []
    for name, size in sizes.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"missing {name}")
        elif path.stat().st_size != size:
            problems.append(f"{name} has {path.stat().st_size} bytes, expected {size}")
        elif deep and name in hashes and file_sha256(path) != hashes[name]:
            problems.append(f"{name} has changed since it was unpacked (its SHA-256 differs)")
    return problems
