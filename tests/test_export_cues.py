"""Subtitle cue layout: rule invariants on random transcripts, plus the preferences."""
from __future__ import annotations

import itertools

import pytest

from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.export import CueRules, build_cues
from tests.support.cue_checks import check_cues
from tests.support.export_helpers import CJK_PUNCT, CJK_VOCAB, random_transcript

EPS = 1e-6  # the layout's own slack for float noise (tokens.TIME_EPS)


def words_at(texts: list[str], start: float = 0.0, dur: float = 0.3, gap: float = 0.05) -> list[Word]:
    out, t = [], start
    for text in texts:
        out.append(Word(text, round(t, 3), round(t + dur, 3)))
        t += dur + gap
    return out


def one_segment(words: list[Word], **kw) -> Transcript:
    seg = Segment(" ".join(w.text for w in words), words[0].start, words[-1].end, tuple(words))
    return Transcript([seg], duration=words[-1].end + 1, **kw)


PROFILE_RULES = {
    "narrow-1-line": CueRules(max_chars_per_line=20, max_lines=1, max_duration=3.0, min_duration=0.5, max_cps=20),
    "3-lines-30fps": CueRules(max_chars_per_line=32, max_lines=3, max_duration=5.0, min_duration=1.0, fps=30),
    "short-pauses-no-gap": CueRules(pause_split=0.2, min_duration=0.0, min_gap_frames=0),
}


@pytest.mark.parametrize("seed", range(150))
def test_random_transcripts_keep_all_rules(seed: int) -> None:
    # Odd seeds have no pause long enough to force a cue break: all layout, no pauses.
    transcript = random_transcript(seed, max_gap=1.2 if seed % 2 == 0 else 0.45)
    rules = CueRules()
    check_cues(transcript, build_cues(transcript, rules), rules)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("rules", PROFILE_RULES.values(), ids=PROFILE_RULES.keys())
def test_random_transcripts_with_other_rules(seed: int, rules: CueRules) -> None:
    transcript = random_transcript(seed + 1000)
    check_cues(transcript, build_cues(transcript, rules), rules)


@pytest.mark.parametrize("seed", range(60))
def test_segments_without_word_times_follow_the_same_rules(seed: int) -> None:
    transcript = random_transcript(seed + 2000, with_word_times=False)
    rules = CueRules()
    cues = build_cues(transcript, rules)
    check_cues(transcript, cues, rules)
    # Estimated words stay inside their segment's span.
    spans = [(s.start, s.end) for s in transcript.segments]
    for cue in cues:
        for w in cue.words:
            assert any(a - EPS <= w.start and w.end <= b + EPS for a, b in spans)


@pytest.mark.parametrize("seed", range(30))
def test_cjk_words_keep_their_spacing(seed: int) -> None:
    transcript = random_transcript(seed + 3000, vocab=CJK_VOCAB, punct=CJK_PUNCT)
    rules = CueRules()
    cues = build_cues(transcript, rules)
    check_cues(transcript, cues, rules, exact_spacing=False)
    for cue in cues:
        # Japanese and Chinese are written without spaces between words.
        assert not any(" " in line for line in cue.lines)


def test_even_distribution_by_character_count() -> None:
    seg = Segment("aa bbbb", 1.0, 7.0)
    cues = build_cues(Transcript([seg], duration=8.0, has_word_times=False))
    (words,) = [c.words for c in cues]
    assert [(w.text, w.start, w.end) for w in words] == [
        ("aa", pytest.approx(1.0), pytest.approx(3.0)),
        ("bbbb", pytest.approx(3.0), pytest.approx(7.0)),
    ]


@pytest.mark.parametrize("width", [7, 11, 16, 42])
def test_long_cjk_segment_without_word_times_is_split_between_characters(width: int) -> None:
    text = "「今日は」とても良い天気ですね、コーヒーを飲みに行った。" * 5  # no spaces at all
    rules = CueRules(max_chars_per_line=width)
    cues = build_cues(Transcript([Segment(text, 0.0, 40.0)], duration=40.0, has_word_times=False), rules)
    assert len(cues) > 1
    assert "".join(line for c in cues for line in c.lines) == text
    assert all(len(line) <= width for c in cues for line in c.lines)
    assert all(c.end - c.start <= 7.0 + EPS for c in cues)
    # Closing punctuation, small kana and "ー" never start a line; "「" never ends one.
    assert not any(line[0] in "。、」っー" for c in cues for line in c.lines)
    assert not any(line[-1] == "「" for c in cues for line in c.lines)


def test_prefers_breaking_at_sentence_end() -> None:
    # Too long for one cue; an even split would fall mid-phrase, far from the full stop.
    first = "It ends right here.".split()
    second = "Then another one starts and goes on for quite a while longer than that".split()
    cues = build_cues(one_segment(words_at(first + second)))
    assert len(cues) == 2
    assert [w.text for w in cues[0].words] == first
    assert [w.text for w in cues[1].words] == second


def test_prefers_breaking_at_comma_over_mid_phrase() -> None:
    first = "Well, when the weather is good,".split()
    second = "we usually walk for hours before we stop for lunch together at noon".split()
    cues = build_cues(one_segment(words_at(first + second)))
    assert len(cues) == 2
    assert cues[0].text.replace("\n", " ") == " ".join(first)


def test_prefers_breaking_at_a_short_pause() -> None:
    first = words_at("we went down to the river and then".split(), gap=0.02)
    later = first[-1].end + 0.4  # a pause, but shorter than pause_split
    second = words_at("somebody said that the water was far too cold to swim in".split(), start=later, gap=0.02)
    cues = build_cues(one_segment(first + second))
    assert len(cues) == 2
    assert list(cues[1].words) == second


def test_pause_starts_a_new_cue_even_for_short_text() -> None:
    words = [Word("Yes", 0.0, 0.3), Word("no", 1.5, 1.8)]
    cues = build_cues(one_segment(words))
    assert [c.text for c in cues] == ["Yes", "no"]
    # A shorter pause keeps them together.
    words = [Word("Yes", 0.0, 0.3), Word("no", 0.7, 1.0)]
    assert [c.text for c in build_cues(one_segment(words))] == ["Yes no"]


def test_a_pause_is_bridged_rather_than_flashing_a_cue() -> None:
    # "Yes" alone could stay up 0.82 s before "no" (less the gap): under 5/6 s.
    words = [Word("Yes", 0.0, 0.3), Word("no", 0.9, 1.2)]
    assert [c.text for c in build_cues(one_segment(words))] == ["Yes no"]


def test_word_longer_than_a_line_sits_on_its_own_line() -> None:
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosis-related"
    assert len(long_word) > 42
    cues = build_cues(one_segment(words_at(["it", "is", long_word, "indeed"])))
    lines = [line for c in cues for line in c.lines]
    assert long_word in lines
    assert all(len(line) <= 42 for line in lines if line != long_word)


def test_word_longer_than_max_duration_gets_its_own_cue() -> None:
    words = [Word("so", 0.0, 0.2), Word("loooong", 0.25, 9.25), Word("end", 9.3, 9.5)]
    cues = build_cues(one_segment(words))
    assert [c.text for c in cues] == ["so", "loooong", "end"]
    # It stays up to 2 frames (at 25 fps) before "end", cutting its tail by 0.05 s.
    assert cues[1].start == 0.25 and cues[1].end == pytest.approx(9.3 - 0.08)


def test_many_quick_words_respect_max_duration() -> None:
    words = words_at(["go"] * 60, dur=0.2, gap=0.05)  # 15 s of speech, few characters
    cues = build_cues(one_segment(words))
    assert len(cues) >= 3
    assert all(c.end - c.start <= 7.0 + EPS for c in cues)


def test_short_cue_lingers_for_its_minimum_duration() -> None:
    words = [Word("Hi", 0.0, 0.2), Word("there", 2.0, 2.3)]
    cues = build_cues(one_segment(words))
    assert cues[0].end == pytest.approx(0.833)
    cues = build_cues(one_segment(words), CueRules(min_duration=1.2))
    assert cues[0].end == pytest.approx(1.2)


def test_a_short_gap_is_chained_to_exactly_two_frames() -> None:
    words = [Word("Hi", 0.0, 0.2), Word("there", 1.2, 1.5)]
    cues = build_cues(one_segment(words))
    assert [c.text for c in cues] == ["Hi", "there"]
    # 0.833 would leave 0.367 s of empty screen; the cue stays up until 2 frames before.
    assert cues[0].end == pytest.approx(1.2 - 0.08)
    # At 23.976 fps two frames are 83.4 ms: rounded up to whole milliseconds.
    cues = build_cues(one_segment(words), CueRules(fps=24000 / 1001))
    assert cues[0].end == pytest.approx(1.2 - 0.084)


def test_a_cue_read_too_fast_stays_up_into_free_time() -> None:
    text = "This sentence has a lot of characters for the time."  # 51 characters
    words = words_at(text.split(), dur=0.12, gap=0.02)  # spoken in 1.4 s: 36 characters/s
    t = Transcript([Segment(text, words[0].start, words[-1].end, tuple(words))], duration=20.0)
    (cue,) = build_cues(t)
    assert cue.end - cue.start == pytest.approx(51 / 17, abs=0.001)


def test_a_cue_read_too_fast_never_runs_into_the_next() -> None:
    first = words_at("This sentence has a lot of characters for the time.".split(), dur=0.12, gap=0.02)
    second = words_at("Then more words follow straight after it in a second cue.".split(),
                      start=first[-1].end + 0.6, dur=0.3, gap=0.05)
    cues = build_cues(one_segment(first + second), CueRules(max_chars_per_line=42, max_lines=2))
    assert cues[0].end <= cues[1].start - 0.08 + 1e-9


def test_last_cue_does_not_linger_past_the_media_end() -> None:
    seg = Segment("Bye", 4.0, 4.2, (Word("Bye", 4.0, 4.2),))
    (cue,) = build_cues(Transcript([seg], duration=4.5))
    assert cue.end == pytest.approx(4.5)


def test_overlapping_and_backwards_model_times_give_ordered_cues() -> None:
    # Some models emit a word ending after the next one starts, or a start going back.
    words = [Word("one.", 0.0, 2.0), Word("two", 1.5, 3.0), Word("three.", 1.0, 3.2)] + [
        Word(f"w{i}", 3.3 + i * 0.3, 3.5 + i * 0.3) for i in range(40)
    ]
    seg = Segment(" ".join(w.text for w in words), 0.0, 15.5, tuple(words))
    cues = build_cues(Transcript([seg], duration=16.0))
    assert [w.text for c in cues for w in c.words] == [w.text for w in words]
    for a, b in itertools.pairwise(cues):
        assert a.start <= a.end <= b.start <= b.end


def test_start_going_backwards_across_a_cue_boundary() -> None:
    # "held" must be a cue of its own (longer than max_duration); "then" claims to start
    # before it. The cues must still come in order and not overlap.
    words = [Word("so", 0.0, 0.3), Word("held", 5.0, 13.0), Word("then", 4.5, 4.8), Word("done", 13.1, 13.4)]
    cues = build_cues(one_segment(words))
    assert [w.text for c in cues for w in c.words] == ["so", "held", "then", "done"]
    for a, b in itertools.pairwise(cues):
        assert a.start <= a.end <= b.start <= b.end


def test_segment_with_empty_words_and_text_is_ignored() -> None:
    segs = [Segment("", 0.0, 1.0), Segment("  ", 1.0, 2.0, (Word(" ", 1.0, 1.5),)), Segment("ok", 2.0, 2.5)]
    cues = build_cues(Transcript(segs, duration=3.0, has_word_times=False))
    assert [c.text for c in cues] == ["ok"]


def test_empty_transcript_has_no_cues() -> None:
    assert build_cues(Transcript([], duration=12.0)) == []


def test_non_ascii_text_is_kept_exactly() -> None:
    texts = ["Ça", "va,", "l'été", "O'Brien’s", "naïve", "Straße", "日本語", "한국어", "Ελληνικά."]
    cues = build_cues(one_segment(words_at(texts)))
    assert " ".join(c.text.replace("\n", " ") for c in cues) == " ".join(texts)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_chars_per_line": 0},
        {"max_lines": 0},
        {"max_duration": 0},
        {"min_duration": 8.0},
        {"min_duration": -1},
        {"pause_split": 0},
        {"min_gap_frames": -1},
        {"max_cps": 0},
        {"fps": 0.5},
    ],
)
def test_invalid_rules_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        CueRules(**kwargs)


def lines_of(text: str, width: int = 42) -> list[str]:
    from nemo_desk.export.cues import wrap_lines
    from nemo_desk.export.tokens import Token

    return wrap_lines([Token(w, 0.0, 0.0) for w in text.split()], width)


def test_text_that_fits_one_line_is_one_line() -> None:
    assert lines_of("Short enough for one line, really.") == ["Short enough for one line, really."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # After punctuation, even if another split would be a little more even.
        ("We went down to the river early, because the weather was fine.",
         ["We went down to the river early,", "because the weather was fine."]),
        # Before a conjunction rather than mid-phrase.
        ("She took the long road home that night and stopped at the bakery",
         ["She took the long road home that night", "and stopped at the bakery"]),
        # Never between an article and its noun, even for perfect balance.
        ("I could not believe what I saw in the kitchen drawer today",
         ["I could not believe what I saw", "in the kitchen drawer today"]),
    ],
)
def test_two_lines_break_where_a_subtitler_would(text: str, expected: list[str]) -> None:
    assert lines_of(text) == expected


def test_no_lone_word_on_a_line() -> None:
    # Greedy filling would leave "Yes." or "tomorrow." alone on a line.
    lines = lines_of("Absolutely, I will be there at the station tomorrow.")
    assert len(lines) == 2 and all(len(line.split()) >= 2 for line in lines)
    lines = lines_of("Yes. I will be there at the station early tomorrow morning.")
    assert all(len(line.split()) >= 2 for line in lines)
