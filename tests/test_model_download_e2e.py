"""A catalog model from "Hugging Face" to a transcript, through the real CLI and app wiring.

The fake hub (tests/support/fakehub.py) serves the tiny steered TDT model under the
catalog's default id and file name, and huggingface_hub's default endpoint points at it,
so the app's own lazily built HubDownloader (which passes no endpoint) talks to it.
"""
from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from nemo_desk.engine.catalog import DEFAULT_MODEL_ID, get_spec
from nemo_desk.engine.store import slug_for
from nemo_desk.engine.unpack import is_complete
from tests.support.fakehub import FakeHub, hub_env, use_endpoint  # noqa: F401  (hub_env is a fixture)

MODEL_ID = "nvidia/parakeet-tdt-0.6b-v3"
FILENAME = "parakeet-tdt-0.6b-v3.nemo"
SLUG = "nvidia--parakeet-tdt-0.6b-v3"
SRT_TIME = re.compile(r"^\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d$")


pytestmark = pytest.mark.usefixtures("hub_env")


@pytest.fixture
def hub(tiny_steered, monkeypatch):
    """The tiny model as the default catalog model, at huggingface_hub's default endpoint."""
    with FakeHub({(MODEL_ID, FILENAME): tiny_steered.read_bytes()}) as server:
        use_endpoint(monkeypatch, server.endpoint)
        yield server


@pytest.fixture
def dead_hub(monkeypatch):
    """huggingface_hub's default endpoint is a port that was just closed: connection refused."""
    server = FakeHub({})
    server.start()
    server.stop()
    use_endpoint(monkeypatch, server.endpoint)
    return server


@pytest.fixture
def wav(tmp_path, speech_dir) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return Path(shutil.copy(speech_dir / "hello.wav", folder / "hello.wav"))


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(args), lambda **kw: build_services(**kw), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def assert_no_symlinks(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for entry in dirs + files:
            assert not os.path.islink(os.path.join(root, entry)), os.path.join(root, entry)


def failure_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(("failed:", "nemo-desk:"))]


def test_the_catalog_default_is_what_the_fake_hub_serves():
    spec = get_spec(DEFAULT_MODEL_ID)
    assert (spec.id, spec.hf_filename, slug_for(spec.id)) == (MODEL_ID, FILENAME, SLUG)


def test_download_list_then_transcribe_without_the_hub(hub, app_home, wav, tmp_path):
    models = app_home / "data" / "models"

    code, out, err = run_cli("models", "download", MODEL_ID)
    assert code == 0, err
    folder = models / SLUG
    assert f"ready: {folder}" in out
    assert is_complete(folder)
    assert not (models / ".downloads" / SLUG).exists()
    assert not list(app_home.rglob("*.nemo")), "the downloaded .nemo should be deleted once unpacked"
    assert_no_symlinks(tmp_path)  # the app home and the Hugging Face home alike
    size_mb = f"{len(hub.files[(MODEL_ID, FILENAME)]) / 1024**2:,.0f} MB"
    assert re.search(rf"downloading +\d+\.\d% of {size_mb}", err), err
    assert f"downloading 100.0% of {size_mb}" in err
    assert "Traceback" not in err
    sha = hub.sha(MODEL_ID, FILENAME)
    assert [r[:2] for r in hub.requests] == [
        ("HEAD", f"/{MODEL_ID}/resolve/main/{FILENAME}"),
        ("GET", f"/{MODEL_ID}/resolve/{hub.commit}/{FILENAME}"),
        ("GET", f"/cdn/{sha}"),
    ]
    seen = list(hub.requests)

    code, out, err = run_cli("models", "list")
    assert code == 0, err
    assert f"Models folder: {models}" in out
    assert re.search(rf"^  {re.escape(MODEL_ID)} +installed, ", out, re.M), out

    code, out, err = run_cli("transcribe", str(wav), "--model", MODEL_ID, "--format", "srt")
    assert code == 0, err
    assert "Traceback" not in err
    srt = wav.with_suffix(".srt").read_text(encoding="utf-8")
    blocks = srt.strip().split("\n\n")
    assert blocks and all(SRT_TIME.match(b.splitlines()[1]) for b in blocks), srt
    words = " ".join(" ".join(b.splitlines()[2:]) for b in blocks).split()
    assert len(words) > 3 and set(words) == {"the"}, srt
    assert hub.requests == seen, "transcribing an installed model must not touch the hub"


@pytest.mark.parametrize("command", [("transcribe",), ("models", "download", MODEL_ID)])
def test_hub_unreachable_is_one_line(command, dead_hub, app_home, wav):
    args = [*command, str(wav), "--model", MODEL_ID] if command == ("transcribe",) else list(command)
    code, _, err = run_cli(*args)
    assert code == 1, err
    assert "Traceback" not in err
    [line] = [ln for ln in failure_lines(err) if "Hugging Face" in ln]
    assert re.search(r"could not reach Hugging Face \(127\.0\.0\.1:\d+", line), err
    assert "import a .nemo file" in line
    assert not is_complete(app_home / "data" / "models" / SLUG)


def test_hf_hub_offline_says_so_and_sends_nothing(hub, app_home, wav, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what the app reads
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # what huggingface_hub read at import
    code, _, err = run_cli("transcribe", str(wav), "--model", MODEL_ID)
    assert code == 1, err
    assert "Traceback" not in err
    [line] = failure_lines(err)[:1]
    assert line.startswith("failed: hello.wav: ") and "offline" in line, err
    assert "not installed" in line
    assert hub.requests == []
    assert not wav.with_suffix(".srt").exists()


def test_models_download_shows_and_logs_an_interruption(hub, app_home):
    hub.drop_after = 256 * 1024  # the connection drops once, part-way
    code, out, err = run_cli("models", "download", MODEL_ID)
    assert code == 0, err
    shown = [ln for ln in err.splitlines() if "was interrupted" in ln]
    assert len(shown) == 1 and shown[0].startswith("warning: the download of") and "continuing at" in shown[0]
    log = (app_home / "logs" / "nemo_desk.log").read_text(encoding="utf-8")
    assert "was interrupted" in log and "downloaded " in log


def test_every_command_uses_the_models_folder_from_the_settings(hub, app_home, wav, tmp_path):
    """A user who moved the models folder in the window: the CLI finds the model there."""
    moved = tmp_path / "elsewhere" / "models"
    app_home.mkdir(parents=True, exist_ok=True)
    (app_home / "settings.json").write_text(f'{{"models_dir": {str(moved)!r}, "max_lines": 1}}'.replace("'", '"'),
                                            encoding="utf-8")
    code, out, err = run_cli("models", "download", MODEL_ID)
    assert code == 0 and is_complete(moved / SLUG), err
    code, out, err = run_cli("models", "list")
    assert f"Models folder: {moved}" in out and "installed" in out.split(MODEL_ID)[1].splitlines()[0]
    requests = len(hub.requests)
    code, out, err = run_cli("transcribe", str(wav), "--format", "srt", "--device", "cpu")
    assert code == 0, err
    assert len(hub.requests) == requests  # no second download
    cues = wav.with_suffix(".srt").read_text(encoding="utf-8").strip().split("\n\n")
    assert all(len(c.splitlines()) <= 3 for c in cues)  # max_lines=1 from the settings: number, time, 1 line
