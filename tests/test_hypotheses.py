"""Converting NeMo's timestamp dicts into file-time words and segments (plain data)."""
from nemo_desk.engine.hypotheses import clean_text, segments_from_chunk, words_from_timestamps


def test_words_are_offset_and_clamped_to_the_chunk():
    stamps = [{"word": "hello", "start": 0.0, "end": 0.4}, {"word": "world", "start": 0.5, "end": 5.2}]
    words = words_from_timestamps(stamps, offset=60.0, chunk_end=65.0)
    assert [(w.text, w.start, w.end) for w in words] == [("hello", 60.0, 60.4), ("world", 60.5, 65.0)]


def test_segments_take_their_words_by_count():
    ts = {
        "word": [{"word": w, "start": i * 0.5, "end": i * 0.5 + 0.4} for i, w in enumerate("a b. c d e?".split())],
        "segment": [{"segment": "a b.", "start": 0, "end": 0.9}, {"segment": "c d e?", "start": 1.0, "end": 2.4}],
    }
    segs = segments_from_chunk("a b. c d e?", ts, offset=10.0, chunk_end=20.0)
    assert [s.text for s in segs] == ["a b.", "c d e?"]
    assert segs[1].start == 11.0 and segs[1].end == 12.4
    assert [w.text for w in segs[1].words] == ["c", "d", "e?"]


def test_words_outside_segments_are_kept():
    ts = {"word": [{"word": "x", "start": 0, "end": 0.1}, {"word": "y", "start": 0.2, "end": 0.3}],
          "segment": [{"segment": "x", "start": 0, "end": 0.1}]}
    segs = segments_from_chunk("x y", ts, 0.0, 1.0)
    assert [w.text for s in segs for w in s.words] == ["x", "y"]


def test_no_timestamps_gives_one_segment_per_chunk():
    segs = segments_from_chunk("<|en|> Guten Tag <|endoftext|>", None, 30.0, 58.5)
    assert len(segs) == 1
    assert (segs[0].text, segs[0].start, segs[0].end, segs[0].words) == ("Guten Tag", 30.0, 58.5, ())


def test_empty_chunk_gives_no_segment():
    assert segments_from_chunk("", None, 0, 5) == []
    assert segments_from_chunk("<|nospeech|>", {"word": []}, 0, 5) == []


def test_clean_text():
    assert clean_text("  <|pnc|>Hello   <|x|> there ") == "Hello there"
