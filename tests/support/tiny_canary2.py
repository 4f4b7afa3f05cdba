"""A tiny *real* Canary-1B-v2-style model: prompt format `canary2` plus a packed CTC aligner.

Canary-1B-v2 gets word timestamps by forced alignment with a CTC model packed inside its
.nemo: `timestamps_asr_model_config.yaml` + `timestamps_asr_model_weights.ckpt` (and that
CTC model's tokenizer files, referenced as `nemo:<name>` from its config, i.e. relative
to the extracted folder). `EncDecMultiTaskModel.__init__` restores it (private
`__restore_timestamps_asr_model`) from the folder the main model is being restored from.

`build_canary2` makes the same layout with random weights:
  - the multitask AED model: canary2 prompt format, an aggregate CanaryTokenizer whose
    special-token tokenizer holds the Canary-2 special tokens and language tokens;
  - the CTC aligner: EncDecCTCModelBPE, one small Conformer layer with 8x subsampling
    (80 ms frames like the AED encoder), its own BPE tokenizer;
  - the decoder head is steered (last linear zeroed, one token's bias raised) so the model
    says "the" on every step; its positional table (`max_sequence_length`) is kept short,
    so generation stops after 8 words and the CTC Viterbi alignment is feasible for audio
    of 1.2 s or more (a CTC path needs at least 2U-1 frames for U repeated tokens).

Run as a script to build into a folder (prints the .nemo path).
"""
from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

try:  # imported as tests.support.tiny_canary2 by the tests, or run as a script
    from tests.support.tiny_models import AED_PREPROCESSOR, _train_tokenizer, aed_config, aed_encoder, \
        aed_tokenizer_langs, steer_canary_head
except ImportError:  # pragma: no cover - script mode: tests/ is not a package root there
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.support.tiny_models import AED_PREPROCESSOR, _train_tokenizer, aed_config, aed_encoder, \
        aed_tokenizer_langs, steer_canary_head

TS_CONFIG = "timestamps_asr_model_config.yaml"
TS_WEIGHTS = "timestamps_asr_model_weights.ckpt"
CANARY2_LANGS = ("en", "de", "fr", "es")  # tokenizers built; the prompt tokens cover all of EU25
STEER_TEXT = "the"
# The canary2 prompt is 9 tokens; the positional table ends a few tokens later, so the
# steered decoder stops after 8 "the" (CTC needs 15 frames, 1.2 s, to align them).
MAX_SEQUENCE_LENGTH = 16

EU25 = (
    "bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "it",
    "lv", "lt", "mt", "pl", "pt", "ro", "sk", "sl", "es", "sv", "ru", "uk",
)

# The Canary-2 special tokens (NeMo scripts/speech_recognition/canary/
# build_canary_2_special_tokenizer.py), minus the 900 frame and 16 speaker tokens, with the
# 2-letter language tokens the canary2 prompt formatter produces ("en" -> "<|en|>").
CANARY2_SPECIAL = [
    "<|endoftext|>", "<|startoftranscript|>", "<|nopnc|>", "<|pnc|>", "<|nospeech|>",
    "<|startofcontext|>", "<|itn|>", "<|noitn|>", "<|timestamp|>", "<|notimestamp|>",
    "<|diarize|>", "<|nodiarize|>", "<|spkchange|>", "<|audioseparator|>",
    "<|emo:undefined|>", "<|emo:neutral|>", "<|emo:happy|>", "<|emo:sad|>", "<|emo:angry|>",
    "<|unklang|>",
] + [f"<|{lang}|>" for lang in EU25]

# Prompt defaults with a value for every canary2 slot (NeMo fills slots missing from a
# transcribe prompt from these; a slot left None fails the prompt's modality check).
PROMPT_DEFAULTS = [{
    "role": "user",
    "slots": {
        "decodercontext": "", "emotion": "<|emo:undefined|>", "source_lang": "<|en|>",
        "target_lang": "<|en|>", "pnc": "<|pnc|>", "itn": "<|noitn|>",
        "timestamp": "<|notimestamp|>", "diarize": "<|nodiarize|>",
    },
}]

def _encoder(d_model: int) -> dict:
    return aed_encoder(d_model, conv_channels=32, n_heads=2)


def reset_restore_state() -> None:
    """Forget NeMo's global "a model is being restored from X" state.

    After any restore, AppState.model_restore_path still names the last model; a fresh
    EncDecMultiTaskModel(cfg) would then look for a packed aligner in *that* model.
    """
    from nemo.utils import AppState

    state = AppState()
    state.model_restore_path = None
    state.nemo_file_folder = None
    state.is_model_being_restored = False


def build_ctc_aligner(out: Path, work: Path, d_model: int = 64):
    """The CTC model used for forced alignment (saved as its own .nemo at `out`)."""
    from omegaconf import OmegaConf
    from nemo.collections.asr.models import EncDecCTCModelBPE

    tok = _train_tokenizer(work / "ctc_tokenizer", vocab_size=48)
    cfg = OmegaConf.create({
        "sample_rate": 16000,
        "tokenizer": {"dir": str(tok), "type": "bpe"},
        "preprocessor": dict(AED_PREPROCESSOR),
        "encoder": _encoder(d_model),
        "decoder": {
            "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
            "feat_in": d_model, "num_classes": -1, "vocabulary": [],
        },
        "decoding": {"strategy": "greedy_batch"},
        "optim": None,
    })
    import torch

    torch.manual_seed(1)
    model = EncDecCTCModelBPE(cfg=cfg)
    model.eval()
    model.save_to(str(out))
    return model


def build_canary2_model(work: Path, d_model: int = 64):
    from omegaconf import OmegaConf
    from nemo.collections.asr.models import EncDecMultiTaskModel

    langs = aed_tokenizer_langs(work, "canary2", CANARY2_SPECIAL, CANARY2_LANGS)
    cfg = OmegaConf.create(aed_config("canary2", PROMPT_DEFAULTS, d_model, langs, _encoder(d_model),
                                      max_sequence_length=MAX_SEQUENCE_LENGTH, max_generation_delta=-1))
    import torch

    torch.manual_seed(0)
    reset_restore_state()  # else a restore earlier in this process makes NeMo look for an aligner there
    model = EncDecMultiTaskModel(cfg=cfg)
    model.eval()
    steer_canary_head(model, STEER_TEXT)  # never <|endoftext|>: stops only at the positional table's end
    return model


def _pack_aligner(canary_nemo: Path, ctc_nemo: Path, out: Path) -> None:
    """Write `out`: the Canary archive plus the CTC model under NeMo's aligner names.

    The CTC model's tokenizer artifacts keep their (uuid-prefixed) names, which its config
    references as `nemo:<name>`; NeMo resolves those against the extracted folder.
    """
    with tarfile.open(canary_nemo, "r:*") as main, tarfile.open(ctc_nemo, "r:*") as ctc:
        main_names = {os.path.normpath(m.name) for m in main.getmembers() if m.isfile()}
        rename = {"model_config.yaml": TS_CONFIG, "model_weights.ckpt": TS_WEIGHTS}
        with tarfile.open(out, "w:") as dst:
            for m in main.getmembers():
                dst.addfile(m, main.extractfile(m) if m.isfile() else None)
            for m in ctc.getmembers():
                if not m.isfile():
                    continue
                name = os.path.normpath(m.name)
                new = rename.get(name, name)
                if new in main_names:
                    raise RuntimeError(f"aligner artifact {new} collides with a Canary file")
                info = tarfile.TarInfo("./" + new)
                info.size, info.mtime, info.mode = m.size, m.mtime, m.mode
                dst.addfile(info, ctc.extractfile(m))


def build_canary2(out: Path, work: Path) -> Path:
    """Build the tiny Canary-v2-style .nemo (with its packed CTC aligner) at `out`."""
    out = Path(out)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    ctc_nemo = work / "aligner.nemo"
    build_ctc_aligner(ctc_nemo, work)
    canary = build_canary2_model(work)
    plain = work / "canary2-plain.nemo"
    canary.save_to(str(plain))
    tmp = out.with_name(out.name + ".tmp")
    _pack_aligner(plain, ctc_nemo, tmp)
    os.replace(tmp, out)
    return out


if __name__ == "__main__":  # used by the tests (in a subprocess)
    import sys

    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-models")
    with tempfile.TemporaryDirectory() as w:
        print(build_canary2(dest / "tiny-canary2.nemo", Path(w)))
    sys.stdout.flush()
    os._exit(0)  # skip NeMo's slow interpreter teardown
