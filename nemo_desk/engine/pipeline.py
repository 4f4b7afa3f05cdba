"""One job end to end: probe, load the model, decode, transcribe, write the outputs.

`Pipeline.run` never raises for a job's own failure: every error becomes a typed
`JobFailure` in the result (errors are data), so the CLI and the GUI worker both go on
with the next file. Only programming errors in the caller's observer can escape.
"""
from __future__ import annotations

import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nemo_desk.core.cancel import CancelToken, Cancelled
from nemo_desk.core.errors import (
    DeviceError, ExportError, MediaError, ModelError, NemoDeskError,
)
from nemo_desk.core.events import LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.core.transcript import Transcript
from nemo_desk.engine.models import ModelManager, ModelRef
from nemo_desk.engine.transcriber import TranscribeOptions, transcribe_array
from nemo_desk.export import CueRules, OutputLedger, WrittenFile, write_outputs
from nemo_desk.locks.fileops import FileOps
from nemo_desk.locks.lockerror import LockError, LockReport
from nemo_desk.media import Ffmpeg, decode, probe


@dataclass(frozen=True)
class Job:
    source: Path
    model: ModelRef = ModelRef()
    formats: tuple[str, ...] = ("srt", "txt")
    output_dir: Path | None = None
    options: TranscribeOptions = TranscribeOptions()
    overwrite: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


@dataclass(frozen=True)
class JobFailure:
    kind: str  # "media", "model", "device", "lock", "export", "memory", "internal"
    message: str  # one line (the lock kind adds the remediation text in `lock`)
    lock: LockReport | None = None
    detail: str = ""  # traceback, for the log file only


@dataclass(frozen=True)
class JobResult:
    job: Job
    status: str  # "done", "failed", "cancelled"
    outputs: tuple[WrittenFile, ...] = ()
    failure: JobFailure | None = None
    transcript: Transcript | None = None
    elapsed: float = 0.0
    note: str = ""


_KINDS: tuple[tuple[type, str], ...] = (
    (LockError, "lock"), (MediaError, "media"), (ModelError, "model"),
    (DeviceError, "device"), (ExportError, "export"),
)


def failure_from(exc: BaseException) -> JobFailure:
    if isinstance(exc, LockError):
        return JobFailure("lock", exc.user_message.splitlines()[0], exc.report)
    if isinstance(exc, NemoDeskError):
        kind = next((k for t, k in _KINDS if isinstance(exc, t)), "internal")
        return JobFailure(kind, exc.user_message)
    if isinstance(exc, MemoryError):
        return JobFailure("memory", f"Out of memory: {exc or 'the audio or model is too large'}")
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return JobFailure("internal", f"Unexpected error: {type(exc).__name__}: {exc}", detail=detail)


class Pipeline:
    def __init__(self, models: ModelManager, ffmpeg: Callable[[], Ffmpeg], fileops: FileOps,
                 ledger: OutputLedger, rules: CueRules = CueRules()) -> None:
        self.models = models
        # A provider, not an instance: a missing ffmpeg fails each job with a clear
        # message instead of stopping the app from starting.
        self._ffmpeg = ffmpeg
        self.fileops = fileops
        self.ledger = ledger
        self.rules = rules

    def run(self, job: Job, cancel: CancelToken | None = None, observer: ObserverFn = null_observer) -> JobResult:
        cancel = cancel or CancelToken()
        started = time.monotonic()
        fileops = self.fileops.with_observer(observer)
        try:
            # Probe first: a bad file is reported in a second, before any model loads.
            ffmpeg = self._ffmpeg()
            info = probe(job.source, ffmpeg)
            observer(Progress("loading", 0, 0, f"loading model {job.model.label}"))
            loaded = self.models.get(job.model, observer, cancel)
            cancel.raise_if_cancelled()
            observer(Progress("decoding", 0, info.duration or 0))
            audio = decode(job.source, ffmpeg, cancel=cancel, observer=observer)
            transcript = transcribe_array(loaded, audio, job.options, cancel, observer, source=str(job.source))
            del audio
            cancel.raise_if_cancelled()  # last point where a cancel leaves no output at all
            observer(Progress("writing", 0, len(job.formats)))
            outputs = write_outputs(transcript, job.source, job.formats, job.output_dir, fileops,
                                    self.ledger, overwrite=job.overwrite, rules=self.rules)
            for out in outputs:
                if out.renamed_from is not None:
                    observer(LogEvent("warning", f"{out.renamed_from.name} exists and was not written by "
                                                 f"nemo_desk; kept it and wrote {out.path.name}"))
            note = "no speech found" if transcript.is_empty else ""
            observer(Progress("writing", len(outputs), len(outputs)))
            return JobResult(job, "done", tuple(outputs), None, transcript, time.monotonic() - started, note)
        except Cancelled:
            return JobResult(job, "cancelled", elapsed=time.monotonic() - started)
        except Exception as exc:  # errors are data: the queue goes on
            failure = failure_from(exc)
            return JobResult(job, "failed", failure=failure, elapsed=time.monotonic() - started)
