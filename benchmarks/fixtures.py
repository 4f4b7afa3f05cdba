"""Models and media for the benchmarks, built once and cached under .test-cache/bench/.

Models are real NeMo TDT models (EncDecRNNTBPEModel, FastConformer encoder) with random
weights, saved as .nemo like a downloaded one. Random weights make TDT greedy decoding emit
up to 10 tokens on every frame, which is far slower than a trained model; so the joint is
*steered* (tests/support/tiny_models.steer_tdt_joint): one word wins every 4 encoder frames
(0.32 s), about 3 tokens a second, which is how a trained model's decoding behaves on speech.

Audio is speech from espeak-ng (several voices and speeds) joined with pauses of 0.25-1.2 s
and a faint noise floor (tests/support/audio.speak / concat_with_pauses), repeated to the
wanted length. The mp4 is 48 kHz stereo AAC with a tiny H.264 picture, like a phone video.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("NEMO_DESK_BENCH_CACHE", REPO / ".test-cache" / "bench"))
SAMPLE_RATE = 16000

# Presets. "parakeet-0.6b" is the architecture of nvidia/parakeet-tdt-0.6b-v2/v3 (FastConformer,
# d_model 1024, 24 layers, 8 heads, 8x dw_striding subsampling, 128 mels, prediction and joint
# networks 640 wide, 8192 BPE pieces, TDT durations 0-4).
PRESETS: dict[str, dict] = {
    "tiny": dict(d_model=128, n_layers=2, n_heads=4, ff=2, mels=80, sub_channels=64, pred=64, joint=64,
                 pred_layers=1, vocab=128),
    "small-20m": dict(d_model=256, n_layers=12, n_heads=4, ff=4, mels=80, sub_channels=256, pred=320,
                      joint=320, pred_layers=1, vocab=1024),
    "parakeet-0.6b": dict(d_model=1024, n_layers=24, n_heads=8, ff=4, mels=128, sub_channels=256, pred=640,
                          joint=640, pred_layers=2, vocab=8192),
}
STEER_WORD = "the"
STEER_DURATION_INDEX = 4  # durations [0,1,2,3,4]: one token every 4 frames of 80 ms

SENTENCES = [
    "the meeting starts at nine and we will go through the budget first",
    "please send me the report before the end of the week",
    "this recording is a test of the transcription system on long files",
    "we measured the speed and the memory of the application",
    "after the break the second speaker talked about the new project",
    "numbers like twelve thirty four and five hundred appear in the text",
    "the weather today is cloudy with a chance of rain in the afternoon",
    "she asked whether the results were ready for the review",
    "a short pause separates every sentence in this file",
    "the quick brown fox jumps over the lazy dog",
    "long audio is cut at quiet points so no word is split",
    "thank you all for coming and see you next time",
]
VOICES = [("en-us", 150), ("en-gb", 165), ("en-us+f3", 140), ("en-gb+m3", 175), ("en-us+m7", 155)]


def _key(*parts) -> str:
    src = Path(__file__).read_bytes() + (REPO / "tests" / "support" / "tiny_models.py").read_bytes()
    return hashlib.sha256(src + json.dumps(parts, sort_keys=True).encode()).hexdigest()[:10]


def _tokenizer_text(vocab: int) -> str:
    """Enough distinct words for a BPE vocabulary of `vocab` pieces: real words plus
    seeded pseudo-words (syllable strings)."""
    rng = random.Random(vocab)
    words = " ".join(SENTENCES).split()
    syll = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["th", "sh", "ch", "st", "nd", "ng"]
    n_pseudo = max(200, vocab * 6)
    words += ["".join(rng.choice(syll) for _ in range(rng.randint(2, 5))) for _ in range(n_pseudo)]
    lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(max(50, len(words) // 6))]
    return "\n".join(SENTENCES * 4 + lines) + "\n"


def _config(p: dict, tok_dir: Path):
    from omegaconf import OmegaConf

    durations = [0, 1, 2, 3, 4]
    return OmegaConf.create({
        "sample_rate": SAMPLE_RATE,
        "model_defaults": {"enc_hidden": p["d_model"], "pred_hidden": p["pred"], "joint_hidden": p["joint"],
                           "tdt_durations": durations, "num_tdt_durations": len(durations)},
        "tokenizer": {"dir": str(tok_dir), "type": "bpe"},
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "sample_rate": SAMPLE_RATE, "normalize": "per_feature", "window_size": 0.025,
            "window_stride": 0.01, "window": "hann", "features": p["mels"], "n_fft": 512,
            "log": True, "frame_splicing": 1, "dither": 0.0, "pad_to": 0, "pad_value": 0.0,
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConformerEncoder",
            "feat_in": p["mels"], "feat_out": -1, "n_layers": p["n_layers"], "d_model": p["d_model"],
            "subsampling": "dw_striding", "subsampling_factor": 8, "subsampling_conv_channels": p["sub_channels"],
            "causal_downsampling": False, "ff_expansion_factor": p["ff"], "self_attention_model": "rel_pos",
            "n_heads": p["n_heads"], "att_context_size": [-1, -1], "xscaling": True, "untie_biases": True,
            "pos_emb_max_len": 5000, "conv_kernel_size": 9, "conv_norm_type": "batch_norm",
            "dropout": 0.0, "dropout_pre_encoder": 0.0, "dropout_emb": 0.0, "dropout_att": 0.0,
        },
        "decoder": {
            "_target_": "nemo.collections.asr.modules.RNNTDecoder",
            "normalization_mode": None, "random_state_sampling": False, "blank_as_pad": True,
            "prednet": {"pred_hidden": p["pred"], "pred_rnn_layers": p["pred_layers"], "t_max": None,
                        "dropout": 0.0},
        },
        "joint": {
            "_target_": "nemo.collections.asr.modules.RNNTJoint",
            "log_softmax": None, "preserve_memory": False, "fuse_loss_wer": False,
            "fused_batch_size": 4, "num_extra_outputs": len(durations),
            "jointnet": {"joint_hidden": p["joint"], "activation": "relu", "dropout": 0.0},
        },
        "decoding": {"strategy": "greedy_batch", "model_type": "tdt", "durations": durations,
                     "greedy": {"max_symbols": 10}},
        "loss": {"loss_name": "tdt", "tdt_kwargs": {"durations": durations, "sigma": 0.02, "omega": 0.1}},
        "validation_ds": {"manifest_filepath": None, "sample_rate": SAMPLE_RATE, "batch_size": 2,
                          "shuffle": False},
        "optim": None,
    })


def _build_model_here(preset: str, out: Path) -> dict:
    """Runs in a child process (see build_model): build, steer, save."""
    import resource
    import tempfile

    import torch
    from nemo_desk.engine.loader import quiet_nemo

    quiet_nemo()
    from nemo.collections.asr.models import EncDecRNNTBPEModel
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    sys.path.insert(0, str(REPO))
    from tests.support.tiny_models import steer_tdt_joint

    quiet_nemo()
    p = PRESETS[preset]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(dir=out.parent) as work:
        tok = Path(work) / "tok"
        tok.mkdir()
        (tok / "text.txt").write_text(_tokenizer_text(p["vocab"]), encoding="utf-8")
        create_spt_model(str(tok / "text.txt"), vocab_size=p["vocab"], sample_size=-1, do_lower_case=True,
                         tokenizer_type="bpe", output_dir=str(tok))
        t_tok = time.monotonic()
        torch.manual_seed(0)
        model = EncDecRNNTBPEModel(cfg=_config(p, tok))
        model.eval()
        t_init = time.monotonic()
        steer_tdt_joint(model, STEER_WORD, STEER_DURATION_INDEX)
        params = sum(x.numel() for x in model.parameters())
        tmp = out.with_suffix(".partial")
        model.save_to(str(tmp))
        os.replace(tmp, out)
    t_save = time.monotonic()
    return {"preset": preset, "params": params, "size_bytes": out.stat().st_size,
            "tokenizer_s": round(t_tok - t0, 2), "init_s": round(t_init - t_tok, 2),
            "save_s": round(t_save - t_init, 2), "total_s": round(t_save - t0, 2),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)}


def build_model(preset: str, log=print) -> tuple[Path, dict]:
    """Path of the steered .nemo for `preset` (built in a child process once) and its build info."""
    folder = CACHE / "models"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{preset}-steered-{_key(PRESETS[preset], STEER_WORD, STEER_DURATION_INDEX)}.nemo"
    info_file = out.with_suffix(".json")
    if out.is_file() and info_file.is_file():
        return out, json.loads(info_file.read_text())
    log(f"building model {preset} (once; cached in {folder}) ...")
    done = subprocess.run([sys.executable, "-c",
                           "import json, os, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
                           "from benchmarks.fixtures import _build_model_here;"
                           "print('RESULT ' + json.dumps(_build_model_here(sys.argv[2], Path(sys.argv[3]))), flush=True);"
                           "os._exit(0)",
                           str(REPO), preset, str(out)], cwd=REPO, capture_output=True, text=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"building {preset} failed:\n{done.stderr[-3000:]}")
    info = json.loads(lines[-1][len("RESULT "):])
    info_file.write_text(json.dumps(info, indent=2))
    return out, info


def _speech_base() -> Path:
    """About 3 minutes of speech with pauses (16 kHz mono WAV)."""
    sys.path.insert(0, str(REPO))
    from tests.support import audio

    folder = CACHE / "audio"
    base = folder / f"base-{_key(SENTENCES, VOICES)}.wav"
    if base.is_file():
        return base
    pieces_dir = folder / "pieces"
    pieces = []
    for i, text in enumerate(SENTENCES):
        for j, (voice, speed) in enumerate(VOICES):
            pieces.append(audio.speak(text, pieces_dir / f"s{i:02d}-{j}.wav", voice=voice, speed=speed))
    rng = random.Random(7)
    rng.shuffle(pieces)
    pauses = [round(rng.uniform(0.25, 1.2), 2) for _ in range(len(pieces) - 1)]
    tmp = base.with_suffix(".partial.wav")
    audio.concat_with_pauses(pieces, pauses, tmp, lead_in_s=0.5, noise_level=0.002)
    os.replace(tmp, base)
    return base


def speech_wav(minutes: float) -> Path:
    """`minutes` of speech as a 16 kHz mono 16-bit WAV (the base speech repeated)."""
    import numpy as np
    import soundfile as sf

    base = _speech_base()
    out = CACHE / "audio" / f"speech-{minutes:g}min-{base.stem[-10:]}.wav"
    if out.is_file():
        return out
    data, _ = sf.read(str(base), dtype="float32")
    gap = np.random.default_rng(1).normal(0.0, 0.002, int(0.6 * SAMPLE_RATE)).astype(np.float32)
    unit = np.concatenate([data, gap])
    n = int(round(minutes * 60 * SAMPLE_RATE))
    signal = np.tile(unit, n // len(unit) + 1)[:n]
    tmp = out.with_suffix(".partial.wav")
    sf.write(str(tmp), signal, SAMPLE_RATE, subtype="PCM_16")
    os.replace(tmp, out)
    return out


def speech_mp4(minutes: float) -> Path:
    """`minutes` of speech in an MP4 (H.264 96x64 10 fps + AAC 128 kb/s 48 kHz stereo)."""
    sys.path.insert(0, str(REPO))
    from tests.support import audio

    wav = speech_wav(minutes)
    out = wav.with_suffix(".mp4")
    if out.is_file():
        return out
    seconds = minutes * 60
    tmp = out.with_name(out.stem + ".partial.mp4")
    audio.run_tool([audio.tool("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"color=c=navy:s=96x64:r=10:d={seconds:.3f}", "-i", str(wav),
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2", str(tmp)])
    os.replace(tmp, out)
    return out
