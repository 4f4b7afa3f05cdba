"""Downloading catalog models from Hugging Face: resumable, cancellable, no symlinks.

`HubDownloader` is the `downloader` the ModelStore calls. Order of preference:

1. the user's Hugging Face cache (a model fetched earlier by NeMo or another tool):
   used where it lies, no copy, no network;
2. a finished download left in the store's download folder (e.g. the app stopped
   before unpacking);
3. a download over HTTP into that folder.

Why not `hf_hub_download(local_dir=...)`: huggingface_hub 2.x downloads into a
process-unique `<etag>.<random>.incomplete` file and deletes it when the download fails
or is interrupted (see `_download_to_tmp_and_move` in its file_download.py), so a
cancelled or broken 2-4 GB download would start again from zero. Here the partial file
is ours: `<dest>/<filename>.<etag tag>.incomplete`, continued with an HTTP Range request
and checked against the file's SHA-256 (the Hub's ETag for large files) before it is
renamed to `<dest>/<filename>`. Plain files only: no symlinks, which Windows refuses
without a privilege (WinError 1314).

huggingface_hub still does the Hub protocol: URL building, the HEAD metadata call (commit,
ETag, size), auth headers, the configured HTTP client (proxies, HF_HUB_OFFLINE) and the
typed HTTP errors. It is imported inside functions so importing this module stays cheap.
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlparse

from nemo_desk.core.cancel import Cancelled, CancelToken
from nemo_desk.core.errors import ModelError, NemoDeskError
from nemo_desk.core.events import LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.core.states import Stage
from nemo_desk.engine.catalog import ModelSpec
from nemo_desk.engine.download_errors import human_size, one_line, translate_error

if TYPE_CHECKING:
    from nemo_desk.locks.fileops import FileOps

REVISION = "main"
READ_CHUNK = 1024 * 1024
# Waits before re-requesting the rest after a dropped connection; progress resets the count.
RETRY_DELAYS_S = (0.5, 2.0, 5.0)
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Windows: ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL; ERROR_PRIVILEGE_NOT_HELD (symlinks).


class HubDownloader:
    """Fetch a catalog model's `.nemo` into a folder; the ModelStore's `downloader`.

    endpoint: the Hub's address (default huggingface_hub's, i.e. HF_ENDPOINT or
        https://huggingface.co). token: passed to huggingface_hub (None: the user's saved
        login, if any). cache_dir: the Hugging Face cache to look in first (default
        huggingface_hub's). offline: never touch the network. fileops: lock-aware file
        operations for the final rename (a virus scanner often holds a new file on
        Windows); plain os.replace without it. progress_interval: least seconds between
        two Progress events (the last one is always sent).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | bool | None = None,
        cache_dir: Path | None = None,
        offline: bool = False,
        *,
        fileops: "FileOps | None" = None,
        progress_interval: float = 0.1,
    ) -> None:
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.token = token
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.offline = offline
        self.fileops = fileops
        self.progress_interval = progress_interval

    def __call__(
        self,
        spec: ModelSpec,
        dest: Path,
        observer: ObserverFn = null_observer,
        cancel: CancelToken | None = None,
    ) -> Path:
        if spec.is_local or not spec.hf_filename:
            raise ModelError(f"{spec.name} has no file on Hugging Face to download")
        cached = self.find_in_hf_cache(spec)
        if cached is not None:
            observer(LogEvent("info", f"using the copy in the Hugging Face cache: {cached}"))
            return cached
        dest = Path(dest)
        final = dest / _local_name(spec.hf_filename)
        if final.is_file() and final.stat().st_size > 0:
            observer(LogEvent("info", f"using the earlier download: {final}"))
            return final
        if self.offline:
            raise ModelError(
                f"{spec.name} is not installed and nemo_desk is working offline (HF_HUB_OFFLINE is set), so it cannot be "
                f"downloaded; connect to the internet or import a .nemo file instead"
            )
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            return self._download(spec, dest, final, observer, cancel)
        except (Cancelled, NemoDeskError):
            raise
        except Exception as exc:
            error = translate_error(exc, spec, dest, self._host(), REVISION)
            if error is None:
                raise
            raise error from exc

    def find_in_hf_cache(self, spec: ModelSpec) -> Path | None:
        """The model's `.nemo` in the Hugging Face cache (revision main), or None."""
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(
                spec.id, spec.hf_filename, cache_dir=self.cache_dir, revision=REVISION
            )
        except (OSError, ValueError):  # unreadable cache or odd repo id: just not cached
            return None
        # A str is a cached file; None or the "cached as missing" sentinel mean not here.
        return Path(found) if isinstance(found, str) else None

    # -- the download ------------------------------------------------------------------

    def _download(
        self, spec: ModelSpec, dest: Path, final: Path, observer: ObserverFn, cancel: CancelToken | None
    ) -> Path:
        from huggingface_hub import constants, get_hf_file_metadata, get_session, hf_hub_url
        from huggingface_hub.utils import build_hf_headers

        from nemo_desk import __version__

        repo_id, filename, name = spec.id, spec.hf_filename, final.name
        meta = get_hf_file_metadata(
            hf_hub_url(repo_id, filename, revision=REVISION, endpoint=self.endpoint),
            token=self.token,
            timeout=constants.HF_HUB_ETAG_TIMEOUT,
            endpoint=self.endpoint,
            library_name="nemo_desk",
            library_version=__version__,
        )
        if not meta.commit_hash or not meta.etag:
            raise ModelError(
                f"the server at {self._host()} did not answer like Hugging Face for {repo_id} "
                f"(no commit or ETag); check HF_ENDPOINT and proxy settings"
            )
        size: int | None = meta.size
        # Pin the GET to the commit the HEAD saw, so every resumed piece is the same file.
        url = hf_hub_url(repo_id, filename, revision=meta.commit_hash, endpoint=self.endpoint)
        headers = build_hf_headers(token=self.token, library_name="nemo_desk", library_version=__version__)
        headers["Accept-Encoding"] = "identity"  # byte ranges must count the file's own bytes

        dest.mkdir(parents=True, exist_ok=True)
        partial = dest / f"{name}.{hashlib.sha1(meta.etag.encode()).hexdigest()[:12]}.incomplete"
        for stale in dest.glob(f"{glob.escape(name)}.*.incomplete"):
            if stale != partial:  # another revision of the file: useless now
                self._unlink(stale)
        have = partial.stat().st_size if partial.is_file() else 0
        if size is not None and have > size:
            self._unlink(partial)
            have = 0
        if size is not None:
            self._check_space(dest, size - have, spec)

        hasher = hashlib.sha256() if _SHA256.fullmatch(meta.etag) else None
        if have:
            observer(LogEvent("info", f"resuming the download of {name} at {human_size(have)}"))
            if hasher is not None:
                _hash_file(partial, hasher, cancel)
        progress = _ProgressReporter(observer, f"downloading {name}", size or 0, self.progress_interval)
        progress.report(have)

        session = get_session()
        failures = 0
        with open(partial, "ab") as out:
            while size is None or have < size:
                request_headers = dict(headers)
                before = have
                if have:
                    request_headers["Range"] = f"bytes={have}-"
                try:
                    with session.stream(
                        "GET", url, headers=request_headers, timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT
                    ) as response:
                        _raise_for_status(response)
                        if have and response.status_code != 206:
                            # The server ignored the Range: what it sends is the whole file.
                            out.truncate(0)
                            have = 0
                            hasher = hashlib.sha256() if hasher is not None else None
                        elif have:
                            _check_content_range(response.headers.get("Content-Range"), have, name)
                        if size is None:
                            length = _int_or_none(response.headers.get("Content-Length"))
                            size = have + length if length is not None else None
                            progress.total = size or 0
                        for chunk in response.iter_bytes():
                            if not chunk:
                                continue
                            out.write(chunk)
                            have += len(chunk)
                            if hasher is not None:
                                hasher.update(chunk)
                            failures = 0
                            progress.report(have)
                            if cancel is not None:
                                cancel.raise_if_cancelled()
                    if size is None:  # length unknown: the stream ending is the end
                        size = have
                    elif have < size and have == before:
                        raise ModelError(
                            f"the server sent no data for {name} at {human_size(have)} of {human_size(size)}; try again"
                        )
                except _transient_errors() as exc:
                    if failures >= len(RETRY_DELAYS_S):
                        raise
                    delay = RETRY_DELAYS_S[failures]
                    failures += 1
                    observer(LogEvent(
                        "warning",
                        f"the download of {name} was interrupted ({one_line(exc)}); "
                        f"continuing at {human_size(have)} in {delay:g} s",
                    ))
                    out.flush()
                    if cancel is not None:
                        if cancel.wait(delay):
                            cancel.raise_if_cancelled()
                    else:
                        time.sleep(delay)
            out.flush()
            os.fsync(out.fileno())  # on disk before the rename publishes it as a finished download

        progress.report(have, final=True)
        if have != size:
            self._unlink(partial)
            raise ModelError(
                f"the download of {name} has the wrong size ({have} bytes, expected {size}) "
                f"and was deleted; try again"
            )
        if hasher is not None and hasher.hexdigest() != meta.etag:
            self._unlink(partial)
            raise ModelError(
                f"the download of {name} was damaged (its checksum does not match) and was deleted; try again"
            )
        self._replace(partial, final)
        observer(LogEvent("info", f"downloaded {name} ({human_size(have)}) into {dest}"))
        return final

    # -- helpers -----------------------------------------------------------------------

    def _check_space(self, dest: Path, needed: int, spec: ModelSpec) -> None:
        try:
            free = shutil.disk_usage(dest).free
        except OSError:
            return  # cannot tell: the write itself will say
        if free < needed:
            raise ModelError(
                f"not enough disk space in {dest} for {human_size(needed)} of {spec.name} "
                f"({human_size(free)} free); free some space and try again"
            )

    def _replace(self, src: Path, dst: Path) -> None:
        if self.fileops is not None:
            self.fileops.replace(src, dst)
        else:
            os.replace(src, dst)

    def _unlink(self, path: Path) -> None:
        if self.fileops is not None:
            self.fileops.unlink(path)
        else:
            path.unlink(missing_ok=True)

    def _host(self) -> str:
        if self.endpoint:
            return urlparse(self.endpoint).netloc or self.endpoint
        from huggingface_hub import constants

        return urlparse(constants.ENDPOINT).netloc or constants.ENDPOINT

class _ProgressReporter:
    """Progress events at most every `interval` seconds; the first and the last always."""

    def __init__(self, observer: ObserverFn, message: str, total: int, interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.observer = observer
        self.message = message
        self.total = total
        self.interval = interval
        self._clock = clock
        self._last_time: float | None = None
        self._last_done: int | None = None

    def report(self, done: int, final: bool = False) -> None:
        now = self._clock()
        if not final and self._last_time is not None and now - self._last_time < self.interval:
            return
        if final and done == self._last_done:
            return  # already sent
        self._last_time, self._last_done = now, done
        self.observer(Progress(Stage.DOWNLOADING, done, self.total, self.message))


def _raise_for_status(response) -> None:
    if response.status_code >= 400:
        from huggingface_hub.utils import hf_raise_for_status

        response.read()  # error bodies are small; hf_raise_for_status reads the message from it
        hf_raise_for_status(response)


def _check_content_range(value: str | None, start: int, name: str) -> None:
    match = re.match(r"bytes (\d+)-", value or "")
    if match is None or int(match.group(1)) != start:
        raise ModelError(
            f"the server sent the wrong part of {name} (asked from byte {start}, got {value!r}); try again"
        )


def _transient_errors() -> tuple[type[Exception], ...]:
    import httpx2

    # A dropped, refused or stalled connection after the HEAD call worked (a dead network
    # fails that call first and is not retried); not a proxy refusal or an HTTP error.
    return (httpx2.NetworkError, httpx2.TimeoutException, httpx2.RemoteProtocolError)


def _hash_file(path: Path, hasher, cancel: CancelToken | None) -> None:
    with open(path, "rb") as f:
        while block := f.read(READ_CHUNK * 8):
            hasher.update(block)
            if cancel is not None:
                cancel.raise_if_cancelled()


def _local_name(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
