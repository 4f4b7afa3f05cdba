"""The words the layers exchange about a job, as enums instead of loose strings.

They are `StrEnum`s: each member *is* its old string ("done" == JobState.DONE), so the
journal, the signals and older code that still compares strings keep working unchanged.
"""
from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """A job's state in the journal and in a result."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


UNFINISHED = frozenset({JobState.QUEUED, JobState.RUNNING})
FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


class Stage(StrEnum):
    """What the engine is doing for a job (`Progress.stage`)."""

    LOADING = "loading"
    DOWNLOADING = "downloading"
    UNPACKING = "unpacking"
    DECODING = "decoding"
    TRANSCRIBING = "transcribing"
    DIARIZING = "diarizing"  # inside a job with speakers; reported as TRANSCRIBING (speaker_job.py)
    WRITING = "writing"


# The one mapping from a stage to the words a user reads (the window's status column,
# the terminal's status line).
STAGE_WORDS: dict[str, str] = {
    Stage.LOADING: "loading model", Stage.DOWNLOADING: "downloading model",
    Stage.UNPACKING: "preparing model", Stage.DECODING: "decoding",
    Stage.TRANSCRIBING: "transcribing", Stage.DIARIZING: "identifying speakers", Stage.WRITING: "writing",
}


def stage_words(stage: str) -> str:
    return STAGE_WORDS.get(stage, stage)


class FailureKind(StrEnum):
    MEDIA = "media"
    MODEL = "model"
    DEVICE = "device"
    LOCK = "lock"
    EXPORT = "export"
    MEMORY = "memory"
    ENVIRONMENT = "environment"  # torch or NeMo cannot be imported: fatal for the process
    INTERNAL = "internal"


class FileOp(StrEnum):
    """File operations that go through the lock retry policy (`RetryEvent.operation`)."""

    REPLACE = "replace"
    DELETE = "delete"
    REMOVE_FOLDER = "remove folder"
    RENAME = "rename"
    OPEN = "open"
    OPEN_FOR_WRITING = "open for writing"
    UNPACK = "unpack"
    LOAD_MODEL = "load model"
