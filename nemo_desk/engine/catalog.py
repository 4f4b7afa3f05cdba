"""The models nemo_desk offers, and what each can do.

Facts from the model cards: Parakeet models are TDT transducers with word timestamps;
Canary models are attention encoder-decoders driven by a prompt (source/target language,
punctuation). Canary-1B has no timestamps at all; Canary-1B-v2 gets them from a CTC model
packed inside its .nemo (forced alignment).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nemo_desk.core.errors import ModelError

# Sortformer: end-to-end diarizer, frame probabilities for up to 4 speakers. "titanet":
# a speaker-embedding model (EncDecSpeakerLabelModel) whose embeddings are clustered.
DIARIZER_FAMILIES = ("sortformer", "titanet")
# Diarizers by the class their config names (`target`): NeMo's ASRModel restores
# recognisers only, so a diarizer's folder is restored with its own class.
DIARIZER_CLASSES = {
    "SortformerEncLabelModel": "sortformer",
    "EncDecSpeakerLabelModel": "titanet",
}


def kind_of_target(target: str) -> str:
    """"diarizer" or "recogniser", from a model config's `target` class path."""
    return "diarizer" if target.rsplit(".", 1)[-1] in DIARIZER_CLASSES else "recogniser"

EU25 = (
    "bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "it",
    "lv", "lt", "mt", "pl", "pt", "ro", "sk", "sl", "es", "sv", "ru", "uk",
)


@dataclass(frozen=True)
class ModelSpec:
    id: str  # Hugging Face repo id, or "local:<path>" for a user's file
    name: str
    family: str  # "tdt" (Parakeet, transducer), "aed" (Canary, multitask); diarizers: see DIARIZER_FAMILIES
    languages: tuple[str, ...]
    description: str
    timestamps: bool = True
    # Language pairs the model translates between; empty when it only transcribes.
    translation: tuple[tuple[str, str], ...] = ()
    auto_language: bool = False  # detects the spoken language itself
    prompt_format: str | None = None  # Canary: "canary" or "canary2"
    # Longest audio the model handles well in one piece. Canary was trained on <= 40 s
    # pieces; Parakeet's full attention costs memory quadratically with length.
    max_chunk_s: float = 60.0
    default_batch_size: int = 4
    size_gb: float = 0.0
    min_vram_gb: float = 0.0  # informational; the device check derives the need (engine/vram.py)
    # Measured to transcribe as well in fp16 as in fp32 on a pre-Ampere GPU (Turing, Volta),
    # which have no native bf16. None is yet: those cards run fp32 (engine/device.py).
    fp16_validated: bool = False
    hf_filename: str = ""
    # The licence the model card states ("unverified" where we could not read the card).
    licence: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def kind(self) -> str:
        """"diarizer" (who speaks) or "recogniser" (what is said)."""
        return "diarizer" if self.family in DIARIZER_FAMILIES else "recogniser"

    @property
    def is_local(self) -> bool:
        return self.id.startswith("local:")

    def supports_translation(self, source: str | None, target: str | None) -> bool:
        if not target or target == source:
            return True
        return (source or "en", target) in self.translation

    def validate_languages(self, source: str | None, target: str | None) -> None:
        if self.is_local:  # a user's own model: we cannot know its languages, let NeMo decide
            return
        if source and self.languages and source not in self.languages:
            raise ModelError(
                f"{self.name} does not support language '{source}'; it supports: {', '.join(self.languages)}"
            )
        if target and target != source and not self.supports_translation(source, target):
            raise ModelError(f"{self.name} cannot translate from '{source or 'en'}' to '{target}'")


def _pairs(src: tuple[str, ...], tgt: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((s, t) for s in src for t in tgt if s != t)


CATALOG: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="nvidia/parakeet-tdt-0.6b-v3",
        name="Parakeet TDT 0.6B v3",
        family="tdt",
        languages=EU25,
        auto_language=True,
        description="Fast and accurate; 25 European languages, detected automatically; punctuation and word times.",
        # Chosen from benchmarks/run.py (README "Performance"; CPU, the 0.6B architecture, 1 torch thread,
        # time relative to the fastest setting): chunk 20 s 1.03, 30 s 1.13, 60 s 1.21, 120 s 1.39 (full
        # attention grows quadratically with length), and per-call activation memory grows with
        # chunk x batch. 30 s keeps most of that gain while cutting half as often as 20 s, leaves the
        # chunker a 15 s window to find a pause, and stays inside the segment lengths Parakeet is
        # trained on (v2's training config: up to 40 s). Batch 4 of 30 s was 1.05 vs 1.13 for batch 1
        # (batching helps a 0.6B model even on a CPU, and far more on a GPU) for +0.3 GB; 4 x 30 s is
        # also half the audio per call of the former 4 x 60 s, so progress and cancel come twice as
        # often. A GPU that runs out of memory halves the batch by itself (BatchRunner). Not measured
        # here: GPU speed, and accuracy (random weights); benchmarks/gpu.py measures the former where
        # CUDA exists.
        max_chunk_s=30.0,
        default_batch_size=4,
        size_gb=2.4,
        min_vram_gb=3.0,
        hf_filename="parakeet-tdt-0.6b-v3.nemo",
    ),
    ModelSpec(
        id="nvidia/parakeet-tdt-1.1b",
        name="Parakeet TDT 1.1B",
        family="tdt",
        languages=("en",),
        description="English only, very accurate; lower-case text without punctuation; word times.",
        # Same encoder width (d_model 1024) as the 0.6B, so the same chunk-length figures apply (30 s, see
        # above); batch 2 of 30 s is one minute of audio per call, for a model with 1.8x the weights.
        max_chunk_s=30.0,
        default_batch_size=2,
        size_gb=4.3,
        min_vram_gb=5.0,
        hf_filename="parakeet-tdt-1.1b.nemo",
    ),
    ModelSpec(
        id="nvidia/canary-1b",
        name="Canary 1B",
        family="aed",
        languages=("en", "de", "es", "fr"),
        translation=_pairs(("en", "de", "es", "fr"), ("en", "de", "es", "fr")),
        prompt_format="canary",
        timestamps=False,
        description="English, German, Spanish, French; translates between them; no word times (one subtitle per chunk).",
        max_chunk_s=30.0,
        default_batch_size=4,
        size_gb=3.9,
        min_vram_gb=5.0,
        hf_filename="canary-1b.nemo",
    ),
    ModelSpec(
        id="nvidia/canary-1b-v2",
        name="Canary 1B v2",
        family="aed",
        languages=EU25,
        translation=_pairs(("en",), EU25) + _pairs(EU25, ("en",)),
        prompt_format="canary2",
        description="25 European languages; translates to and from English; word times by alignment.",
        max_chunk_s=30.0,
        default_batch_size=4,
        size_gb=3.9,
        min_vram_gb=5.0,
        hf_filename="canary-1b-v2.nemo",
    ),
)

DEFAULT_MODEL_ID = "nvidia/parakeet-tdt-0.6b-v3"

# Who speaks when. Kept apart from CATALOG: a diarizer is never offered as a recogniser.
DIARIZERS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="nvidia/diar_streaming_sortformer_4spk-v2.1",
        name="Streaming Sortformer 4 speakers v2.1",
        family="sortformer",
        languages=(),
        description="Who speaks when, up to 4 speakers; streaming with a speaker cache, so a speaker keeps "
                    "one label across a long file.",
        timestamps=False,
        size_gb=0.47,  # the .nemo is 471 MB (model card)
        hf_filename="diar_streaming_sortformer_4spk-v2.1.nemo",
        # The card's front matter: `license: other`, `license_name: nvidia-open-model-license`
        # (commercial use allowed with attribution). v1 (diar_sortformer_4spk-v1) is CC-BY-NC-4.0: not offered.
        licence="NVIDIA Open Model License",
    ),
    ModelSpec(
        id="nvidia/speakerverification_en_titanet_large",
        name="TitaNet Large (speaker embeddings)",
        family="titanet",
        languages=(),
        description="Speaker embeddings clustered into speakers: for more than 4 speakers, or a given count.",
        timestamps=False,
        size_gb=0.1,  # the .nemo is 102 MB (Hugging Face file list)
        hf_filename="speakerverification_en_titanet_large.nemo",
        # The card's front matter: `license: cc-by-4.0` (commercial use allowed with attribution).
        licence="CC-BY-4.0",
    ),
)
DEFAULT_DIARIZER_ID = "nvidia/diar_streaming_sortformer_4spk-v2.1"
EMBEDDING_DIARIZER_ID = "nvidia/speakerverification_en_titanet_large"
# Ids an earlier version showed (NGC's name, not a Hugging Face repository): still accepted.
_RENAMED = {"nvidia/titanet_large": EMBEDDING_DIARIZER_ID, "titanet_large": EMBEDDING_DIARIZER_ID}


def get_spec(model_id: str, catalog: tuple[ModelSpec, ...] = CATALOG) -> ModelSpec:
    model_id = _RENAMED.get(model_id, model_id)
    for spec in catalog:
        if spec.id == model_id or spec.id.split("/", 1)[-1] == model_id:
            return spec
    known = ", ".join(s.id for s in catalog)
    raise ModelError(f"unknown model '{model_id}'; choose one of: {known}, or give a .nemo file")


def get_diarizer_spec(model_id: str) -> ModelSpec:
    return get_spec(model_id, DIARIZERS)


def get_any_spec(model_id: str) -> ModelSpec:
    """A recogniser or a diarizer (model management: download, verify, delete)."""
    return get_spec(model_id, CATALOG + DIARIZERS)


def local_spec(path: str, family: str, prompt_format: str | None = None, has_timestamps: bool = True) -> ModelSpec:
    """A spec for a user's own .nemo, described from what the loaded model turned out to be."""
    from pathlib import Path

    return ModelSpec(
        id=f"local:{path}",
        name=Path(path).stem,
        family=family,
        languages=(),
        description="A local model file chosen by the user.",
        prompt_format=prompt_format,
        timestamps=has_timestamps,
        # Canary-style (aed): 30 s, as trained; Parakeet-style (tdt): the catalog Parakeet's 30 s (benchmarked).
        max_chunk_s=30.0,
        translation=(),
    )
