"""Jobs and their results as plain data: what crosses threads, the journal and the CLI."""
from __future__ import annotations

import json
import os
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nemo_desk.core.errors import DeviceError, ExportError, MediaError, ModelError, NemoDeskError
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
        # One line for a table row or a terminal line (a tar or ffmpeg error can hold several).
        return JobFailure(kind, " ".join(exc.user_message.split()))
    if isinstance(exc, MemoryError):
        return JobFailure("memory", f"Out of memory: {exc or 'the audio or model is too large'}")
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return JobFailure("internal", f"Unexpected error: {type(exc).__name__}: {exc}", detail=detail)


def job_to_json(job: Job) -> str:
    data = asdict(job)
    data["source"] = str(job.source)
    data["output_dir"] = str(job.output_dir) if job.output_dir else None
    data["model"]["path"] = str(job.model.path) if job.model.path else None
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def job_from_json(text: str) -> Job:
    d = json.loads(text)
    m = d["model"]
    return Job(
        source=Path(d["source"]),
        model=ModelRef(model_id=m["model_id"], path=Path(m["path"]) if m["path"] else None, device=m["device"],
                       cuda_graphs=bool(m.get("cuda_graphs", True))),
        formats=tuple(d["formats"]),
        output_dir=Path(d["output_dir"]) if d["output_dir"] else None,
        options=TranscribeOptions(**d["options"]),
        overwrite=d["overwrite"],
        id=d["id"],
    )
