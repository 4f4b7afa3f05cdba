"""Jobs and their results as plain data: what crosses threads, the journal and the CLI."""
from __future__ import annotations

import json
import os
import traceback
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from nemo_desk.core.errors import (
    DeviceError, EnvironmentBroken, ExportError, MediaError, ModelError, NemoDeskError,
)
from nemo_desk.core.states import FailureKind, JobState
from nemo_desk.core.transcript import Transcript
from nemo_desk.engine.modelref import ModelRef
from nemo_desk.engine.options import TranscribeOptions
from nemo_desk.locks.lockerror import LockError, LockReport

if TYPE_CHECKING:  # only an annotation here; the export package is imported by the pipeline
    from nemo_desk.export import WrittenFile


@dataclass(frozen=True)
class Job:
    source: Path
    model: ModelRef = ModelRef()
    formats: tuple[str, ...] = ("srt", "txt")
    output_dir: Path | None = None
    options: TranscribeOptions = TranscribeOptions()
    overwrite: bool = False
    id: str = field(default_factory=lambda: os.urandom(6).hex())  # 12 hex digits, like uuid4().hex[:12]


@dataclass(frozen=True)
class JobFailure:
    kind: FailureKind
    message: str  # one line (the lock kind adds the remediation text in `lock`)
    lock: LockReport | None = None
    detail: str = ""  # traceback, for the log file only
    reason: str = ""  # the message without the file's path in front (for a line that names the file)

    @property
    def fatal(self) -> bool:
        """Nothing else can run in this process either (torch or NeMo cannot be imported)."""
        return self.kind == FailureKind.ENVIRONMENT


@dataclass(frozen=True)
class JobResult:
    job: Job
    status: JobState  # DONE, FAILED or CANCELLED
    outputs: tuple[WrittenFile, ...] = ()
    failure: JobFailure | None = None
    transcript: Transcript | None = None
    elapsed: float = 0.0
    note: str = ""


_KINDS: tuple[tuple[type, FailureKind], ...] = (
    (LockError, FailureKind.LOCK), (EnvironmentBroken, FailureKind.ENVIRONMENT), (MediaError, FailureKind.MEDIA),
    (ModelError, FailureKind.MODEL), (DeviceError, FailureKind.DEVICE), (ExportError, FailureKind.EXPORT),
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def failure_from(exc: BaseException) -> JobFailure:
    if isinstance(exc, LockError):
        first = exc.user_message.splitlines()[0]
        return JobFailure(FailureKind.LOCK, first, exc.report, reason=first)
    if isinstance(exc, NemoDeskError):
        kind = next((k for t, k in _KINDS if isinstance(exc, t)), FailureKind.INTERNAL)
        # One line for a table row or a terminal line (a tar or ffmpeg error can hold several).
        reason = exc.reason if isinstance(exc, MediaError) else exc.user_message
        return JobFailure(kind, _one_line(exc.user_message), detail=exc.technical, reason=_one_line(reason))
    if isinstance(exc, MemoryError):
        text = f"Out of memory: {exc or 'the audio or model is too large'}"
        return JobFailure(FailureKind.MEMORY, text, reason=text)
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = f"Unexpected error: {type(exc).__name__}: {exc}"
    return JobFailure(FailureKind.INTERNAL, text, detail=detail, reason=text)


def job_to_json(job: Job) -> str:
    data = asdict(job)
    data["source"] = str(job.source)
    data["output_dir"] = str(job.output_dir) if job.output_dir else None
    data["model"]["path"] = str(job.model.path) if job.model.path else None
    # ASCII: a file name that is not valid UTF-8 (lone surrogates on Linux) survives as
    # \udcXX escapes, which json.loads turns back into the same name.
    return json.dumps(data, ensure_ascii=True, sort_keys=True)


def _known(cls: type, data: dict) -> dict:
    """The fields `cls` has today: a row from another version may hold more or fewer."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def job_from_json(text: str) -> Job:
    """A journal row back into a Job. Rows from an older or newer version are read with
    today's defaults for what they lack; one that cannot be a job raises ValueError."""
    try:
        d = json.loads(text)
        m = d.get("model") or {}
        path = m.get("path")
        return Job(
            source=Path(d["source"]),
            model=ModelRef(**_known(ModelRef, {**m, "path": Path(path) if path else None})),
            formats=tuple(d.get("formats") or ("srt", "txt")),
            output_dir=Path(d["output_dir"]) if d.get("output_dir") else None,
            options=TranscribeOptions(**_known(TranscribeOptions, d.get("options") or {})),
            overwrite=bool(d.get("overwrite", False)),
            id=str(d["id"]),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a job: {type(exc).__name__}: {exc}") from exc
