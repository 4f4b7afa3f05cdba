"""A CPU TDT (token-and-duration transducer) loss in vectorised PyTorch.

NeMo 3.0 computes the TDT loss only with Numba on CUDA ("TDT is not yet implemented for
non CUDA computation"), and its pure-PyTorch reference (`TDTLossPytorch`) calls `.cuda()`
and loops over every (b, t, u) cell in Python. This module is a drop-in replacement for
`model.loss._loss`: same inputs (raw joint outputs: vocabulary + blank logits, then one
logit per duration), same maths as the reference (Equation 7 of
https://arxiv.org/abs/2304.06795, with logit under-normalisation `sigma`), gradients by
autograd.

Vectorisation: the forward variable alpha is computed one frame t at a time, all
utterances and all label positions u at once. Arcs from earlier frames (durations > 0)
give a row A[t, :]; arcs inside the frame (duration 0, label emissions only) chain along
u, which is a log-space prefix sum:

    alpha[t, u] = C[u] + logcumsumexp_k (A[t, k] - C[k]),   C[u] = sum_{j<u} w[t, j]

where w[t, j] is the log-probability of emitting label j+1 with duration 0 at (t, j).

Optional, not part of NeMo: `emit_window` restricts where each label may be emitted
(used with known word times so that emission times match the words).

Not implemented: `omega` (NeMo's sampled mixing-in of the plain RNN-T loss) and
FastEmit; both are training refinements, not part of the TDT objective.
"""
from __future__ import annotations

from typing import Sequence

import torch

# A finite "minus infinity": keeps logsumexp gradients free of NaN (exp(-inf - -inf))
# for cells no path reaches (the reference uses -1000 for the same reason).
NEG = -1.0e4


def tdt_log_likelihood(
    label_logp: torch.Tensor,
    duration_logp: torch.Tensor,
    labels: torch.Tensor,
    act_lens: torch.Tensor,
    label_lens: torch.Tensor,
    blank: int,
    durations: Sequence[int],
    emit_window: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """log P(labels | acts) summed over all TDT alignments, per utterance: shape (B,).

    label_logp: (B, T, U+1, V+1) normalised log-probabilities of tokens (blank included);
    duration_logp: (B, T, U+1, D) normalised log-probabilities of the D durations;
    labels: (B, >=U) token ids; act_lens, label_lens: (B,) valid frames and labels.
    emit_window: optional (first, last), each (B, >=U) frame indices: label u may only be
    emitted at frames first[b, u] <= t <= last[b, u] (alignment-constrained training:
    pins the model's emissions, hence its word times, to where the words really are).
    """
    B, T, U1, _ = label_logp.shape
    durations = [int(d) for d in durations]
    dtype = label_logp.dtype
    blank_lp = label_logp[..., blank]  # (B, T, U1)
    if U1 > 1:
        idx = labels[:, None, : U1 - 1, None].long().expand(B, T, U1 - 1, 1)
        emit_lp = label_logp[:, :, : U1 - 1, :].gather(-1, idx).squeeze(-1)  # (B, T, U1-1)
        if emit_window is not None:
            first, last = (w[:, None, : U1 - 1].to(emit_lp.device) for w in emit_window)
            t_idx = torch.arange(T, device=emit_lp.device)[None, :, None]
            allowed = (t_idx >= first) & (t_idx <= last)
            emit_lp = emit_lp.masked_fill(~allowed, NEG)
    else:
        emit_lp = label_logp.new_zeros(B, T, 0)
    # Arc log-probs per frame, (D, B, U1) for blanks and (D, B, U1-1) for labels: one
    # unbind per tensor (one gradient op) instead of a slice per use in the loop.
    blank_arc = blank_lp.unsqueeze(-1) + duration_logp  # (B, T, U1, D)
    emit_arc = emit_lp.unsqueeze(-1) + duration_logp[:, :, : U1 - 1, :]  # (B, T, U1-1, D)
    blank_t = blank_arc.permute(1, 3, 0, 2).unbind(0)
    emit_t = emit_arc.permute(1, 3, 0, 2).unbind(0)
    zero_n = durations.index(0) if 0 in durations else None

    neg_col = label_logp.new_full((B, 1), NEG)
    start_row = torch.cat([label_logp.new_zeros(B, 1), label_logp.new_full((B, U1 - 1), NEG)], dim=1)
    zero_col = label_logp.new_zeros(B, 1)
    alphas: list[torch.Tensor] = []
    for t in range(T):
        terms = [start_row] if t == 0 else []
        for n, d in enumerate(durations):
            s = t - d
            if d == 0 or s < 0:
                continue
            terms.append(alphas[s] + blank_t[s][n])  # blank: stays on u
            if U1 > 1:  # label: u-1 -> u
                terms.append(torch.cat([neg_col, alphas[s][:, :-1] + emit_t[s][n]], dim=1))
        a = torch.logsumexp(torch.stack(terms), dim=0) if len(terms) > 1 else terms[0]
        if zero_n is not None and U1 > 1:
            c = torch.cat([zero_col, torch.cumsum(emit_t[t][zero_n], dim=1)], dim=1)  # (B, U1)
            a = c + torch.logcumsumexp(a - c, dim=1)
        alphas.append(a)
    alpha = torch.stack(alphas, dim=1)  # (B, T, U1)

    # Termination: a final blank that lands exactly on frame act_len, from label_len.
    b_idx = torch.arange(B, device=alpha.device)
    u_end = label_lens.long()
    finals = []
    for n, d in enumerate(durations):
        if d == 0:
            continue
        s = act_lens.long() - d
        ok = s >= 0
        sc = s.clamp(min=0)
        val = alpha[b_idx, sc, u_end] + blank_arc[b_idx, sc, u_end, n]
        finals.append(torch.where(ok, val, torch.full_like(val, NEG)))
    return torch.logsumexp(torch.stack(finals), dim=0).to(dtype)


class TDTLossCPU(torch.nn.Module):
    """Stands in for NeMo's `TDTLossNumba` as `model.loss._loss` (any device, autograd).

    `forward(acts, labels, act_lens, label_lens)` takes the joint's raw outputs
    (B, T, U+1, V+1+D). `reduction` None/'none' gives per-utterance losses (what
    `RNNTLoss` asks for before reducing itself); 'sum', 'mean' (per target token, then
    averaged), 'mean_batch' and 'mean_volume' as in NeMo.
    """

    def __init__(self, blank: int, durations: Sequence[int], sigma: float = 0.0, reduction: str | None = None):
        super().__init__()
        self.blank = int(blank)
        self.durations = [int(d) for d in durations]
        self.sigma = float(sigma)
        self.reduction = reduction

    def forward(self, acts: torch.Tensor, labels: torch.Tensor, act_lens: torch.Tensor,
                label_lens: torch.Tensor,
                emit_window: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        n_dur = len(self.durations)
        label_logp = torch.log_softmax(acts[..., :-n_dur], dim=-1) - self.sigma
        duration_logp = torch.log_softmax(acts[..., -n_dur:], dim=-1)
        losses = -tdt_log_likelihood(label_logp, duration_logp, labels, act_lens, label_lens,
                                     self.blank, self.durations, emit_window)
        if self.reduction in (None, "none"):
            return losses
        if self.reduction == "sum":
            return losses.sum()
        if self.reduction == "mean":
            return (losses / label_lens.clamp(min=1).to(losses.dtype)).mean()
        if self.reduction == "mean_batch":
            return losses.mean()
        if self.reduction == "mean_volume":
            return losses.sum() / label_lens.sum().clamp(min=1)
        raise ValueError(f"unknown reduction {self.reduction!r}")


def install(model) -> TDTLossCPU:
    """Swap the CPU loss into a NeMo TDT model (`model.loss._loss`); returns it.

    Blank id, durations and sigma are read from the model so they cannot disagree with
    its joint. The joint must not fuse loss and WER (`fuse_loss_wer: False`).
    """
    if getattr(model.joint, "fuse_loss_wer", False):
        raise ValueError("the joint fuses loss and WER; set joint.fuse_loss_wer = False")
    old = model.loss._loss
    durations = list(getattr(old, "durations", None) or model.cfg.model_defaults.tdt_durations)
    loss = TDTLossCPU(blank=model.loss._blank, durations=durations, sigma=float(getattr(old, "sigma", 0.0)))
    model.loss._loss = loss
    return loss
