"""One job end to end: probe, load the model, decode, transcribe, write the outputs.

`Pipeline.run` never raises for a job's own failure: every error becomes a typed
`JobFailure` in the result (errors are data), so the CLI and the GUI worker both go on
with the next file. Only programming errors in the caller's observer can escape.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
import json
import os
import sqlite3
import time
from typing import Callable

from nemo_desk.core.cancel import CancelToken, Cancelled
from nemo_desk.core.errors import ModelError
from nemo_desk.core.events import LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.core.longpaths import long_path
from nemo_desk.engine.catalog import get_diarizer_spec
from nemo_desk.engine.jobs import Job, JobFailure, JobResult, failure_from
from nemo_desk.engine.journal import Journal
from nemo_desk.engine.models import ModelManager
from nemo_desk.export import CueRules, OutputLedger, write_outputs
from nemo_desk.locks.fileops import FileOps
from nemo_desk.media.ffmpeg import Ffmpeg


class JournalChunks:
    """The journal as the transcriber's chunk cache for one job."""

    def __init__(self, journal: Journal, job: Job) -> None:
        self.journal = journal
        self.job_id = job.id
        self.base = job_fingerprint(job)

    def _fp(self, key: str) -> str:
        return f"{self.base}:{key}"

    # A journal that cannot be written (disk full, a locked database) costs only the
    # ability to resume; it must never fail the transcription itself.
    def load(self, plan_key: str) -> dict:
        try:
            self.journal.drop_stale_chunks(self.job_id, self._fp(plan_key))
            return self.journal.finished_chunks(self.job_id, self._fp(plan_key))
        except (sqlite3.Error, OSError):
            return {}

    def save(self, plan_key: str, index: int, segments: list) -> None:
        try:
            self.journal.save_chunk(self.job_id, index, self._fp(plan_key), segments)
        except (sqlite3.Error, OSError):
            pass


def job_fingerprint(job: Job) -> str:
    """What must be unchanged for saved chunks to be reused: the file and the settings."""
    try:
        st = os.stat(long_path(job.source))
        stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = (0, 0)
    key = json.dumps([os.path.abspath(job.source), stamp, job.model.key, repr(job.options)])
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


class Pipeline:
    def __init__(self, models: ModelManager, ffmpeg: Callable[[], Ffmpeg], fileops: FileOps,
                 ledger: OutputLedger, rules: CueRules = CueRules(), journal: Journal | None = None) -> None:
        self.models = models
        # Diarizers have their own slot, so the recogniser stays loaded beside them.
        self.diarizers = ModelManager(models.store, lookup=get_diarizer_spec)
        self.journal = journal
        # A provider, not an instance: a missing ffmpeg fails each job with a clear
        # message instead of stopping the app from starting.
        self._ffmpeg = ffmpeg
        self.fileops = fileops
        self.ledger = ledger
        self.rules = rules

    def run(self, job: Job, cancel: CancelToken | None = None, observer: ObserverFn = null_observer) -> JobResult:
        self._record(observer, job.id, "running")
        result = self._run(job, cancel or CancelToken(), observer)
        message = result.failure.message if result.failure else result.note
        self._record(observer, job.id, result.status, message, [str(o.path) for o in result.outputs])
        return result

    def _record(self, observer: ObserverFn, job_id: str, state: str, *args) -> None:
        if self.journal is None:
            return
        try:
            self.journal.set_state(job_id, state, *args)
        except (sqlite3.Error, OSError) as exc:
            observer(LogEvent("warning", f"could not update the queue journal ({exc}); "
                                         f"this job may not be restored after a crash"))

    def _run(self, job: Job, cancel: CancelToken, observer: ObserverFn) -> JobResult:
        # numpy and the decoders load with the first job (on the worker thread), not when
        # the window starts: start-up stays close to a bare Qt window.
        from nemo_desk.engine.speaker_job import combined_progress, identify_speakers
        from nemo_desk.engine.transcriber import transcribe_array
        # Named modules, not the package's lazy attributes: PyInstaller follows these.
        from nemo_desk.media.decoding import decode
        from nemo_desk.media.probing import probe

        started = time.monotonic()
        observer = combined_progress(observer, job.options)  # speakers: one bar for both passes
        fileops = self.fileops.with_observer(observer)
        try:
            # Probe first: a bad file is reported in a second, before any model loads.
            ffmpeg = self._ffmpeg()
            info = probe(job.source, ffmpeg)
            observer(Progress("loading", 0, 0, f"loading model {job.model.label}"))
            loaded = self.models.get(job.model, observer, cancel)
            if loaded.spec.kind != "recogniser":
                raise ModelError(f"{job.model.label} is a speaker diarizer, not a speech recogniser: "
                                 f"give it to --diarizer-path")
            cancel.raise_if_cancelled()
            observer(Progress("decoding", 0, info.duration or 0))
            audio = decode(job.source, ffmpeg, cancel=cancel, observer=observer, info=info)
            cache = JournalChunks(self.journal, job) if self.journal is not None else None
            transcript = transcribe_array(loaded, audio, job.options, cancel, observer,
                                          source=str(job.source), cache=cache)
            # A sibling id: the journal keeps one chunk plan per job (load() drops other keys).
            speaker_cache = JournalChunks(self.journal, replace(job, id=f"{job.id}-speakers")) if cache else None
            transcript = identify_speakers(self.diarizers, job.options, job.model.device, audio, transcript,
                                           cancel, observer, speaker_cache)
            del audio
            cancel.raise_if_cancelled()  # last point where a cancel leaves no output at all
            observer(Progress("writing", 0, len(job.formats)))
            outputs = write_outputs(transcript, job.source, job.formats, job.output_dir, fileops,
                                    self.ledger, overwrite=job.overwrite, rules=self.rules)
            for out in outputs:
                if out.renamed_from is not None:
                    observer(LogEvent("warning", f"{out.renamed_from.name} exists and was not written by "
                                                 f"nemo_desk; kept it and wrote {out.path.name}"))
            note = ""
            if transcript.is_empty:
                silent = transcript.meta.get("silent_chunks") == transcript.meta.get("chunks")
                note = "no speech found (the audio is silent)" if silent else "no speech found"
            observer(Progress("writing", len(outputs), len(outputs)))
            return JobResult(job, "done", tuple(outputs), None, transcript, time.monotonic() - started, note)
        except Cancelled:
            return JobResult(job, "cancelled", elapsed=time.monotonic() - started)
        except Exception as exc:  # errors are data: the queue goes on
            failure = failure_from(exc)
            return JobResult(job, "failed", failure=failure, elapsed=time.monotonic() - started)


__all__ = ["Job", "JobFailure", "JobResult", "Pipeline", "failure_from"]
