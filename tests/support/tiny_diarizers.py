"""Tiny *real* NeMo diarizers built from configs, random weights, saved as `.nemo`:
  - a streaming Sortformer (`SortformerEncLabelModel`, 4 speakers, no pretrained encoder),
    with small streaming chunks so a few seconds of audio take several streaming steps;
  - a TitaNet-style speaker encoder (`EncDecSpeakerLabelModel`, ConvASREncoder +
    SpeakerDecoder with attention pooling).
Minimal sections checked against NeMo 3.0.0 (see shared docs/nemo-facts.md, Sortformer).
`full_size=True` builds the released architectures' shapes (for load tests and benchmarks).
"""
from __future__ import annotations

import os
from pathlib import Path

MEL = {
    "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
    "normalize": "per_feature", "window_size": 0.025, "sample_rate": 16000, "window_stride": 0.01,
    "window": "hann", "features": 80, "n_fft": 512, "frame_splicing": 1, "dither": 0.00001,
}


def sortformer_config(full_size: bool = False, streaming: bool = True) -> dict:
    # Full size: the streaming v2.1 card's shape (128 mel bins, 17 Conformer layers of 512,
    # 18 transformer layers of 192); tiny: 80 mel bins, 4 x 128, 2 x 128.
    d_model, layers, tf_d, tf_layers, feats = (512, 17, 192, 18, 128) if full_size else (128, 4, 128, 2, 80)
    streaming_params = (
        {"spkcache_len": 188, "fifo_len": 40, "chunk_len": 340, "chunk_right_context": 40,
         "chunk_left_context": 1, "spkcache_update_period": 300} if full_size else
        # 80 ms frames: 0.48 s chunks, so tests see many steps on a few seconds of audio.
        {"spkcache_len": 16, "fifo_len": 8, "chunk_len": 6, "chunk_right_context": 1,
         "chunk_left_context": 1, "spkcache_update_period": 8}
    )
    return {
        "target": "nemo.collections.asr.models.sortformer_diar_models.SortformerEncLabelModel",
        "sample_rate": 16000, "max_num_of_spks": 4, "pil_weight": 0.5, "ats_weight": 0.5,
        "streaming_mode": streaming,
        "model_defaults": {"fc_d_model": d_model, "tf_d_model": tf_d},
        # The streaming v2.1 model normalises nothing per file ("NA"; what converters of its
        # .nemo read to tell it from v1), which lets the app compute its features in pieces.
        "preprocessor": dict(MEL, features=feats, normalize="NA") if full_size else dict(MEL, features=feats),
        "sortformer_modules": {
            "_target_": "nemo.collections.asr.modules.sortformer_modules.SortformerModules",
            "num_spks": 4, "dropout_rate": 0.5, "fc_d_model": d_model, "tf_d_model": tf_d,
            "subsampling_factor": 8, **streaming_params,
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConformerEncoder",
            "feat_in": feats, "feat_out": -1, "n_layers": layers, "d_model": d_model,
            "subsampling": "dw_striding", "subsampling_factor": 8, "subsampling_conv_channels": 64 if not full_size else 256,
            "causal_downsampling": False, "ff_expansion_factor": 4, "self_attention_model": "rel_pos",
            "n_heads": 4 if not full_size else 8, "att_context_size": [-1, -1], "xscaling": True,
            "untie_biases": True, "pos_emb_max_len": 5000, "conv_kernel_size": 9, "conv_norm_type": "batch_norm",
            "dropout": 0.1, "dropout_pre_encoder": 0.1, "dropout_emb": 0.0, "dropout_att": 0.1,
        },
        "transformer_encoder": {
            "_target_": "nemo.collections.asr.modules.transformer.transformer_encoders.TransformerEncoder",
            "num_layers": tf_layers, "hidden_size": tf_d, "inner_size": 4 * tf_d, "num_attention_heads": 4 if not full_size else 8,
            "attn_score_dropout": 0.5, "attn_layer_dropout": 0.5, "ffn_dropout": 0.5, "hidden_act": "relu",
            "pre_ln": False, "pre_ln_final_layer_norm": True,
        },
        "loss": {"_target_": "nemo.collections.asr.losses.bce_loss.BCELoss", "weight": None, "reduction": "mean"},
    }


def titanet_config(full_size: bool = False) -> dict:
    # Full size: TitaNet-Large's shape (1024 channels, 192-d embeddings); tiny: 64 channels.
    ch, last, emb, repeat = (1024, 3072, 192, 3) if full_size else (64, 128, 32, 1)
    feats = 80

    def block(filters: int, kernel: int, rep: int, residual: bool) -> dict:
        return {"filters": filters, "repeat": rep, "kernel": [kernel], "stride": [1], "dilation": [1],
                "dropout": 0.0, "residual": residual, "separable": True, "se": True, "se_context_size": -1}

    return {
        "target": "nemo.collections.asr.models.label_models.EncDecSpeakerLabelModel",
        "sample_rate": 16000,
        "preprocessor": dict(MEL),
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConvASREncoder", "feat_in": feats, "activation": "relu",
            "conv_mask": True,
            "jasper": [block(ch, 3, 1, False), block(ch, 7, repeat, True), block(ch, 11, repeat, True),
                       block(last, 1, 1, False)],
        },
        "decoder": {"_target_": "nemo.collections.asr.modules.SpeakerDecoder", "feat_in": last,
                    "num_classes": 8, "pool_mode": "attention", "emb_sizes": emb, "angular": True},
        "loss": {"_target_": "nemo.collections.asr.losses.angularloss.AngularSoftmaxLoss", "scale": 30, "margin": 0.2},
    }


def build(cls_name: str, config: dict, out: Path) -> Path:
    from omegaconf import OmegaConf

    import nemo.collections.asr.models as models

    cls = getattr(models, cls_name)
    model = cls(cfg=OmegaConf.create(config))
    model.eval()
    model.save_to(str(out))
    return out


def build_all(dest: Path) -> list[Path]:
    import torch

    torch.manual_seed(0)
    dest.mkdir(parents=True, exist_ok=True)
    return [
        build("SortformerEncLabelModel", sortformer_config(), dest / "tiny-sortformer.nemo"),
        build("EncDecSpeakerLabelModel", titanet_config(), dest / "tiny-titanet.nemo"),
    ]


if __name__ == "__main__":  # used by the test suite (in a subprocess) and benchmarks
    import sys

    for p in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-diarizers")):
        print(p)
    sys.stdout.flush()
    os._exit(0)  # skip NeMo's slow interpreter teardown
