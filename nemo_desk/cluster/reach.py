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


# File systems that several machines share: SQLite's locking (and WAL's shared memory) is
# not safe there, so the driver's journal must not live on one.
NETWORK_FILESYSTEMS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs",
                                 "ceph", "glusterfs", "fuse.sshfs", "fuse.glusterfs", "9p", "afs"})


def network_filesystem(path: Path, mounts: str | None = None) -> str | None:
    """The network file system `path` is on ("nfs4"...), or None (local, or unknown).
    Linux: the longest mount point above it in /proc/self/mounts. Windows: a UNC path."""
    text = os.path.abspath(path)
    if text.startswith(("\\\\", "//")):
        return "a network share"
    if mounts is None:
        try:
            with open("/proc/self/mounts", encoding="utf-8", errors="replace") as handle:
                mounts = handle.read()
        except OSError:
            return None  # not Linux: nothing known
    best, kind = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (text == point or text.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind if kind in NETWORK_FILESYSTEMS else None
