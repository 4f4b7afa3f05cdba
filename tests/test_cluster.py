"""`nemo-desk transcribe --cluster local`: a real local Ray instance, the trained digits
model, real speech. Each run is the real command in a subprocess (Ray's own processes
share its fate), so a killed worker or a killed driver is a real process killed."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import audio

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "tests" / "data" / "digits-tdt.nemo"
WORDS = "one two three four five six seven eight nine zero"
# A worker at work on a file (its model loading for it, decoding or transcribing it).
WORKER = re.compile(r"worker \d+ on \S+ \(pid (\d+)\): (?:loading model|decoding|transcribing) (\S+)")


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """Four short files and one long one (many chunks: time to kill its worker mid-file)."""
    folder = tmp_path_factory.mktemp("cluster-speech")
    for i, text in enumerate(("one two three", "four five six", "seven eight nine zero", "two four six")):
        audio.speak(text, folder / f"short{i}.wav")
    piece = audio.speak(WORDS, folder.parent / "piece.wav")
    audio.concat_with_pauses([piece] * 8, 0.6, folder / "long.wav")
    return folder


def _command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "nemo_desk", "transcribe", *map(str, args), "--model-path", str(MODEL),
            "--device", "cpu", "--format", "srt,json"]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "NEMO_DESK_HOME": str(home), "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled"}


def _run(args: list[str], home: Path, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=_env(home), capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _outputs(folder: Path) -> dict[str, bytes]:
    """Every output by name; the JSON without the fields that name where it was made."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".srt":
            found[path.name] = path.read_bytes()
        elif path.suffix == ".json":
            doc = json.loads(path.read_bytes())
            doc.pop("source", None)
            found[path.name] = json.dumps(doc, sort_keys=True).encode()
    return found


def _copy_inputs(speech: Path, dest: Path, names: list[str]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        (dest / name).write_bytes((speech / name).read_bytes())
    return dest


def test_cluster_outputs_equal_the_plain_clis_and_each_file_runs_once(speech, tmp_path):
    names = [f"short{i}.wav" for i in range(4)]
    plain_in = _copy_inputs(speech, tmp_path / "plain", names)
    cluster_in = _copy_inputs(speech, tmp_path / "cluster", names)
    plain = _run(_command(plain_in), tmp_path / "home-plain")
    assert plain.returncode == 0, plain.stderr[-2000:]
    done = _run(_command(cluster_in, "--cluster", "local", "--cluster-workers", "2"), tmp_path / "home-cluster")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[cluster] 4 file(s) on 2 worker(s)" in done.stderr
    for name in names:  # one "done" line per file: none ran twice
        assert done.stderr.count(f"done: {name} ->") == 1, done.stderr[-3000:]
    assert _outputs(cluster_in) == _outputs(plain_in) and len(_outputs(plain_in)) == 8
    assert not [p for p in cluster_in.iterdir() if p.suffix not in (".wav", ".srt", ".json")]


def _watch(proc: subprocess.Popen, wanted, deadline_s: float = 300) -> tuple[list[str], re.Match | str]:
    """Read the driver's lines until `wanted(line)` gives something; all lines so far and that."""
    lines: list[str] = []
    deadline = time.monotonic() + deadline_s
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if hit := wanted(line):
            return lines, hit
    raise AssertionError("not seen:\n" + "".join(lines[-40:]))


def test_a_killed_worker_has_its_file_redone_elsewhere(speech, tmp_path):
    folder = _copy_inputs(speech, tmp_path / "in", ["long.wav", "short0.wav"])
    proc = subprocess.Popen(_command(folder, "--cluster", "local", "--cluster-workers", "2",
                                     "--cluster-status-seconds", "0.2"),
                            env=_env(tmp_path / "home"), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, cwd=REPO)
    try:
        lines, hit = _watch(proc, lambda line: (m := WORKER.search(line)) and m.group(2) == "long.wav" and m)
        os.kill(int(hit.group(1)), signal.SIGKILL)  # the worker's process, mid-file
        _, rest = proc.communicate(timeout=400)
    finally:
        proc.kill()
    text = "".join(lines) + rest
    assert proc.returncode == 0, text[-3000:]
    assert re.search(r"stopped while working on long\.wav .*it goes to another worker", text), text[-3000:]
    assert text.count("done: long.wav ->") == 1
    assert _outputs(folder).keys() == {"long.srt", "long.json", "short0.srt", "short0.json"}
    assert not [p for p in folder.iterdir() if p.suffix not in (".wav", ".srt", ".json")]  # no half-written file
    plain = _copy_inputs(speech, tmp_path / "plain", ["long.wav"])
    assert _run(_command(plain), tmp_path / "home-plain").returncode == 0
    assert _outputs(folder)["long.srt"] == _outputs(plain)["long.srt"]


def test_a_killed_driver_resumes_without_redoing_finished_files(speech, tmp_path):
    names = [f"short{i}.wav" for i in range(4)] + ["long.wav"]
    folder = _copy_inputs(speech, tmp_path / "in", names)
    home = tmp_path / "home"
    proc = subprocess.Popen(_command(folder, "--cluster", "local", "--cluster-workers", "1"),
                            env=_env(home), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            cwd=REPO, start_new_session=True)
    try:
        _watch(proc, lambda line: line.startswith("done: "))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started
        proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.srt")}
    assert finished and len(finished) < len(names)

    resumed = _run(_command("--resume", "--cluster", "local", "--cluster-workers", "2"), home)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert {p.name for p in folder.glob("*.srt")} == {Path(n).with_suffix(".srt").name for n in names}
    assert {n: (folder / n).stat().st_mtime_ns for n in finished} == finished  # untouched
    redone = {line.split()[1] for line in resumed.stderr.splitlines() if line.startswith("done: ")}
    assert redone == {n for n in names if Path(n).with_suffix(".srt").name not in finished}


def test_a_corrupt_file_fails_once_and_the_exit_status_is_the_clis(speech, tmp_path):
    plain_in = _copy_inputs(speech, tmp_path / "plain", ["short0.wav", "short1.wav"])
    audio.make_corrupt(plain_in / "broken.wav")
    plain = _run(_command(plain_in), tmp_path / "home-plain")
    folder = _copy_inputs(speech, tmp_path / "in", ["short0.wav", "short1.wav"])
    audio.make_corrupt(folder / "broken.wav")
    done = _run(_command(folder, "--cluster", "local", "--cluster-workers", "2"), tmp_path / "home")
    assert done.returncode == plain.returncode == 1, done.stderr[-3000:]
    failed = [line for line in done.stderr.splitlines() if "broken.wav" in line and "failed" in line]
    assert len(failed) == 1 and "goes to another worker" not in done.stderr, done.stderr[-3000:]
    assert "1 of 3 file(s) failed." in done.stderr
    assert {p.name for p in folder.glob("*.srt")} == {"short0.srt", "short1.srt"}


def test_cluster_options_are_checked_before_anything_is_queued(tmp_path, monkeypatch, speech):
    from nemo_desk import cli
    from nemo_desk.cluster import INSTALL_HINT

    monkeypatch.setenv("NEMO_DESK_HOME", str(tmp_path / "home"))
    monkeypatch.setitem(sys.modules, "ray", None)  # as on a machine without the extra
    import io

    def factory(**kw):
        raise AssertionError("nothing may be set up")

    for args, message in (
        (["--cluster", "local"], INSTALL_HINT),
        (["--cluster-workers", "2"], "need --cluster"),
        (["--cluster", "local", "--cluster-workers", "0"], "at least 1"),
    ):
        err = io.StringIO()
        code = cli.run(["transcribe", str(speech / "short0.wav"), *args], factory, out=io.StringIO(), err=err)
        assert code == cli.EXIT_USAGE and message in err.getvalue() and len(err.getvalue().splitlines()) == 1


def test_the_windows_bundle_never_carries_ray():
    spec = (REPO / "build_exe.spec").read_text(encoding="utf-8")
    assert 'EXCLUDES += ["ray"]' in spec


def test_rays_sockets_fit_even_under_a_deep_temp_folder():
    from nemo_desk.cluster.connect import ray_temp_dir

    assert ray_temp_dir("linux", "/tmp") is None
    assert ray_temp_dir("linux", "/home/someone/.cache/nemo_desk/tmp/run-1234-5678901234") == "/tmp/ray"
    assert ray_temp_dir("win32", "C:\\Users\\someone\\AppData\\Local\\nemo_desk\\Cache\\tmp\\run-1-2") is None


def test_a_journal_on_a_network_file_system_is_recognised(tmp_path):
    from nemo_desk.cluster.reach import network_filesystem

    mounts = ("/dev/vda / ext4 rw 0 0\n"
              "server:/home /home nfs4 rw 0 0\n"
              "/dev/vdb /home/ann/local\\040disk xfs rw 0 0\n")
    assert network_filesystem(Path("/home/ann/.local/share/nemo_desk"), mounts) == "nfs4"
    assert network_filesystem(Path("/home/ann/local disk/nemo_desk"), mounts) is None  # a local disk mounted inside
    assert network_filesystem(Path("/var/lib/x"), mounts) is None
    assert network_filesystem(Path("/homework"), mounts) is None  # a prefix of a name is not a parent
    assert network_filesystem(tmp_path) is None  # this machine's own /proc/self/mounts


def test_the_driver_refuses_a_journal_on_a_network_share(tmp_path, monkeypatch, speech):
    import io

    from nemo_desk import cli
    from nemo_desk.app import build_services
    from nemo_desk.cluster import driver

    monkeypatch.setenv("NEMO_DESK_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(driver, "network_filesystem", lambda path: "nfs4")
    err = io.StringIO()
    code = cli.run(["transcribe", str(speech / "short0.wav"), "--model-path", str(MODEL), "--cluster", "local"],
                   lambda **kw: build_services(**kw), out=io.StringIO(), err=err)
    assert code == cli.EXIT_USAGE and "network file system (nfs4)" in err.getvalue()
    services = build_services()
    try:  # nothing left queued: the same command on a local NEMO_DESK_HOME starts clean
        assert services.queue.journal is not None and services.queue.journal.unfinished() == []
    finally:
        services.close()


def test_rays_error_text_becomes_one_plain_line():
    from nemo_desk.cluster.driver import _first_line

    started = RuntimeError("The actor died because of an error raised in its creation task, \x1b[36mray::W.__init__()"
                           "\x1b[39m (pid=1)\nTraceback (most recent call last):\n  File \"x.py\"\n"
                           "TypeError: __init__() takes 5 arguments but 6 were given\n")
    assert _first_line(started) == "TypeError: __init__() takes 5 arguments but 6 were given"
    assert _first_line(RuntimeError("\x1b[31mworker crashed\x1b[0m\ndetails")) == "worker crashed"


def test_joining_a_running_cluster_by_its_address(speech, tmp_path):
    """`--cluster ADDRESS`: a Ray head started apart (as `ray start --head` on a server), the
    command joins it, runs there, and leaves it running; a wrong address is one line."""
    import socket

    ray_exe = Path(sys.executable).parent / "ray"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**_env(tmp_path / "home-head"), "RAY_TMPDIR": "/tmp"}
    head = subprocess.Popen([str(ray_exe), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
                             "--include-dashboard=false", "--node-ip-address=127.0.0.1",
                             "--temp-dir=/tmp/ray-nemo-desk-test"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        folder = _copy_inputs(speech, tmp_path / "in", ["short0.wav", "short1.wav"])
        deadline = time.monotonic() + 120
        done = None
        while time.monotonic() < deadline:  # the head takes a few seconds to listen
            done = _run(_command(folder, "--cluster", f"127.0.0.1:{port}"), tmp_path / "home")
            if "cannot join" not in done.stderr:
                break
            time.sleep(3)
        assert done is not None and done.returncode == 0, done.stderr[-3000:]
        assert {p.name for p in folder.glob("*.srt")} == {"short0.srt", "short1.srt"}
        assert head.poll() is None  # joined, not started: the cluster stays up for the next batch
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
    started = time.monotonic()
    wrong = _run(_command(folder, "--cluster", "127.0.0.1:1"), tmp_path / "home-wrong", timeout=200)
    assert wrong.returncode == 2 and "cannot join the Ray cluster at 127.0.0.1:1: nothing answers" in wrong.stderr
    assert time.monotonic() - started < 60  # said at once, not after Ray's minutes of retries
    assert len([ln for ln in wrong.stderr.splitlines() if ln.startswith("nemo-desk:")]) == 1
