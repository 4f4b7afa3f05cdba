"""engine/boost_check.py without a model: finding a phrase's pieces and putting the plain
search's words back in their place."""
from __future__ import annotations

from types import SimpleNamespace

import torch

from nemo_desk.engine.boost_check import merge, occurrences

# Pieces: 1 "▁" (word start), 2 "wo", 3 "r", 4 "l", 5 "d", 6 "▁th", 7 "e", 8 "▁two", 9 "▁o"
STARTS = frozenset({1, 6, 8, 9})
WORLD = (1, 2, 3, 4, 5)


def test_a_phrase_counts_only_as_whole_words():
    seq = [6, 7, *WORLD, 8, *WORLD[:3], 6, *WORLD, 2]
    #      the  world     two  "▁wor" the  "worldwo"
    assert occurrences(seq, [WORLD], STARTS) == [(2, 7)]
    assert occurrences([], [WORLD], STARTS) == []
    assert occurrences(list(WORLD), [WORLD, WORLD[:1]], STARTS) == [(0, 5)]  # the longest phrase wins


def _hyp(seq, frames, durs):
    return SimpleNamespace(y_sequence=torch.tensor(seq), timestamp=torch.tensor(frames),
                           token_duration=torch.tensor(durs))


def test_the_plain_words_go_in_wherever_no_kept_phrase_is():
    #               the      world(dropped)  ▁o (split "okay")  two
    boosted = _hyp([6, 7, *WORLD, 9, 8], [1, 2, 5, 6, 6, 7, 8, 10, 12], [1, 1, 1, 0, 1, 1, 2, 1, 1])
    #              the     the    okay  two
    plain = _hyp([6, 7, 6, 7, 9, 3, 8], [1, 2, 5, 7, 10, 11, 12], [1, 1, 2, 1, 1, 1, 1])
    merge(boosted, plain, [], STARTS)
    assert boosted.y_sequence.tolist() == plain.y_sequence.tolist()
    assert boosted.timestamp.tolist() == plain.timestamp.tolist()
    assert boosted.token_duration.tolist() == plain.token_duration.tolist()


def test_a_kept_phrase_stays_with_its_frames_and_the_rest_agrees_with_the_plain_search():
    boosted = _hyp([6, 7, *WORLD, 8], [1, 2, 5, 6, 6, 7, 8, 12], [1, 1, 1, 0, 1, 1, 2, 1])
    plain = _hyp([6, 7, 6, 7, 8], [1, 2, 5, 7, 12], [1, 1, 2, 1, 1])
    merge(boosted, plain, [(2, 7)], STARTS)
    assert boosted.y_sequence.tolist() == [6, 7, *WORLD, 8]
    assert boosted.timestamp.tolist() == [1, 2, 5, 6, 6, 7, 8, 12]
