"""One job end to end: probe, load the model, decode, transcribe, write the outputs.

`Pipeline.run` never raises for a job's own failure: every error becomes a typed
`JobFailure` in the result (errors are data), so the CLI and the GUI worker both go on
with the next file. Only programming errors in the caller's observer can escape.
"""
from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Callable

from nemo_desk.core.cancel import CancelToken, Cancelled
from nemo_desk.core.errors import ExportError, ModelError
from nemo_desk.core.document import TranscriptDocument
from nemo_desk.core.events import LogEvent, ObserverFn, Progress, null_observer
from nemo_desk.core.longpaths import printable
from nemo_desk.core.states import JobState, Stage
from nemo_desk.engine.catalog import get_diarizer_spec
from nemo_desk.engine.jobs import Job, JobFailure, JobResult, failure_from
from nemo_desk.engine.models import ModelManager
from nemo_desk.engine.runtime import Runtime
from nemo_desk.export import CueRules, OutputLedger, write_outputs
from nemo_desk.export.writer import output_folder_problem, rename_warnings
from nemo_desk.locks.fileops import FileOps
from nemo_desk.media.ffmpeg import Ffmpeg

if TYPE_CHECKING:  # numpy comes with the transcriber: imported with the first job
    from nemo_desk.engine.transcriber import ChunkCache


class Pipeline:
    def __init__(self, models: ModelManager, ffmpeg: Callable[[], Ffmpeg], fileops: FileOps,
                 ledger: OutputLedger, rules: CueRules = CueRules(), runtime: Runtime | None = None) -> None:
        self.models = models
        self.runtime = runtime or Runtime()
        # Diarizers have their own slot, so the recogniser stays loaded beside them.
        self.diarizers = ModelManager(models.store, lookup=get_diarizer_spec)
        # A provider, not an instance: a missing ffmpeg fails each job with a clear
        # message instead of stopping the app from starting.
        self._ffmpeg = ffmpeg
        self.fileops = fileops
        self.ledger = ledger
        self.rules = rules
        # A time stamp before each TXT paragraph (set by the front end, like the rules).
        self.txt_timestamps = False

    def run(self, job: Job, cancel: CancelToken | None = None, observer: ObserverFn = null_observer,
            cache: ChunkCache | None = None) -> JobResult:
        """One job; its journal states are the queue's business (engine/queue.py)."""
        return self._run(job, cancel or CancelToken(), observer, cache)

    def _run(self, job: Job, cancel: CancelToken, observer: ObserverFn, cache: ChunkCache | None) -> JobResult:
        # numpy and the decoders load with the first job (on the worker thread), not when
        # the window starts: start-up stays close to a bare Qt window.
        from nemo_desk.engine.speaker_job import combined_progress, identify_speakers
        from nemo_desk.engine.transcriber import SAMPLE_RATE, transcribe_array
        # Named modules, not the package's lazy attributes: PyInstaller follows these.
        from nemo_desk.media.decoding import decode
        from nemo_desk.media.probing import ends_early_note, probe

        started = time.monotonic()
        observer = combined_progress(observer, job.options)  # speakers: one bar for both passes
        fileops = self.fileops.with_observer(observer)
        try:
            # Probe first: a bad file is reported in a second, before any model loads.
            ffmpeg = self._ffmpeg()
            info = probe(job.source, ffmpeg)
            if job.output_dir is not None and (problem := output_folder_problem(job.output_dir)):
                raise ExportError(f"cannot use the output folder: {problem}")  # not after transcribing
            notes: list[str] = []
            if track_note := info.track_note(job.options.audio_track):  # before the model loads
                observer(LogEvent("info", track_note))
            observer(Progress(Stage.LOADING, 0, 0, f"loading model {job.model.label}"))
            self.runtime.require()  # torch and NeMo: imported once; a broken install fails fast
            loaded = self.models.get(job.model, observer, cancel)
            if loaded.spec.kind != "recogniser":
                raise ModelError(f"{job.model.label} is a speaker diarizer, not a speech recogniser: "
                                 f"give it to --diarizer-path")
            cancel.raise_if_cancelled()
            observer(Progress(Stage.DECODING, 0, info.duration or 0))
            audio = decode(job.source, ffmpeg, cancel=cancel, observer=observer, info=info,
                           audio_track=job.options.audio_track)
            if early := ends_early_note(info, len(audio) / SAMPLE_RATE):
                observer(LogEvent("warning", early))
                notes.append(early)
            transcript = transcribe_array(loaded, audio, job.options, cancel, observer,
                                          source=printable(str(job.source)), cache=cache)
            # The diarization result is kept beside the job's windows (a cache of its own).
            sibling = getattr(cache, "sibling", None)
            speaker_cache = sibling("speakers") if sibling is not None else None
            transcript = identify_speakers(self.diarizers, job.options, job.model.device, audio, transcript,
                                           cancel, observer, speaker_cache)
            del audio
            # The JSON is the document the editor opens: it records what was asked for.
            transcript = TranscriptDocument.of(transcript, options=dataclasses.asdict(job.options))
            cancel.raise_if_cancelled()  # last point where a cancel leaves no output at all
            observer(Progress(Stage.WRITING, 0, len(job.formats)))
            outputs = write_outputs(transcript, job.source, job.formats, job.output_dir, fileops,
                                    self.ledger, overwrite=job.overwrite,
                                    # Frame gaps follow the video's frame rate unless one was chosen.
                                    rules=self.rules.for_source(info.fps),
                                    txt_timestamps=self.txt_timestamps)
            for warning in rename_warnings(outputs, job.source):
                observer(LogEvent("warning", warning))
            if transcript.is_empty:
                silent = transcript.meta.get("silent_chunks") == transcript.meta.get("chunks")
                notes.append("no speech found (the audio is silent)" if silent else "no speech found")
            note = "; ".join(notes)
            observer(Progress(Stage.WRITING, len(outputs), len(outputs)))
            return JobResult(job, JobState.DONE, tuple(outputs), None, transcript, time.monotonic() - started, note)
        except Cancelled:
            return JobResult(job, JobState.CANCELLED, elapsed=time.monotonic() - started)
        except Exception as exc:  # errors are data: the queue goes on
            failure = failure_from(exc)
            return JobResult(job, JobState.FAILED, failure=failure, elapsed=time.monotonic() - started)


__all__ = ["Job", "JobFailure", "JobResult", "Pipeline", "failure_from"]
