"""The model store: where models live on disk, unpacked once, ready to load.

Layout under the app's models folder:
    <slug>/                 one unpacked model (slug: "nvidia--parakeet-tdt-0.6b-v3")
    <slug>.partial-<pid>/   an unpack in progress (or left by a crash: redone)
    .locks/<slug>.lock      held by the process checking or changing <slug> (storelock.py)
    .downloads/<slug>/      downloaded .nemo files (resumable; deleted after unpacking)
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.errors import ModelError
from nemo_desk.core.events import LogEvent, ObserverFn, null_observer
from nemo_desk.engine.catalog import ModelSpec
from nemo_desk.engine.model_file import model_file_problem
from nemo_desk.engine.modelref import FOREIGN_MODEL_NOTE  # noqa: F401 (re-exported)
from nemo_desk.engine.load_errors import explain_load_error, repair_hint
from nemo_desk.engine.storelock import if_unowned, model_lock
from nemo_desk.engine.unpack import MARKER, is_complete, read_marker, unpack_nemo, verify
from nemo_desk.locks.fileops import FileOps

_LOCK_POLL_S = 0.2  # how often a waiting job checks its cancel token

Downloader = Callable[[ModelSpec, Path, ObserverFn, "CancelToken | None"], Path]


@dataclass(frozen=True)
class InstalledModel:
    slug: str
    folder: Path
    model_id: str  # catalog id, or "local:<original path>"
    size_bytes: int
    complete: bool


def slug_for(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "--", model_id).strip("-")


def _local_slug(nemo_path: Path) -> str:
    st = nemo_path.stat()
    key = f"{os.path.normcase(os.path.abspath(nemo_path))}|{st.st_size}|{int(st.st_mtime)}"
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    return f"local--{slug_for(nemo_path.stem)[:40]}-{digest}"


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class ModelStore:
    def __init__(self, root: Path, fileops: FileOps, downloader: Downloader | None = None) -> None:
        self.root = Path(root)
        self.fileops = fileops
        self._downloader = downloader
        # The worker (a job loading its model) and the models dialog (download, delete)
        # can reach the store at once: one change at a time.
        self._lock = threading.RLock()

    def folder_for(self, spec: ModelSpec) -> Path:
        return self.root / slug_for(spec.id)

    def is_installed(self, spec: ModelSpec) -> bool:
        return is_complete(self.folder_for(spec))

    @contextlib.contextmanager
    def _exclusive(self, what: str, observer: ObserverFn, cancel: CancelToken | None) -> Iterator[None]:
        """The store's lock, waited for cancellably: a job whose model is being downloaded
        in the Models dialog must still stop when the user cancels it."""
        if not self._lock.acquire(blocking=False):
            observer(LogEvent("info", f"{what}: waiting for another download, import or delete of a model "
                                      "to finish"))
            while not self._lock.acquire(timeout=_LOCK_POLL_S):
                if cancel is not None:
                    cancel.raise_if_cancelled()
        try:
            yield
        finally:
            self._lock.release()

    def ensure_catalog_model(self, spec: ModelSpec, observer: ObserverFn = null_observer,
                             cancel: CancelToken | None = None) -> Path:
        with self._exclusive(spec.name, observer, cancel), \
                model_lock(self.root, self.folder_for(spec).name, observer, cancel):
            return self._ensure_catalog_model(spec, observer, cancel)

    def _ensure_catalog_model(
        self, spec: ModelSpec, observer: ObserverFn = null_observer, cancel: CancelToken | None = None
    ) -> Path:
        """The unpacked folder of a catalog model, downloading and unpacking it if needed."""
        folder = self.folder_for(spec)
        if is_complete(folder):
            problems = verify(folder, deep=False)
            return self._repair(folder, problems, observer, cancel) if problems else folder
        if folder.exists() or self._partials(folder.name):
            observer(LogEvent("warning", f"{spec.name}: an earlier unpack did not finish; unpacking again."))
            self._remove_partials(folder.name)
        if self._downloader is None:
            raise ModelError(f"{spec.name} is not installed and downloads are not available here")
        downloads = self.root / ".downloads" / folder.name
        nemo_file = self._downloader(spec, downloads, observer, cancel)
        unpack_nemo(nemo_file, folder, self.fileops.with_observer(observer), observer, cancel, info={"model_id": spec.id})
        # The archive is no longer needed once unpacked; keep disk use at one copy.
        if downloads in Path(nemo_file).parents:
            self.fileops.rmtree(downloads)
        return folder

    def import_local(self, nemo_path: Path, observer: ObserverFn = null_observer,
                     cancel: CancelToken | None = None) -> Path:
        with self._exclusive(Path(nemo_path).name, observer, cancel):
            return self._import_local(nemo_path, observer, cancel)

    def _import_local(
        self, nemo_path: Path, observer: ObserverFn = null_observer, cancel: CancelToken | None = None
    ) -> Path:
        """Unpack a user's .nemo once; later loads of the same unchanged file reuse it."""
        nemo_path = Path(nemo_path)
        problem = model_file_problem(nemo_path, check_archive=False)  # a .wav: words, not tar errors
        if problem:
            raise ModelError(problem)
        folder = self.root / _local_slug(nemo_path)
        with model_lock(self.root, folder.name, observer, cancel):
            return self._unpack_local(nemo_path, folder, observer, cancel)

    def _unpack_local(self, nemo_path: Path, folder: Path, observer: ObserverFn,
                      cancel: CancelToken | None) -> Path:
        if is_complete(folder):
            problems = verify(folder, deep=False)
            if not problems:
                return folder
            observer(LogEvent("warning", f"The unpacked copy of {nemo_path.name} is damaged "
                                         f"({'; '.join(problems[:3])}); unpacking it again."))
        if problem := model_file_problem(nemo_path):  # a broken download: words, not tar errors
            raise ModelError(problem)
        self._remove_partials(folder.name)
        observer(LogEvent("info", f"Unpacking {nemo_path.name} once into {folder}"))
        return unpack_nemo(nemo_path, folder, self.fileops.with_observer(observer), observer, cancel,
                           info={"model_id": f"local:{nemo_path}"})

    def installed(self) -> list[InstalledModel]:
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or folder.name.startswith(".") or ".partial-" in folder.name:
                continue
            marker = read_marker(folder)
            found.append(InstalledModel(
                slug=folder.name, folder=folder,
                model_id=str(marker.get("model_id", folder.name)),
                size_bytes=_folder_size(folder), complete=is_complete(folder),
            ))
        return found

    def verify(self, folder: Path) -> list[str]:
        return verify(folder, deep=True)

    def recover(self, folder: Path, error: BaseException, observer: ObserverFn = null_observer,
                cancel: CancelToken | None = None) -> Path:
        """After `folder` failed to load: when its files are not what was unpacked, unpack
        them again (and return the folder to load again); otherwise raise a ModelError that
        says what happened and what to do, instead of torch's or NeMo's internals."""
        with self._exclusive(folder.name, observer, cancel), model_lock(self.root, folder.name, observer, cancel):
            problems = verify(folder, deep=True)
            if problems:
                return self._repair(folder, problems, observer, cancel)
        raise ModelError(explain_load_error(error, folder)) from error

    def _repair(self, folder: Path, problems: list[str], observer: ObserverFn,
                cancel: CancelToken | None) -> Path:
        """Unpack a damaged folder again from the .nemo it came from, when that file is still
        there unchanged; else say how to repair it."""
        marker = read_marker(folder)
        source = Path(str(marker.get("source") or ""))
        summary = "; ".join(problems[:3])
        if marker.get("source") and source.is_file() and source.stat().st_size == marker.get("source_size"):
            observer(LogEvent("warning", f"The model in {folder} is damaged ({summary}); unpacking it again "
                                         f"from {source}."))
            info = {k: marker[k] for k in ("model_id",) if k in marker}
            return unpack_nemo(source, folder, self.fileops.with_observer(observer), observer, cancel, info=info)
        raise ModelError(f"the model in {folder} is damaged ({summary}). To repair it, "
                         f"{repair_hint(str(marker.get('model_id') or ''), folder)}")

    def delete(self, folder: Path) -> None:
        with self._lock, model_lock(self.root, Path(folder).name):
            self._delete(Path(folder))

    def _delete(self, folder: Path) -> None:
        if self.root.resolve() not in folder.resolve().parents:
            raise ModelError(f"refusing to delete {folder}: it is not inside the model store")
        # Remove the marker first: if the delete is interrupted the rest reads as incomplete.
        self.fileops.unlink(folder / MARKER)
        self.fileops.rmtree(folder)

    def sweep_partials(self) -> None:
        """Remove unpacks left by crashed runs (called at start-up); never one that a live
        process (another window or CLI on this profile) is still writing."""
        if self.root.is_dir():
            for p in self.root.glob("*.partial-*"):
                with if_unowned(self.root, p.name.split(".partial-")[0]) as unowned:
                    if unowned:
                        self.fileops.rmtree(p)

    def _partials(self, name: str) -> list[Path]:
        return list(self.root.glob(f"{name}.partial-*")) if self.root.is_dir() else []

    def _remove_partials(self, name: str) -> None:
        for p in self._partials(name):
            self.fileops.rmtree(p)
        incomplete = self.root / name
        if incomplete.exists() and not is_complete(incomplete):
            self.fileops.rmtree(incomplete)
