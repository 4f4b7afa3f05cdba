"""Tiny *real* NeMo models built from configs, for tests and benchmarks.

Random weights, a SentencePiece tokenizer trained on the fly, saved as `.nemo` exactly like
a downloaded model. Two families, matching the catalog:
  - TDT (Parakeet): EncDecRNNTBPEModel with a FastConformer encoder and TDT decoding;
  - multitask AED (Canary): EncDecMultiTaskModel with the `canary` prompt format.

`steer_tdt_joint` makes the random TDT model predictable: one chosen token wins every
frame with a chosen duration, so output words and their times are known in advance.
"""
from __future__ import annotations

import os
from pathlib import Path

TEXT = (
    "the quick brown fox jumps over the lazy dog\n"
    "one two three four five six seven eight nine zero\n"
    "hello world this is a test of the transcription system\n"
    "we speak about audio and video files and subtitles\n"
    "numbers words and sentences for a tiny tokenizer\n"
)


def _train_tokenizer(folder: Path, vocab_size: int, text: str = TEXT) -> Path:
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "text.txt"
    data.write_text(text * 4, encoding="utf-8")
    create_spt_model(
        str(data), vocab_size=vocab_size, sample_size=-1, do_lower_case=True,
        tokenizer_type="bpe", output_dir=str(folder),
    )
    return folder


def build_tdt(out: Path, work: Path, d_model: int = 128, n_layers: int = 2) -> Path:
    """A Parakeet-style TDT model (about 1 M parameters). Returns the .nemo path."""
    from omegaconf import OmegaConf
    from nemo.collections.asr.models import EncDecRNNTBPEModel

    tok = _train_tokenizer(work / "tdt_tokenizer", vocab_size=64)
    durations = [0, 1, 2, 3, 4]
    cfg = OmegaConf.create({
        "sample_rate": 16000,
        "model_defaults": {"enc_hidden": d_model, "pred_hidden": 64, "joint_hidden": 64,
                           "tdt_durations": durations, "num_tdt_durations": len(durations)},
        "tokenizer": {"dir": str(tok), "type": "bpe"},
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "sample_rate": 16000, "normalize": "per_feature", "window_size": 0.025,
            "window_stride": 0.01, "window": "hann", "features": 80, "n_fft": 512,
            "log": True, "frame_splicing": 1, "dither": 0.0, "pad_to": 0, "pad_value": 0.0,
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConformerEncoder",
            "feat_in": 80, "feat_out": -1, "n_layers": n_layers, "d_model": d_model,
            "subsampling": "dw_striding", "subsampling_factor": 8, "subsampling_conv_channels": 64,
            "causal_downsampling": False, "ff_expansion_factor": 2, "self_attention_model": "rel_pos",
            "n_heads": 4, "att_context_size": [-1, -1], "xscaling": True, "untie_biases": True,
            "pos_emb_max_len": 5000, "conv_kernel_size": 9, "conv_norm_type": "batch_norm",
            "dropout": 0.0, "dropout_pre_encoder": 0.0, "dropout_emb": 0.0, "dropout_att": 0.0,
        },
        "decoder": {
            "_target_": "nemo.collections.asr.modules.RNNTDecoder",
            "normalization_mode": None, "random_state_sampling": False, "blank_as_pad": True,
            "prednet": {"pred_hidden": 64, "pred_rnn_layers": 1, "t_max": None, "dropout": 0.0},
        },
        "joint": {
            "_target_": "nemo.collections.asr.modules.RNNTJoint",
            "log_softmax": None, "preserve_memory": False, "fuse_loss_wer": False,
            "fused_batch_size": 4, "num_extra_outputs": len(durations),
            "jointnet": {"joint_hidden": 64, "activation": "relu", "dropout": 0.0},
        },
        "decoding": {
            "strategy": "greedy_batch", "model_type": "tdt", "durations": durations,
            "greedy": {"max_symbols": 10},
        },
        "loss": {"loss_name": "tdt", "tdt_kwargs": {"durations": durations, "sigma": 0.02, "omega": 0.1}},
        "validation_ds": {"manifest_filepath": None, "sample_rate": 16000, "batch_size": 2, "shuffle": False},
        "optim": None,
    })
    import torch
    torch.manual_seed(0)
    model = EncDecRNNTBPEModel(cfg=cfg)
    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save_to(str(out))
    return out


def steer_tdt_joint(model, token_text: str = "the", duration_index: int = 2, margin: float = 20.0) -> int:
    """Make a random TDT model emit `token_text` (as a word) with a fixed frame duration.

    The joint's last layer is zeroed and its bias made to favour one token and one
    duration, so every decoding step emits that token and advances `durations[index]`
    frames. Returns the token id. Used where a test needs known words and times.
    """
    import torch

    tok = model.tokenizer
    ids = tok.text_to_ids(token_text)
    token_id = ids[0]
    lin = model.joint.joint_net[-1]
    # Output layout: vocabulary, blank, then one logit per TDT duration.
    n_durations = len(model.cfg.decoding.durations)
    vocab_plus_blank = lin.out_features - n_durations
    with torch.no_grad():
        lin.weight.zero_()
        lin.bias.zero_()
        lin.bias[token_id] = margin
        lin.bias[vocab_plus_blank + duration_index] = margin
    return token_id


def steer_canary_head(model, text: str = "the", lang: str = "en", margin: float = 20.0) -> int:
    """Make a random Canary model's decoder always pick the first token of `text`."""
    import torch

    token_id = model.tokenizer.text_to_ids(text, lang)[0]
    lin = model.log_softmax.mlp.layer0
    with torch.no_grad():
        lin.weight.zero_()
        lin.bias.zero_()
        lin.bias[token_id] = margin
    return token_id


CANARY_SPECIAL = [
    "<|endoftext|>", "<|startoftranscript|>", "<|nospeech|>", "<|pnc|>", "<|nopnc|>",
    "<|transcribe|>", "<|translate|>", "<|en|>", "<|de|>", "<|es|>", "<|fr|>",
]


# The Canary-style mel front end, shared by the canary and canary2 models and the CTC aligner.
AED_PREPROCESSOR = {
    "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
    "sample_rate": 16000, "normalize": "per_feature", "window_size": 0.025,
    "window_stride": 0.01, "features": 80, "n_fft": 512, "dither": 0.0, "pad_to": 0,
}


def aed_encoder(d_model: int, conv_channels: int, n_heads: int) -> dict:
    """One small Conformer layer with 8x subsampling (80 ms frames)."""
    return {
        "_target_": "nemo.collections.asr.modules.ConformerEncoder",
        "feat_in": 80, "n_layers": 1, "d_model": d_model, "subsampling": "dw_striding",
        "subsampling_factor": 8, "subsampling_conv_channels": conv_channels, "ff_expansion_factor": 2,
        "self_attention_model": "rel_pos", "n_heads": n_heads, "conv_kernel_size": 9,
        "dropout": 0.0, "dropout_pre_encoder": 0.0, "dropout_emb": 0.0, "dropout_att": 0.0,
    }


def aed_tokenizer_langs(work: Path, prefix: str, special_tokens: list[str], langs) -> dict:
    """An aggregate tokenizer's parts: the special-token tokenizer and one BPE per language."""
    from nemo.collections.common.tokenizers.canary_tokenizer import CanaryTokenizer

    spl = work / f"{prefix}_spl"
    CanaryTokenizer.build_special_tokenizer(special_tokens, spl, force_rebuild=True)
    parts = {"spl_tokens": {"dir": str(spl), "type": "bpe"}}
    for lang in langs:
        parts[lang] = {"dir": str(_train_tokenizer(work / f"{prefix}_{lang}", vocab_size=48)), "type": "bpe"}
    return parts


def aed_config(prompt_format: str, prompt_defaults: list, d_model: int, langs: dict, encoder: dict,
               max_sequence_length: int, max_generation_delta: int) -> dict:
    """A multitask AED (EncDecMultiTaskModel) config; the Canary flavours differ in the arguments."""
    return {
        "sample_rate": 16000,
        "prompt_format": prompt_format,
        "prompt_defaults": prompt_defaults,
        "model_defaults": {"asr_enc_hidden": d_model, "lm_enc_hidden": 64, "lm_dec_hidden": 64},
        "preprocessor": dict(AED_PREPROCESSOR),
        "encoder": encoder,
        "transf_encoder": {
            "_target_": "nemo.collections.asr.modules.transformer.transformer_encoders.TransformerEncoder",
            "num_layers": 0, "hidden_size": 64, "inner_size": 128, "num_attention_heads": 2,
        },
        "transf_decoder": {
            "_target_": "nemo.collections.asr.modules.transformer.get_nemo_transformer",
            "model_name": None, "pretrained": False, "encoder": None, "pre_ln_final_layer_norm": True,
            "config_dict": {"max_sequence_length": max_sequence_length, "num_token_types": 0,
                            "hidden_size": 64, "inner_size": 128, "num_layers": 1,
                            "num_attention_heads": 2, "pre_ln": True, "vocab_size": None},
        },
        "head": {
            "_target_": "nemo.collections.asr.parts.submodules.token_classifier.TokenClassifier",
            "num_layers": 1, "activation": "relu", "log_softmax": True, "hidden_size": 64,
            "num_classes": None,
        },
        "tokenizer": {
            "dir": None, "type": "agg", "langs": langs,
            "custom_tokenizer": {"_target_": "nemo.collections.common.tokenizers.canary_tokenizer.CanaryTokenizer",
                                 "tokenizers": None},
        },
        "decoding": {"strategy": "beam",
                     "beam": {"beam_size": 1, "len_pen": 0.0, "max_generation_delta": max_generation_delta}},
        "loss": {"_target_": "nemo.collections.common.losses.smoothed_cross_entropy.SmoothedCrossEntropyLoss",
                 "label_smoothing": 0.0},
    }


def build_canary(out: Path, work: Path, d_model: int = 128) -> Path:
    """A Canary-1B-style multitask AED model (prompt format `canary`). Returns the .nemo path."""
    from omegaconf import OmegaConf
    from nemo.collections.asr.models import EncDecMultiTaskModel

    langs = aed_tokenizer_langs(
        work, "canary",
        ["<|startoftranscript|>", "<|nospeech|>", "<|pnc|>", "<|nopnc|>", "<|transcribe|>",
         "<|translate|>", "<|en|>", "<|de|>", "<|es|>", "<|fr|>", "<|endoftext|>"],
        ("en", "de", "es", "fr"))
    prompt_defaults = [{"role": "user", "slots": {"source_lang": "en", "target_lang": "en",
                                                   "task": "asr", "pnc": "yes"}}]
    cfg = OmegaConf.create(aed_config("canary", prompt_defaults, d_model, langs, aed_encoder(d_model, 64, 4),
                                      max_sequence_length=512, max_generation_delta=20))
    import torch
    torch.manual_seed(0)
    model = EncDecMultiTaskModel(cfg=cfg)
    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save_to(str(out))
    return out


def build_steered_tdt(src: Path, out: Path, token_text: str = "the", duration_index: int = 2) -> Path:
    """A copy of a tiny TDT model that says `token_text` every `durations[i]` frames."""
    from nemo.collections.asr.models import ASRModel

    model = ASRModel.restore_from(str(src), map_location="cpu")
    steer_tdt_joint(model, token_text, duration_index)
    model.save_to(str(out))
    return out


def build_all(dest: Path) -> list[Path]:
    import tempfile

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as w:
        tdt = build_tdt(dest / "tiny-tdt.nemo", Path(w))
        canary = build_canary(dest / "tiny-canary.nemo", Path(w))
        # Last: a restore leaves NeMo's global AppState pointing at a restored model,
        # which makes building a fresh Canary model look for a packed aligner.
        steered = build_steered_tdt(tdt, dest / "tiny-tdt-steered.nemo")
    return [tdt, steered, canary]


if __name__ == "__main__":  # used by the test suite (in a subprocess) and benchmarks
    import sys

    for p in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-models")):
        print(p)
    sys.stdout.flush()
    os._exit(0)  # skip NeMo's slow interpreter teardown
