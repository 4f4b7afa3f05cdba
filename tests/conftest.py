"""Shared fixtures. Strict by design (see pyproject): unknown markers, unraisable
exceptions and exceptions in threads fail the run.

Tiny real NeMo models are built once per machine and cached under .test-cache/ (keyed by
the builder's source and the NeMo version), so the suite builds them at most once per
run and usually not at all.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def tiny_models_dir() -> Path:
    """Folder holding tiny-tdt.nemo, tiny-tdt-steered.nemo and tiny-canary.nemo."""
    from tests.support.model_cache import cached_build

    return cached_build("tiny-models", "tiny_models.py",
                        ["tiny-tdt.nemo", "tiny-tdt-steered.nemo", "tiny-canary.nemo"], ["tiny_models.py"])


@pytest.fixture(scope="session")
def tiny_tdt(tiny_models_dir) -> Path:
    return tiny_models_dir / "tiny-tdt.nemo"


@pytest.fixture(scope="session")
def tiny_steered(tiny_models_dir) -> Path:
    """A TDT model that says 'the' every 2 frames (0.16 s): known words and times."""
    return tiny_models_dir / "tiny-tdt-steered.nemo"


@pytest.fixture(scope="session")
def tiny_canary(tiny_models_dir) -> Path:
    return tiny_models_dir / "tiny-canary.nemo"


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    """Real speech from espeak-ng, made once per run."""
    from tests.support import audio

    d = tmp_path_factory.mktemp("speech")
    audio.speak("hello world this is a test of the transcription system", d / "hello.wav")
    audio.speak("one two three four five six seven eight nine", d / "digits.wav")
    audio.to_stereo_44k(d / "hello.wav", d / "hello_stereo44k.wav")
    audio.make_mp4_with_audio(d / "digits.wav", d / "digits.mp4")
    return d


@pytest.fixture(scope="session")
def real_document(tmp_path_factory):
    """A real transcript (JSON and SRT) of espeak-ng speech by the trained model, made once
    per run through the CLI (about a minute): the editor's and `nemo-desk export`'s tests."""
    from tests.support.documents import real_transcript

    return real_transcript(tmp_path_factory.mktemp("real"))


@pytest.fixture
def doc_path(real_document, tmp_path) -> Path:
    """A fresh copy of the real transcript and its outputs, for a test to change."""
    return real_document.copy_to(tmp_path / "work")


@pytest.fixture
def app_home(tmp_path, monkeypatch) -> Path:
    """An isolated app home: models, cache, logs and temp all under tmp_path."""
    home = tmp_path / "nemo_desk_home"
    monkeypatch.setenv("NEMO_DESK_HOME", str(home))
    return home


@pytest.fixture
def services(app_home):
    """The real composition root, wired to the isolated home; undone afterwards."""
    from nemo_desk.app import build_services

    s = build_services(retry_seconds=2.0)
    yield s
    s.close()


# What a test needs decides its marker, so `pytest -m unit`, `-m e2e` and `-m gui` split the
# suite without a decorator on each test: the window (qtbot), real models or media or the
# app's own folders (e2e), or none of these (unit).
_E2E_FIXTURES = frozenset({"tiny_models_dir", "speech_dir", "services", "app_home"})
# Modules that load their own models or run the app in a subprocess.
_E2E_MODULES = frozenset({"test_trained_model", "test_canary2", "test_tdt_loss", "test_resume", "test_runtime",
                          "test_selftest", "test_frozen"})


def pytest_collection_modifyitems(items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "qtbot" in names:
            item.add_marker(pytest.mark.gui)
        elif names & _E2E_FIXTURES or item.module.__name__.rsplit(".", 1)[-1] in _E2E_MODULES:
            item.add_marker(pytest.mark.e2e)
        else:
            item.add_marker(pytest.mark.unit)
@pytest.fixture(scope="session")
def tiny_diarizers_dir() -> Path:
    """Folder holding tiny-sortformer.nemo (streaming, 4 speakers) and tiny-titanet.nemo
    (speaker embeddings), random weights (tests/support/tiny_diarizers.py)."""
    from tests.support.model_cache import cached_build

    return cached_build("tiny-diarizers", "tiny_diarizers.py",
                        ["tiny-sortformer.nemo", "tiny-titanet.nemo"], ["tiny_diarizers.py"])


@pytest.fixture(scope="session")
def tiny_sortformer(tiny_diarizers_dir) -> Path:
    return tiny_diarizers_dir / "tiny-sortformer.nemo"


@pytest.fixture(scope="session")
def tiny_titanet(tiny_diarizers_dir) -> Path:
    return tiny_diarizers_dir / "tiny-titanet.nemo"


@pytest.fixture
def fake_windows(monkeypatch):
    """Windows for one test: sys.platform "win32" and Windows-shaped OSErrors
    (tests/support/windows.py)."""
    from tests.support.windows import FakeWindows

    return FakeWindows(monkeypatch)
