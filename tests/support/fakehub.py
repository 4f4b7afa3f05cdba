"""A tiny local imitation of the Hugging Face Hub, and the isolation that keeps tests off the real one.

The server speaks what huggingface_hub 2.4.0 and nemo_desk's HubDownloader use: HEAD
`/{repo}/resolve/{revision}/{file}` answered with X-Repo-Commit, ETag/X-Linked-Etag
(the file's SHA-256) and X-Linked-Size; GET on the same path redirected (302) to a
"CDN" path `/cdn/{sha256}` that serves the bytes with Range support (206); the Hub's
X-Error-Code headers for missing or gated repos, revisions and files.

    with FakeHub({("nvidia/some-model", "some-model.nemo"): data}) as hub:
        ...  # hub.endpoint, hub.requests, hub.gets()

`isolate_hub(monkeypatch, tmp_path)` keeps huggingface_hub away from the user's token,
cache, offline flag, proxies and any host but 127.0.0.1; `use_endpoint` makes a fake
hub huggingface_hub's default endpoint (what the app uses: it passes no endpoint).
"""
from __future__ import annotations

import hashlib
import http.server
import re
import socket
import threading
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import unquote, urlparse

import pytest

DEFAULT_COMMIT = "0123456789abcdef0123456789abcdef01234567"
PIECE = 64 * 1024

Request = tuple[str, str, "str | None"]  # (method, path, Range header)


class FakeHub(http.server.ThreadingHTTPServer):
    """Serves `files[(repo, filename)]`; every other repo is missing, repos in `gated` refuse.

    Knobs the tests turn while it runs: `ignore_range` (answer Range requests with the whole
    file, 200), `drop_after` (close the connection once after that byte of a CDN body).
    `requests` logs every request as (method, path, Range).
    """

    daemon_threads = True

    def __init__(
        self,
        files: Mapping[tuple[str, str], bytes],
        commit: str = DEFAULT_COMMIT,
        gated: Iterable[str] = (),
    ) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.files = dict(files)
        self.commit = commit
        self.gated = frozenset(gated)
        self.shas = {key: hashlib.sha256(data).hexdigest() for key, data in self.files.items()}
        self.blobs = {self.shas[key]: data for key, data in self.files.items()}
        self.repos = {repo for repo, _ in self.files}
        self.requests: list[Request] = []
        self.ignore_range = False
        self.drop_after: int | None = None
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def sha(self, repo: str, filename: str) -> str:
        return self.shas[(repo, filename)]

    def gets(self) -> list[Request]:
        return [r for r in self.requests if r[0] == "GET"]

    # -- running -----------------------------------------------------------------------

    def start(self) -> "FakeHub":
        assert self._thread is None, "already started"
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeHub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port: later requests are refused (connection refused)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _HubHandler(http.server.BaseHTTPRequestHandler):
    server: FakeHub

    def log_message(self, format, *args):  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_GET(self) -> None:
        self._handle(head=False)

    def _handle(self, head: bool) -> None:
        hub = self.server
        with hub.lock:
            hub.requests.append((self.command, self.path, self.headers.get("Range")))
        try:
            path = unquote(urlparse(self.path).path)
            cdn = re.fullmatch(r"/cdn/([0-9a-f]{64})", path)
            if cdn is not None and cdn.group(1) in hub.blobs:
                self._send_bytes(hub.blobs[cdn.group(1)], cdn.group(1), head)
                return
            match = re.fullmatch(r"/(.+?/.+?)/resolve/([^/]+)/(.+)", path)
            if match is None:
                self._error(404, "RepoNotFound")
                return
            repo, revision, filename = match.groups()
            if repo in hub.gated:
                self._error(403, "GatedRepo", "Access to this model is restricted.")
            elif repo not in hub.repos:
                self._error(404, "RepoNotFound", "Repository not found")
            elif revision not in ("main", hub.commit):
                self._error(404, "RevisionNotFound", "Invalid rev id")
            elif (repo, filename) not in hub.files:
                self._error(404, "EntryNotFound", "Entry not found")
            elif head:
                self.send_response(200)
                self._hub_headers(repo, filename)
                self.send_header("Content-Length", str(len(hub.files[(repo, filename)])))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
            else:  # the Hub redirects large (LFS) files to its CDN
                self.send_response(302)
                self._hub_headers(repo, filename)
                self.send_header("Location", f"/cdn/{hub.sha(repo, filename)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (cancel): expected

    def _hub_headers(self, repo: str, filename: str) -> None:
        sha, size = self.server.sha(repo, filename), len(self.server.files[(repo, filename)])
        self.send_header("X-Repo-Commit", self.server.commit)
        self.send_header("ETag", f'"{sha}"')
        self.send_header("X-Linked-Etag", f'"{sha}"')
        self.send_header("X-Linked-Size", str(size))

    def _error(self, status: int, code: str, message: str = "") -> None:
        body = b'{"error": "%s"}' % message.encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        if message:
            self.send_header("X-Error-Message", message)
        self.send_header("X-Repo-Commit", self.server.commit)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_bytes(self, data: bytes, sha: str, head: bool) -> None:
        hub = self.server
        start = 0
        wanted = self.headers.get("Range")
        if wanted and not hub.ignore_range:
            match = re.fullmatch(r"bytes=(\d+)-", wanted)
            assert match, wanted
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", f'"{sha}"')
        self.end_headers()
        if head:
            return
        stop = len(data)
        with hub.lock:
            if hub.drop_after is not None and hub.drop_after > start:
                stop, hub.drop_after = hub.drop_after, None
        for offset in range(start, stop, PIECE):
            self.wfile.write(data[offset:min(offset + PIECE, stop)])
        self.wfile.flush()
        if stop < len(data):  # a dropped connection: the promised length never arrives
            self.connection.shutdown(socket.SHUT_RDWR)


# -- isolation -------------------------------------------------------------------------

_LEAKY_VARS = (
    "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
    "HF_ENDPOINT", "HF_HUB_CACHE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
    "http_proxy", "https_proxy", "all_proxy",
)


def isolate_hub(monkeypatch, tmp_path: Path) -> Callable[[], None]:
    """No leaks in or out: no user token, no offline flag, no real cache, only 127.0.0.1.

    Returns `restore`, which puts huggingface_hub's default HTTP client back; call it at
    teardown (monkeypatch undoes the rest):

        @pytest.fixture(autouse=True)
        def hub_env(monkeypatch, tmp_path):
            restore = isolate_hub(monkeypatch, tmp_path)
            yield
            restore()
    """
    import httpx2
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils._http import default_client_factory, hf_request_event_hook

    home = tmp_path / "hf_home"
    for var in _LEAKY_VARS:
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

    huggingface_hub.set_client_factory(guarded_client)  # also closes any earlier client

    def restore() -> None:
        huggingface_hub.set_client_factory(default_client_factory)  # closes the guarded one

    return restore


def use_endpoint(monkeypatch, endpoint: str) -> None:
    """Make `endpoint` huggingface_hub's default Hub, as HF_ENDPOINT would at import.

    huggingface_hub reads HF_ENDPOINT once, into `constants.ENDPOINT` and the URL template
    `hf_hub_url` formats (`constants.HUGGINGFACE_CO_URL_TEMPLATE`); both are patched, and
    the variable too for anything that reads it later.
    """
    from huggingface_hub import constants

    endpoint = endpoint.rstrip("/")
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        endpoint + "/{repo_id}/resolve/{revision}/{filename}")


@pytest.fixture
def hub_env(monkeypatch, tmp_path):
    """No leaks in or out: no user token, no offline flag, no real cache, only 127.0.0.1.
    Test modules import it and mark themselves with `usefixtures("hub_env")`."""
    restore = isolate_hub(monkeypatch, tmp_path)
    yield
    restore()
