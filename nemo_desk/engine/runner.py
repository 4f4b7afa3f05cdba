"""One NeMo call per batch of chunks, and what to do when the GPU says no.

Out of memory: halve the batch and remember the size that worked (the next batches and
jobs start there, instead of failing again at 4, 2, 2, 4...); at one chunk, finish this
file on the CPU and bring the model back to the GPU with the next job. The decoder's CUDA
graphs hold buffers sized for the old batch: they are re-captured after each of these.
A decoding failure that is not about memory is retried once without CUDA graphs (they
need cuda-bindings that match the driver), and the log says so.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nemo_desk.core.events import LogEvent, ObserverFn
from nemo_desk.engine.boosting import JobBoosting
from nemo_desk.engine.device import Precision, free_accelerator_memory, is_out_of_memory, precision_context
from nemo_desk.engine.loader import LoadedModel, place, set_cuda_graphs
from nemo_desk.engine.options import TranscribeOptions

RunFn = Callable[[LoadedModel, list[np.ndarray], TranscribeOptions], list[Any]]


def _prompt(loaded: LoadedModel, options: TranscribeOptions) -> dict[str, str]:
    source = options.language or "en"
    target = options.target_language or source
    prompt = {"source_lang": source, "target_lang": target, "pnc": "yes" if options.punctuation else "no"}
    if (loaded.spec.prompt_format or "canary") == "canary":
        # Canary-1B names the task; Canary-1B-v2 translates whenever source != target.
        prompt["task"] = "asr" if target == source else "ast"
    else:
        # With an override config NeMo fills unset canary2 slots only from the model's
        # prompt_defaults, and a missing one fails deep inside the formatter. Word times
        # come from the packed aligner, never from the decoder's own timestamp tokens.
        prompt.update(timestamp="no", itn="no", diarize="no")
    return prompt


def _run_nemo(loaded: LoadedModel, arrays: list[np.ndarray], options: TranscribeOptions) -> list[Any]:
    model = loaded.model
    with precision_context(loaded.device, loaded.precision):
        if loaded.family == "tdt":
            return model.transcribe(
                arrays, batch_size=len(arrays), return_hypotheses=True, timestamps=True,
                num_workers=0, verbose=False,
            )
        from nemo.collections.asr.models.aed_multitask_models import MultiTaskTranscriptionConfig

        has_aligner = getattr(model, "timestamps_asr_model", None) is not None
        config = MultiTaskTranscriptionConfig(
            batch_size=len(arrays), return_hypotheses=True, num_workers=0, verbose=False,
            prompt=_prompt(loaded, options),
            # Our chunks are already short and cut at pauses; NeMo's own long-form
            # chunking would cut them again at fixed points.
            enable_chunking=False,
        )
        return model.transcribe(arrays, override_config=config, timestamps=True if has_aligner else None)


def _text(hyp: Any) -> str:
    return hyp if isinstance(hyp, str) else str(getattr(hyp, "text", "") or "")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:120]}" if text else type(exc).__name__


class BatchRunner:
    """Runs one batch of chunks through the model with the back-offs described above."""

    def __init__(self, loaded: LoadedModel, options: TranscribeOptions, observer: ObserverFn,
                 run: RunFn = _run_nemo):
        self.loaded = loaded
        self.options = options
        self.observer = observer
        # The job's vocabulary is set on the decoder before each call (engine/boosting.py).
        self._run = JobBoosting(loaded, options, observer).wrap(run)

    def __call__(self, arrays: list[np.ndarray]) -> list[Any]:
        limit = self.loaded.batch_limit
        if limit and len(arrays) > limit and self.loaded.device != "cpu":
            out: list[Any] = []
            for i in range(0, len(arrays), limit):
                out += self._one(arrays[i : i + limit])
            return out
        return self._one(arrays)

    def _one(self, arrays: list[np.ndarray]) -> list[Any]:
        try:
            return self._attempt(arrays)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
        return self._after_oom(arrays)

    def _graphs_on(self) -> bool:
        return self.loaded.device == "cuda" and self.loaded.cuda_graphs

    def _attempt(self, arrays: list[np.ndarray]) -> list[Any]:
        try:
            hyps = self._run(self.loaded, arrays, self.options)
        except Exception as exc:
            if is_out_of_memory(exc) or not self._graphs_on():
                raise
            self.observer(LogEvent("warning", f"Decoding failed with CUDA graphs ({_short(exc)}); "
                                              f"retrying without them (a little slower)."))
            set_cuda_graphs(self.loaded, False)
            hyps = self._run(self.loaded, arrays, self.options)
        if self.loaded.precision is Precision.FP16 and hyps and not any(_text(h).strip() for h in hyps):
            hyps = self._check_fp16(arrays, hyps)
        return hyps

    def _check_fp16(self, arrays: list[np.ndarray], hyps: list[Any]) -> list[Any]:
        """fp16 can overflow into a decoder that emits only blanks, which would read as "no
        speech found". These chunks are not silent (silent ones never get here), so an
        all-empty batch is checked once in fp32; if fp32 hears words, fp16 is off for good."""
        self.loaded.precision = Precision.FP32
        exact = self._run(self.loaded, arrays, self.options)
        if any(_text(h).strip() for h in exact):
            self.observer(LogEvent("warning", "Half precision (fp16) lost the words of a batch on this GPU; "
                                              "this model now runs in full precision (fp32)."))
            return exact
        self.loaded.precision = Precision.FP16
        return hyps

    def _after_oom(self, arrays: list[np.ndarray]) -> list[Any]:
        free_accelerator_memory()
        loaded = self.loaded
        if len(arrays) > 1:
            half = len(arrays) // 2
            loaded.batch_limit = half
            self.observer(LogEvent("warning", f"Out of GPU memory with {len(arrays)} chunks at once; "
                                              f"using {half} at once from now on."))
            set_cuda_graphs(loaded, loaded.cuda_graphs, reinit=True)
            return self(arrays[:half]) + self(arrays[half:])
        if loaded.device != "cpu":
            self.observer(LogEvent("warning", "Out of GPU memory even for one chunk; this file continues on "
                                              "the CPU (slower), the next file starts on the GPU again."))
            place(loaded, "cpu")  # back to fp32; the GPU's cache is emptied after the move
            set_cuda_graphs(loaded, loaded.cuda_graphs, reinit=True)
            return self(arrays)
        raise MemoryError("out of memory on the CPU; close other programs or choose a smaller model")
