"""HubDownloader against a tiny local imitation of the Hugging Face Hub (never the network).

The server speaks what huggingface_hub 2.4.0 and the downloader use: HEAD
`/{repo}/resolve/{revision}/{file}` answered with X-Repo-Commit, ETag/X-Linked-Etag
(the file's SHA-256) and X-Linked-Size; GET on the same path redirected (302) to a
"CDN" path that serves the bytes with Range support (206); the Hub's X-Error-Code
headers for missing or gated repos and files.
"""
from __future__ import annotations

import errno
import hashlib
import http.server
import os
import random
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

import nemo_desk.engine.download as download_module
from nemo_desk.core.cancel import Cancelled, CancelToken
from nemo_desk.core.errors import ModelError
from nemo_desk.core.events import LogEvent, Progress
from nemo_desk.engine.catalog import ModelSpec
from nemo_desk.engine.download import HubDownloader

REPO = "nvidia/fake-model"
GATED = "nvidia/gated-model"
FILENAME = "fake-model.nemo"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DATA = random.Random(1234).randbytes(3 * 1024 * 1024)
SHA = hashlib.sha256(DATA).hexdigest()
PIECE = 64 * 1024


def spec_for(repo: str = REPO, filename: str = FILENAME) -> ModelSpec:
    return ModelSpec(
        id=repo, name="Fake model", family="tdt", languages=("en",), description="test",
        size_gb=0.003, hf_filename=filename,
    )


class FakeHub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        self.ignore_range = False
        self.drop_after: int | None = None  # close the connection once after this byte
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def gets(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "GET"]


class _HubHandler(http.server.BaseHTTPRequestHandler):
    server: FakeHub

    def log_message(self, format, *args):  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_GET(self) -> None:
        self._handle(head=False)

    def _handle(self, head: bool) -> None:
        with self.server.lock:
            self.server.requests.append((self.command, self.path, self.headers.get("Range")))
        try:
            path = unquote(urlparse(self.path).path)
            if path == f"/cdn/{SHA}":
                self._send_bytes(head)
                return
            match = re.fullmatch(r"/(.+?/.+?)/resolve/([^/]+)/(.+)", path)
            if match is None:
                self._error(404, "RepoNotFound")
            elif match.group(1) == GATED:
                self._error(403, "GatedRepo", "Access to this model is restricted.")
            elif match.group(1) != REPO:
                self._error(404, "RepoNotFound", "Repository not found")
            elif match.group(2) not in ("main", COMMIT):
                self._error(404, "RevisionNotFound", "Invalid rev id")
            elif match.group(3) != FILENAME:
                self._error(404, "EntryNotFound", "Entry not found")
            elif head:
                self.send_response(200)
                self._hub_headers()
                self.send_header("Content-Length", str(len(DATA)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
            else:  # the Hub redirects large (LFS) files to its CDN
                self.send_response(302)
                self._hub_headers()
                self.send_header("Location", f"/cdn/{SHA}")
                self.send_header("Content-Length", "0")
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (cancel): expected

    def _hub_headers(self) -> None:
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{SHA}"')
        self.send_header("X-Linked-Etag", f'"{SHA}"')
        self.send_header("X-Linked-Size", str(len(DATA)))

    def _error(self, status: int, code: str, message: str = "") -> None:
        body = b'{"error": "%s"}' % message.encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        if message:
            self.send_header("X-Error-Message", message)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_bytes(self, head: bool) -> None:
        start = 0
        wanted = self.headers.get("Range")
        if wanted and not self.server.ignore_range:
            match = re.fullmatch(r"bytes=(\d+)-", wanted)
            assert match, wanted
            start = int(match.group(1))
            if start >= len(DATA):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(DATA)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(DATA) - start))
        self.send_header("ETag", f'"{SHA}"')
        self.end_headers()
        if head:
            return
        stop = len(DATA)
        with self.server.lock:
            if self.server.drop_after is not None and self.server.drop_after > start:
                stop, self.server.drop_after = self.server.drop_after, None
        for offset in range(start, stop, PIECE):
            self.wfile.write(DATA[offset:min(offset + PIECE, stop)])
        self.wfile.flush()
        if stop < len(DATA):  # a dropped connection: the promised length never arrives
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture(autouse=True)
def hub_env(monkeypatch, tmp_path):
    """No leaks in or out: no user token, no offline flag, no real cache, only 127.0.0.1."""
    import httpx2
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils._http import default_client_factory, hf_request_event_hook

    home = tmp_path / "hf_home"
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
                "HF_ENDPOINT", "HF_HUB_CACHE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    # huggingface_hub read the environment when it was imported: set its copies too.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))

    def only_local(request) -> None:
        assert request.url.host == "127.0.0.1", f"test tried to reach {request.url}"

    def guarded_client():
        return httpx2.Client(event_hooks={"request": [only_local, hf_request_event_hook]},
                             follow_redirects=True, timeout=None, trust_env=False)

    huggingface_hub.set_client_factory(guarded_client)  # also drops any earlier client
    yield
    huggingface_hub.set_client_factory(default_client_factory)


@pytest.fixture
def hub():
    server = FakeHub()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    folder = tmp_path / "hf_cache"
    folder.mkdir()
    return folder


def make_downloader(endpoint: str, cache_dir: Path, **kw) -> HubDownloader:
    assert urlparse(endpoint).hostname == "127.0.0.1"
    return HubDownloader(endpoint=endpoint, cache_dir=cache_dir, **kw)


def assert_no_symlinks(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for entry in dirs + files:
            assert not os.path.islink(os.path.join(root, entry)), os.path.join(root, entry)


def progress_of(events) -> list[Progress]:
    return [e for e in events if isinstance(e, Progress)]


def test_importing_the_module_does_not_import_huggingface_hub():
    code = "import sys, nemo_desk.engine.download; sys.exit('huggingface_hub' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_download_writes_real_file_with_progress(hub, cache_dir, tmp_path):
    dest = tmp_path / "downloads" / "fake"
    events = []
    path = make_downloader(hub.endpoint, cache_dir)(spec_for(), dest, events.append, CancelToken())

    assert path == dest / FILENAME
    assert path.read_bytes() == DATA
    assert sorted(p.name for p in dest.iterdir()) == [FILENAME]  # no partials, no hf metadata
    assert_no_symlinks(tmp_path)
    progress = progress_of(events)
    assert progress, events
    assert all(p.stage == "downloading" and p.total == len(DATA) for p in progress)
    assert all(FILENAME in p.message for p in progress)
    dones = [p.done for p in progress]
    assert dones == sorted(dones)
    assert dones[-1] == len(DATA)
    # HEAD on main for the metadata, then a GET pinned to the commit, redirected to the CDN.
    assert [r[:2] for r in hub.requests] == [
        ("HEAD", f"/{REPO}/resolve/main/{FILENAME}"),
        ("GET", f"/{REPO}/resolve/{COMMIT}/{FILENAME}"),
        ("GET", f"/cdn/{SHA}"),
    ]


def test_progress_is_throttled_but_the_last_event_always_comes(hub, cache_dir, tmp_path):
    events = []
    make_downloader(hub.endpoint, cache_dir, progress_interval=3600)(spec_for(), tmp_path / "d", events.append)
    assert [p.done for p in progress_of(events)] == [0, len(DATA)]


def cancel_midway(downloader: HubDownloader, dest: Path) -> Path:
    token = CancelToken()

    def observer(event) -> None:
        if isinstance(event, Progress) and event.done > event.total / 3:
            token.cancel()

    with pytest.raises(Cancelled):
        downloader(spec_for(), dest, observer, token)
    partials = list(dest.glob(f"{FILENAME}.*.incomplete"))
    assert len(partials) == 1, list(dest.iterdir())
    return partials[0]


def test_cancel_keeps_the_partial_and_the_next_call_resumes(hub, cache_dir, tmp_path):
    dest = tmp_path / "dl"
    downloader = make_downloader(hub.endpoint, cache_dir, progress_interval=0)
    partial = cancel_midway(downloader, dest)
    kept = partial.stat().st_size
    assert len(DATA) / 3 < kept < len(DATA)
    assert partial.read_bytes() == DATA[:kept]
    assert not (dest / FILENAME).exists()

    hub.requests.clear()
    events = []
    path = downloader(spec_for(), dest, events.append, CancelToken())

    assert path.read_bytes() == DATA
    assert ("GET", f"/cdn/{SHA}", f"bytes={kept}-") in hub.requests
    assert all(r[2] == f"bytes={kept}-" for r in hub.gets()), hub.requests
    assert progress_of(events)[0].done == kept
    assert any(isinstance(e, LogEvent) and "resuming" in e.message for e in events)
    assert sorted(p.name for p in dest.iterdir()) == [FILENAME]
    assert_no_symlinks(dest)


def test_a_dropped_connection_is_continued_with_a_range_request(hub, cache_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "RETRY_DELAYS_S", (0.01, 0.01))
    hub.drop_after = 1024 * 1024
    events = []
    path = make_downloader(hub.endpoint, cache_dir)(spec_for(), tmp_path / "d", events.append)
    assert path.read_bytes() == DATA
    ranges = [r[2] for r in hub.gets() if r[1].startswith("/cdn/")]
    assert ranges[0] is None
    assert len(ranges) == 2 and ranges[1] is not None and int(ranges[1][6:-1]) > 0
    assert any(isinstance(e, LogEvent) and e.level == "warning" for e in events)


def test_a_server_ignoring_range_restarts_cleanly(hub, cache_dir, tmp_path):
    dest = tmp_path / "dl"
    downloader = make_downloader(hub.endpoint, cache_dir, progress_interval=0)
    cancel_midway(downloader, dest)
    hub.ignore_range = True
    assert downloader(spec_for(), dest).read_bytes() == DATA


def test_a_damaged_partial_is_caught_by_the_checksum_and_deleted(hub, cache_dir, tmp_path):
    dest = tmp_path / "dl"
    downloader = make_downloader(hub.endpoint, cache_dir, progress_interval=0)
    partial = cancel_midway(downloader, dest)
    damaged = bytearray(partial.read_bytes())
    damaged[100] ^= 0xFF
    partial.write_bytes(bytes(damaged))

    with pytest.raises(ModelError, match="checksum"):
        downloader(spec_for(), dest)
    assert list(dest.iterdir()) == []
    assert downloader(spec_for(), dest).read_bytes() == DATA  # and the next try starts afresh


def test_uses_the_hugging_face_cache_without_network(hub, cache_dir, tmp_path):
    from huggingface_hub import try_to_load_from_cache

    repo_folder = cache_dir / ("models--" + REPO.replace("/", "--"))
    snapshot = repo_folder / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / FILENAME).write_bytes(b"cached model bytes")
    (repo_folder / "refs").mkdir()
    (repo_folder / "refs" / "main").write_text(COMMIT)
    assert try_to_load_from_cache(REPO, FILENAME, cache_dir=cache_dir) == str(snapshot / FILENAME)

    events = []
    dest = tmp_path / "dl"
    path = make_downloader(hub.endpoint, cache_dir)(spec_for(), dest, events.append)
    assert path == snapshot / FILENAME
    assert hub.requests == []
    assert not dest.exists()
    assert any(isinstance(e, LogEvent) and "Hugging Face cache" in e.message for e in events)

    # offline too: the cache needs no network
    path = make_downloader(hub.endpoint, cache_dir, offline=True)(spec_for(), dest)
    assert path == snapshot / FILENAME


def test_a_finished_earlier_download_is_reused(hub, cache_dir, tmp_path):
    dest = tmp_path / "dl"
    make_downloader(hub.endpoint, cache_dir)(spec_for(), dest)
    hub.requests.clear()
    assert make_downloader(hub.endpoint, cache_dir, offline=True)(spec_for(), dest) == dest / FILENAME
    assert hub.requests == []


@pytest.mark.parametrize(
    ("repo", "filename", "expected"),
    [
        (REPO, "missing.nemo", rf"{REPO} has no file missing\.nemo.*404"),
        ("nvidia/no-such-model", FILENAME, r"no model nvidia/no-such-model.*404"),
        (GATED, FILENAME, rf"{GATED} is a gated model"),
    ],
)
def test_hub_errors_become_one_line_model_errors(hub, cache_dir, tmp_path, repo, filename, expected):
    with pytest.raises(ModelError, match=expected) as info:
        make_downloader(hub.endpoint, cache_dir)(spec_for(repo, filename), tmp_path / "dl")
    assert "\n" not in str(info.value)


def test_server_down_means_could_not_reach(cache_dir, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ModelError, match=r"could not reach Hugging Face \(127\.0\.0\.1:\d+") as info:
        make_downloader(f"http://127.0.0.1:{port}", cache_dir)(spec_for(), tmp_path / "dl")
    assert "import a .nemo file" in str(info.value)
    assert "\n" not in str(info.value)


def test_offline_with_nothing_cached(hub, cache_dir, tmp_path):
    with pytest.raises(ModelError, match="offline"):
        make_downloader(hub.endpoint, cache_dir, offline=True)(spec_for(), tmp_path / "dl")
    assert hub.requests == []


def test_hf_hub_offline_environment_is_respected(hub, cache_dir, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE"):
        make_downloader(hub.endpoint, cache_dir)(spec_for(), tmp_path / "dl")
    assert hub.requests == []


def test_too_little_free_space_is_refused_before_downloading(hub, cache_dir, tmp_path, monkeypatch):
    real = download_module.shutil.disk_usage
    monkeypatch.setattr(download_module.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=1000))
    dest = tmp_path / "dl"
    with pytest.raises(ModelError, match=rf"not enough disk space in {re.escape(str(dest))} for 3\.1 MB"):
        make_downloader(hub.endpoint, cache_dir)(spec_for(), dest)
    assert hub.gets() == []


class _FailingFile:
    """A real file whose writes fail with `error` once `limit` bytes are in."""

    def __init__(self, f, limit: int, error: OSError) -> None:
        self._f, self._limit, self._error = f, limit, error

    def write(self, data: bytes) -> int:
        if self._f.tell() + len(data) > self._limit:
            raise self._error
        return self._f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()

    def __getattr__(self, name):
        return getattr(self._f, name)


def _win_error(winerror: int) -> OSError:
    error = OSError(errno.EPERM, "A required privilege is not held by the client")
    error.winerror = winerror  # what Windows sets; settable here to imitate it
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), r"not enough disk space in .* for 0\.003 GB"),
        (_win_error(1314), r"WinError 1314"),
    ],
)
def test_write_errors_mid_download(hub, cache_dir, tmp_path, monkeypatch, error, expected):
    def failing_open(path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)
        return _FailingFile(f, 1024 * 1024, error) if "a" in mode else f

    dest = tmp_path / "dl"
    with monkeypatch.context() as patch:
        patch.setattr(download_module, "open", failing_open, raising=False)
        with pytest.raises(ModelError, match=expected) as info:
            make_downloader(hub.endpoint, cache_dir)(spec_for(), dest)
    assert "\n" not in str(info.value)
    assert str(dest) in str(info.value) or "1314" in str(info.value)

    # Once there is room again the download continues where it stopped.
    hub.requests.clear()
    assert make_downloader(hub.endpoint, cache_dir)(spec_for(), dest).read_bytes() == DATA
    assert any(r[2] is not None and r[2] != "bytes=0-" for r in hub.gets())
