"""engine/boost_check.py without a model: finding a phrase's pieces and putting the plain
search's words back in their place."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nemo_desk.engine.boost_check import CheckedSearch, merge, occurrences

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


@pytest.mark.slow
def test_the_re_scoring_reproduces_the_greedy_search_of_the_trained_model(tmp_path):
    """Teacher-forced along what the plain search wrote, every piece is the model's own
    first choice (loss 0); so a loss above 0 can only come from the boost."""
    from nemo_desk.engine.loader import load_from_folder
    from nemo_desk.engine.unpack import unpack_nemo
    from nemo_desk.locks.fileops import FileOps
    from tests.support import truth
    from tools.train_tiny import synth

    unpack_nemo(truth.MODEL, tmp_path / "digits", FileOps())
    model = load_from_folder(tmp_path / "digits", "cpu").model
    utts = synth.held_out_set(5, 3, truth.TRAIN_VOICES, n_speakers=3)
    longest = max(len(u.audio) for u in utts)
    audio = torch.tensor(np.stack([np.pad(u.audio, (0, longest - len(u.audio))) for u in utts]))
    with torch.inference_mode():
        encoded, lengths = model.forward(input_signal=audio, input_signal_length=torch.tensor([audio.shape[1]] * 3))
        (hyps,) = model.decoding.decoding(encoder_output=encoded, encoded_lengths=lengths)
    infer = model.decoding.decoding
    search = CheckedSearch(infer, infer, [], frozenset(), int(model.decoder.blank_idx), 1.0)
    written = 0
    for i, hyp in enumerate(hyps):
        loss = search.losses(encoded[i], hyp)
        written += len(loss)
        assert max(loss, default=0.0) < 1e-3, loss
    assert written >= 9  # the model wrote words: the check had pieces to re-score
