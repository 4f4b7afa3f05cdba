"""Property tests: the default subtitle profile's rules hold on any transcript.

Many synthetic transcripts (fast and slow speech, long words, punctuation, CJK, held
words, speakers): every cue keeps every rule (see tests/support/cue_checks.py); a cue
is read too fast or too short only where the speech leaves it no more time, and no
other grouping of the words would leave fewer such cues (brute force on small ones).
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.export import CueRules, build_cues
from nemo_desk.export.profiles import PROFILES
from tests.support.cue_checks import check_cues, fewest_unreadable, output_groups, unreadable
from tests.support.transcript_strategies import transcripts

DEFAULT = PROFILES["broadcast"]
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_default_profile_is_the_broadcast_rules() -> None:
    assert (DEFAULT.max_chars_per_line, DEFAULT.max_lines, DEFAULT.max_cps) == (42, 2, 17)
    assert (round(DEFAULT.min_duration, 3), DEFAULT.max_duration, DEFAULT.min_gap_frames) == (0.833, 7, 2)
    assert CueRules() == DEFAULT


@SETTINGS
@given(transcripts(cjk=False))
def test_latin_transcripts_keep_the_rules(transcript: Transcript) -> None:
    check_cues(transcript, build_cues(transcript, DEFAULT), DEFAULT)


@SETTINGS
@given(transcripts(cjk=True))
def test_cjk_transcripts_keep_the_rules(transcript: Transcript) -> None:
    cues = build_cues(transcript, DEFAULT)
    check_cues(transcript, cues, DEFAULT, exact_spacing=False)
    assert not any(" " in line for cue in cues for line in cue.lines)


@SETTINGS
@given(transcripts(speakers=True))
def test_one_speaker_per_cue(transcript: Transcript) -> None:
    check_cues(transcript, build_cues(transcript, DEFAULT), DEFAULT, exact_spacing=False)


@SETTINGS
@given(transcripts(with_word_times=False))
def test_segments_without_word_times_keep_the_rules(transcript: Transcript) -> None:
    check_cues(transcript, build_cues(transcript, DEFAULT), DEFAULT, exact_spacing=False)


@SETTINGS
@given(transcripts(), st.sampled_from(sorted(PROFILES)), st.sampled_from((23.976, 25.0, 29.97, 30.0, 60.0)))
def test_every_profile_and_frame_rate_keeps_its_rules(transcript: Transcript, name: str, fps: float) -> None:
    rules = PROFILES[name].for_source(fps)
    check_cues(transcript, build_cues(transcript, rules), rules, exact_spacing=False)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts(max_words=9, cjk=False))
def test_only_unavoidable_cues_are_read_too_fast(transcript: Transcript) -> None:
    """No regrouping (merging with a neighbour, splitting differently) could do better."""
    cues = build_cues(transcript, DEFAULT)
    assert unreadable(output_groups(transcript, cues), transcript, DEFAULT) == fewest_unreadable(transcript, DEFAULT)


def test_fast_speech_may_exceed_the_reading_speed_but_keeps_everything_else() -> None:
    # 30 words of 0.1 s with no pause: about 45 characters a second, no time to spare.
    words = [Word(w, round(i * 0.1, 3), round(i * 0.1 + 0.1, 3)) for i, w in enumerate(["word"] * 30)]
    t = Transcript([Segment(" ".join(["word"] * 30), 0.0, 3.0, tuple(words))], duration=3.0)
    cues = build_cues(t, DEFAULT)
    check_cues(t, cues, DEFAULT)
    assert len(cues) == 2  # as few cues as the lines allow: each as long as possible
    assert cues[0].end == cues[1].start - 0.08
