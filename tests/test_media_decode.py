"""decode(): every container/codec a user may drop, the WAV fast path, odd paths."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from nemo_desk.core.events import Progress
from nemo_desk.media import Ffmpeg, decode, probe
from tests.support.audio import (
    SAMPLE_RATE,
    concat_with_pauses,
    encode_audio,
    envelope_correlation,
    make_mp4_with_audio,
    make_tone,
    make_video_with_audio,
    speak,
    to_stereo_44k,
)

SENTENCE = "The quick brown fox jumps over the lazy dog. Testing one, two, three."


@pytest.fixture(scope="module")
def ffmpeg() -> Ffmpeg:
    return Ffmpeg.locate()


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak(SENTENCE, tmp_path_factory.mktemp("speech") / "speech.wav")


@pytest.fixture(scope="module")
def source(speech: Path) -> np.ndarray:
    data, rate = sf.read(speech, dtype="float32")
    assert rate == SAMPLE_RATE and data.ndim == 1 and len(data) > 3 * SAMPLE_RATE
    return data


def test_wav_16k_mono_matches_soundfile(speech: Path, source: np.ndarray, ffmpeg: Ffmpeg) -> None:
    samples = decode(speech, ffmpeg)
    assert samples.dtype == np.float32 and samples.ndim == 1
    np.testing.assert_array_equal(samples, source)


def test_wav_16k_stereo_is_mixed_by_mean(tmp_path: Path, source: np.ndarray, ffmpeg: Ffmpeg) -> None:
    stereo = np.stack([source, 0.5 * source], axis=1)
    path = tmp_path / "stereo16k.wav"
    sf.write(path, stereo, SAMPLE_RATE, subtype="FLOAT")
    np.testing.assert_allclose(decode(path, ffmpeg), 0.75 * source, atol=1e-6)


def test_stereo_44k_is_resampled_to_16k_mono(tmp_path: Path, speech: Path, source: np.ndarray, ffmpeg: Ffmpeg) -> None:
    stereo = to_stereo_44k(speech, tmp_path / "stereo44k.wav")
    assert sf.info(stereo).channels == 2 and sf.info(stereo).samplerate == 44100
    samples = decode(stereo, ffmpeg)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - len(source)) <= 0.005 * SAMPLE_RATE
    corr, lag = envelope_correlation(samples, source)
    assert corr > 0.99
    # A resampler keeps the waveform itself, not only its loudness.
    n = min(len(samples), len(source))
    assert np.corrcoef(samples[:n], source[:n])[0, 1] > 0.95


# Containers that record the encoder's start delay: decoded audio lines up exactly.
ALIGNED = ["mp3", "m4a", "ogg", "oga", "opus", "flac", "mp4", "m4v", "mkv", "webm", "mov", "avi"]


@pytest.mark.parametrize("ext", ALIGNED)
def test_format_decodes_in_line_with_source(
    ext: str, tmp_path: Path, speech: Path, source: np.ndarray, ffmpeg: Ffmpeg
) -> None:
    make = encode_audio if ext in {"mp3", "m4a", "ogg", "oga", "opus", "flac"} else make_video_with_audio
    path = make(speech, tmp_path / f"speech.{ext}")
    samples = decode(path, ffmpeg)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - len(source)) / SAMPLE_RATE <= 0.050
    corr, _ = envelope_correlation(samples, source)
    assert corr > 0.9, f"{ext}: envelope correlation {corr:.3f}"


# Real files too, but their containers cannot say how much priming the encoder added,
# so ffmpeg's output starts up to ~70 ms late (or, for WMA, ~30 ms early).
SHIFTED = [
    ("aac", None), ("mkv", "aac"), ("avi", "libmp3lame"), ("ts", None), ("mpg", None), ("wma", None), ("wmv", None),
]


@pytest.mark.parametrize(("ext", "audio_codec"), SHIFTED)
def test_format_with_encoder_delay_decodes(
    ext: str, audio_codec: str | None, tmp_path: Path, speech: Path, source: np.ndarray, ffmpeg: Ffmpeg
) -> None:
    path = tmp_path / f"speech.{ext}"
    if ext in {"aac", "wma"}:
        encode_audio(speech, path)
    else:
        make_video_with_audio(speech, path, audio_codec=audio_codec)
    samples = decode(path, ffmpeg)
    corr, lag = envelope_correlation(samples, source, max_lag_s=0.1)
    assert corr > 0.9, f"{ext}: envelope correlation {corr:.3f}"
    assert abs(lag) <= 0.08
    assert abs(len(samples) - len(source)) / SAMPLE_RATE <= 0.1


@pytest.mark.parametrize(
    "folder, name",
    [
        ("my talk's Ünïcødé 日本", "it's Ünïcødé & (1).mp3"),
        ("two  spaces here", "speech 1 [final].mp4"),
        ("plain", "-starts-with-dash.wav"),
        pytest.param("plain", "proto:looking.ogg", marks=pytest.mark.skipif(sys.platform == "win32", reason="no ':'")),
        ("Ünïcødé 日本", "wav at 16k ü.wav"),
    ],
)
def test_awkward_paths(
    folder: str, name: str, tmp_path: Path, speech: Path, source: np.ndarray, ffmpeg: Ffmpeg
) -> None:
    path = tmp_path / folder / name
    path.parent.mkdir()
    if path.suffix == ".mp4":
        make_mp4_with_audio(speech, path)
    elif path.suffix == ".wav":
        path.write_bytes(speech.read_bytes())
    else:
        encode_audio(speech, path)
    info = probe(path, ffmpeg)
    assert info.path == str(path) and info.has_audio
    samples = decode(str(path), ffmpeg)
    assert abs(len(samples) - len(source)) / SAMPLE_RATE <= 0.05
    assert envelope_correlation(samples, source)[0] > 0.9


def _progress_of(path: Path, ffmpeg: Ffmpeg) -> tuple[np.ndarray, list[Progress]]:
    events: list[Progress] = []
    samples = decode(path, ffmpeg, observer=events.append)
    return samples, events


@pytest.mark.parametrize("ext", ["wav", "mp3"])  # soundfile route and ffmpeg route
def test_progress_increases_to_the_total(ext: str, tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    path = make_tone(tmp_path / f"tone.{ext}", seconds=20)
    samples, events = _progress_of(path, ffmpeg)
    assert len(events) >= 5
    assert all(isinstance(e, Progress) and e.stage == "decoding" for e in events)
    done = [e.done for e in events]
    assert all(b > a for a, b in zip(done, done[1:])), done
    assert all(e.total == pytest.approx(20.0, abs=0.05) for e in events)
    assert done[-1] == pytest.approx(len(samples) / SAMPLE_RATE)
    assert events[-1].fraction == pytest.approx(1.0, abs=0.01)


def _wav_like_files(folder: str) -> set[str]:
    suffixes = (".wav", ".pcm", ".raw", ".f32", ".tmp")
    return {n for n in os.listdir(folder) if n.lower().endswith(suffixes)}


def test_no_temporary_files(tmp_path: Path, speech: Path, ffmpeg: Ffmpeg, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    src.mkdir()
    files = [encode_audio(speech, src / "a.mp3"), make_mp4_with_audio(speech, src / "b.mp4"),
             to_stereo_44k(speech, src / "c.wav")]
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    system_tmp = tempfile.gettempdir()
    before_system = _wav_like_files(system_tmp)
    before_src = sorted(os.listdir(src))
    # Route every tempfile user (and the child's TEMP/TMPDIR) to a folder we can watch.
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    for var in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(var, str(private_tmp))
    seen_during: list[list[str]] = []

    def observer(event: object) -> None:  # a temp file deleted at the end shows up here
        seen_during.append(os.listdir(private_tmp) + sorted(set(os.listdir(src)) - set(before_src)))

    for path in files:
        assert len(decode(path, ffmpeg, observer=observer)) > SAMPLE_RATE
    assert seen_during and all(entry == [] for entry in seen_during)
    assert os.listdir(private_tmp) == []
    assert sorted(os.listdir(src)) == before_src
    assert _wav_like_files(system_tmp) - before_system == set()


def test_long_file_with_pauses_keeps_timing(tmp_path: Path, ffmpeg: Ffmpeg) -> None:
    pieces = [speak(t, tmp_path / f"p{i}.wav") for i, t in enumerate(["first part", "second part", "third"])]
    wav = tmp_path / "long.wav"
    starts = concat_with_pauses(pieces, [2.0, 3.5], wav, lead_in_s=1.0)
    m4a = encode_audio(wav, tmp_path / "long.m4a")
    samples = decode(m4a, ffmpeg)
    assert abs(len(samples) / SAMPLE_RATE - sf.info(wav).duration) <= 0.05
    for start in starts:
        # Quiet just before each piece, speech right after its start.
        quiet = samples[int((start - 0.5) * SAMPLE_RATE) : int((start - 0.05) * SAMPLE_RATE)]
        loud = samples[int(start * SAMPLE_RATE) : int((start + 0.5) * SAMPLE_RATE)]
        assert np.sqrt(np.mean(quiet**2)) < 0.002 < np.sqrt(np.mean(loud**2))
