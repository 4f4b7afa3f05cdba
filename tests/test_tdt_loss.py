"""The CPU TDT loss used to train tests/data/digits-tdt.nemo (tools/train_tiny/tdt_loss.py).

Checked three ways on tiny random lattices: against an explicit enumeration of every
alignment path, against NeMo's own pure-PyTorch reference (`TDTLossPytorch`, run on the
CPU by making its `.cuda()` calls a no-op), and its gradients with gradcheck in float64.
"""
from __future__ import annotations

import math

import pytest
import torch

from tools.train_tiny.tdt_loss import TDTLossCPU, install, tdt_log_likelihood


def brute_force_logp(label_logp, duration_logp, labels, T, U, blank, durations, allowed=None):
    """log-sum over explicitly enumerated TDT paths for one utterance (float64 lists).

    A path is a sequence of (token, duration) arcs from (t=0, u=0). A label arc emits
    labels[u] and moves u+1; a blank arc needs duration > 0. Every arc must land on a
    frame < T, except the last one: a blank landing exactly on T once all U labels are out.
    `allowed(t, u)`, if given, says whether label u may be emitted at frame t.
    """
    lp = label_logp.tolist()
    dp = duration_logp.tolist()
    paths: list[float] = []

    def walk(t: int, u: int, acc: float) -> None:
        for n, d in enumerate(durations):
            if d > 0:  # blank
                score = acc + lp[t][u][blank] + dp[t][u][n]
                if t + d < T:
                    walk(t + d, u, score)
                elif t + d == T and u == U:
                    paths.append(score)
            if u < U and t + d < T and (allowed is None or allowed(t, u)):  # label
                walk(t + d, u + 1, acc + lp[t][u][labels[u]] + dp[t][u][n])

    walk(0, 0, 0.0)
    top = max(paths)
    return top + math.log(sum(math.exp(p - top) for p in paths)), len(paths)


CASES = [  # (T, U, V (non-blank tokens), durations)
    (1, 0, 3, [0, 1]),
    (3, 1, 3, [0, 1, 2]),
    (4, 2, 4, [0, 1, 2]),
    (5, 3, 3, [0, 1, 2, 3, 4]),
    (4, 2, 3, [1, 2]),  # no zero duration: one label per frame at most
    (6, 4, 5, [0, 1, 2, 3, 4]),
]


@pytest.mark.parametrize("T,U,V,durations", CASES)
def test_matches_brute_force_path_sum(T, U, V, durations):
    g = torch.Generator().manual_seed(T * 100 + U * 10 + V)
    blank = V
    acts = torch.randn(1, T, U + 1, V + 1 + len(durations), generator=g, dtype=torch.float64) * 2
    labels = torch.randint(0, V, (1, max(U, 1)), generator=g)
    label_logp = torch.log_softmax(acts[..., : V + 1], -1)
    duration_logp = torch.log_softmax(acts[..., V + 1 :], -1)
    ours = tdt_log_likelihood(label_logp, duration_logp, labels, torch.tensor([T]), torch.tensor([U]),
                              blank, durations)
    expected, n_paths = brute_force_logp(label_logp[0], duration_logp[0], labels[0].tolist(), T, U,
                                         blank, durations)
    assert n_paths > 0
    assert ours.item() == pytest.approx(expected, abs=1e-9)


def test_emission_windows_keep_only_the_paths_that_emit_each_label_inside_its_window():
    g = torch.Generator().manual_seed(5)
    T, U, V, durations = 7, 3, 4, [0, 1, 2, 3]
    acts = torch.randn(1, T, U + 1, V + 1 + len(durations), generator=g, dtype=torch.float64)
    labels = torch.randint(0, V, (1, U), generator=g)
    first, last = torch.tensor([[0, 2, 2]]), torch.tensor([[1, 4, 6]])
    label_logp = torch.log_softmax(acts[..., : V + 1], -1)
    duration_logp = torch.log_softmax(acts[..., V + 1 :], -1)
    ours = tdt_log_likelihood(label_logp, duration_logp, labels, torch.tensor([T]), torch.tensor([U]),
                              V, durations, emit_window=(first, last))
    expected, n_paths = brute_force_logp(label_logp[0], duration_logp[0], labels[0].tolist(), T, U, V, durations,
                                         allowed=lambda t, u: int(first[0, u]) <= t <= int(last[0, u]))
    unconstrained, n_all = brute_force_logp(label_logp[0], duration_logp[0], labels[0].tolist(), T, U, V, durations)
    assert 0 < n_paths < n_all
    assert ours.item() == pytest.approx(expected, abs=1e-9)
    assert ours.item() < unconstrained


def test_batch_with_padding_matches_each_utterance_alone():
    """Shorter utterances in a padded batch get exactly their own loss."""
    g = torch.Generator().manual_seed(7)
    V, durations = 5, [0, 1, 2, 3, 4]
    lens = [(7, 3), (4, 1), (6, 0), (2, 2)]
    Tm, Um = max(t for t, _ in lens), max(u for _, u in lens)
    acts = torch.randn(len(lens), Tm, Um + 1, V + 1 + len(durations), generator=g, dtype=torch.float64)
    labels = torch.randint(0, V, (len(lens), Um), generator=g)
    loss = TDTLossCPU(blank=V, durations=durations, sigma=0.05)
    batch = loss(acts, labels, torch.tensor([t for t, _ in lens]), torch.tensor([u for _, u in lens]))
    for i, (t, u) in enumerate(lens):
        alone = loss(acts[i : i + 1, :t, : u + 1], labels[i : i + 1, : max(u, 1)], torch.tensor([t]), torch.tensor([u]))
        assert batch[i].item() == pytest.approx(alone.item(), abs=1e-9)


def test_matches_nemo_reference_on_cpu(monkeypatch):
    """NeMo's own TDTLossPytorch (pure Python loops) on the same inputs, values and gradients."""
    from nemo.collections.asr.losses.rnnt_pytorch import TDTLossPytorch

    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self)  # it only moves tensors
    g = torch.Generator().manual_seed(3)
    V, durations, sigma = 4, [0, 1, 2, 3], 0.05
    act_lens, label_lens = torch.tensor([5, 3]), torch.tensor([3, 2])
    acts = torch.randn(2, 5, 4, V + 1 + len(durations), generator=g)
    labels = torch.randint(0, V, (2, 3), generator=g)

    ref_in = acts.clone().requires_grad_(True)
    ref = TDTLossPytorch(blank=V, durations=durations, reduction="sum", sigma=sigma)
    ref_loss = ref(acts=ref_in, labels=labels, act_lens=act_lens, label_lens=label_lens)
    ref_loss.backward()

    our_in = acts.clone().requires_grad_(True)
    ours = TDTLossCPU(blank=V, durations=durations, sigma=sigma, reduction="sum")
    our_loss = ours(our_in, labels, act_lens, label_lens)
    our_loss.backward()

    assert our_loss.item() == pytest.approx(ref_loss.item(), rel=1e-5)
    torch.testing.assert_close(our_in.grad, ref_in.grad, rtol=1e-4, atol=1e-5)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(11)
    V, durations = 3, [0, 1, 2]
    acts = torch.randn(2, 4, 3, V + 1 + len(durations), generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, V, (2, 2), generator=g)
    loss = TDTLossCPU(blank=V, durations=durations, sigma=0.02, reduction="sum")
    assert torch.autograd.gradcheck(lambda a: loss(a, labels, torch.tensor([4, 3]), torch.tensor([2, 1])),
                                    (acts,), eps=1e-6, atol=1e-6)


def test_installs_into_a_nemo_tdt_model(tiny_tdt):
    """Plugged in as model.loss._loss, NeMo's RNNTLoss wrapper drives it (reduction and all)."""
    from nemo.collections.asr.models import ASRModel

    model = ASRModel.restore_from(str(tiny_tdt), map_location="cpu")
    assert not model.joint.fuse_loss_wer  # the config says so (joint.fuse_loss_wer: False)
    loss = install(model)
    assert loss.durations == [0, 1, 2, 3, 4] and loss.blank == model.tokenizer.vocab_size
    B, T, U = 2, 6, 3
    joint_out = torch.randn(B, T, U + 1, model.tokenizer.vocab_size + 1 + 5, requires_grad=True)
    value = model.loss(log_probs=joint_out, targets=torch.randint(0, 10, (B, U)),
                       input_lengths=torch.tensor([6, 4]), target_lengths=torch.tensor([3, 2]))
    value.backward()
    assert value.ndim == 0 and torch.isfinite(value) and torch.isfinite(joint_out.grad).all()
