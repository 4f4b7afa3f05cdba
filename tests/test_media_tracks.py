"""Media that is not what it claims: a file cut short, a file with several audio tracks.

Real files made with espeak-ng and ffmpeg; the pipeline runs the tiny steered model (it
says "the" every 0.16 s of audio, so a transcript's length tells how much audio it heard).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from nemo_desk.core.errors import NoAudioStreamError
from nemo_desk.engine.jobs import Job
from nemo_desk.engine.models import ModelRef
from nemo_desk.engine.options import TranscribeOptions
from nemo_desk.media import Ffmpeg
from nemo_desk.media.decoding import decode
from nemo_desk.media.probing import ends_early_note, probe
from tests.support import audio


@pytest.fixture(scope="module")
def ffmpeg() -> Ffmpeg:
    return Ffmpeg.locate({})


@pytest.fixture
def services(app_home):
    from nemo_desk.app import build_services

    s = build_services(retry_seconds=1.0)
    yield s
    s.close()


@pytest.fixture(scope="module")
def two_tracks(tmp_path_factory, speech_dir) -> Path:
    """An mkv whose track 1 is mono digits and track 2 stereo 44.1 kHz 'hello world' (the
    track ffmpeg itself would pick: it prefers more channels)."""
    d = tmp_path_factory.mktemp("tracks")
    out = d / "interview.mkv"
    audio.run_tool([audio.tool("ffmpeg"), "-v", "error", "-y", "-i", speech_dir / "digits.wav",
                    "-i", speech_dir / "hello_stereo44k.wav", "-map", "0:a", "-map", "1:a", "-c:a", "flac",
                    "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=deu", out])
    return out


def _similar(decoded: np.ndarray, wav: Path) -> float:
    source, rate = sf.read(wav, dtype="float32", always_2d=True)
    assert rate == 16000
    corr, _ = audio.envelope_correlation(decoded, source.mean(axis=1), max_lag_s=0.05)
    return corr


def test_the_first_track_is_used_unless_another_is_chosen(two_tracks, speech_dir, ffmpeg):
    info = probe(two_tracks, ffmpeg)
    assert info.audio_tracks == ("eng: flac, 16000 Hz, mono", "deu: flac, 44100 Hz, stereo")
    assert info.track_note(None) == ("interview.mkv has 2 audio tracks; using track 1 (eng: flac, 16000 Hz, "
                                     "mono). Another can be chosen (--audio-track N on the command line).")
    first = decode(two_tracks, ffmpeg, info=info)
    assert _similar(first, speech_dir / "digits.wav") > 0.95
    assert abs(len(first) / 16000 - sf.info(speech_dir / "digits.wav").duration) < 0.05
    second = decode(two_tracks, ffmpeg, info=info, audio_track=2)
    assert abs(len(second) / 16000 - sf.info(speech_dir / "hello.wav").duration) < 0.05
    with pytest.raises(NoAudioStreamError, match="has 2 audio track\\(s\\); there is no track 3"):
        info.track_note(3)
    assert probe(speech_dir / "hello.wav", ffmpeg).track_note(None) is None  # one track: nothing to say


def test_pipeline_says_which_track_and_uses_the_chosen_one(two_tracks, speech_dir, tmp_path, tiny_steered,
                                                           services):
    src = tmp_path / "interview.mkv"
    shutil.copy(two_tracks, src)
    model = ModelRef(path=tiny_steered, device="cpu")
    events: list = []
    first = services.pipeline.run(Job(source=src, model=model, formats=("txt",)), observer=events.append)
    assert first.status == "done"
    assert any("has 2 audio tracks; using track 1" in getattr(e, "message", "") for e in events)
    second = services.pipeline.run(Job(source=src, model=model, formats=("txt",),
                                       options=TranscribeOptions(audio_track=2), overwrite=True))
    assert abs(second.transcript.duration - sf.info(speech_dir / "hello.wav").duration) < 0.05
    assert abs(first.transcript.duration - sf.info(speech_dir / "digits.wav").duration) < 0.05
    missing = services.pipeline.run(Job(source=src, model=model, options=TranscribeOptions(audio_track=3)))
    assert missing.status == "failed" and "there is no track 3" in missing.failure.message
    assert services.models.loaded is not None  # (loaded by the earlier jobs; the check came first)


def test_a_truncated_mp3_is_done_with_a_visible_warning(tmp_path, tiny_steered, services):
    wav = audio.speak("one two three four five six seven eight nine ten eleven twelve thirteen fourteen",
                      tmp_path / "long.wav")
    mp3 = audio.encode_audio(wav, tmp_path / "whole.mp3")
    cut = tmp_path / "cut.mp3"
    data = mp3.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # a download that stopped half way
    events: list = []
    result = services.pipeline.run(Job(source=cut, model=ModelRef(path=tiny_steered, device="cpu"),
                                       formats=("txt",)), observer=events.append)
    assert result.status == "done"
    promised = probe(cut, Ffmpeg.locate({})).duration
    heard = result.transcript.duration
    assert promised - heard > 1.0
    assert result.note.startswith(f"the file ends early at {heard:.1f} s (its header says {promised:.1f} s)")
    assert any(getattr(e, "level", "") == "warning" and "ends early" in e.message for e in events)
    whole = services.pipeline.run(Job(source=mp3, model=ModelRef(path=tiny_steered, device="cpu"),
                                      formats=("txt",)))
    assert whole.status == "done" and "ends early" not in whole.note


def test_ends_early_note_threshold_and_clock():
    from nemo_desk.media.probing import MediaInfo

    info = MediaInfo("x.mp3", 7265.0, True, False, 16000, 1, "mp3", 10)
    assert ends_early_note(info, 7264.5) is None  # within a second: rounding, padding
    assert ends_early_note(info, 3000.0).startswith("the file ends early at 50:00 (its header says 2:01:05)")
    assert ends_early_note(MediaInfo("x", None, True, False, None, None, None, 1), 1.0) is None
