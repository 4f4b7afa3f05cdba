"""A boosted phrase is kept only where the model itself nearly hears it.

NeMo's phrase boosting adds a fixed bonus to the phrase's pieces in the greedy TDT search
(whether a piece is written at all stays the model's own decision; only which piece
changes). A bonus large enough to recover a word the noise made the model mishear is
also large enough to write the phrase over other words, and to start it where the
model's pieces then win ("▁wothree"). What tells them apart best of what we measured
(benchmarks/boosting_tune.py) is how far the model's own scores for the phrase's pieces
fall below the pieces it preferred: a misheard phrase tends to lose a nat or two, a
phrase forced on another word several. The separation is partial (engine/vocabulary.py).

So for a boosted greedy transducer job NeMo's search is wrapped: each phrase the boosted
search wrote is re-scored by the un-boosted joint, teacher-forced along the written
pieces (one prediction-network pass and one joint call over the hypothesis, reusing the
encoder output: no second encoder pass). A phrase whose pieces lose at most
`max_deficit` nats in total stays; the transcript is otherwise the plain (un-boosted)
search of the same encoder output, run only for batches the boost changed. Pieces
keep their frames and durations, so NeMo's word times stay ordinary.
"""
from __future__ import annotations

from typing import Any

Span = tuple[int, int]  # [first piece, after the last piece) in a hypothesis
# A piece the model itself would have written loses nothing; the margin only absorbs the
# last digits of a joint re-run in another batch shape.
_CHANGED = 1e-3


def _ints(x: Any) -> list[int]:
    if x is None:
        return []
    return [int(v) for v in (x.tolist() if hasattr(x, "tolist") else x)]


def word_starts(tokenizer: Any, vocab_size: int) -> frozenset[int]:
    """Ids of the pieces that begin a word (SentencePiece's "▁")."""
    pieces = tokenizer.ids_to_tokens(list(range(vocab_size)))
    return frozenset(i for i, p in enumerate(pieces) if str(p).startswith("▁"))


def occurrences(seq: list[int], phrases: list[tuple[int, ...]], starts: frozenset[int]) -> list[Span]:
    """Whole-word places where `seq` spells one of `phrases` (longest first, no overlaps)."""
    found: list[Span] = []
    k = 0
    while k < len(seq):
        hit = 0
        if seq[k] in starts:
            for ids in phrases:
                end = k + len(ids)
                if len(ids) > hit and tuple(seq[k:end]) == ids and (end == len(seq) or seq[end] in starts):
                    hit = len(ids)
        if hit:
            found.append((k, k + hit))
            k += hit
        else:
            k += 1
    return found


class CheckedSearch:
    """Stands in for `model.decoding.decoding` (NeMo's greedy TDT search) of a boosted job."""

    def __init__(self, boosted: Any, plain: Any, phrases: list[tuple[int, ...]], starts: frozenset[int],
                 blank: int, max_deficit: float) -> None:
        self.boosted = boosted
        self.plain = plain
        self.phrases = sorted(set(phrases), key=len, reverse=True)
        self.starts = starts
        self.blank = blank
        self.max_deficit = max_deficit
        self.kept = self.dropped = 0  # phrases written by the boosted search, kept / taken out

    def __getattr__(self, name: str) -> Any:  # everything else (CUDA graphs, confidence...) is NeMo's
        return getattr(self.__dict__["boosted"], name)

    def __call__(self, encoder_output: Any, encoded_lengths: Any,
                 partial_hypotheses: Any = None) -> tuple[list]:
        (hyps,) = self.boosted(encoder_output=encoder_output, encoded_lengths=encoded_lengths,
                               partial_hypotheses=partial_hypotheses)
        kept: dict[int, list[Span]] = {}
        for i, hyp in enumerate(hyps):
            spans = self.kept_phrases(encoder_output[i], hyp)
            if spans is not None:  # the boost changed this hypothesis
                kept[i] = spans
        if kept:
            self._sync_graphs()
            (plain,) = self.plain(encoder_output=encoder_output, encoded_lengths=encoded_lengths,
                                  partial_hypotheses=partial_hypotheses)
            for i, spans in kept.items():
                merge(hyps[i], plain[i], spans, self.starts)
        return (hyps,)

    def kept_phrases(self, encoder_output: Any, hyp: Any) -> list[Span] | None:
        """The phrases of `hyp` that stay: those whose pieces lose at most `max_deficit`
        in total. None when the boost changed nothing in `hyp` (it is then exactly
        what the plain search writes)."""
        seq = _ints(hyp.y_sequence)
        if not seq:
            return None
        loss = self.losses(encoder_output, hyp)
        if max(loss) <= _CHANGED:
            return None
        kept: list[Span] = []
        for a, b in occurrences(seq, self.phrases, self.starts):
            if sum(loss[a:b]) <= self.max_deficit:
                kept.append((a, b))
                self.kept += 1
            else:
                self.dropped += 1
        return kept

    def losses(self, encoder_output: Any, hyp: Any) -> list[float]:
        """Per written piece: the nats by which the un-boosted model scores it below the
        piece it would itself have written there (0 where it wrote it unaided).
        Teacher-forced: the prediction network reads the written pieces, the joint sees
        each piece's own frame."""
        import torch

        seq, frames = _ints(hyp.y_sequence), _ints(hyp.timestamp)
        joint, decoder = self.boosted.joint, self.boosted.decoder
        with torch.inference_mode():
            device = encoder_output.device
            # The prediction network's output before piece k: [SOS(blank), pieces < k].
            labels = torch.tensor([[self.blank] + seq[:-1]], device=device, dtype=torch.long)
            g, *_ = decoder.predict(labels, None, add_sos=False, batch_size=1)
            g = joint.project_prednet(g)[0]  # (U, H)
            f = joint.project_encoder(encoder_output.transpose(0, 1)[frames].unsqueeze(0))[0]  # (U, H)
            logits = joint.joint_after_projection(f.unsqueeze(1), g.unsqueeze(1))[:, 0, 0, : self.blank].float()
            chosen = logits[torch.arange(len(seq), device=device), torch.tensor(seq, device=device)]
            return (logits.max(dim=-1).values - chosen).cpu().tolist()

    def _sync_graphs(self) -> None:
        """The plain search follows the boosted one's CUDA graphs setting (off after a failure)."""
        mine = getattr(getattr(self.boosted, "decoding_computer", None), "allow_cuda_graphs", None)
        theirs = getattr(self.plain, "decoding_computer", None)
        if mine is False and theirs is not None and getattr(theirs, "allow_cuda_graphs", False):
            theirs.allow_cuda_graphs = False
            if hasattr(self.plain, "disable_cuda_graphs"):
                self.plain.disable_cuda_graphs()


def _words(seq: list[int], starts: frozenset[int]) -> list[Span]:
    out: list[Span] = []
    for k, t in enumerate(seq):
        if t in starts or not out:
            out.append((k, k + 1))
        else:
            out[-1] = (out[-1][0], k + 1)
    return out


def merge(hyp: Any, plain: Any, kept: list[Span], starts: frozenset[int]) -> None:
    """`hyp` becomes the plain search's words, with its `kept` phrases in place of the
    plain words they overlap in time (same encoder frames). Everything else the boost
    did goes: a phrase it forced on a word the model heard as something else, a phrase
    it started and the model's own pieces then won ("▁wothree"), a word it split, a
    neighbour it changed through the prediction network's context."""
    import torch

    seq, frames = _ints(hyp.y_sequence), _ints(hyp.timestamp)
    durs = _ints(getattr(hyp, "token_duration", None))
    pseq, pframes = _ints(plain.y_sequence), _ints(plain.timestamp)
    pdurs = _ints(getattr(plain, "token_duration", None))
    keep_durs = len(durs) == len(seq) and len(pdurs) == len(pseq)

    def span_of(fr: list[int], du: list[int], a: int, b: int) -> tuple[int, int]:
        return fr[a], fr[b - 1] + max(du[b - 1] if keep_durs else 1, 1)

    taken = [span_of(frames, durs, a, b) for a, b in kept]
    pieces = [(span_of(frames, durs, a, b)[0], seq[a:b], frames[a:b], durs[a:b]) for a, b in kept]
    for a, b in _words(pseq, starts):
        start, end = span_of(pframes, pdurs, a, b)
        if not any(start < t_end and t_start < end for t_start, t_end in taken):
            pieces.append((start, pseq[a:b], pframes[a:b], pdurs[a:b]))
    pieces.sort(key=lambda p: p[0])
    out_seq = [t for p in pieces for t in p[1]]
    out_frames = [t for p in pieces for t in p[2]]
    like = hyp.y_sequence
    hyp.y_sequence = torch.tensor(out_seq, dtype=like.dtype) if isinstance(like, torch.Tensor) else out_seq
    hyp.timestamp = torch.tensor(out_frames, dtype=torch.long) if isinstance(hyp.timestamp, torch.Tensor) else out_frames
    if keep_durs:
        out_durs = [t for p in pieces for t in p[3]]
        hyp.token_duration = torch.tensor(out_durs, dtype=torch.long) if isinstance(hyp.token_duration, torch.Tensor) \
            else out_durs
