"""Speakers in the subtitle exports: SRT marks the first cue of every turn ("Speaker 1: ",
"- " or nothing, as chosen), never a cue that goes on with the same speaker; VTT gives
voice spans; the choice reaches the files through `--speaker-label`."""

from __future__ import annotations

import pytest

from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.export.cues import CueRules, SpeakerLabel, build_cues
from nemo_desk.export.formats import render
from tests.support.export_helpers import parse_srt, parse_vtt

A, B = "Speaker 1", "Speaker 2"


def dialogue() -> Transcript:
    """A speaks, B answers and goes on after a long pause (a second cue, same turn), A again."""
    words = [
        ("Hello", 0.0, 0.4, A),
        ("there.", 0.45, 0.8, A),
        ("Yes,", 1.5, 1.8, B),
        ("hi.", 1.85, 2.1, B),
        ("Later", 5.0, 5.4, B),
        ("on.", 5.45, 5.8, B),
        ("Okay.", 6.5, 6.9, A),
    ]
    segs = [
        Segment(
            " ".join(w[0] for w in words[i:j]),
            words[i][1],
            words[j - 1][2],
            tuple(Word(*w) for w in words[i:j]),
            words[i][3],
        )
        for i, j in ((0, 2), (2, 6), (6, 7))
    ]
    return Transcript(segs, duration=8.0, speaker_table={"S1": A, "S2": B})


def test_every_cue_holds_one_speaker():
    cues = build_cues(dialogue())
    assert [c.speaker for c in cues] == [A, B, B, A]
    assert [c.text for c in cues] == ["Hello there.", "Yes, hi.", "Later on.", "Okay."]


@pytest.mark.parametrize(
    "label, marks",
    [
        (SpeakerLabel.NAME, ["Speaker 1: Hello there.", "Speaker 2: Yes, hi.", "Later on.", "Speaker 1: Okay."]),
        (SpeakerLabel.DASH, ["- Hello there.", "- Yes, hi.", "Later on.", "- Okay."]),
        (SpeakerLabel.NONE, ["Hello there.", "Yes, hi.", "Later on.", "Okay."]),
    ],
)
def test_srt_marks_each_change_of_speaker_as_chosen(label, marks):
    cues = parse_srt(render("srt", dialogue(), CueRules(speaker_label=label)))
    assert [c.text for c in cues] == marks


def test_the_default_is_the_name_and_a_string_is_accepted():
    assert CueRules().speaker_label is SpeakerLabel.NAME
    assert CueRules(speaker_label="dash").speaker_label is SpeakerLabel.DASH  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="speaker label must be one of name, dash, none"):
        CueRules(speaker_label="initials")  # type: ignore[arg-type]


def test_no_speakers_no_marks():
    plain = Transcript(
        [Segment("Hello there.", 0.0, 0.8, (Word("Hello", 0.0, 0.4), Word("there.", 0.45, 0.8)))], duration=1.0
    )
    for label in SpeakerLabel:
        assert [c.text for c in parse_srt(render("srt", plain, CueRules(speaker_label=label)))] == ["Hello there."]
        assert "<v" not in render("vtt", plain, CueRules(speaker_label=label))


def test_vtt_voice_spans_on_every_cue_unless_none():
    text = render("vtt", dialogue())
    payloads = [block.split("\n")[1] for block in text.split("\n\n")[1:]]  # the voice span is markup
    assert payloads == [
        "<v Speaker 1>Hello there.",
        "<v Speaker 2>Yes, hi.",
        "<v Speaker 2>Later on.",
        "<v Speaker 1>Okay.",
    ]
    bare = render("vtt", dialogue(), CueRules(speaker_label=SpeakerLabel.NONE))
    assert [c.text for c in parse_vtt(bare)] == ["Hello there.", "Yes, hi.", "Later on.", "Okay."]


def test_txt_starts_each_turn_with_the_name():
    text = render("txt", dialogue(), txt_timestamps=True)
    assert text.splitlines()[0] == "[00:00:00] Speaker 1: Hello there."
    assert "[00:00:01] Speaker 2: Yes, hi." in text and "[00:00:06] Speaker 1: Okay." in text


def test_the_cli_choices_are_the_labels():
    from nemo_desk.export_cli import SPEAKER_LABELS

    assert SPEAKER_LABELS == tuple(SpeakerLabel)


@pytest.mark.parametrize(
    "label, first", [(None, "Speaker 1: Hello there."), ("dash", "- Hello there."), ("none", "Hello there.")]
)
def test_export_command_takes_the_label(label, first, app_home, tmp_path):
    import io

    from nemo_desk import cli
    from nemo_desk.app import build_services

    doc = tmp_path / "talk.json"
    doc.write_text(render("json", dialogue()), encoding="utf-8")  # type: ignore[arg-type]
    args = ["export", str(doc), "--format", "srt"] + (["--speaker-label", label] if label else [])
    code = cli.run(args, lambda **kw: build_services(**kw), out=io.StringIO(), err=io.StringIO())
    assert code == 0
    cues = parse_srt((tmp_path / "talk.srt").read_text(encoding="utf-8"))
    assert cues[0].text == first and cues[2].text == "Later on."
