"""Who said what, measured: held-out synthetic conversations through the app, scored
against the exact speaker of every spoken word.

tests/data/speakers-titanet.nemo is a tiny TitaNet-style speaker encoder trained here on
espeak-ng voices (tools/train_tiny/speakers.py; its card speakers-titanet.json holds the
recipe and the held-out figures; CI never retrains it). The conversations
(tools/train_tiny/conversations.py) are made here, seeded, by speakers the encoder never
heard (new accent, variant, speed and pitch draws, two accents held out of its training
altogether), with dozens of turns, short replies, the same speaker going on after a pause
and some overlap. The words are recognised by the trained digits model
(tests/data/digits-tdt.nemo) through the CLI, exactly as a user runs it; each recognised
word is matched to the spoken word it overlaps most and scored after the best one-to-one
mapping of labels to speakers (words inside overlapped speech are left out: either
speaker is defensible there).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from tests.support import truth
from tests.support.export_helpers import parse_srt
from tools.train_tiny import conversations, synth

pytestmark = pytest.mark.slow

ENCODER = truth.REPO / "tests" / "data" / "speakers-titanet.nemo"
MIN_WORD_ACCURACY = 0.95  # the target
MIN_HEARD = 0.9  # share of spoken words the recogniser gives back (else the score means little)


def report(name: str, a: conversations.Attribution) -> None:
    print(
        f"\n[{name}] accuracy={a.accuracy:.4f} scored={a.scored} speakers={a.speakers_found}/{a.speakers_true} "
        f"wrong={a.wrong[:8]}"
    )


def transcribe(tmp: Path, conv: conversations.Conversation, *extra: str) -> tuple[dict, Path]:
    """The conversation through `nemo-desk transcribe` with speakers on: its JSON document
    and the output folder."""
    wav = tmp / "talk.wav"
    synth.write_wav(wav, conv.audio)
    out = tmp / "out"
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEMO_DESK_HOME", str(tmp / "home"))
        code = cli.run(
            [
                "transcribe",
                str(wav),
                "--model-path",
                str(truth.MODEL),
                "--device",
                "cpu",
                "--diarizer-path",
                str(ENCODER),
                "--format",
                "json,srt",
                "--output-dir",
                str(out),
                *extra,
            ],
            lambda **kw: build_services(**kw),
            out=io.StringIO(),
            err=err,
        )
    assert code == 0, err.getvalue()
    return json.loads((out / "talk.json").read_text(encoding="utf-8")), out


def speaker_words(doc: dict) -> list[tuple[float, float, str | None]]:
    """(start, end, speaker name) of every word in a transcript JSON (a word's speaker is its
    segment's)."""
    names = {s["id"]: s["name"] for s in doc["speakers"]}
    return [(w["start"], w["end"], names.get(seg["speaker"])) for seg in doc["segments"] for w in seg["words"]]


def check(name: str, conv: conversations.Conversation, doc: dict) -> conversations.Attribution:
    a = conversations.score(conv, speaker_words(doc))
    report(name, a)
    assert a.matched >= MIN_HEARD * len(conv.words), f"the recogniser gave back {a.matched} of {len(conv.words)} words"
    assert a.speakers_found == a.speakers_true, f"{a.speakers_found} speakers found, {a.speakers_true} spoke"
    assert a.accuracy >= MIN_WORD_ACCURACY, f"{a.accuracy:.3f} of the words carry the right speaker"
    return a


@pytest.fixture(scope="module")
def encoder_card() -> dict:
    assert ENCODER.is_file(), f"{ENCODER} is missing (make it with: python -m tools.train_tiny.speakers)"
    return json.loads(ENCODER.with_suffix(".json").read_text(encoding="utf-8"))


# With the count estimated, the tuning conversations (seeds 600-613, not these) and 42 fresh
# ones (700-713, 800-827) get the count right in 53 of 56 (README, Speakers). Seed 203 was a
# strict expected failure until groups set inside another voice's stretches stopped counting
# as speakers: that rule was made after looking at it, then checked on the fresh seeds.
@pytest.mark.parametrize("n, seed", [(2, 201), (3, 202), (4, 203)])
def test_a_conversation_gets_its_speakers_right(n, seed, tmp_path, encoder_card):
    """Three minutes, dozens of turns, the count estimated (`--speakers auto`)."""
    conv = conversations.conversation(seed, 180.0, n)
    assert len(conv.turns) >= 30
    doc, out = transcribe(tmp_path, conv, "--speakers", "auto")
    check(f"{n} speakers", conv, doc)
    # SRT: a cue holds one speaker and names them where a turn starts; a turn's later cues go on unnamed.
    runs = [seg["speaker"] for seg in doc["segments"] if seg["words"]]
    changes = 1 + sum(a != b for a, b in zip(runs, runs[1:]))
    cues = parse_srt((out / "talk.srt").read_text(encoding="utf-8"))
    named = [c for c in cues if c.text.startswith("Speaker ")]
    assert len(named) == changes
    assert {c.text.split(":")[0] for c in named} == {s["name"] for s in doc["speakers"]}


def test_six_speakers_through_the_embedding_path(tmp_path, encoder_card):
    """More than Sortformer's four: the count estimated and every word attributed."""
    conv = conversations.conversation(206, 180.0, 6)
    doc, _ = transcribe(tmp_path, conv, "--speakers", "auto")
    check("6 speakers", conv, doc)


def test_a_given_count_is_used(tmp_path, encoder_card):
    conv = conversations.conversation(207, 90.0, 3)
    doc, _ = transcribe(tmp_path, conv, "--speakers", "3")
    check("3 speakers, count given", conv, doc)


def test_labels_hold_from_start_to_end_of_a_long_recording(tmp_path, encoder_card):
    """Ten minutes among four people, diarized in one job by the app's loaded encoder, the
    count estimated (as `--speakers auto` does): all four found, and one mapping of labels to speakers, fixed on the whole
    file, is right in every 2-minute stretch (a speaker who came back later with a new
    label would fail there)."""
    from nemo_desk.core.transcript import Segment, Transcript, Word
    from nemo_desk.engine.diarizer import diarize_array
    from nemo_desk.engine.speakers import assign_speakers
    from tools.train_tiny.speakers_eval import load

    conv = conversations.conversation(208, 600.0, 4)
    loaded = load(ENCODER, tmp_path / "home")
    words = tuple(Word(w.word, w.start, w.end) for w in conv.words)
    t = Transcript([Segment(" ".join(w.text for w in words), 0.0, conv.duration, words)], conv.duration)
    result = assign_speakers(t, diarize_array(loaded, conv.audio))
    labelled = [(w.start, w.end, w.speaker) for w in result.words]
    whole = conversations.score(conv, labelled)
    report("10 minutes", whole)
    assert whole.speakers_found == 4 and whole.accuracy >= MIN_WORD_ACCURACY
    wrong_at = [t for t, _, _ in whole.wrong]
    for stretch in range(0, int(conv.duration), 120):
        in_stretch = [w for w in conv.words if stretch <= w.start < stretch + 120 and not w.overlapped]
        misses = sum(stretch <= t < stretch + 120 for t in wrong_at)
        assert misses <= (1 - MIN_WORD_ACCURACY) * len(in_stretch), f"{misses} wrong from {stretch} s"


def test_the_card_records_the_recipe_and_held_out_figures(encoder_card):
    assert encoder_card["file"] == ENCODER.name and encoder_card["seed"] >= 0
    assert encoder_card["size_bytes"] == os.path.getsize(ENCODER) < 8_000_000
    held = encoder_card["held_out"]
    assert held["held_out_unseen_accents"]["eer"] < 0.5
    assert {c["speakers"] for c in held["conversations"]} >= {2, 3, 4, 6}
    assert all(0 <= c["word_accuracy"] <= 1 and c["turns"] >= 30 for c in held["conversations"])
