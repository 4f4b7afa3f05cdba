"""The whole pipeline against known ground truth, with a small model that really recognises speech.

tests/data/digits-tdt.nemo is a tiny FastConformer-TDT model trained on synthetic
espeak-ng speech of English digit words and a few common words (tools/train_tiny; its
card tests/data/digits-tdt.json holds the recipe and metrics; CI never retrains it).
Random-weight models prove the plumbing; this one proves that the words and the times
we write are right. The test speech is made here, seeded, by the training recipe's own
synthesiser with new speakers and new word sequences: every word's true start and end
are known to the sample.
"""
from __future__ import annotations

import dataclasses
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from nemo_desk.engine.catalog import local_spec
from nemo_desk.engine.chunking import FRAME_GRID_S, Window, plan_windows
from nemo_desk.engine.options import DEFAULT_OVERLAP_S
from nemo_desk.engine.jobs import Job
from nemo_desk.engine.models import ModelRef
from nemo_desk.engine.transcriber import SAMPLE_RATE, TranscribeOptions, transcribe_array, transcribe_windows
from tests.support import audio, truth
from tests.support.export_helpers import parse_srt, parse_vtt
from tests.support.gui_helpers import GUI_MARKS, no_leaks  # noqa: F401 (fixture)
from tools.train_tiny import synth

pytestmark = pytest.mark.slow

MODEL = truth.MODEL
# Thresholds of the issue; the measured values are in the card and printed with -s.
MAX_WER = 0.05
MAX_START_MEDIAN_S = 0.12
MAX_START_P95_S = 0.25
# Voices never heard in training (accents held out of the training data): the model is
# honestly worse there. This bound only catches a collapse; the card records the value.
MAX_WER_UNSEEN = 0.25


def run_cli(home: Path, *args: str) -> tuple[int, str]:
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEMO_DESK_HOME", str(home))
        code = cli.run(["transcribe", *args], lambda **kw: build_services(**kw), out=io.StringIO(), err=err)
    return code, err.getvalue()


def report(name: str, **values) -> None:
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in values.items()))


# -- model and speech, made once per module ----------------------------------------------
@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The trained model loaded the app's way (import, unpack, load) on the CPU."""
    assert MODEL.is_file(), f"{MODEL} is missing (make it with: python -m tools.train_tiny)"
    home = tmp_path_factory.mktemp("loader_home")
    services = build_services(env={**os.environ, "NEMO_DESK_HOME": str(home)})
    try:
        model = services.models.get(ModelRef(path=MODEL, device="cpu"))
    finally:
        services.close()  # drops the manager's reference; ours keeps the model
    return model


def held_out_recording(seed: int, n: int, voices: list[str], n_speakers: int) -> synth.Utterance:
    """`n` held-out utterances by new speakers, one after another with 1 s pauses (one
    engine call transcribes them all, in batched chunks)."""
    utts = synth.held_out_set(seed, n, voices, n_speakers=n_speakers)
    return synth.join(utts, [1.0] * (n - 1), lead_s=0.3)


@pytest.fixture(scope="module")
def held_out():
    return held_out_recording(4242, 80, truth.TRAIN_VOICES, n_speakers=16)


@pytest.fixture(scope="module")
def unseen():
    return held_out_recording(4343, 40, truth.UNSEEN_VOICES, n_speakers=8)


@dataclass
class LongCase:
    rec: synth.Utterance
    wav: Path
    out: Path  # the CLI's output folder
    home: Path


@pytest.fixture(scope="module")
def long_case(tmp_path_factory) -> LongCase:
    """A 10-minute recording (about 130 utterances of six speakers, pauses between)
    transcribed once through the CLI into json, srt, vtt and txt."""
    d = tmp_path_factory.mktemp("long")
    rec = synth.long_recording(4444, 600.0, truth.TRAIN_VOICES)
    wav = truth.write(rec, d / "ten minutes.wav")
    case = LongCase(rec, wav, d / "cli", d / "home")
    code, err = run_cli(case.home, str(wav), "--model-path", str(MODEL), "--device", "cpu",
                        "--format", "json,srt,vtt,txt", "--output-dir", str(case.out))
    assert code == 0, err
    return case


def scores(rec: synth.Utterance, hyp: list[tuple[str, float, float]]) -> dict:
    """WER and word-time errors (of the correctly recognised words) against the truth."""
    ref = [w.word for w in rec.words]
    te = truth.time_errors(truth.truth_words(rec), hyp)
    return {"wer": round(truth.wer([ref], [[w for w, _, _ in hyp]]), 4), "ref_words": len(ref), **te.summary()}


# -- held-out utterances ------------------------------------------------------------------
def test_the_model_and_its_card_belong_together():
    card = truth.card()
    assert card["file"] == MODEL.name and card["size_bytes"] == MODEL.stat().st_size
    assert MODEL.stat().st_size < 10_000_000  # a few MB in the repository
    assert card["vocabulary"] == synth.VOCABULARY and card["data"]["train_voices"] == truth.TRAIN_VOICES
    assert not set(truth.UNSEEN_VOICES) & set(truth.TRAIN_VOICES)


def test_held_out_speech_of_trained_voices_words_and_times(loaded, held_out):
    s = scores(held_out, truth.transcript_words(transcribe_array(loaded, held_out.audio)))
    report("held-out, trained voices", **s)
    assert s["ref_words"] >= 300
    assert s["wer"] <= MAX_WER
    assert s["start_median_abs_s"] <= MAX_START_MEDIAN_S
    assert s["start_p95_abs_s"] <= MAX_START_P95_S
    # Ends come early: a TDT token lasts at most 4 frames (0.32 s), most words are longer.
    assert -0.3 <= s["end_median_signed_s"] <= 0.0


def test_held_out_speech_of_voices_never_heard_in_training(loaded, unseen):
    s = scores(unseen, truth.transcript_words(transcribe_array(loaded, unseen.audio)))
    report("held-out, unseen voices", **s)
    assert s["wer"] <= MAX_WER_UNSEEN


# -- a 10-minute file through the CLI -----------------------------------------------------
def test_ten_minute_file_chunked_wer_and_nothing_lost_or_doubled_at_cuts(long_case, loaded):
    from nemo_desk.media import Ffmpeg, decode

    rec = long_case.rec
    assert 590 <= rec.duration <= 640
    words = truth.json_words(long_case.out / "ten minutes.json")
    s = scores(rec, words)
    report("10-minute file", **s)
    assert s["wer"] <= MAX_WER
    # Word times in file time (chunk offsets applied) are as good as for single utterances.
    assert s["start_median_abs_s"] <= MAX_START_MEDIAN_S
    assert s["start_p95_abs_s"] <= MAX_START_P95_S

    # The cuts the pipeline made: the same plan from the same decoded audio.
    samples = decode(long_case.wav, Ffmpeg.locate(os.environ))
    chunk_s = local_spec(str(MODEL), "tdt").max_chunk_s
    plan = plan_windows(samples, SAMPLE_RATE, chunk_s, DEFAULT_OVERLAP_S)
    cuts = [w.core_end / SAMPLE_RATE for w in plan[:-1]]
    assert len(cuts) >= 9 and all(w.quiet_cut for w in plan)
    for c in cuts:  # every cut falls between words (in a pause), never inside one
        assert not [w for w in rec.words if w.start < c < w.end], f"cut at {c:.2f} s splits a word"
    # Around every cut no word is lost, doubled or changed by the cut: the words within
    # 2 s of it are the words the model hears there with the cut in the middle of its
    # audio (a 16 s window centred on the cut, on the same frame grid). Not the truth: this
    # tiny model slips on about one word in a hundred wherever it is (read in one piece,
    # this file loses "one" at 484.8 s, 1.8 s before a cut), and the cut is not to blame.
    grid = int(FRAME_GRID_S * SAMPLE_RATE)
    centred = [Window(k, int((c - 8) * SAMPLE_RATE) // grid * grid, int((c + 8) * SAMPLE_RATE), 0, 0)
               for k, c in enumerate(cuts)]
    centred = [dataclasses.replace(w, core_start=w.start, core_end=w.end) for w in centred]
    heard = truth.transcript_words(transcribe_windows(loaded, samples, centred, TranscribeOptions(batch_size=4)))
    for c in cuts:
        near = [(w, round(s / FRAME_GRID_S)) for w, s, _ in words if abs(s - c) <= 2.0]
        alone = [(w, round(s / FRAME_GRID_S)) for w, s, _ in heard if abs(s - c) <= 2.0]
        assert len(near) >= 2, f"cut at {c:.2f} s: no words near it"
        assert [w for w, _ in near] == [w for w, _ in alone], f"cut at {c:.2f} s: {near} != {alone}"
        assert all(abs(a - b) <= 1 for (_, a), (_, b) in zip(near, alone)), f"cut at {c:.2f} s: {near} != {alone}"
    # And a cut in a pause leaves each word on its side: none starts in the pause.
    for c in cuts:
        gap = max((w for w in rec.words if w.end < c), key=lambda w: w.end).end, \
            min((w for w in rec.words if w.start > c), key=lambda w: w.start).start
        assert not [w for w, s, _ in words if gap[0] + 0.1 < s < gap[1] - 0.1], f"cut at {c:.2f} s: a word in its pause"


def test_subtitle_cues_contain_the_times_of_the_words_they_show(long_case):
    words = truth.json_words(long_case.out / "ten minutes.json")
    srt = parse_srt((long_case.out / "ten minutes.srt").read_text(encoding="utf-8"))
    vtt = parse_vtt((long_case.out / "ten minutes.vtt").read_text(encoding="utf-8"))
    assert len(srt) > 50 and [(c.start, c.end, c.text) for c in srt] == [(c.start, c.end, c.text) for c in vtt]
    assert truth.cues_not_containing_their_words(srt, words) == []
    assert truth.cues_not_containing_their_words(vtt, words) == []
    # And the cues sit on the real speech: each cue starts near its first word's true start.
    pairs = dict((j, i) for i, j in truth.align([w.word for w in long_case.rec.words], [w for w, _, _ in words])
                 if i is not None and j is not None)
    k = 0
    for cue in srt:
        first = k
        k += len(cue.text.split())
        if first in pairs:
            assert abs(cue.start - long_case.rec.words[pairs[first]].start) <= MAX_START_P95_S


@pytest.mark.usefixtures("no_leaks")
@GUI_MARKS[0]
@GUI_MARKS[1]
def test_the_gui_worker_gives_the_same_words_as_the_cli(long_case, services, qtbot, tmp_path):
    """The window's worker thread (nemo_desk.gui.worker.Worker) on the real services."""
    from nemo_desk.gui.worker import Worker

    worker = Worker(services)
    failures = []
    worker.job_failed.connect(lambda job_id, result: failures.append(result.failure))
    worker.start()
    try:
        job = Job(source=long_case.wav, model=ModelRef(path=MODEL, device="cpu"), formats=("json",),
                  output_dir=tmp_path)
        with qtbot.waitSignal(worker.job_done, timeout=300_000, raising=False) as done:
            worker.submit(job)
        assert not failures, failures
        assert done.signal_triggered, "the worker did not finish the job"
        job_id, result = done.args
        assert job_id == job.id and result.status == "done"
    finally:
        worker.stop()
        assert worker.wait(60_000)
    gui_words = truth.transcript_words(result.transcript)
    cli_words = truth.json_words(long_case.out / "ten minutes.json")
    assert [w for w, _, _ in gui_words] == [w for w, _, _ in cli_words]
    assert np.allclose([s for _, s, _ in gui_words], [s for _, s, _ in cli_words], atol=0.0015)
    assert truth.json_words(tmp_path / "ten minutes.json") == cli_words


# -- the same speech as a stereo 44.1 kHz video ---------------------------------------------
def first_seconds(rec: synth.Utterance, seconds: float) -> synth.Utterance:
    """The start of a recording, cut in the first pause (> 0.5 s) after `seconds`."""
    k = next(i for i, (w, nxt) in enumerate(zip(rec.words, rec.words[1:]))
             if w.end >= seconds and nxt.start - w.end > 0.5)
    cut = (rec.words[k].end + rec.words[k + 1].start) / 2
    words = rec.words[: k + 1]
    return synth.Utterance(rec.audio[: int(cut * synth.SAMPLE_RATE)], " ".join(w.word for w in words), words)


def test_stereo_44k_mp4_gives_the_same_words_as_the_16k_wav(long_case, tmp_path):
    rec = first_seconds(long_case.rec, 40.0)
    wav = truth.write(rec, tmp_path / "in" / "speech.wav")
    stereo = audio.to_stereo_44k(wav, tmp_path / "stereo.wav")
    mp4 = audio.make_mp4_with_audio(stereo, tmp_path / "in" / "video.mp4")
    code, err = run_cli(tmp_path / "home", str(wav), str(mp4), "--model-path", str(MODEL), "--device", "cpu",
                        "--format", "json", "--output-dir", str(tmp_path / "out"))
    assert code == 0, err
    from_wav = truth.json_words(tmp_path / "out" / "speech.json")
    from_mp4 = truth.json_words(tmp_path / "out" / "video.json")
    ref = [w.word for w in rec.words]
    report("stereo mp4", wer_wav=truth.wer([ref], [[w for w, _, _ in from_wav]]),
           wer_mp4=truth.wer([ref], [[w for w, _, _ in from_mp4]]), words=len(ref))
    assert [w for w, _, _ in from_mp4] == [w for w, _, _ in from_wav]
    assert truth.wer([ref], [[w for w, _, _ in from_wav]]) <= MAX_WER
    # Same times too, up to a frame (AAC's start is trimmed by the container's edit list).
    assert np.max(np.abs(np.subtract([s for _, s, _ in from_mp4], [s for _, s, _ in from_wav]))) <= 0.081
