"""Train the tiny English digits TDT model used by the ground-truth tests.

    python -m tools.train_tiny --out tests/data/digits-tdt.nemo
    python tools/train_tiny/train.py --out tests/data/digits-tdt.nemo

Steps: synthesise seeded training speech with espeak-ng (tools/train_tiny/synth.py),
build a Parakeet-style FastConformer-TDT model (EncDecRNNTBPEModel, about 1.35 M
parameters), train it on the CPU with a vectorised PyTorch TDT loss
(tools/train_tiny/tdt_loss.py: NeMo 3.0 has none for the CPU), evaluate WER and word
times on held-out speech (trained voices, and separately voices never heard), and write
`<out>.nemo` plus a JSON card `<out>.json` with the recipe and the metrics.

Word times: the synthetic speech has exact word times, and training restricts each
token's emission to its word's true span (`--no-align-words` turns that off). Without
it the model learned to emit about 150 ms before the words start (its attention sees
ahead), which put word start times outside the tests' tolerance.

CPU only, 2 threads; about 5 minutes of training on a quiet 2-core machine, several
times that when other jobs share the cores. Seeded: the same arguments on the same
machine give bit-identical data and weights. CI never runs this; the tests use the
committed model (tests/test_trained_model.py).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `tools.train_tiny` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.train_tiny import metrics, synth  # noqa: E402

DURATIONS = [0, 1, 2, 3, 4]
FRAME_S = 0.08  # encoder frame: 10 ms hop x 8 subsampling
NO_LIMIT = 1_000_000  # emission window "anywhere" (utterances without word times)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- data ------------------------------------------------------------------------------------
def make_training_data(seed: int, n_speakers: int, utts_per_speaker: int, phrases_per_speaker: int,
                       n_long: int) -> tuple[list[synth.Utterance], dict]:
    rng = np.random.default_rng(seed)
    speakers = synth.random_speakers(rng, n_speakers, synth.TRAIN_VOICES)
    banks = synth.clip_banks(speakers)
    composed: list[list[synth.Utterance]] = []
    data: list[synth.Utterance] = []
    for sp, bank in zip(speakers, banks):
        mine = []
        for _ in range(utts_per_speaker):
            n = int(rng.integers(1, 9))
            mine.append(synth.compose(synth.random_words(rng, n), bank, rng, speaker=sp.describe()))
        composed.append(mine)
        data += mine
    # Whole phrases spoken by espeak-ng in one go (natural joins; no word times needed).
    phrase_jobs = []
    for sp in speakers:
        for _ in range(phrases_per_speaker):
            phrase_jobs.append((sp, synth.random_words(rng, int(rng.integers(2, 9)))))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        audios = list(pool.map(lambda j: synth.trim(synth.espeak(" ".join(j[1]), j[0])), phrase_jobs))
    for (sp, words), audio in zip(phrase_jobs, audios):
        lead = np.zeros(int(rng.uniform(0.05, 0.35) * synth.SAMPLE_RATE), np.float32)
        tail = np.zeros(int(rng.uniform(0.05, 0.35) * synth.SAMPLE_RATE), np.float32)
        data.append(synth.Utterance(np.concatenate([lead, audio, tail]), " ".join(words), [], sp.describe()))
    # Long examples (8-25 s): several utterances of one speaker with pauses, so the model
    # also works on the up-to-60-s pieces the app gives it.
    for _ in range(n_long):
        k = int(rng.integers(n_speakers))
        picks = [composed[k][int(i)] for i in rng.choice(len(composed[k]), int(rng.integers(3, 7)), replace=False)]
        pauses = [float(rng.uniform(0.4, 1.5)) for _ in picks[1:]]
        data.append(synth.join(picks, pauses))
    recipe = {
        "speakers": n_speakers, "composed_utterances": n_speakers * utts_per_speaker,
        "phrase_utterances": len(phrase_jobs), "long_utterances": n_long,
        "hours": round(sum(u.duration for u in data) / 3600, 3),
    }
    return data, recipe


# -- model -----------------------------------------------------------------------------------
def tokenizer_text(seed: int) -> str:
    rng = np.random.default_rng(seed)
    lines = [" ".join(synth.VOCABULARY)] * 20
    lines += [" ".join(synth.random_words(rng, int(rng.integers(3, 10)))) for _ in range(400)]
    return "\n".join(lines) + "\n"


def build_model(work: Path, seed: int, vocab_size: int = 64, d_model: int = 128, n_layers: int = 3,
                n_heads: int = 4, hidden: int = 96, conv_channels: int = 32, ff_expansion: int = 4):
    import torch
    from omegaconf import OmegaConf
    from nemo.collections.asr.models import EncDecRNNTBPEModel
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    tok = work / "tokenizer"
    tok.mkdir(parents=True, exist_ok=True)
    (tok / "text.txt").write_text(tokenizer_text(seed), encoding="utf-8")
    create_spt_model(str(tok / "text.txt"), vocab_size=vocab_size, sample_size=-1, do_lower_case=True,
                     tokenizer_type="bpe", output_dir=str(tok))
    cfg = OmegaConf.create({
        "sample_rate": 16000,
        "model_defaults": {"enc_hidden": d_model, "pred_hidden": hidden, "joint_hidden": hidden,
                           "tdt_durations": DURATIONS, "num_tdt_durations": len(DURATIONS)},
        "tokenizer": {"dir": str(tok), "type": "bpe"},
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "sample_rate": 16000, "normalize": "per_feature", "window_size": 0.025,
            "window_stride": 0.01, "window": "hann", "features": 80, "n_fft": 512,
            "log": True, "frame_splicing": 1, "dither": 1e-5, "pad_to": 0, "pad_value": 0.0,
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConformerEncoder",
            "feat_in": 80, "feat_out": -1, "n_layers": n_layers, "d_model": d_model,
            "subsampling": "dw_striding", "subsampling_factor": 8, "subsampling_conv_channels": conv_channels,
            "causal_downsampling": False, "ff_expansion_factor": ff_expansion, "self_attention_model": "rel_pos",
            "n_heads": n_heads, "att_context_size": [-1, -1], "xscaling": True, "untie_biases": True,
            "pos_emb_max_len": 5000, "conv_kernel_size": 9, "conv_norm_type": "batch_norm",
            "dropout": 0.0, "dropout_pre_encoder": 0.0, "dropout_emb": 0.0, "dropout_att": 0.0,
        },
        "decoder": {
            "_target_": "nemo.collections.asr.modules.RNNTDecoder",
            "normalization_mode": None, "random_state_sampling": False, "blank_as_pad": True,
            "prednet": {"pred_hidden": hidden, "pred_rnn_layers": 1, "t_max": None, "dropout": 0.0},
        },
        "joint": {
            "_target_": "nemo.collections.asr.modules.RNNTJoint",
            "log_softmax": None, "preserve_memory": False, "fuse_loss_wer": False,
            "fused_batch_size": 4, "num_extra_outputs": len(DURATIONS),
            "jointnet": {"joint_hidden": hidden, "activation": "relu", "dropout": 0.0},
        },
        "decoding": {
            "strategy": "greedy_batch", "model_type": "tdt", "durations": DURATIONS,
            "greedy": {"max_symbols": 10},
        },
        # Trained with tools/train_tiny/tdt_loss.py (same objective; omega not used).
        "loss": {"loss_name": "tdt", "tdt_kwargs": {"durations": DURATIONS, "sigma": 0.02, "omega": 0.0}},
        "validation_ds": {"manifest_filepath": None, "sample_rate": 16000, "batch_size": 2, "shuffle": False},
        "optim": None,
    })
    torch.manual_seed(seed)
    return EncDecRNNTBPEModel(cfg=cfg)


# -- training --------------------------------------------------------------------------------
def make_batches(durations: np.ndarray, rng: np.random.Generator, max_batch_s: float, max_batch: int) -> list[list[int]]:
    """Similar lengths together (less padding); order of batches shuffled."""
    noisy = durations * rng.uniform(0.9, 1.1, len(durations))
    order = np.argsort(noisy)
    batches, cur, longest = [], [], 0.0
    for i in order:
        d = float(durations[i])
        if cur and (max(longest, d) * (len(cur) + 1) > max_batch_s or len(cur) >= max_batch):
            batches.append(cur)
            cur, longest = [], 0.0
        cur.append(int(i))
        longest = max(longest, d)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def emission_windows(model, utt: synth.Utterance, n_tokens: int) -> tuple[list[int], list[int]]:
    """Per token, the encoder frames where it may be emitted: inside its word's true span.

    The first allowed frame is the one nearest the word's start, the last one frame past
    its end. Without word times (or if the words tokenise differently one by one than as
    a sentence), anywhere.
    """
    anywhere = [0] * n_tokens, [NO_LIMIT] * n_tokens
    if not utt.words:
        return anywhere
    first, last = [], []
    for w in utt.words:
        k = len(model.tokenizer.text_to_ids(w.word))
        first += [int(round(w.start / FRAME_S))] * k
        last += [int(math.ceil(w.end / FRAME_S)) + 1] * k
    return (first, last) if len(first) == n_tokens else anywhere


def collate(model, items: list[synth.Utterance], rng: np.random.Generator, augment: bool,
            align_words: bool = True):
    import torch

    n = max(len(u.audio) for u in items)
    sig = np.zeros((len(items), n), np.float32)
    for k, u in enumerate(items):
        x = u.audio
        if augment:
            x = x * float(rng.uniform(0.3, 1.0))
            if rng.random() < 0.5:  # steady noise 25-50 dB below the speech
                rms = float(np.sqrt(np.mean(x**2))) + 1e-8
                x = x + rng.normal(0, rms * 10 ** (-rng.uniform(25, 50) / 20), len(x)).astype(np.float32)
        sig[k, : len(x)] = x
    ids = [model.tokenizer.text_to_ids(u.text) for u in items]
    tl = max(1, max(len(i) for i in ids))
    tr = np.zeros((len(items), tl), np.int64)
    for k, i in enumerate(ids):
        tr[k, : len(i)] = i
    first = np.zeros((len(items), tl), np.int64)
    last = np.full((len(items), tl), NO_LIMIT, np.int64)
    if align_words:
        for k, (u, i) in enumerate(zip(items, ids)):
            lo, hi = emission_windows(model, u, len(i))
            first[k, : len(i)] = lo
            last[k, : len(i)] = hi
    return (torch.from_numpy(sig), torch.tensor([len(u.audio) for u in items]),
            torch.from_numpy(tr), torch.tensor([len(i) for i in ids]),
            (torch.from_numpy(first), torch.from_numpy(last)))


def train(model, data: list[synth.Utterance], seed: int, epochs: int, lr: float, max_minutes: float,
          max_batch_s: float, max_batch: int, align_words: bool = True, on_epoch=None) -> dict:
    import torch

    from tools.train_tiny.tdt_loss import install

    loss_fn = install(model)
    # Called directly (not through model.loss) to pass the emission windows; reduced per
    # target token, so long utterances do not dominate.
    loss_fn.reduction = "mean_volume"
    rng = np.random.default_rng(seed + 1)
    durations = np.array([u.duration for u in data])
    plan = [make_batches(durations, rng, max_batch_s, max_batch) for _ in range(epochs)]
    total_steps = sum(len(p) for p in plan)
    warmup = min(300, total_steps // 10)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=1e-3)

    def lr_at(step: int) -> float:
        if step < warmup:
            return lr * (step + 1) / warmup
        p = (step - warmup) / max(1, total_steps - warmup)
        return 1e-5 + (lr - 1e-5) * 0.5 * (1 + math.cos(math.pi * p))

    started = time.monotonic()
    paused = 0.0  # time spent in on_epoch (evaluation): not training time

    def minutes() -> float:
        return (time.monotonic() - started - paused) / 60

    step, stopped_early, history = 0, False, []
    model.train()
    for epoch, batches in enumerate(plan):
        run_loss, run_n = 0.0, 0
        for b in batches:
            if minutes() > max_minutes:
                stopped_early = True
                break
            sig, sig_len, tr, tr_len, window = collate(model, [data[i] for i in b], rng, augment=True,
                                                       align_words=align_words)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            encoded, encoded_len = model.forward(input_signal=sig, input_signal_length=sig_len)
            decoder, target_len, _ = model.decoder(targets=tr, target_length=tr_len)
            joint = model.joint(encoder_outputs=encoded, decoder_outputs=decoder)
            joint = joint[:, : int(encoded_len.max())]
            loss = loss_fn(joint, tr, encoded_len, target_len, emit_window=window if align_words else None)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            run_loss += float(loss)
            run_n += 1
            if step % 50 == 0:
                log(f"epoch {epoch + 1} step {step}/{total_steps} loss/token {run_loss / run_n:.4f} "
                    f"lr {lr_at(step):.2e} {minutes():.1f} min")
        history.append({"epoch": epoch + 1, "loss_per_token": round(run_loss / max(1, run_n), 4),
                        "minutes": round(minutes(), 2)})
        log(f"epoch {epoch + 1} done: {history[-1]}")
        if on_epoch is not None:
            t = time.monotonic()
            on_epoch(epoch + 1)
            model.train()
            paused += time.monotonic() - t
        if stopped_early:
            log(f"stopped at the {max_minutes}-minute limit after {step} of {total_steps} steps")
            break
    model.eval()
    return {"steps": step, "planned_steps": total_steps, "epochs": epochs, "stopped_early": stopped_early,
            "minutes": round(minutes(), 2), "history": history,
            "peak_lr": lr, "max_batch_s": max_batch_s, "max_batch": max_batch, "align_words": align_words}


# -- evaluation ------------------------------------------------------------------------------
def transcribe(model, utts: list[synth.Utterance], batch_size: int = 16) -> list[list[tuple[str, float, float]]]:
    out = []
    for i in range(0, len(utts), batch_size):
        arrays = [u.audio for u in utts[i : i + batch_size]]
        hyps = model.transcribe(arrays, batch_size=len(arrays), return_hypotheses=True, timestamps=True,
                                num_workers=0, verbose=False)
        for h in hyps:
            words = (h.timestamp or {}).get("word") or []
            out.append([(str(w["word"]), float(w["start"]), float(w["end"])) for w in words])
    return out


def evaluate(model, utts: list[synth.Utterance], batch_size: int = 16) -> dict:
    hyps = transcribe(model, utts, batch_size)
    refs = [u.text.split() for u in utts]
    got = [[w for w, _, _ in h] for h in hyps]
    te = metrics.TimeErrors([], [])
    for u, h in zip(utts, hyps):
        if u.words:
            e = metrics.time_errors([(w.word, w.start, w.end) for w in u.words], h)
            te.start += e.start
            te.end += e.end
    bad = [(u.speaker, u.text, " ".join(g)) for u, g, r in zip(utts, got, refs) if g != r]
    return {"utterances": len(utts), "words": sum(len(r) for r in refs),
            "wer": round(metrics.wer(refs, got), 4), "times": te.summary(), "examples_wrong": bad[:5]}


def eval_sets(seed: int, quick: bool = False) -> dict[str, list[synth.Utterance]]:
    n = 0.25 if quick else 1.0
    return {
        "held_out_trained_voices": synth.held_out_set(seed + 1000, int(400 * n), synth.TRAIN_VOICES, n_speakers=16),
        "held_out_unseen_voices": synth.held_out_set(seed + 2000, int(200 * n), synth.UNSEEN_VOICES, n_speakers=8),
        "long_60s_trained_voices": [synth.long_recording(seed + 3000 + i, 58.0, synth.TRAIN_VOICES)
                                    for i in range(1 if quick else 4)],
    }


# -- main ------------------------------------------------------------------------------------
def _args_without_out(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            out.append(a)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("tests/data/digits-tdt.nemo"))
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--speakers", type=int, default=300)
    p.add_argument("--utts-per-speaker", type=int, default=12)
    p.add_argument("--phrases-per-speaker", type=int, default=3)
    p.add_argument("--long", type=int, default=120)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-batch-s", type=float, default=40.0, help="seconds of (padded) audio per batch")
    p.add_argument("--max-batch", type=int, default=24)
    p.add_argument("--max-minutes", type=float, default=90.0, help="stop training after this long regardless")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-each-epoch", action="store_true", help="quick held-out WER after each epoch")
    p.add_argument("--no-align-words", dest="align_words", action="store_false",
                   help="plain TDT loss: do not restrict emissions to the words' true spans")
    p.add_argument("--quick-eval", action="store_true", help="smaller evaluation sets (for trying things)")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    from nemo.utils import logging as nemo_logging

    nemo_logging.setLevel("ERROR")
    t0 = time.monotonic()
    log(f"synthesising training data (seed {args.seed})")
    data, recipe = make_training_data(args.seed, args.speakers, args.utts_per_speaker,
                                      args.phrases_per_speaker, args.long)
    synth_min = (time.monotonic() - t0) / 60
    log(f"{len(data)} utterances, {recipe['hours']} h, in {synth_min:.1f} min")
    log("synthesising evaluation data")
    sets = eval_sets(args.seed, quick=args.quick_eval)
    quick_set = sets["held_out_trained_voices"][:100]

    with tempfile.TemporaryDirectory() as work:
        model = build_model(Path(work), args.seed)
        n_params = sum(p.numel() for p in model.parameters())
        log(f"model: {n_params:,} parameters, vocabulary {model.tokenizer.vocab_size}")

        def on_epoch(epoch: int) -> None:
            if args.eval_each_epoch:
                r = evaluate(model, quick_set)
                log(f"epoch {epoch}: held-out WER {r['wer']:.4f} times {r['times']}")

        training = train(model, data, args.seed, args.epochs, args.lr, args.max_minutes,
                         args.max_batch_s, args.max_batch, args.align_words, on_epoch)
        log(f"trained in {training['minutes']} min")
        results = {}
        for name, utts in sets.items():
            results[name] = evaluate(model, utts, batch_size=4 if name.startswith("long") else 16)
            log(f"{name}: WER {results[name]['wer']:.4f} times {results[name]['times']}")
        # Restore NeMo's own loss object before saving (the config still names 'tdt').
        from nemo.collections.asr.losses.rnnt import resolve_rnnt_loss

        model.loss._loss = resolve_rnnt_loss("tdt", blank_idx=model.loss._blank,
                                             loss_kwargs={"durations": DURATIONS, "sigma": 0.02, "omega": 0.0})
        args.out.parent.mkdir(parents=True, exist_ok=True)
        model.save_to(str(args.out))
        pieces = [model.tokenizer.ids_to_tokens([i])[0] for i in range(model.tokenizer.vocab_size)]

    card = {
        "name": args.out.stem,
        "file": args.out.name,
        "size_bytes": args.out.stat().st_size,
        "what": "A tiny English FastConformer-TDT model trained on synthetic espeak-ng speech of digit "
                "words and a few common words, for tests that check words and word times against "
                "exact ground truth. Not a general speech recogniser.",
        "made_by": " ".join(["python -m tools.train_tiny", *_args_without_out(argv if argv is not None else sys.argv[1:]),
                             "--out", "<this file>"]),
        "seed": args.seed,
        "vocabulary": synth.VOCABULARY,
        "tokenizer_pieces": pieces,
        "model": {"class": "EncDecRNNTBPEModel", "parameters": n_params, "features": 80, "subsampling": 8,
                  "d_model": 128, "layers": 3, "heads": 4, "ff_expansion": 4, "subsampling_conv_channels": 32,
                  "pred_hidden": 96, "joint_hidden": 96,
                  "durations": DURATIONS, "frame_s": FRAME_S,
                  "loss": "TDT (tools/train_tiny/tdt_loss.py, sigma 0.02, no omega)"
                          + (", label emissions restricted to the true word spans (from the nearest frame "
                             "to the word start to one frame past its end) where word times are known"
                             if args.align_words else "")},
        "data": {
            **recipe,
            "train_voices": synth.TRAIN_VOICES, "unseen_voices": synth.UNSEEN_VOICES,
            "variants": synth.VARIANTS, "speeds_wpm": list(synth.SPEEDS), "pitches": list(synth.PITCHES),
            "how": "each word spoken alone by espeak-ng, trimmed at -40 dB of its peak, resampled to "
                   "16 kHz, joined with seeded silences (0.03-0.25 s, 15 % 0.3-0.8 s); plus whole "
                   "phrases spoken in one go, and joins of 3-6 utterances (about 8-25 s). Augmentation: "
                   "gain 0.3-1.0, half with steady noise 25-50 dB below the speech.",
        },
        "training": {**training, "synthesis_minutes": round(synth_min, 2), "threads": args.threads,
                     "machine": f"{platform.machine()} {os.cpu_count()} cpus", "torch": torch.__version__},
        "metrics": results,
        "notes": [
            "Word times come from the TDT decoder (80 ms frames). Training pinned each token's "
            "emission inside its word, so word starts are close to the truth; word ends come "
            "early (a token's duration is at most 4 frames = 0.32 s, shorter than most words).",
            "Voices in 'unseen_voices' (accents held out of training) were never heard: expect "
            "several times the error rate there (it varies a lot by speaker); tests should speak "
            "with train_voices and only guard the unseen voices against a collapse.",
            "Training minutes are wall-clock on a shared machine: other processes on the same "
            "cores can make them several times longer than on a quiet machine.",
        ],
    }
    card_path = args.out.with_suffix(".json")
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out} ({card['size_bytes'] / 1e6:.1f} MB) and {card_path}; total "
        f"{(time.monotonic() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip NeMo's slow interpreter teardown
