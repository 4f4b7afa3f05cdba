"""Two processes sharing one profile (a window and a CLI): neither breaks the other's model unpack.

Real processes. The first one's unpack is made to take seconds (its progress observer
sleeps, as a multi-GB model's unpack really takes) so the second starts in the middle of it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from nemo_desk.engine.store import ModelStore
from nemo_desk.engine.unpack import is_complete, verify
from nemo_desk.locks.fileops import FileOps

REPO = Path(__file__).resolve().parents[1]

_UNPACK = r"""
import sys, time
from pathlib import Path
from nemo_desk.app import build_services
from nemo_desk.core.events import Progress

slow = sys.argv[2] == "slow"
said = []

def observer(event):
    if slow and isinstance(event, Progress) and event.stage == "unpacking" and not said:
        said.append(1)
        print("unpacking", flush=True)
        time.sleep(4)  # a large model: seconds between the first file and the last

services = build_services()
print("started", sorted(p.name for p in services.store.root.glob("*.partial-*")), flush=True)
try:
    folder = services.store.import_local(Path(sys.argv[1]), observer)
    print("ok", folder, flush=True)
finally:
    services.close()
"""


def _start(nemo: Path, mode: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _UNPACK, str(nemo), mode], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_second_process_leaves_a_live_unpack_alone_and_reuses_it(tmp_path, tiny_tdt):
    env = {**os.environ, "NEMO_DESK_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    first = _start(tiny_tdt, "slow", env)
    assert first.stdout.readline().startswith("started")
    assert first.stdout.readline().strip() == "unpacking"
    partials = list((tmp_path / "home").rglob("*.partial-*"))
    assert len(partials) == 1  # the first one is in the middle of writing it
    second = _start(tiny_tdt, "fast", env)
    out2, err2 = second.communicate(timeout=300)
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    # The second one's start-up sweep saw the live partial and left it...
    assert f"started ['{partials[0].name}']" in out2
    # ...then waited for the first one's unpack and reused it, unpacking nothing itself.
    folder = Path(out1.split("ok ", 1)[1].strip())
    assert out2.strip().endswith(f"ok {folder}")
    assert is_complete(folder) and verify(folder) == []
    assert not list((tmp_path / "home").rglob("*.partial-*"))


def test_a_dead_processs_partial_is_swept(tmp_path, tiny_tdt):
    """kill -9 in the middle of an unpack: the OS drops its lock, the next start sweeps."""
    env = {**os.environ, "NEMO_DESK_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    first = _start(tiny_tdt, "slow", env)
    assert first.stdout.readline().startswith("started")
    assert first.stdout.readline().strip() == "unpacking"
    first.kill()
    first.wait(30)
    (partial,) = (tmp_path / "home").rglob("*.partial-*")
    store = ModelStore(partial.parent, FileOps())
    store.sweep_partials()
    assert not partial.exists()
    started = time.monotonic()
    assert is_complete(store.import_local(tiny_tdt))
    assert time.monotonic() - started < 60
