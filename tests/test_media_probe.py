"""probe() on real files, and the parsing of ffmpeg's stderr (texts from ffmpeg 5 and 7+)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nemo_desk.core.errors import NoAudioStreamError, NotDecodableError
from nemo_desk.media import Ffmpeg, MediaInfo, probe
from nemo_desk.media.ffmpeg import input_arg
from nemo_desk.media.ffmpeg_messages import useful_error_line
from nemo_desk.media.probing import channels_from_layout, parse_probe_output
from tests.support.audio import encode_audio, make_mp4_with_audio, speak, to_stereo_44k


@pytest.fixture(scope="module")
def ffmpeg() -> Ffmpeg:
    return Ffmpeg.locate()


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak("probing one two three", tmp_path_factory.mktemp("probe") / "speech.wav")


def test_probe_wav(speech: Path, ffmpeg: Ffmpeg) -> None:
    import soundfile as sf

    info = probe(speech, ffmpeg)
    assert isinstance(info, MediaInfo)
    assert info.path == str(speech) and info.size_bytes == speech.stat().st_size
    assert info.duration == pytest.approx(sf.info(speech).duration, abs=0.011)
    assert (info.has_audio, info.has_video) == (True, False)
    assert (info.sample_rate, info.channels, info.audio_codec) == (16000, 1, "pcm_s16le")
    with pytest.raises(AttributeError):  # frozen: safe to pass between threads
        info.duration = 1.0  # type: ignore[misc]


def test_probe_stereo_44k(tmp_path: Path, speech: Path, ffmpeg: Ffmpeg) -> None:
    info = probe(to_stereo_44k(speech, tmp_path / "st.wav"), ffmpeg)
    assert (info.sample_rate, info.channels) == (44100, 2)


def test_probe_mp3_and_mp4(tmp_path: Path, speech: Path, ffmpeg: Ffmpeg) -> None:
    mp3 = probe(encode_audio(speech, tmp_path / "a.mp3"), ffmpeg)
    assert (mp3.audio_codec, mp3.has_video, mp3.channels) == ("mp3", False, 1)
    mp4 = probe(make_mp4_with_audio(speech, tmp_path / "v.mp4"), ffmpeg)
    assert (mp4.audio_codec, mp4.has_video, mp4.has_audio) == ("aac", True, True)
    assert mp4.duration is not None and mp4.duration > 1.0


FFMPEG7_MP3_WITH_COVER = """\
[mp3 @ 0x5599] Estimating duration from bitrate, this may be inaccurate
Input #0, mp3, from 'file:/music/Stream #0:0: Audio: fake.mp3':
  Metadata:
    title           : Talk
  Duration: 01:02:03.45, start: 0.025057, bitrate: 128 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 128 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 500x500, 90k tbr, 90k tbn (attached pic)
    Metadata:
      comment         : Cover (front)
At least one output file must be specified
"""

FFMPEG5_MKV_51 = """\
Input #0, matroska,webm, from 'talk.mkv':
  Duration: N/A, start: 0.000000, bitrate: N/A
  Stream #0:0(eng): Video: h264 (High), yuv420p(progressive), 1920x1080, 25 fps (default)
  Stream #0:1(eng): Audio: ac3, 48000 Hz, 5.1(side), fltp, 448 kb/s (default)
  Stream #0:2(ger): Audio: aac (LC), 44100 Hz, stereo, fltp
"""


def test_parse_cover_art_is_not_video() -> None:
    info = parse_probe_output(FFMPEG7_MP3_WITH_COVER, "x.mp3", 123)
    assert info.duration == pytest.approx(3723.45)
    assert (info.has_video, info.sample_rate, info.channels, info.audio_codec) == (False, 44100, 2, "mp3")
    assert info.size_bytes == 123


def test_parse_unknown_duration_and_first_audio_stream() -> None:
    info = parse_probe_output(FFMPEG5_MKV_51, "talk.mkv", 1)
    assert info.duration is None and info.has_video
    assert (info.audio_codec, info.sample_rate, info.channels) == ("ac3", 48000, 6)


def test_parse_no_audio_and_unreadable() -> None:
    only_video = FFMPEG5_MKV_51.split("  Stream #0:1")[0]
    with pytest.raises(NoAudioStreamError):
        parse_probe_output(only_video, "talk.mkv", 1)
    ffmpeg5 = "file:/x/a.mp3: Invalid data found when processing input\n"
    with pytest.raises(NotDecodableError) as exc:
        parse_probe_output(ffmpeg5, "/x/a.mp3", 10, input_name="file:/x/a.mp3")
    assert str(exc.value) == ("/x/a.mp3: not a readable audio/video file: it is damaged or not audio or video; "
                              "check that it plays in a media player")
    assert exc.value.technical == "ffmpeg: Invalid data found when processing input"


@pytest.mark.parametrize(
    "layout, channels",
    [("mono", 1), ("stereo", 2), ("5.1(side)", 6), ("7.1", 8), ("5.1.4", 10), ("quad(side)", 4),
     ("3 channels", 3), ("2 channels (FL+FR)", 2), ("downmix", 2), ("s16", None), ("", None)],
)
def test_channels_from_layout(layout: str, channels: int | None) -> None:
    assert channels_from_layout(layout) == channels


def test_useful_error_line_picks_the_reason() -> None:
    ffmpeg7_decode = [
        "[af#0:0 @ 0x564c1ffcca00] Cannot determine format of input 0:0 after EOF",
        "[af#0:0 @ 0x564c1ffcca00] Task finished with error code: -1094995529"
        " (Invalid data found when processing input)",
        "[aost#0:0/pcm_f32le @ 0x564c1] [enc:pcm_f32le @ 0x564c1] Could not open encoder before EOF",
        "[aost#0:0/pcm_f32le @ 0x564c1] Terminating thread with return code -22 (Invalid argument)",
        "[out#0/f32le @ 0x564c1ffcae00] Nothing was written into output file,"
        " because at least one of its streams received no packets.",
    ]
    assert useful_error_line(ffmpeg7_decode) == "Invalid data found when processing input"
    ffmpeg7_open = [
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55] moov atom not found",
        "[in#0 @ 0x55] Error opening input: Invalid data found when processing input",
        "Error opening input file /x/broken.mp4.",
        "Error opening input files: Invalid data found when processing input",
    ]
    assert useful_error_line(ffmpeg7_open).startswith("moov atom not found: the file is incomplete")
    assert useful_error_line(["file:/a b/c.wav: Permission denied"], "file:/a b/c.wav") == "Permission denied"
    assert useful_error_line(["Conversion failed!"]) == ""
    assert len(useful_error_line(["x" * 1000])) <= 200


def test_input_arg_protects_odd_names() -> None:
    # Absolute (no leading '-') and explicitly the file protocol (no 'rf:' protocol).
    assert input_arg(Path("-rf:x.mp3")) == "file:" + os.path.abspath("-rf:x.mp3")


@pytest.mark.parametrize(("rate", "fps"), [("24000/1001", 24000 / 1001), ("25", 25.0), ("30", 30.0)])
def test_probe_gives_the_video_frame_rate(tmp_path: Path, speech: Path, ffmpeg: Ffmpeg, rate: str, fps: float) -> None:
    from tests.support.audio import make_video_with_audio

    for name in ("clip.mp4", "clip.mkv"):
        info = probe(make_video_with_audio(speech, tmp_path / name, rate=rate), ffmpeg)
        assert info.fps == pytest.approx(fps, abs=1e-9), name


def test_audio_only_has_no_frame_rate(speech: Path, ffmpeg: Ffmpeg) -> None:
    assert probe(speech, ffmpeg).fps is None
    assert parse_probe_output(FFMPEG7_MP3_WITH_COVER, "x.mp3", 1).fps is None  # cover art: no video


@pytest.mark.parametrize(
    ("stream", "fps"),
    [
        ("h264 (High), yuv420p(progressive), 1920x1080, 23.98 fps, 23.98 tbr, 24k tbn (default)", 24000 / 1001),
        ("h264, yuv420p, 1280x720, 29.97 fps, 29.97 tbr, 30k tbn", 30000 / 1001),
        ("h264, yuv420p, 1280x720, 59.94 fps, 59.94 tbr, 60k tbn", 60000 / 1001),
        ("vp8, yuv420p, 640x360, SAR 1:1 DAR 16:9, 1k tbr, 1k tbn", None),  # a time base, not a rate
        ("mpeg2video (Main), yuv420p(tv), 720x576, 25 tbr, 90k tbn", 25.0),  # no fps: tbr
        ("h264, yuv420p, 1920x1080, 50 fps (default)", 50.0),
    ],
)
def test_frame_rate_from_the_stream_line(stream: str, fps: float | None) -> None:
    text = f"Input #0, x, from 'v':\n  Stream #0:0: Video: {stream}\n  Stream #0:1: Audio: aac, 48000 Hz, stereo\n"
    info = parse_probe_output(text, "v", 1)
    assert info.fps == (pytest.approx(fps) if fps else None)
