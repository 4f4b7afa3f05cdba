"""engine/boost_check.py without a model: finding a phrase's pieces and putting the plain
search's words back in their place."""
from __future__ import annotations

from types import SimpleNamespace

import torch

from nemo_desk.engine.boost_check import occurrences, splice

# Pieces: 1 "▁" (word start), 2 "wo", 3 "r", 4 "l", 5 "d", 6 "▁th", 7 "e", 8 "▁two"
STARTS = frozenset({1, 6, 8})
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


def test_a_dropped_phrase_gets_the_plain_words_of_its_place_with_their_frames():
    #              the      world(boosted)     two
    boosted = _hyp([6, 7, *WORLD, 8], [1, 2, 5, 6, 6, 7, 8, 12], [1, 1, 1, 0, 1, 1, 2, 1])
    #              the      the          two
    plain = _hyp([6, 7, 6, 7, 8], [1, 2, 5, 7, 12], [1, 1, 2, 1, 1])
    splice(boosted, plain, [(2, 7)], STARTS)
    assert boosted.y_sequence.tolist() == [6, 7, 6, 7, 8]
    assert boosted.timestamp.tolist() == [1, 2, 5, 7, 12]
    assert boosted.token_duration.tolist() == [1, 1, 2, 1, 1]


def test_a_dropped_phrase_the_plain_search_heard_nothing_at_is_just_removed():
    boosted = _hyp([*WORLD, 8], [3, 4, 5, 6, 7, 12], [1, 1, 1, 1, 1, 1])
    plain = _hyp([8], [12], [1])
    splice(boosted, plain, [(0, 5)], STARTS)
    assert boosted.y_sequence.tolist() == [8] and boosted.timestamp.tolist() == [12]
