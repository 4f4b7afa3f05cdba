"""Every bad input gets a one-line reason and leaves no stray output (issue: nothing lost).

Each case runs the real pipeline (tiny real model, real ffmpeg) and checks the state, the
message, and that the output folder holds nothing but what a good run writes.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from nemo_desk.engine.models import ModelRef
from nemo_desk.engine.pipeline import Job
from tests.support import audio

SR = 16000


def _noise(seconds, rate=SR, channels=1, seed=0):
    data = np.random.default_rng(seed).standard_normal((int(seconds * rate), channels)).astype(np.float32) * 0.1
    return data if channels > 1 else data[:, 0]


def make_missing(d):
    return d / "missing.wav"


def make_empty(d):
    return audio.make_empty(d / "empty.mp3")


def make_corrupt(d):
    return audio.make_corrupt(d / "corrupt.m4a")


def make_text_as_mp3(d):
    p = d / "notes.mp3"
    p.write_text("Meeting notes, not audio.\n" * 20, encoding="utf-8")
    return p


def make_video_no_audio(d):
    return audio.make_video_without_audio(d / "screen.mp4", 1.0)


def make_silence(d):
    return audio.make_silence(d / "silence.wav", 5.0)


def make_very_short(d):
    sf.write(d / "blip.wav", _noise(0.2), SR)
    return d / "blip.wav"


def make_8_channels(d):
    sf.write(d / "surround.wav", _noise(3, 48000, 8), 48000)
    return d / "surround.wav"


def make_96k(d):
    sf.write(d / "hires.flac", _noise(3, 96000, 2), 96000)
    return d / "hires.flac"


def make_8k(d):
    sf.write(d / "phone.wav", _noise(3, 8000), 8000, subtype="PCM_16")
    return d / "phone.wav"


def make_odd_name(d):
    sub = d / "Ünïcødé 日本語 l'été"
    sub.mkdir()
    sf.write(sub / "Zoë's interview (final).wav", _noise(3), SR)
    return sub / "Zoë's interview (final).wav"


def make_long_path(d):
    sub = d
    for i in range(6):
        sub = sub / (f"level{i}_" + "x" * 40)
    sub.mkdir(parents=True)
    sf.write(sub / ("recording_" + "y" * 60 + ".wav"), _noise(2), SR)
    return sub / ("recording_" + "y" * 60 + ".wav")


CASES = {
    # name: (maker, expected status, words in the message or note)
    "missing": (make_missing, "failed", "file not found"),
    "empty": (make_empty, "failed", "empty"),
    "corrupt": (make_corrupt, "failed", "not a readable audio/video file"),
    "text renamed .mp3": (make_text_as_mp3, "failed", "not a readable audio/video file"),
    "video without audio": (make_video_no_audio, "failed", "no audio track"),
    "pure silence": (make_silence, "done", "no speech found (the audio is silent)"),
    "very short": (make_very_short, "done", ""),
    "8 channels": (make_8_channels, "done", ""),
    "96 kHz": (make_96k, "done", ""),
    "8 kHz": (make_8k, "done", ""),
    "non-ASCII name": (make_odd_name, "done", ""),
    "very long path": (make_long_path, "done", ""),
}


@pytest.fixture(scope="module")
def shared_services(tmp_path_factory):
    """One set of services (model loaded once) for the whole table."""
    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("NEMO_DESK_HOME")
    os.environ["NEMO_DESK_HOME"] = str(home)
    from nemo_desk.app import build_services

    services = build_services(retry_seconds=1.0)
    yield services
    services.close()
    if old is None:
        os.environ.pop("NEMO_DESK_HOME", None)
    else:
        os.environ["NEMO_DESK_HOME"] = old


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, tmp_path, shared_services, tiny_steered):
    maker, status, words = CASES[case]
    src = maker(tmp_path)
    out = tmp_path / "out"
    before = listing(tmp_path)
    job = Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"), formats=("srt", "txt", "json"),
              output_dir=out)
    result = shared_services.pipeline.run(job)
    assert result.status == status, result.failure
    text = result.failure.message if result.failure else result.note
    assert words in text
    assert "\n" not in text and "Traceback" not in text
    new = listing(tmp_path) - before
    if status == "failed":
        assert not out.exists() or listing(out) == set(), new
    else:
        assert {Path(p).name for p in new} == {"out", f"{src.stem}.srt", f"{src.stem}.txt", f"{src.stem}.json"}


def test_read_only_output_folder(tmp_path, shared_services, tiny_steered, monkeypatch):
    """Simulated: root ignores permissions, so the write is made to fail like a read-only folder."""
    src = make_8k(tmp_path)
    out = tmp_path / "locked_out"
    out.mkdir()
    real_open = os.open

    def refuse(path, flags, *a, **k):
        if str(path).startswith(str(out)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", refuse)
    import builtins

    real_bopen = builtins.open

    def refuse_b(file, mode="r", *a, **k):
        if str(file).startswith(str(out)) and any(c in mode for c in "wax+"):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_bopen(file, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", refuse_b)
    result = shared_services.pipeline.run(Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"),
                                              formats=("srt",), output_dir=out))
    assert result.status == "failed" and result.failure.kind == "export"
    assert "permission denied" in result.failure.message.lower() and str(out) in result.failure.message
    assert list(out.iterdir()) == []


def test_disk_full_keeps_the_previous_output(tmp_path, shared_services, tiny_steered, monkeypatch):
    src = make_8k(tmp_path)
    job = Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"), formats=("srt",))
    assert shared_services.pipeline.run(job).status == "done"
    srt = src.with_suffix(".srt")
    previous = srt.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    result = shared_services.pipeline.run(Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"),
                                              formats=("srt",), overwrite=True))
    assert result.status == "failed" and "disk space" in result.failure.message
    assert srt.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["phone.srt", "phone.wav"]


def test_ffmpeg_missing_or_broken(tmp_path, tiny_steered, app_home, monkeypatch):
    from nemo_desk.app import build_services

    src = make_8k(tmp_path)
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    for exe, words in ((tmp_path / "nope" / "ffmpeg", "NEMO_DESK_FFMPEG"), (broken, "not a working ffmpeg")):
        monkeypatch.setenv("NEMO_DESK_FFMPEG", str(exe))
        services = build_services(retry_seconds=1.0)
        try:
            result = services.pipeline.run(Job(source=src, model=ModelRef(path=tiny_steered, device="cpu")))
        finally:
            services.close()
        assert result.status == "failed" and result.failure.kind == "media", result.failure
        assert words in result.failure.message


def test_bad_model_files(tmp_path, shared_services):
    src = make_8k(tmp_path)
    truncated = tmp_path / "cut.nemo"
    good = Path(__file__)  # any file: what matters is that it is not a whole .nemo
    truncated.write_bytes(good.read_bytes()[:500])
    for model in (truncated, tmp_path / "absent.nemo"):
        result = shared_services.pipeline.run(Job(source=src, model=ModelRef(path=model, device="cpu")))
        assert result.status == "failed" and result.failure.kind == "model"
        assert "not a NeMo model file" in result.failure.message or "not found" in result.failure.message


def test_model_folder_deleted_while_running(tmp_path, tiny_steered, app_home):
    """The unpacked folder vanishes between jobs (a cleaner, the user): it is unpacked again."""
    from nemo_desk.app import build_services

    services = build_services(retry_seconds=1.0)
    try:
        src = make_8k(tmp_path)
        ref = ModelRef(path=tiny_steered, device="cpu")
        assert services.pipeline.run(Job(source=src, model=ref, formats=("txt",))).status == "done"
        [installed] = services.store.installed()
        shutil.rmtree(installed.folder)
        services.models.unload()
        result = services.pipeline.run(Job(source=src, model=ref, formats=("txt",), overwrite=True))
        assert result.status == "done", result.failure
        assert services.store.installed()[0].complete
    finally:
        services.close()


def test_over_three_hours_is_chunked(tmp_path, shared_services, tiny_steered):
    """A 3 h 10 min recording (quiet, so the test stays fast: silent chunks skip the model)
    decodes past the 3 h preallocation and is cut into many chunks."""
    src = tmp_path / "all_night.flac"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "11400",
                    "-c:a", "flac", str(src)], check=True)
    result = shared_services.pipeline.run(Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"),
                                              formats=("txt",)))
    assert result.status == "done", result.failure
    assert result.transcript.duration == pytest.approx(11400, abs=1)
    assert result.transcript.meta["chunks"] >= 11400 / 60
    assert result.note == "no speech found (the audio is silent)"
