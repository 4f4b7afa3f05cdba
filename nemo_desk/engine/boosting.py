"""A job's vocabulary on the loaded model's decoder: NeMo's GPU-PB phrase boosting.

NeMo builds a boosting tree over the tokenizer's pieces of each phrase and adds its
score to the decoder's (`decoding.greedy.boosting_tree` for TDT/RNNT greedy_batch,
`decoding.beam.boosting_tree` for AED/Canary, see NeMo's word_boosting.rst). The phrases
go in as a list (never a file), so nothing is written anywhere.

Per job, without reloading: the first model call of a job sets the decoder to exactly
that job's list (an empty list: the decoder as it was loaded). The state lives with the
model, so a job that failed, was cancelled or ran out of memory half-way cannot leave
its list behind: the next job's first call replaces it. Between jobs with the same list
nothing is rebuilt.

Case-insensitive: NeMo 3.0 has no case-insensitive mode for BPE phrases (added later,
NeMo PR #15800), and on a cased model "acme" boosts nothing when the model writes
"Acme". Each phrase therefore goes in with its usual spellings (as typed, lower case,
capitalised, title case), those the tokenizer spells differently, so the decoder can
take whichever casing its language model prefers.

On a transducer decoding greedily (Parakeet TDT) the boost is strong and checked: the
greedy search is wrapped so that a boosted phrase stays only where the model's own scores
for its pieces nearly agree, and the plain search's words stand everywhere else
(engine/boost_check.py; the strengths and their measurement are in engine/vocabulary.py).

A phrase the tokenizer cannot spell (a letter it has no piece for) is left out and
reported once per job. If NeMo cannot boost this model (a decoding strategy without
fusion support, an older NeMo), the job says so in one line and runs without boosting.
"""
from __future__ import annotations

import copy
import unicodedata
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from nemo_desk.core.events import LogEvent, ObserverFn
from nemo_desk.engine.boost_check import CheckedSearch, word_starts
from nemo_desk.engine.device import is_out_of_memory
from nemo_desk.engine.loader import LoadedModel, set_cuda_graphs
from nemo_desk.engine.options import TranscribeOptions
from nemo_desk.engine.vocabulary import strength_values

# What boosting each model's decoder holds now (a _Setup, or None for none), and the
# config values it had before we first changed it. Weak keys: an unloaded model is
# forgotten with it.
_APPLIED: "weakref.WeakKeyDictionary[Any, _Setup | None]" = weakref.WeakKeyDictionary()
_ORIGINAL: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Setup:
    spellings: tuple[str, ...]
    alpha: float
    context_score: float
    depth_scaling: float
    max_deficit: float | None  # engine/boost_check.py; None: keep whatever the boost writes
    lang: str


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _lang_of(tokenizer: Any, lang: str | None) -> str | None:
    """The language an aggregate (Canary) tokenizer must be asked in; None otherwise."""
    langs = getattr(tokenizer, "langs", None) or getattr(tokenizer, "tokenizers_dict", None)
    if not langs:
        return None
    langs = list(langs)
    if lang in langs:
        return lang
    return "en" if "en" in langs else langs[0]


def _ids(tokenizer: Any, text: str, lang: str | None) -> list[int]:
    return list(tokenizer.text_to_ids(text, lang) if lang else tokenizer.text_to_ids(text))


def spell(tokenizer: Any, phrases: tuple[str, ...], lang: str | None = None) -> tuple[list[str], list[str]]:
    """(spellings to boost, phrases the tokenizer cannot spell).

    A spelling counts when the tokenizer's pieces read back as the same text, case
    aside (a lower-casing tokenizer reads "Acme" back as "acme"); an unknown letter
    reads back as SentencePiece's "⁇" and fails. Variants that give the same pieces are
    kept once."""
    lang = _lang_of(tokenizer, lang)
    out: list[str] = []
    bad: list[str] = []
    seen: set[tuple[int, ...]] = set()
    for phrase in phrases:
        variants = dict.fromkeys([phrase, phrase.lower(), phrase[:1].upper() + phrase[1:], phrase.title()])
        ok = False
        for v in variants:
            ids = _ids(tokenizer, v, lang)
            if not ids or _norm(tokenizer.ids_to_text(ids)) != _norm(v):
                continue
            ok = True
            if tuple(ids) not in seen:
                seen.add(tuple(ids))
                out.append(v)
        if not ok:
            bad.append(phrase)
    return out, bad


def _tree(setup: _Setup, depth_scaling: float) -> dict:
    try:  # Triton kernels when they exist (Linux GPUs); the PyTorch path otherwise
        from nemo.core.utils.optional_libs import TRITON_AVAILABLE
    except ImportError:
        TRITON_AVAILABLE = False
    return {"key_phrases_list": list(setup.spellings), "key_phrases_file": None, "model_path": None,
            "context_score": setup.context_score, "depth_scaling": depth_scaling,
            "source_lang": setup.lang, "use_triton": bool(TRITON_AVAILABLE)}


def _greedy_transducer(loaded: LoadedModel) -> bool:
    """Whether the decoder is a greedy transducer search, the one boost_check can wrap."""
    decoding = getattr(getattr(loaded.model, "cfg", None), "decoding", None)
    strategy = str(decoding.get("strategy", "greedy_batch")) if decoding is not None else "greedy_batch"
    return loaded.family == "tdt" and strategy.startswith("greedy")


def _configure(loaded: LoadedModel, setup: _Setup | None) -> None:
    """Rebuild the decoder with `setup` (None: as loaded). The greedy TDT decoder takes
    the tree in its `greedy` section (depth scaling 2.0, NeMo's value for transducers);
    Canary takes it only in `beam` (depth 1.0, NeMo's value for AED), so a Canary model
    that decodes greedily is switched to beam search of width 1 for a boosted job."""
    from omegaconf import OmegaConf, open_dict

    model = loaded.model
    cfg = copy.deepcopy(model.cfg.decoding)
    # Transducers read the tree from the section of their strategy (greedy_batch: greedy;
    # malsd_batch/beam: beam); Canary only from beam.
    greedy = _greedy_transducer(loaded)
    section = "greedy" if greedy else "beam"
    with open_dict(cfg):
        if section not in cfg or cfg[section] is None:
            cfg[section] = {}
        _mend_enum_names(cfg[section])
        original = _ORIGINAL.setdefault(model, {
            "tree": copy.deepcopy(cfg[section].get("boosting_tree")),
            "alpha": cfg[section].get("boosting_tree_alpha", 0.0),
            "strategy": cfg.get("strategy"), "beam_size": cfg[section].get("beam_size")})
        if setup is None:
            cfg[section].boosting_tree = original["tree"]
            cfg[section].boosting_tree_alpha = original["alpha"]
            if loaded.family != "tdt":
                cfg.strategy = original["strategy"]
                if original["beam_size"] is not None:
                    cfg.beam.beam_size = original["beam_size"]
        else:
            depth = setup.depth_scaling if loaded.family == "tdt" else 1.0
            cfg[section].boosting_tree = OmegaConf.create(_tree(setup, depth))
            cfg[section].boosting_tree_alpha = setup.alpha
            if loaded.family != "tdt" and cfg.get("strategy") != "beam":
                cfg.strategy = "beam"
                cfg.beam.beam_size = 1
    if loaded.family == "tdt":
        plain = None
        if greedy and setup is not None and setup.max_deficit is not None:
            # The un-boosted search of the same decoder, for boost_check to fall back on.
            model.change_decoding_strategy(_unboosted(cfg, section, original), verbose=False)
            plain = model.decoding.decoding
        model.change_decoding_strategy(cfg, verbose=False)
        if plain is not None and setup is not None:
            _check(loaded, setup, plain)
    else:
        model.change_decoding_strategy(cfg)
        if setup is not None:
            _fit_aed_vocabulary(model, _tree(setup, 1.0))
    if not loaded.cuda_graphs:  # a new decoder starts with NeMo's default (graphs on)
        set_cuda_graphs(loaded, False)


# NeMo writes the beam's enum options back into model.cfg as the enums' names ("LATE"),
# which its own parser then refuses ("LATE is not a valid PruningMode"): every
# change_decoding_strategy from model.cfg after the first failed for malsd_batch TDT.
_ENUM_OPTIONS = ("pruning_mode", "blank_lm_score_mode")


def _mend_enum_names(section: Any) -> None:
    for key in _ENUM_OPTIONS:
        value = section.get(key)
        if isinstance(value, str):
            section[key] = value.lower()


def _unboosted(cfg: Any, section: str, original: dict) -> Any:
    from omegaconf import open_dict

    plain = copy.deepcopy(cfg)
    with open_dict(plain):
        plain[section].boosting_tree = original["tree"]
        plain[section].boosting_tree_alpha = original["alpha"]
    return plain


def _check(loaded: LoadedModel, setup: _Setup, plain: Any) -> None:
    """Wrap the boosted greedy search so a phrase the model does not nearly hear itself
    is taken back out (engine/boost_check.py)."""
    model = loaded.model
    tokenizer = model.tokenizer
    lang = _lang_of(tokenizer, setup.lang)
    blank = int(getattr(model.decoder, "blank_idx", tokenizer.vocab_size))
    phrases = [tuple(_ids(tokenizer, s, lang)) for s in setup.spellings]
    assert setup.max_deficit is not None
    model.decoding.decoding = CheckedSearch(model.decoding.decoding, plain, phrases,
                                            word_starts(tokenizer, blank), blank, setup.max_deficit)


def _fit_aed_vocabulary(model: Any, tree: dict) -> None:
    """NeMo sizes Canary's output layer to the tokenizer's vocabulary rounded up to a
    multiple of 8 but builds the boosting tree for the unrounded size, and adding the two
    fails ("The size of tensor a (208) must match ... (206)"). Rebuild the tree for the
    layer's size: the extra ids are padding the model never emits."""
    from nemo.collections.asr.parts.context_biasing.boosting_graph_batched import (
        BoostingTreeModelConfig, GPUBoostingTreeModel,
    )

    search = getattr(getattr(model.decoding, "decoding", None), "beam_search", None)
    trees = getattr(search, "fusion_models", None) or []
    size = int(model.cfg.get("head", {}).get("num_classes", 0) or 0)
    tokenizer = model.tokenizer
    for i, fused in enumerate(trees):
        if isinstance(fused, GPUBoostingTreeModel) and 0 < fused.vocab_size < size:
            # A copy of the tokenizer that reports the layer's size; same class, so
            # NeMo still spells phrases per language with an aggregate tokenizer.
            padded: Any = object.__new__(type(type(tokenizer).__name__, (type(tokenizer),), {"vocab_size": size}))
            padded.__dict__.update(tokenizer.__dict__)
            padded.__dict__.pop("vocab_size", None)
            trees[i] = GPUBoostingTreeModel.from_config(BoostingTreeModelConfig(**tree), tokenizer=padded)


def _current(model: Any) -> _Setup | None:
    try:
        return _APPLIED.get(model)
    except TypeError:  # a stand-in model in a test (no weak references): never boosted
        return None


def applied(loaded: LoadedModel) -> tuple[str, ...]:
    """The spellings boosted on this model's decoder now (for tests and the log)."""
    setup = _current(loaded.model)
    return setup.spellings if setup else ()


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:160]}" if lines else type(exc).__name__


RunFn = Callable[[LoadedModel, list, TranscribeOptions], list]


class JobBoosting:
    """One job's boosting: sets it before each model call, reports once, never fails the job."""

    def __init__(self, loaded: LoadedModel, options: TranscribeOptions, observer: ObserverFn) -> None:
        self.loaded = loaded
        self.options = options
        self.observer = observer
        self._setup: _Setup | None = None
        self._planned = not options.boost  # nothing to spell for a job without a list
        self._off = False  # set when boosting failed for this job

    def _plan(self) -> None:
        self._planned = True
        phrases = self.options.boost
        tokenizer = getattr(self.loaded.model, "tokenizer", None)
        if tokenizer is None:
            self._unavailable("the model has no tokenizer to spell the phrases with")
            return
        spellings, bad = spell(tokenizer, phrases, self.options.language)
        if bad:
            shown = ", ".join(f'"{p}"' for p in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            self.observer(LogEvent("warning", f"Vocabulary: {len(bad)} of {len(phrases)} phrases use letters "
                                              f"this model cannot write and are not boosted: {shown}"))
        if not spellings:
            return
        alpha, score, depth, check = strength_values(self.options.boost_strength,
                                                     checked=_greedy_transducer(self.loaded))
        lang = _lang_of(tokenizer, self.options.language) or "en"
        self._setup = _Setup(tuple(spellings), alpha, score, depth, check, lang)
        self.observer(LogEvent("info", f"Vocabulary: boosting {len(phrases) - len(bad)} phrases "
                                       f"({self.options.boost_strength})"))

    def _unavailable(self, why: str) -> None:
        self._off = True
        self.observer(LogEvent("warning", f"Vocabulary boosting is not available for {self.loaded.spec.name} "
                                          f"here ({why}); transcribing without it."))

    def ensure(self) -> bool:
        """Put this job's boosting on the decoder; True when it is on."""
        if not self._planned:
            self._plan()
        wanted = None if self._off else self._setup
        model = self.loaded.model
        if _current(model) == wanted:
            return wanted is not None
        try:
            _configure(self.loaded, wanted)
            _APPLIED[model] = wanted
        except Exception as exc:
            if wanted is None or is_out_of_memory(exc):
                raise
            self._unavailable(_short(exc))
            _configure(self.loaded, None)  # the failed change may have left half a decoder
            _APPLIED[model] = None
            return False
        return wanted is not None

    def wrap(self, run: RunFn) -> RunFn:
        """`run` with this job's boosting on. A boosted call that fails for any reason
        but memory is tried once more without boosting; if that works, boosting was the
        cause, the log says so in one line, and the job goes on without it."""

        def boosted(loaded: LoadedModel, arrays: list, options: TranscribeOptions) -> list:
            if not self.ensure():
                return run(loaded, arrays, options)
            try:
                return run(loaded, arrays, options)
            except Exception as exc:
                if is_out_of_memory(exc):
                    raise
                self._off = True
                self.ensure()
                out = run(loaded, arrays, options)  # raises the plain error if boosting was not the cause
                self._unavailable(_short(exc))
                return out

        return boosted
