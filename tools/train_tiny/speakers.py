"""Train the tiny speaker encoder used by the speaker tests (the embedding path).

    python -m tools.train_tiny.speakers --out tests/data/speakers-titanet.nemo

A TitaNet-style `EncDecSpeakerLabelModel` (ConvASREncoder of separable 1-D convolutions
with squeeze-excitation, attention pooling, a 128-d embedding) trained as a speaker
classifier with an additive angular margin (ArcFace) loss on single-voice espeak-ng speech:
many synthetic speakers (accent x variant x speed x pitch, tools/train_tiny/synth.py), each
a clip bank of words joined into ever new utterances at random, cropped to the 1.2-2 s
windows that the app embeds (engine/clustering.py: 1.5 s). The classifier's last layer is
only a training device; the app uses the embedding.

Training stops at whichever comes first of `--max-steps` and `--minutes` (the schedule
follows the larger of the two fractions), so the run fits a loaded 2-core machine; the
card records how many steps were done. Held-out figures (equal-error rate and clustering on
speakers never heard, and word attribution on conversations) come from
tools/train_tiny/speakers_eval.py, run at the end into the same card. CI never runs this.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `tools.train_tiny` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.train_tiny import synth

CROP_S = (1.2, 2.0)  # training windows; the app embeds 1.5 s windows


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def encoder_config(channels: int = 128, last: int = 384, emb: int = 128, num_classes: int = 8) -> dict:
    """The model's config: TitaNet's design (separable convolutions, SE, residual blocks,
    attention pooling, angular decoder) at a small width. "all_features" normalisation
    (one mean and deviation over all mel bins) keeps the spectral envelope, a speaker's
    strongest cue, and still cancels the recording's gain."""

    def block(filters: int, kernel: int, rep: int, residual: bool) -> dict:
        return {
            "filters": filters,
            "repeat": rep,
            "kernel": [kernel],
            "stride": [1],
            "dilation": [1],
            "dropout": 0.0,
            "residual": residual,
            "separable": True,
            "se": True,
            "se_context_size": -1,
        }

    return {
        "target": "nemo.collections.asr.models.label_models.EncDecSpeakerLabelModel",
        "sample_rate": 16000,
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "normalize": "all_features",
            "window_size": 0.025,
            "sample_rate": 16000,
            "window_stride": 0.01,
            "window": "hann",
            "features": 80,
            "n_fft": 512,
            "frame_splicing": 1,
            "dither": 0.00001,
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConvASREncoder",
            "feat_in": 80,
            "activation": "relu",
            "conv_mask": True,
            "jasper": [
                block(channels, 3, 1, False),
                block(channels, 7, 2, True),
                block(channels, 11, 2, True),
                block(channels, 15, 2, True),
                block(last, 1, 1, False),
            ],
        },
        "decoder": {
            "_target_": "nemo.collections.asr.modules.SpeakerDecoder",
            "feat_in": last,
            "num_classes": num_classes,
            "pool_mode": "attention",
            "emb_sizes": emb,
            "angular": True,
        },
        "loss": {"_target_": "nemo.collections.asr.losses.angularloss.AngularSoftmaxLoss", "scale": 30, "margin": 0.2},
    }


def build_model(num_classes: int, seed: int):
    import torch
    from omegaconf import OmegaConf
    from nemo.collections.asr.models import EncDecSpeakerLabelModel

    torch.manual_seed(seed)
    return EncDecSpeakerLabelModel(cfg=OmegaConf.create(encoder_config(num_classes=num_classes)))


class Batches:
    """Endless seeded batches: (audio [B, T] float32, lengths [B], labels [B])."""

    def __init__(self, banks: list[dict[str, np.ndarray]], seed: int, batch: int):
        self.banks, self.batch = banks, batch
        self.rng = np.random.default_rng(seed)

    def one(self, k: int, crop: int) -> np.ndarray:
        rng = self.rng
        u = synth.compose(
            synth.random_words(rng, int(rng.integers(3, 7))), self.banks[k], rng, lead_s=(0.0, 0.2), tail_s=(0.0, 0.2)
        )
        audio = u.audio
        if len(audio) < crop:
            audio = np.concatenate([audio, np.zeros(crop - len(audio), np.float32)])
        start = int(rng.integers(0, len(audio) - crop + 1))
        x = audio[start : start + crop] * float(rng.uniform(0.2, 1.0))
        if rng.random() < 0.5:  # steady noise 20-50 dB below the speech
            x = synth.noise_bed(x, float(rng.uniform(20, 50)), rng)
        return x.astype(np.float32)

    def next(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        crop = int(self.rng.uniform(*CROP_S) * synth.SAMPLE_RATE)
        labels = self.rng.integers(0, len(self.banks), self.batch)
        audio = np.stack([self.one(int(k), crop) for k in labels])
        return audio, np.full(self.batch, crop, dtype=np.int64), labels.astype(np.int64)


def aam_loss(cosines, labels, scale: float, margin: float):
    """ArcFace: the target class's angle widened by `margin` (NeMo's AngularSoftmaxLoss,
    vectorised: NeMo's loops over the batch in Python)."""
    import torch

    eps = 1e-7
    target = cosines.gather(1, labels[:, None]).clamp(-1 + eps, 1 - eps)
    widened = torch.cos(torch.acos(target) + margin)
    logits = cosines.scatter(1, labels[:, None], widened) * scale
    return torch.nn.functional.cross_entropy(logits, labels)


def train(
    model,
    batches: Batches,
    max_steps: int,
    minutes: float,
    peak_lr: float,
    margin: float,
    scale: float,
    ramp: float = 0.3,
) -> dict:
    import torch

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=peak_lr, weight_decay=1e-4)
    warmup = 50  # a few minutes of steps on a loaded 2-core machine
    t0 = time.time()
    history = []
    step, losses, hits, seen = 0, [], 0, 0
    while True:
        progress = max(step / max_steps, (time.time() - t0) / (minutes * 60))
        if progress >= 1.0:
            break
        lr = peak_lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * progress))
        for g in opt.param_groups:
            g["lr"] = lr
        m = margin * min(1.0, progress / ramp) if ramp > 0 else margin  # from a plain softmax to the full margin
        audio, lengths, labels = batches.next()
        x, n, y = torch.from_numpy(audio), torch.from_numpy(lengths), torch.from_numpy(labels)
        cosines, _ = model.forward(input_signal=x, input_signal_length=n)
        loss = aam_loss(cosines, y, scale, m)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        losses.append(float(loss))
        hits += int((cosines.argmax(1) == y).sum())
        seen += len(y)
        if step % 50 == 0:
            el = time.time() - t0
            history.append(
                {
                    "step": step,
                    "loss": round(float(np.mean(losses)), 4),
                    "train_accuracy": round(hits / seen, 4),
                    "margin": round(m, 3),
                    "minutes": round(el / 60, 2),
                }
            )
            log(
                f"step {step} loss {np.mean(losses):.3f} acc {hits / seen:.3f} lr {lr:.2e} m {m:.2f} "
                f"{el / step:.2f} s/step"
            )
            losses, hits, seen = [], 0, 0
    model.eval()
    return {
        "steps": step,
        "max_steps": max_steps,
        "budget_minutes": minutes,
        "minutes": round((time.time() - t0) / 60, 2),
        "history": history,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--speakers", type=int, default=300, help="training speakers (classes)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-steps", type=int, default=6000)
    ap.add_argument("--minutes", type=float, default=33.0, help="training time budget")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--margin", type=float, default=0.2)
    ap.add_argument("--scale", type=float, default=30.0)
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument(
        "--init",
        type=Path,
        help="go on training this model (made with the same seed and speakers; "
        "its card's training is kept as an earlier stage)",
    )
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    speakers = synth.random_speakers(rng, args.speakers, synth.TRAIN_VOICES)
    log(f"synthesising clip banks for {len(speakers)} speakers")
    banks = synth.clip_banks(speakers)
    synth_min = (time.time() - t0) / 60
    log(f"synthesis done in {synth_min:.1f} min")
    earlier: list[dict] = []
    if args.init:
        from nemo.collections.asr.models import EncDecSpeakerLabelModel

        model = EncDecSpeakerLabelModel.restore_from(str(args.init), map_location="cpu")
        old = json.loads(args.init.with_suffix(".json").read_text(encoding="utf-8"))
        earlier = [*old.get("earlier_training", []), old["training"]]
    else:
        model = build_model(len(speakers), args.seed)
    params = sum(p.numel() for p in model.parameters())
    log(f"model: {params} parameters")
    # A later stage draws other examples, at the full margin from the start.
    training = train(
        model,
        Batches(banks, args.seed + 1 + len(earlier), args.batch),
        args.max_steps,
        args.minutes,
        args.lr,
        args.margin,
        args.scale,
        ramp=0.0 if earlier else 0.3,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save_to(str(args.out))
    cfg = encoder_config()
    card = {
        "name": args.out.stem,
        "file": args.out.name,
        "size_bytes": args.out.stat().st_size,
        "what": (
            "A tiny TitaNet-style speaker encoder (EncDecSpeakerLabelModel) trained here as a speaker "
            "classifier on synthetic espeak-ng voices, for the tests of the speaker-embedding path "
            "(windows of speech embedded, then clustered). Not a general speaker model."
        ),
        "made_by": "python -m tools.train_tiny.speakers --out <this file>  (the defaults)",
        "seed": args.seed,
        "model": {
            "class": "EncDecSpeakerLabelModel",
            "parameters": params,
            "features": 80,
            "normalize": cfg["preprocessor"]["normalize"],
            "channels": 128,
            "pool_channels": 384,
            "embedding": 128,
            "blocks": "k3 x1, k7 x2, k11 x2, k15 x2 (separable, SE, residual), 1x1 384",
            "pooling": "attention",
            "loss": f"additive angular margin {args.margin} (ramped over the first 30 %), scale {args.scale}",
            "classes": len(speakers),
        },
        "data": {
            "speakers": len(speakers),
            "voices": synth.TRAIN_VOICES,
            "variants": synth.VARIANTS,
            "speeds_wpm": list(synth.SPEEDS),
            "pitches": list(synth.PITCHES),
            "how": (
                "per speaker a clip bank of the 27 vocabulary words (espeak-ng, trimmed, 16 kHz); each "
                "training example is 3-6 random words of one speaker joined by seeded silences "
                "(as synth.compose), cropped at random to 1.2-2 s, gain 0.2-1.0, half with steady "
                "noise 20-50 dB below the speech; new text every example"
            ),
        },
        "earlier_training": earlier,
        "training": {
            **training,
            "batch": args.batch,
            "peak_lr": args.lr,
            "synthesis_minutes": round(synth_min, 2),
            "threads": 2,
            "machine": f"{platform.machine()} {os.cpu_count()} cpus",
            "torch": torch.__version__,
        },
    }
    card_path = args.out.with_suffix(".json")
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out} ({card['size_bytes']} bytes) and {card_path}")
    if not args.no_eval:
        from tools.train_tiny import speakers_eval

        speakers_eval.main(["--model", str(args.out)])
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip NeMo's slow interpreter teardown
