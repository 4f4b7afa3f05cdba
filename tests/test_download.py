"""HubDownloader against a tiny local imitation of the Hugging Face Hub (never the network).

The fake hub (tests/support/fakehub.py) serves one 3 MB file the way huggingface_hub
2.4.0 and the downloader expect: HEAD metadata with the commit, SHA-256 ETag and size;
GET redirected (302) to a "CDN" path with Range support (206); the Hub's X-Error-Code
headers for missing or gated repos and files.
"""
from __future__ import annotations

import errno
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

import nemo_desk.engine.download as download_module
from nemo_desk.core.cancel import Cancelled, CancelToken
from nemo_desk.core.errors import ModelError
from nemo_desk.core.events import LogEvent, Progress
from nemo_desk.engine.catalog import ModelSpec
from nemo_desk.engine.download import HubDownloader
from tests.support.fakehub import FakeHub, hub_env  # noqa: F401  (hub_env is a fixture)
from tests.support.windows import FakeWindows

REPO = "nvidia/fake-model"
GATED = "nvidia/gated-model"
FILENAME = "fake-model.nemo"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DATA = random.Random(1234).randbytes(3 * 1024 * 1024)
SHA = hashlib.sha256(DATA).hexdigest()


def spec_for(repo: str = REPO, filename: str = FILENAME) -> ModelSpec:
    return ModelSpec(
        id=repo, name="Fake model", family="tdt", languages=("en",), description="test",
        size_gb=0.003, hf_filename=filename,
    )


pytestmark = pytest.mark.usefixtures("hub_env")


@pytest.fixture
def hub():
    with FakeHub({(REPO, FILENAME): DATA}, commit=COMMIT, gated=(GATED,)) as server:
        yield server


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
    assert "Errno" not in str(info.value) and info.value.technical  # the OS's words: log file only


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




@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), r"not enough disk space in .* for 0\.003 GB"),
        (FakeWindows.error(1314), r"WinError 1314"),
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


def test_the_fake_hub_serves_each_file_under_its_own_checksum(tmp_path, cache_dir):
    other_repo, small = "nvidia/other-model", b"another model's bytes"
    files = {(REPO, FILENAME): DATA, (REPO, "second.nemo"): DATA[::-1], (other_repo, FILENAME): small}
    with FakeHub(files) as server:
        for (repo, filename), data in files.items():
            dest = tmp_path / "dl" / repo.replace("/", "--")
            path = make_downloader(server.endpoint, cache_dir)(spec_for(repo, filename), dest)
            assert path.read_bytes() == data
        cdn_paths = [r[1] for r in server.gets() if r[1].startswith("/cdn/")]
    assert cdn_paths == [f"/cdn/{hashlib.sha256(d).hexdigest()}" for d in files.values()]
