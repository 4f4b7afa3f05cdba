"""Held-out figures of a trained speaker encoder, written into its JSON card.

    python -m tools.train_tiny.speakers_eval --model tests/data/speakers-titanet.nemo
    python -m tools.train_tiny.speakers_eval --model tests/data/speakers-titanet.nemo --seeds 800-827

The second form only scores conversations (seed i of the range has 2 + i % 5 speakers) and
prints how often the count and >= 95 % of the words are right (the README's table); the
card is left alone.

* verification: equal-error rate of cosine scores between 1.5 s windows of sentences by
  speakers never heard in training (new speeds and pitches; one set of trained accents, one
  of accents held out of training);
* identification: each held-out speaker enrolled from one sentence, other sentences named
  by the nearest enrolled speaker (top-1 accuracy among the set);
* conversations: word attribution through the app's own embedding path (store import,
  folder load, `diarize_array` on the array, `assign_speakers`) on synthetic conversations
  of 2, 3, 4 and 6 speakers, the count estimated, the words those spoken (so the figure is
  the diarizer's alone; the tests add the recogniser).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.train_tiny import conversations, synth

WINDOW = int(1.5 * synth.SAMPLE_RATE)


def load(model_path: Path, home: Path):
    """The model loaded the app's way: imported into a store, unpacked, fast folder load."""
    from nemo_desk.engine.loader import load_from_folder
    from nemo_desk.engine.store import ModelStore
    from nemo_desk.locks.fileops import FileOps

    return load_from_folder(ModelStore(home, FileOps()).import_local(model_path), "cpu", source=model_path)


def embed(model, clips: list[np.ndarray]) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(clips), 32):
            group = clips[i : i + 32]
            n = max(len(c) for c in group)
            batch = np.zeros((len(group), n), dtype=np.float32)
            for j, c in enumerate(group):
                batch[j, : len(c)] = c
            _, emb = model.forward(
                input_signal=torch.from_numpy(batch), input_signal_length=torch.tensor([len(c) for c in group])
            )
            out.append(emb.numpy())
    e = np.vstack(out)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def eer(scores: np.ndarray, same: np.ndarray) -> float:
    order = np.argsort(-scores)
    same = same[order]
    fa = np.cumsum(~same) / max((~same).sum(), 1)  # impostors accepted above each threshold
    fr = 1 - np.cumsum(same) / max(same.sum(), 1)  # targets rejected
    i = int(np.argmin(np.abs(fa - fr)))
    return float((fa[i] + fr[i]) / 2)


def speaker_figures(model, seed: int, voices: list[str], n_speakers: int = 40, per: int = 6) -> dict:
    rng = np.random.default_rng(seed)
    speakers = synth.random_speakers(rng, n_speakers, voices)
    banks = synth.clip_banks(speakers)
    clips, who = [], []
    for k, bank in enumerate(banks):
        for _ in range(per):
            audio = synth.compose(synth.random_words(rng, 6), bank, rng, lead_s=(0, 0.1), tail_s=(0, 0.1)).audio
            start = int(rng.integers(0, max(len(audio) - WINDOW, 0) + 1))
            clips.append(audio[start : start + WINDOW])
            who.append(k)
    emb, who_a = embed(model, clips), np.array(who)
    sims = emb @ emb.T
    iu = np.triu_indices(len(who), 1)
    enrol = np.array([np.flatnonzero(who_a == k)[0] for k in range(n_speakers)])
    tests = np.setdiff1d(np.arange(len(who)), enrol)
    named = np.argmax(sims[np.ix_(tests, enrol)], axis=1)
    return {
        "speakers": n_speakers,
        "windows_per_speaker": per,
        "window_s": 1.5,
        "eer": round(eer(sims[iu], (who_a[:, None] == who_a[None, :])[iu]), 4),
        "identification_top1": round(float(np.mean(named == who_a[tests])), 4),
    }


def conversation_figures(loaded, cases: list[tuple[int, int]], seconds: float) -> list[dict]:
    from nemo_desk.core.transcript import Segment, Transcript, Word
    from nemo_desk.engine.diarizer import diarize_array
    from nemo_desk.engine.speakers import assign_speakers

    out = []
    for n, seed in cases:
        conv = conversations.conversation(seed, seconds, n)
        words = tuple(Word(w.word, w.start, w.end) for w in conv.words)
        t = Transcript([Segment(" ".join(w.text for w in words), 0.0, conv.duration, words)], conv.duration)
        t0 = time.time()
        result = assign_speakers(t, diarize_array(loaded, conv.audio))
        took = time.time() - t0
        a = conversations.score(conv, [(w.start, w.end, w.speaker) for w in result.words])
        given = assign_speakers(t, diarize_array(loaded, conv.audio, count=n))
        g = conversations.score(conv, [(w.start, w.end, w.speaker) for w in given.words])
        out.append(
            {
                "speakers": n,
                "seed": seed,
                "seconds": round(conv.duration, 1),
                "turns": len(conv.turns),
                "words": len(conv.words),
                "speakers_found": a.speakers_found,
                "word_accuracy": round(a.accuracy, 4),
                "word_accuracy_count_given": round(g.accuracy, 4),
                "diarize_s": round(took, 1),
            }
        )
        print(json.dumps(out[-1]), flush=True)
    return out


def summary(rows: list[dict], bar: float = 0.95) -> str:
    count = sum(r["speakers_found"] == r["speakers"] for r in rows)
    words = sum(r["word_accuracy"] >= bar for r in rows)
    both = sum(r["speakers_found"] == r["speakers"] and r["word_accuracy"] >= bar for r in rows)
    mean = float(np.mean([r["word_accuracy"] for r in rows]))
    return (f"{len(rows)} conversations: count right {count}, >= {bar:.2f} of words right {words}, "
            f"both {both}, mean {mean:.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--no-card", action="store_true", help="print only")
    ap.add_argument("--seeds", metavar="FIRST-LAST", help="only score these conversations (the card is left alone)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    if args.seeds:
        first, last = (int(x) for x in args.seeds.split("-"))
        with tempfile.TemporaryDirectory() as home:
            rows = conversation_figures(load(args.model, Path(home)),
                                        [(2 + i % 5, seed) for i, seed in enumerate(range(first, last + 1))],
                                        args.seconds)
        print(summary(rows), flush=True)
        return 0
    with tempfile.TemporaryDirectory() as home:
        loaded = load(args.model, Path(home))
        model = loaded.model
        figures = {
            "held_out_trained_accents": speaker_figures(model, 9001, synth.TRAIN_VOICES),
            "held_out_unseen_accents": speaker_figures(model, 9002, synth.UNSEEN_VOICES),
            "conversations": conversation_figures(
                loaded, [(2, 101), (3, 102), (4, 103), (6, 104), (5, 301), (3, 302), (2, 303)], args.seconds
            ),
            "how": (
                "speakers never heard in training (new accent/variant/speed/pitch draws); windows of 1.5 s; "
                "conversations: tools/train_tiny/conversations.py, the app's embedding path with the count "
                "estimated (and given), scored on the spoken words outside overlaps after the best label mapping"
            ),
        }
    print(json.dumps(figures, indent=2), flush=True)
    if not args.no_card:
        card_path = args.model.with_suffix(".json")
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card["held_out"] = figures
        card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
