"""Speakers for one job: which diarizer, is it installed, run it on the decoded array and
give the transcript's words their speakers. The pipeline calls `identify_speakers` after
transcription, with the same array (never the file) and the same journal cache."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.errors import ModelError
from nemo_desk.core.events import ObserverFn, Progress, null_observer
from nemo_desk.core.transcript import Transcript
from nemo_desk.core.states import Stage
from nemo_desk.engine.catalog import DEFAULT_DIARIZER_ID, EMBEDDING_DIARIZER_ID, ModelSpec, get_diarizer_spec
from nemo_desk.engine.modelref import ModelRef
from nemo_desk.engine.options import TranscribeOptions

if TYPE_CHECKING:  # numpy comes with the first job, not with the CLI's argument checks
    import numpy as np

SORTFORMER_MAX = 4  # Sortformer's output columns


def parse_speakers(value: str) -> int | None:
    """"auto" -> None (estimated); "N" -> N. ValueError (one line) for anything else;
    "off" is not a count: callers check it first."""
    text = str(value).strip().lower()
    if text == "auto":
        return None
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"--speakers takes auto, off or a number of speakers, not '{value}'") from None
    if not 1 <= count <= 32:
        raise ValueError(f"--speakers: the number of speakers must be 1 to 32, not {count}")
    return count


def diarizer_spec(options: TranscribeOptions) -> ModelSpec:
    """The catalog diarizer a job uses: the user's choice, else Sortformer for up to 4
    speakers and the embedding path when more are expected."""
    if options.diarizer:
        return get_diarizer_spec(options.diarizer)
    count = parse_speakers(options.speakers)
    return get_diarizer_spec(EMBEDDING_DIARIZER_ID if count and count > SORTFORMER_MAX else DEFAULT_DIARIZER_ID)


def missing_diarizer_message(options: TranscribeOptions, store: Any) -> str | None:
    """One line when speakers are asked for but no diarizer is there to give them."""
    if options.speakers == "off":
        return None
    if options.diarizer_path:
        return None if Path(options.diarizer_path).is_file() else f"no diarizer file at {options.diarizer_path}"
    spec = diarizer_spec(options)
    if store.is_installed(spec):
        return None
    return (f"--speakers needs a diarizer: run `nemo-desk models download {spec.id}` "
            f"(~{spec.size_gb:.1f} GB, {spec.licence}) or give --diarizer-path FILE.nemo")


def diarizer_ref(options: TranscribeOptions, device: str) -> ModelRef:
    if options.diarizer_path:
        return ModelRef(path=Path(options.diarizer_path), device=device)
    return ModelRef(model_id=diarizer_spec(options).id, device=device)


def identify_speakers(diarizers: Any, options: TranscribeOptions, device: str, audio: np.ndarray,
                      transcript: Transcript, cancel: CancelToken | None = None,
                      observer: ObserverFn = null_observer, cache: Any = None) -> Transcript:
    """`transcript` with speakers (unchanged when speakers are off). `diarizers` is a
    ModelManager over the diarizer catalog: the diarizer stays loaded across jobs."""
    from nemo_desk.engine.diarizer import diarize_array
    from nemo_desk.engine.speakers import assign_speakers

    if options.speakers == "off":
        return transcript
    count = parse_speakers(options.speakers)
    ref = diarizer_ref(options, device)
    observer(Progress(Stage.LOADING, 0, 0, f"loading diarizer {ref.label}"))
    loaded = diarizers.get(ref, observer, cancel)
    if loaded.spec.kind != "diarizer":
        raise ModelError(f"{ref.label} is a speech recogniser, not a diarizer: give a Sortformer or TitaNet "
                         f".nemo to --diarizer-path")
    diar = diarize_array(loaded, audio, count, cancel, observer, cache)
    return assign_speakers(transcript, diar)


# The share of a job's bar the transcription fills when speakers are on; diarization fills
# the rest. An estimate (a full-size Sortformer's step costs less than a recogniser's chunk,
# see benchmarks/diarize.py); only the ETA's accuracy depends on it.
TRANSCRIBE_SHARE = 0.75


def combined_progress(observer: ObserverFn, options: TranscribeOptions,
                      share: float = TRANSCRIBE_SHARE) -> ObserverFn:
    """One progress per job: with speakers on, transcription and diarization report as one
    "transcribing" stage (what the window's bar and the terminal's ETA follow)."""
    if options.speakers == "off":
        return observer

    def relay(event: Any) -> None:
        if isinstance(event, Progress) and event.total > 0 and event.stage in (Stage.TRANSCRIBING, Stage.DIARIZING):
            base = 0.0 if event.stage == Stage.TRANSCRIBING else share * event.total
            part = share if event.stage == Stage.TRANSCRIBING else 1.0 - share
            event = Progress(Stage.TRANSCRIBING, base + part * event.done, event.total, event.message)
        observer(event)

    return relay
