"""Subtitles end to end: the trained digits model through the CLI into every format,
each read back by an independent reader; the frame gap follows each video's frame rate.

Also the subtitle flags' checks, which need no model.
"""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import docx
import pysubs2
import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from nemo_desk.cli_options import subtitle_rules_refused
from tests.support import audio, truth
from tools.train_tiny import synth

MODEL = truth.MODEL
TT = "{http://www.w3.org/ns/ttml}"


def run_cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    code = cli.run(["transcribe", *args], lambda **kw: build_services(**kw), out=io.StringIO(), err=err)
    return code, err.getvalue()


# -- flags checked before anything starts --------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-chars", "3"], "--max-chars must be a whole number from 5 to 200, not 3"),
        (["--max-cps", "0"], "--max-cps must be a number from 5 to 100 characters a second, not 0.0"),
        (["--fps", "1000"], "--fps must be a number from 1 to 300 frames a second, not 1000.0"),
        (["--min-gap-frames", "-1"], "--min-gap-frames must be a whole number from 0 to 60, not -1"),
        (["--max-duration", "0.1"], "--max-duration must be a number from 0.5 to 60 seconds, not 0.1"),
    ],
)
def test_out_of_range_subtitle_flags_are_one_line_usage_errors(tmp_path, app_home, flags, message) -> None:
    code, err = run_cli(str(tmp_path / "x.wav"), *flags)
    assert code == cli.EXIT_USAGE
    assert err == f"nemo-desk: {message}\n"


def test_min_duration_above_max_duration_is_a_usage_error(tmp_path, app_home) -> None:
    code, err = run_cli(str(tmp_path / "x.wav"), "--min-duration", "5", "--max-duration", "3")
    assert code == cli.EXIT_USAGE
    assert err.strip().splitlines() == ["nemo-desk: min-duration (5 s) must not exceed max-duration (3 s)"]


def test_unknown_profile_is_refused_by_the_parser(tmp_path, app_home) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as info:
        cli.run(["transcribe", str(tmp_path / "x.wav"), "--subtitle-profile", "cinema"],
                lambda **kw: build_services(**kw), out=io.StringIO(), err=err)
    assert info.value.code == cli.EXIT_USAGE
    assert len(err.getvalue().strip().splitlines()) == 1 and "broadcast" in err.getvalue()


def test_profile_and_flags_reach_the_pipeline(app_home) -> None:
    from nemo_desk.export import CueRules
    from nemo_desk.export.profiles import PROFILES

    args = cli.build_parser().parse_args(["transcribe", "a.wav", "--subtitle-profile", "social", "--max-cps", "15",
                                          "--fps", "50", "--txt-timestamps"])
    services = build_services()
    try:
        assert not subtitle_rules_refused(args, services, cli.TerminalReporter(io.StringIO()), io.StringIO())
        assert services.pipeline.rules == CueRules(**{**PROFILES["social"].__dict__, "max_cps": 15.0, "fps": 50.0})
        assert services.pipeline.txt_timestamps is True
    finally:
        services.close()


# -- the trained model, three videos, every format ------------------------------------------
RATES = {"24000/1001": 24000 / 1001, "25": 25.0, "30": 30.0}


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """Digit utterances with short pauses (0.2-0.4 s): cues that chain."""
    utts = synth.held_out_set(777, 8, truth.TRAIN_VOICES, n_speakers=2)
    rec = synth.join(utts, [0.2, 0.3, 0.4, 0.25, 0.35, 0.3, 0.2], lead_s=0.3)
    return truth.write(rec, tmp_path_factory.mktemp("speech") / "digits.wav")


@pytest.mark.slow
def test_every_format_from_videos_at_three_frame_rates(speech, tmp_path, app_home) -> None:
    videos = {rate: audio.make_video_with_audio(speech, tmp_path / f"clip {i}.mp4", rate=rate)
              for i, rate in enumerate(RATES)}
    out = tmp_path / "out"
    # Ten frames between cues make each frame rate's gap plain: 418, 400 and 334 ms.
    code, err = run_cli(*map(str, videos.values()), "--model-path", str(MODEL), "--device", "cpu",
                        "--format", "srt,vtt,txt,json,ass,ttml,docx,csv", "--output-dir", str(out),
                        "--max-chars", "16", "--max-lines", "1", "--min-gap-frames", "10", "--txt-timestamps")
    assert code == 0, err
    for rate, video in videos.items():
        stem = out / video.stem
        words = [w["text"] for s in json.loads(stem.with_suffix(".json").read_text("utf-8"))["segments"]
                 for w in s["words"]]
        assert len(words) >= 20
        srt = pysubs2.load(str(stem.with_suffix(".srt")), encoding="utf-8")
        vtt = pysubs2.load(str(stem.with_suffix(".vtt")), encoding="utf-8")
        ass = pysubs2.load(str(stem.with_suffix(".ass")), encoding="utf-8")
        for subs in (srt, vtt, ass):
            assert " ".join(e.plaintext.replace("\n", " ") for e in subs).split() == words
        assert all(len(e.plaintext) <= 16 and "\n" not in e.plaintext for e in srt)
        gaps = [b.start - a.end for a, b in zip(srt, srt[1:])]
        want = {"24000/1001": 418, "25": 400, "30": 334}[rate]
        assert min(gaps) == want, (rate, gaps)  # chained cues: exactly the gap
        assert all(g >= want for g in gaps)
        root = ET.parse(stem.with_suffix(".ttml")).getroot()
        paras = list(root.iter(f"{TT}p"))
        assert [p.get("begin") for p in paras] == [_clock(e.start) for e in srt]
        document = docx.Document(str(stem.with_suffix(".docx")))
        assert document.paragraphs[0].text == video.name
        assert " ".join(p.text.split("] ", 1)[1] for p in document.paragraphs[2:]).split() == words
        rows = list(csv.reader(io.StringIO(stem.with_suffix(".csv").read_bytes().decode("utf-8-sig"), newline="")))
        assert rows[0] == ["start", "end", "speaker", "text"] and " ".join(r[3] for r in rows[1:]).split() == words
        txt = stem.with_suffix(".txt").read_text("utf-8")
        assert txt.startswith("[00:00:0")


def _clock(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
