"""Hypothesis strategies for transcripts: fast and slow speech, long words, punctuation, CJK."""
from __future__ import annotations

from hypothesis import strategies as st

from nemo_desk.core.transcript import Segment, Transcript, Word
from tests.support.export_helpers import CJK_PUNCT, CJK_VOCAB, PUNCT, VOCAB

LONG_WORDS = ("Pneumonoultramicroscopicsilicovolcanoconiosis-related-matters", "internationalisation")


@st.composite
def transcripts(draw, max_words: int = 60, cjk: bool | None = None, speakers: bool = False,
                with_word_times: bool = True) -> Transcript:
    """Words with plausible times: per-word length 0.02-0.8 s (so from very fast to slow
    speech), gaps from none to a few seconds, now and then a held word."""
    use_cjk = draw(st.booleans()) if cjk is None else cjk
    vocab, punct = (CJK_VOCAB, CJK_PUNCT) if use_cjk else (tuple(VOCAB) + LONG_WORDS, PUNCT)
    n = draw(st.integers(1, max_words))
    pace = draw(st.sampled_from((0.03, 0.1, 0.25, 0.5)))  # seconds per word, roughly
    t = draw(st.floats(0, 3))
    segments, words = [], []
    who = None
    for i in range(n):
        text = draw(st.sampled_from(vocab)) + draw(st.sampled_from(punct))
        dur = draw(st.floats(0.02, pace * 1.6)) if draw(st.integers(0, 40)) else draw(st.floats(7.5, 9.0))
        if speakers and draw(st.integers(0, 6)) == 0:
            who = draw(st.sampled_from(("Ana", "Bo", None)))
        words.append(Word(text, round(t, 3), round(t + dur, 3), who))
        t += dur + draw(st.sampled_from((0.0, 0.0, 0.02, 0.1, 0.4, 0.7, 1.5, 3.0)))
        if draw(st.integers(0, 8)) == 0 or i == n - 1:
            segments.append(Segment(" ".join(w.text for w in words), words[0].start, words[-1].end,
                                    tuple(words) if with_word_times else ()))
            words = []
    duration = round(t + draw(st.sampled_from((0.0, 0.3, 2.0))), 3)
    return Transcript(segments, duration=duration, source="input.wav", model="test-model",
                      has_word_times=with_word_times)
