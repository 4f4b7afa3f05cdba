"""Failure paths: typed one-line errors, cancel, process reaping, missing ffmpeg, no console."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import nemo_desk.media.ffmpeg as ffmpeg_module
from nemo_desk.core.cancel import Cancelled, CancelToken
from nemo_desk.core.errors import (
    EmptyFileError,
    FfmpegUnavailableError,
    FileMissingError,
    MediaError,
    NoAudioStreamError,
    NotDecodableError,
    ZeroLengthAudioError,
)
from nemo_desk.core.events import Progress
from nemo_desk.media import Ffmpeg, decode, find_ffmpeg, no_window_kwargs, probe
from tests.support.audio import (
    encode_audio,
    make_corrupt,
    make_empty,
    make_tone,
    make_video_without_audio,
    speak,
)


@pytest.fixture(scope="module")
def ffmpeg() -> Ffmpeg:
    return Ffmpeg.locate()


class PopenRecorder:
    """Replaces subprocess.Popen to see every child we start (run() uses Popen too)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.procs: list[subprocess.Popen] = []
        self.calls: list[tuple[object, dict]] = []
        real, recorder = subprocess.Popen, self

        class Recording(real):  # type: ignore[misc, valid-type]
            def __init__(self, *args, **kwargs):
                recorder.calls.append((args[0] if args else kwargs.get("args"), dict(kwargs)))
                if not hasattr(subprocess, "STARTUPINFO"):  # real POSIX rejects the flag
                    kwargs.pop("creationflags", None)
                super().__init__(*args, **kwargs)
                recorder.procs.append(self)

        monkeypatch.setattr(subprocess, "Popen", Recording)

    def assert_all_reaped(self) -> None:
        assert self.procs, "no process was started"
        for proc in self.procs:
            assert proc.returncode is not None, f"ffmpeg pid {proc.pid} was not waited for"
            if Path("/proc").is_dir():  # a zombie would still have its /proc entry
                assert not Path(f"/proc/{proc.pid}").exists(), f"pid {proc.pid} still exists"


def _one_line(err: MediaError, path: Path) -> str:
    message = str(err)
    assert "\n" not in message and err.user_message == message
    assert message.startswith(f"{path}: ") and err.path == str(path)
    assert len(message) < len(str(path)) + 220
    return err.reason


@pytest.mark.parametrize("func", [probe, decode])
def test_missing_file(func, tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    path = tmp_path / "gone.mp3"
    with pytest.raises(FileMissingError) as exc:
        func(path, ffmpeg)
    assert _one_line(exc.value, path) == "file not found"


@pytest.mark.parametrize("func", [probe, decode])
def test_empty_file(func, tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    path = make_empty(tmp_path / "empty.wav")
    with pytest.raises(EmptyFileError) as exc:
        func(path, ffmpeg)
    assert "empty" in _one_line(exc.value, path)


@pytest.mark.parametrize("name", ["renamed.mp3", "renamed.wav", "renamed.m4a", "renamed.mkv", "notes.txt.mp3"])
@pytest.mark.parametrize("func", [probe, decode])
def test_not_decodable(func, name: str, tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    path = tmp_path / name
    if name.startswith("notes"):
        path.write_text("Meeting notes\nnothing to hear here\n" * 50, encoding="utf-8")
    else:
        make_corrupt(path)
    with pytest.raises(NotDecodableError) as exc:
        func(path, ffmpeg)
    reason = _one_line(exc.value, path)
    # The MP4 family names its own cause; everything else gets ffmpeg's generic one.
    expected = "moov atom not found" if name.endswith(".m4a") else "Invalid data found"
    # People read what to do; ffmpeg's own words go to the log file only (#19).
    assert reason.startswith("not a readable audio/video file: it is damaged") and expected not in reason
    assert expected in exc.value.technical


def test_decode_failure_after_a_successful_probe(tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    # Raw FLAC/ADTS demuxers accept any bytes, so only decoding notices.
    path = make_corrupt(tmp_path / "raw.flac")
    with pytest.raises(NotDecodableError) as exc:
        decode(path, ffmpeg)
    reason = _one_line(exc.value, path)
    assert reason.startswith("decoding failed part way") and "Invalid data found" not in reason
    assert "Invalid data found" in exc.value.technical


def test_folder_is_not_decodable(tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    folder = tmp_path / "album.mp3"
    folder.mkdir()
    with pytest.raises(NotDecodableError) as exc:
        decode(folder, ffmpeg)
    assert "folder" in _one_line(exc.value, folder)


@pytest.mark.parametrize("func", [probe, decode])
def test_video_without_audio(func, tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    path = make_video_without_audio(tmp_path / "screen recording.mp4", seconds=1.0)
    with pytest.raises(NoAudioStreamError) as exc:
        func(path, ffmpeg)
    assert _one_line(exc.value, path) == "has no audio track"


@pytest.mark.parametrize("rate", [16000, 44100])  # soundfile route falls back to ffmpeg; ffmpeg route
def test_zero_length_audio(rate: int, tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    path = tmp_path / "header only.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), rate, subtype="PCM_16")
    assert path.stat().st_size > 0
    with pytest.raises(ZeroLengthAudioError) as exc:
        decode(path, ffmpeg)
    assert "no samples" in _one_line(exc.value, path)


@pytest.mark.parametrize("ext", ["mp3", "wav"])  # ffmpeg route and soundfile route
def test_cancel_mid_decode(ext: str, tmp_path: Path, ffmpeg: Ffmpeg, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_tone(tmp_path / f"long.{ext}", seconds=120)
    token = CancelToken()
    events: list[Progress] = []

    def observer(event):  # cancel as soon as decoding is under way
        events.append(event)
        token.cancel()

    recorder = PopenRecorder(monkeypatch)
    with pytest.raises(Cancelled):
        decode(path, ffmpeg, cancel=token, observer=observer)
    assert len(events) == 1 and events[0].done < 10
    if ext == "mp3":
        assert len(recorder.procs) >= 2  # probe + decoder
        recorder.assert_all_reaped()


def test_cancelled_before_start_starts_nothing(tmp_path: Path, ffmpeg: Ffmpeg, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_tone(tmp_path / "tone.mp3", seconds=2)
    token = CancelToken()
    token.cancel()
    recorder = PopenRecorder(monkeypatch)
    with pytest.raises(Cancelled):
        decode(path, ffmpeg, cancel=token)
    assert recorder.procs == []


def test_observer_error_still_reaps_ffmpeg(tmp_path: Path, ffmpeg: Ffmpeg, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_tone(tmp_path / "tone.ogg", seconds=60)

    def observer(event):
        raise RuntimeError("GUI went away")

    recorder = PopenRecorder(monkeypatch)
    with pytest.raises(RuntimeError, match="GUI went away"):
        decode(path, ffmpeg, observer=observer)
    recorder.assert_all_reaped()


def test_successful_decode_reaps_ffmpeg(tmp_path: Path, ffmpeg: Ffmpeg, monkeypatch: pytest.MonkeyPatch) -> None:
    path = encode_audio(speak("hello there", tmp_path / "s.wav"), tmp_path / "s.opus")
    recorder = PopenRecorder(monkeypatch)
    assert len(decode(path, ffmpeg)) > 0
    recorder.assert_all_reaped()


# --- finding and checking ffmpeg ---------------------------------------------------


def test_override_pointing_nowhere(tmp_path: Path) -> None:
    missing = str(tmp_path / "no" / "ffmpeg.exe")
    with pytest.raises(FfmpegUnavailableError) as exc:
        find_ffmpeg({"NEMO_DESK_FFMPEG": missing})
    assert exc.value.path == missing and "NEMO_DESK_FFMPEG" in str(exc.value)


def test_no_ffmpeg_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    def no_binary():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_binary)
    monkeypatch.setattr(ffmpeg_module.shutil, "which", lambda name: None)
    with pytest.raises(FfmpegUnavailableError) as exc:
        find_ffmpeg({})
    assert "not found" in str(exc.value) and "NEMO_DESK_FFMPEG" in str(exc.value)
    with pytest.raises(FfmpegUnavailableError):  # the override must not fall back either
        find_ffmpeg({"NEMO_DESK_FFMPEG": str(tmp_path / "nope")})


def test_lookup_order(ffmpeg: Ffmpeg, monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    assert find_ffmpeg({"NEMO_DESK_FFMPEG": ffmpeg.exe}) == ffmpeg.exe
    assert find_ffmpeg({}) == imageio_ffmpeg.get_ffmpeg_exe()
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: "/does/not/exist")
    on_path = {"ffmpeg": "/usr/local/bin/ffmpeg"}
    monkeypatch.setattr(ffmpeg_module.shutil, "which", on_path.get)
    assert find_ffmpeg({}) == "/usr/local/bin/ffmpeg"


def test_unusable_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_ffmpeg = tmp_path / "ffmpeg.exe"
    not_ffmpeg.write_text("not a program")
    with pytest.raises(FfmpegUnavailableError, match="cannot be started"):
        Ffmpeg(str(not_ffmpeg)).check()
    true_exe = shutil.which("true")
    if true_exe:  # runs fine but prints no ffmpeg version
        with pytest.raises(FfmpegUnavailableError, match="not a working ffmpeg"):
            Ffmpeg(true_exe).check()


def test_missing_ffmpeg_surfaces_from_decode(tmp_path: Path) -> None:
    speech = speak("hello", tmp_path / "s.wav")
    broken = Ffmpeg(str(tmp_path / "missing-ffmpeg"))
    with pytest.raises(FfmpegUnavailableError):
        decode(encode_audio(speech, tmp_path / "s.mp3"), broken)
    # 16 kHz WAV never needs ffmpeg: still decodes.
    assert len(decode(speech, broken)) > 0


def test_version_check_runs_once(ffmpeg: Ffmpeg, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = Ffmpeg(ffmpeg.exe)
    recorder = PopenRecorder(monkeypatch)
    assert "ffmpeg version" in fresh.check()
    fresh.check()
    assert len(recorder.procs) == 1


# --- no console windows on Windows ---------------------------------------------------


def test_no_window_kwargs_off_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    assert no_window_kwargs() == {}


@pytest.mark.parametrize("constant_present", [True, False])
def test_no_window_kwargs_on_windows(constant_present: bool, monkeypatch: pytest.MonkeyPatch, fake_windows) -> None:
    if constant_present:
        monkeypatch.setattr(subprocess, "CREATE_NO_WINDOW", 0x08000000, raising=False)
    else:
        monkeypatch.delattr(subprocess, "CREATE_NO_WINDOW", raising=False)
    assert no_window_kwargs() == {"creationflags": 0x08000000}


@pytest.fixture
def hello_m4a(tmp_path: Path) -> Path:
    return encode_audio(speak("hello", tmp_path / "s.wav"), tmp_path / "s.m4a")  # made before Windows is faked


def test_every_child_gets_no_window_flag(hello_m4a: Path, ffmpeg: Ffmpeg, monkeypatch: pytest.MonkeyPatch,
                                         fake_windows) -> None:
    path = hello_m4a
    monkeypatch.delattr(subprocess, "CREATE_NO_WINDOW", raising=False)
    recorder = PopenRecorder(monkeypatch)
    fresh = Ffmpeg(ffmpeg.exe)
    probe(path, fresh)
    decode(path, fresh)
    monkeypatch.undo()
    assert len(recorder.calls) == 4  # -version once, probe, and decode (probe + ffmpeg)
    for argv, kwargs in recorder.calls:
        assert kwargs.get("creationflags") == 0x08000000
        assert kwargs.get("stdin") == subprocess.DEVNULL  # windowed apps have no stdin
        assert isinstance(argv, list) and not kwargs.get("shell")  # no shell quoting
