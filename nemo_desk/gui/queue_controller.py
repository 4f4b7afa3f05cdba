"""What the window does with its queue: add files, start, cancel, re-run, forget, restore.

The rows live in QueueModel; the jobs go to the worker and, through it, to the engine's
JobQueue (the journal). A row's job is built from the options *when it is handed to the
worker* (Start, Re-run, Run again), so what the user sees selected is what runs; only
rows restored from the journal keep their job, so that they resume.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from nemo_desk.core.longpaths import long_path
from nemo_desk.core.states import JobState
from nemo_desk.engine.jobs import Job
from nemo_desk.gui import dialogs
from nemo_desk.gui.queue_table import FINISHED, RERUNNABLE, source_key
from nemo_desk.media import MEDIA_EXTENSIONS, find_media_files, is_media_file

if TYPE_CHECKING:
    from nemo_desk.gui.main_window import MainWindow
    from nemo_desk.gui.tasks import TaskThread


class QueueController:
    def __init__(self, window: "MainWindow") -> None:
        self.w = window
        self.queue = window.queue
        self._probes: list[TaskThread] = []
        self._downloads_allowed: set[str] = set()  # catalog ids the user agreed to download

    # -- adding files -------------------------------------------------------------------
    def add_paths(self, paths: list[str], output_dir: Path | None = None) -> int:
        """Queue dropped/picked files and folders (searched for media). Returns rows added.
        `output_dir`: these rows' own output folder (a watched folder's), else the panel's."""
        added: list[Job] = []
        for raw in paths:
            path = Path(raw)
            if os.path.isdir(long_path(path)):
                found = find_media_files(path)
                if not found:
                    self.w.log("warning", f"No audio or video files in folder {path}")
                added += [job for f in found if (job := self._add_file(Path(f), output_dir))]
            elif not os.path.exists(long_path(path)):
                self.w.log("warning", f"Skipped {path}: file not found")
            elif not is_media_file(path):
                self.w.log(
                    "warning",
                    f"Skipped {path.name}: not an audio or video file (known types: {', '.join(MEDIA_EXTENSIONS)})",
                )
            elif job := self._add_file(path, output_dir):
                added.append(job)
        self.probe(added)
        worker = self.w.worker
        if added and worker is not None and worker.pending:  # the queue is running: join it
            self.start()
        return len(added)

    def _add_file(self, path: Path, output_dir: Path | None = None) -> Job | None:
        job = self.make_job(path, output_dir=output_dir)
        if not self.queue.add(job):
            self.w.log("info", f"{path.name} is already in the queue")
            return None
        row = self.queue.row(job.id)
        if row is not None:
            row.output_dir = output_dir
        return job

    def job_for(self, row, job_id: str | None = None) -> Job:
        """The row's job made again with the options as they are now, keeping what belongs
        to the row itself (its audio track, its own output folder)."""
        return self.make_job(row.job.source, job_id, row.audio_track, row.output_dir)

    def make_job(self, source: Path, job_id: str | None = None, audio_track: int | None = None,
                 output_dir: Path | None = None) -> Job:
        """A job with the options as they are now (and the row's own audio track and folder)."""
        c = self.w.options.choice()
        s = self.w.settings
        options = s.job_options(
            language=c.language,
            target_language=c.target_language,
            speakers=c.speakers,
            boost=c.boost,
            boost_strength=c.boost_strength,
        )
        if audio_track is not None:
            options = replace(options, audio_track=audio_track)
        model = replace(c.model, cuda_graphs=s.cuda_graphs)
        folder = output_dir if output_dir is not None else c.output_dir
        job = Job(source=source, model=model, formats=c.formats or ("srt",), output_dir=folder, options=options)
        return replace(job, id=job_id) if job_id else job

    # -- duration and tracks, known at add time -------------------------------------------
    def probe(self, jobs: list[Job]) -> None:
        """Read each file's length and audio tracks on a background thread (ffmpeg takes a
        moment per file, longer on a network share: never on the GUI thread)."""
        if not jobs or self.w.services is None:
            return
        from nemo_desk.gui.tasks import TaskThread
        from nemo_desk.media.probing import probe

        services = self.w.services
        wanted = [(j.id, j.source) for j in jobs]

        def run(_observer, token) -> None:
            ffmpeg = services.pipeline._ffmpeg()  # the services' own (one lookup per process)
            for job_id, source in wanted:
                if token.cancelled:
                    return
                try:
                    info = probe(source, ffmpeg)
                except Exception:  # the job itself says what is wrong when it runs
                    continue
                task.report((job_id, info.duration, info.audio_tracks))

        task = TaskThread("probe", run, services)
        task.partial.connect(lambda found: self.queue.set_probed(*found))
        task.finished.connect(lambda: self._probes.remove(task) if task in self._probes else None)
        self._probes.append(task)
        task.start()

    def stop_probes(self, timeout_ms: int) -> None:
        for task in list(self._probes):
            task.cancel()
            task.wait(timeout_ms)

    # -- running ------------------------------------------------------------------------
    def start(self) -> int:
        """Hand every waiting row to the worker, with the options as they are now."""
        if not any(b.isChecked() for b in self.w.options.format_boxes.values()):
            dialogs.show_error(self.w, "No output format", "Choose at least one output format (SRT, TXT, VTT or JSON).")
            return 0
        waiting = [r for r in self.queue.rows if r.state == JobState.QUEUED and not r.submitted]
        for row in waiting:
            if not row.fixed:  # restored rows keep their job: same options, so they resume
                self.queue.set_job(row.job.id, self.job_for(row, row.job.id))
        if not self.downloads_agreed([r.job for r in waiting]):
            return 0
        for row in waiting:
            self.submit(row.job.id)
        return len(waiting)

    def downloads_agreed(self, jobs: list[Job]) -> bool:
        """Before a job downloads its model, the user says yes, knowing the size and the place."""
        services = self.w.services
        from nemo_desk.engine.catalog import get_spec

        missing = []
        for job in jobs:
            if job.model.model_id and job.model.path is None and job.model.model_id not in self._downloads_allowed:
                spec = get_spec(job.model.model_id)
                if not services.store.is_installed(spec) and spec not in missing:
                    missing.append(spec)
        for spec in missing:
            where = services.store.folder_for(spec)
            if not dialogs.confirm_download(self.w, spec.name, spec.size_gb, where):
                self.w.log(
                    "info",
                    f"Not started: {spec.name} is not downloaded (choose an installed model, "
                    "or press Start again to download it)",
                )
                return False
            self._downloads_allowed.add(spec.id)
        return True

    def submit(self, job_id: str) -> None:
        row = self.queue.row(job_id)
        worker = self.w.worker
        if row is not None and worker is not None:
            row.submitted = True
            (job,) = self.w.services.queue.add([row.job])  # the queue may make its path absolute
            if job != row.job:
                self.queue.set_job(job_id, job)
            worker.submit(job)

    def rerun(self, job_id: str, finished_too: bool = False) -> bool:
        """Run a failed or cancelled row again (any finished row with `finished_too`) as a
        new job with the options and model selected now: after importing the model an
        error asked for, Re-run must use it, not repeat the old job."""
        row = self.queue.row(job_id)
        if row is None or row.state not in (FINISHED if finished_too else RERUNNABLE):
            return False
        key = source_key(row.job.source)
        if any(r is not row and r.key == key and r.pending for r in self.queue.rows):
            self.w.log("info", f"{row.job.source.name} is already in the queue")
            return False
        job = self.job_for(row)
        if not self.downloads_agreed([job]):
            return False
        self.queue.set_job(job_id, job)
        self.queue.reset_for_rerun(job.id)
        row.fixed = False
        self.w.services.queue.forget([job_id])  # the old job's journal row: this one replaces it
        self.submit(job.id)
        return True

    def cancel_current(self) -> None:
        worker = self.w.worker
        if worker is not None and worker.cancel_current() is not None:
            self.w.log("info", "Cancelling the current file (it stops after the current batch)")

    def cancel(self, job_id: str) -> None:
        row = self.queue.row(job_id)
        if row is not None and row.submitted and self.w.worker is not None:
            self.w.worker.cancel(job_id)

    def remove_selected(self) -> None:
        """Delete: the selected rows, except one that is being transcribed (cancel it first)."""
        worker = self.w.worker
        running = worker.current_job if worker is not None else None
        ids = self.w.view.selected_ids()
        if running in ids:
            row = self.queue.row(running)
            self.w.log(
                "info",
                f"{row.job.source.name if row else 'The current file'} is being transcribed: "
                "cancel it first (Esc), then remove it",
            )
        self.forget([i for i in ids if i != running])

    def forget(self, job_ids: list[str]) -> None:
        """Remove rows: cancel their jobs (a removed row must not run on unseen) and
        drop them from the job queue."""
        for job_id in job_ids:
            self.cancel(job_id)
        self.queue.remove(job_ids)
        self.w.services.queue.forget(job_ids)

    def clear_finished(self) -> None:
        self.forget(self.queue.finished_ids())

    def restore(self) -> None:
        found = self.w.services.queue.restore()
        for note in found.notes:
            self.w.log("warning", note)
        restored = []
        for job in found.jobs:
            if self.queue.add(job, fixed=True):
                restored.append(job)
                row = self.queue.row(job.id)
                if row is not None:
                    row.resume_s = found.resume_s.get(job.id, 0.0)
                    row.audio_track = job.options.audio_track
            else:  # a file already in this window's queue: keep that one
                self.w.services.queue.forget([job.id])
        self.probe(restored)  # the length: "resumes at n %"
        if restored:
            self.w.log("info", f"Restored {len(restored)} file(s) not finished last time; press Start to continue")

    def set_audio_track(self, job_id: str, track: int) -> None:
        """The row's audio track (files with several): used when the row is (re)started."""
        row = self.queue.row(job_id)
        if row is None or row.submitted:
            return
        row.audio_track = track
        if row.fixed:  # a restored job keeps its job: change the track in it
            options = replace(row.job.options, audio_track=track)
            self.queue.set_job(job_id, replace(row.job, options=options))
        self.w.log(
            "info",
            f"{row.job.source.name}: audio track {track} ({row.tracks[track - 1]})"
            if 0 < track <= len(row.tracks)
            else f"{row.job.source.name}: audio track {track}",
        )

    def open_output(self, job_id: str | None, folder: bool = False) -> None:
        row = self.queue.row(job_id) if job_id else None
        if row is None:
            return
        if row.outputs:
            target = row.outputs[0].parent if folder else row.outputs[0]
        elif folder:
            target = row.job.output_dir or row.job.source.parent
        else:
            return
        if not dialogs.open_path(target):
            self.w.log("warning", f"Could not open {target}")
