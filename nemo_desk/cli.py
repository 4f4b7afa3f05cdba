"""The headless command line: the same pipeline as the window, for scripts and servers.

    nemo-desk transcribe FILE_OR_FOLDER... [options]
    nemo-desk watch FOLDER... [options]  (watch_cli.py: new media is transcribed as it arrives)
    nemo-desk models [list|verify|delete ID|download ID|import PATH]
    nemo-desk export TRANSCRIPT.json... [--format ...] / nemo-desk open FILE  (export_cli.py)

One bad file never stops the rest: it gets a one-line reason (no traceback) and the exit
status is 1 if any file failed, 0 if all succeeded, 130 when cancelled with Ctrl+C.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable, Sequence, TextIO

from nemo_desk.cli_batch import CliBatch, owned_by_a_running_window, run_batch
from nemo_desk.cli_checks import OneLineParser, UsageError, check_transcribe
from nemo_desk.cli_options import _subtitle_overrides, add_transcribe_options, subtitle_rules_refused
from nemo_desk.core.cancel import CancelReason, CancelToken
from nemo_desk.core.events import Event, Progress
from nemo_desk.core.longpaths import long_path
from nemo_desk.core.relay import PROGRESS_INTERVAL_S, EventRelay
from nemo_desk.core.states import STAGE_WORDS, JobState, Stage, stage_words
from nemo_desk.engine.jobs import Job, JobResult
from nemo_desk.engine.models import ModelRef
from nemo_desk.engine.vocabulary import VocabularyError, parse_phrases, read_boost_file, unique
from nemo_desk.export.profiles import check_rule
from nemo_desk.export_cli import add_parsers as add_document_parsers
from nemo_desk.media import find_media_files

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="nemo-desk", description="Offline transcription with NVIDIA NeMo models.")
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser("transcribe", help="transcribe audio or video files")
    t.add_argument("inputs", nargs="*", metavar="FILE", help="media files or folders (searched for media)")
    t.add_argument("--resume", action="store_true",
                   help="continue the last interrupted run: finished files are kept, the interrupted "
                        "file goes on from its last finished chunk")
    add_transcribe_options(t)
    c = t.add_argument_group("cluster", 'many files on a Ray cluster (needs: pip install "nemo_desk[cluster]")')
    c.add_argument("--cluster", metavar="local|auto|ADDRESS",
                   help="local: start Ray on this machine (one worker per GPU); auto or host:port: join a cluster")
    c.add_argument("--cluster-workers", type=int, metavar="N", help="workers (default: one per GPU, else per CPU)")
    c.add_argument("--cluster-status-seconds", type=float, metavar="S", help="how often to print the status (10)")
    m = sub.add_parser("models", help="list, download, import, verify or delete models")
    m.add_argument("action", choices=("list", "download", "import", "verify", "delete"), nargs="?", default="list")
    m.add_argument("target", nargs="?", help="model id (download/delete/verify) or .nemo path (import)")
    add_document_parsers(sub)
    from nemo_desk.watch_cli import add_parser as add_watch_parser

    add_watch_parser(sub)
    return parser



def expand_inputs(inputs: Sequence[str]) -> list[Path]:
    """Files as given; folders searched recursively for media. Order kept, duplicates dropped."""
    seen: set[str] = set()
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        paths = [Path(f) for f in find_media_files(p)] if os.path.isdir(long_path(p)) else [p]
        for f in paths:
            key = str(f.resolve()) if os.path.exists(long_path(f)) else str(f)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


class TerminalReporter:
    """A progress bar per file on a terminal; plain lines (no control codes) otherwise."""

    def __init__(self, stream: TextIO, interactive: bool | None = None,
                 interval: float = PROGRESS_INTERVAL_S) -> None:
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self._last_pct = -1
        self._bar_open = False
        self.prefix = ""
        self._stage = ""
        self._started = time.monotonic()
        self._width = 0
        self._relay = EventRelay(self._progress, lambda e: self.line(f"retry: {e.describe()}"),
                                 lambda e: self.line(e.message if e.level == "info" else f"{e.level}: {e.message}"),
                                 interval=interval)

    def __call__(self, event: Event) -> None:
        self._relay(event)

    def _progress(self, p: Progress) -> None:
        if p.stage != Stage.TRANSCRIBING or p.total <= 0:
            if p.stage != self._stage and p.stage in STAGE_WORDS:
                self._stage = p.stage
                self._status(f"{self.prefix} {stage_words(p.stage)}...")
            return
        if self._stage != Stage.TRANSCRIBING:
            self._stage, self._started = Stage.TRANSCRIBING, time.monotonic()
        pct = int(p.fraction * 100)
        eta = _eta(time.monotonic() - self._started, p.fraction)
        if self.interactive:
            filled = pct * 30 // 100
            self._status(f"{self.prefix} [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}%{eta}")
        elif pct // 10 != self._last_pct // 10 or pct == 100:
            self.stream.write(f"{self.prefix} transcribing {pct}%{eta}\n")
            self.stream.flush()
        self._last_pct = pct

    def _status(self, text: str) -> None:
        """One updating line on a terminal; a plain line otherwise."""
        if self.interactive:
            self.stream.write("\r" + text.ljust(self._width)[: max(self._width, len(text))])
            self._width = len(text)
            self._bar_open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def line(self, text: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, prefix: str) -> None:
        self.prefix = prefix
        self._last_pct = -1
        self._stage = ""
        self._width = 0
        self._relay.reset()


def _eta(elapsed: float, fraction: float) -> str:
    if fraction <= 0.02 or fraction >= 1.0 or elapsed < 1.0:
        return ""
    left = int(elapsed * (1 - fraction) / fraction)
    return f"  ETA {left // 60}:{left % 60:02d}"


def _jobs_from_args(args: argparse.Namespace, files: list[Path], settings=None) -> list[Job]:
    """Jobs from the flags; what a flag leaves unsaid comes from settings.json (the
    defaults when none is given)."""
    if settings is None:
        from nemo_desk.settings import Settings

        settings = Settings()
    formats = tuple(f.strip().lower() for f in args.format.split(",") if f.strip())  # checked by check_transcribe
    ref = ModelRef(model_id=args.model, path=args.model_path, device=args.device,
                   cuda_graphs=settings.cuda_graphs and not args.no_cuda_graphs)
    options = settings.job_options(language=args.language, target_language=args.target_language,
                                   punctuation=not args.no_punctuation, batch_size=args.batch_size,
                                   chunk_seconds=args.chunk_seconds, overlap_seconds=args.overlap_seconds,
                                   speech_detection=getattr(args, "speech_detection", None),
                                   audio_track=args.audio_track, speakers=args.speakers, diarizer=args.diarizer,
                                   diarizer_path=str(args.diarizer_path or ""), boost=_boost_phrases(args),
                                   boost_strength=args.boost_strength)
    return [Job(source=f, model=ref, formats=formats, output_dir=args.output_dir, options=options,
                overwrite=args.overwrite) for f in files]


def _boost_phrases(args: argparse.Namespace) -> tuple[str, ...]:
    """--boost lists and --boost-file files, in order, repeats dropped. A file that cannot
    be read stops the run before anything starts: the user asked for it. Read once."""
    if getattr(args, "boost_phrases", None) is not None:
        return args.boost_phrases
    phrases = [p for text in args.boost for p in parse_phrases(text)]
    for path in args.boost_file:
        try:
            phrases += read_boost_file(path)
        except VocabularyError as exc:
            raise SystemExit(f"nemo-desk: {exc}") from None
    if (args.boost or args.boost_file) and not phrases:
        raise SystemExit("nemo-desk: --boost/--boost-file gave no phrases")
    args.boost_phrases = unique(phrases)
    return args.boost_phrases


def describe_result(result: JobResult) -> str:
    name = result.job.source.name
    if result.status == JobState.DONE:
        outs = ", ".join(str(o.path) for o in result.outputs)
        note = f" ({result.note})" if result.note else ""
        return f"done: {name} -> {outs}{note}"
    if result.status == JobState.CANCELLED:
        return f"cancelled: {name}"
    failure = result.failure
    assert failure is not None
    text = f"failed: {name}: {failure.reason or failure.message}"
    if failure.lock is not None:
        text += "\n" + "\n".join(f"  {i}. {s}" for i, s in enumerate(failure.lock.steps, 1))
    return text


def check_options(args: argparse.Namespace, err: TextIO) -> int | None:
    """The job options' checks, before anything loads: an exit status when they fail."""
    problem = next((check_rule(k, v) for k, v in _subtitle_overrides(args).items()
                    if v is not None and check_rule(k, v)), None)
    if problem:  # before anything starts; the same table as the settings file's ranges
        err.write(f"nemo-desk: {problem}\n")
        return EXIT_USAGE
    for note in check_transcribe(args):  # before anything loads
        err.write(note + "\n")
    _boost_phrases(args)  # a bad boost file stops the run before the model loads
    return None


def run_transcribe(args: argparse.Namespace, services_factory: Callable, err: TextIO) -> int:
    if args.resume and args.inputs:
        raise UsageError("give files to transcribe, or --resume to continue the last run, not both")
    if not args.resume and not args.inputs:
        raise UsageError("say which files to transcribe (or --resume)")
    if (code := check_options(args, err)) is not None:
        return code
    files = expand_inputs(args.inputs)
    if args.inputs and not files:
        err.write("nemo-desk: no media files found in the given folders\n")
        return EXIT_FAILED
    if problem := _cluster_problem(args):  # before anything is queued
        err.write(problem + "\n")
        return EXIT_USAGE
    reporter = TerminalReporter(err)
    services = services_factory(retry_seconds=args.retry_seconds, observer=reporter)
    try:
        if subtitle_rules_refused(args, services, reporter, err):
            return EXIT_USAGE
        if args.resume:
            if refusal := owned_by_a_running_window(services.queue):
                err.write(f"nemo-desk: {refusal}\n")
                return EXIT_FAILED
            jobs = _resumed_jobs(services.queue, reporter)
        else:
            jobs = _jobs_from_args(args, files, services.settings)
        # Before anything is queued: speakers without a diarizer cost the user one line, not a batch.
        if jobs and (missing := _missing_diarizer(jobs[0], services.store)):
            err.write(f"nemo-desk: {missing}\n")
            return EXIT_FAILED
        if not args.resume:
            jobs = services.queue.add(jobs)
        if args.cluster:  # the same jobs, handed to Ray actors (nemo_desk/cluster)
            from nemo_desk.cluster import run_cluster

            return run_cluster(args, services, jobs, reporter, services_factory)
        return _run_jobs(services, jobs, reporter)
    finally:
        services.close()


def _cluster_problem(args: argparse.Namespace) -> str | None:
    if not (args.cluster or args.cluster_workers or args.cluster_status_seconds):
        return None
    from nemo_desk.cluster import cluster_problem  # Ray itself only inside

    return cluster_problem(args)


def _missing_diarizer(job: Job, store) -> str | None:
    from nemo_desk.core.errors import ModelError
    from nemo_desk.engine.speaker_job import missing_diarizer_message

    try:
        return missing_diarizer_message(job.options, store)
    except ModelError as exc:  # an unknown --diarizer id
        return exc.user_message


def _resumed_jobs(queue, reporter: TerminalReporter) -> list[Job]:
    restored = queue.restore()
    for name in restored.done:
        reporter.line(f"already done: {name}")
    for note in restored.notes:
        reporter.line(f"warning: {note}")
    if not restored.jobs and not restored.notes:
        reporter.line("nothing to resume: the last run finished")
    return restored.jobs


def _run_jobs(services, jobs: list[Job], reporter: TerminalReporter) -> int:
    cancel = CancelToken()
    previous = _install_sigint(cancel, reporter)
    batch = CliBatch(reporter)
    try:
        if jobs:
            batch.begin()
        fatal = run_batch(services, jobs, reporter, cancel, batch.summary)
    finally:
        batch.release()
        signal.signal(signal.SIGINT, previous)
    if fatal is not None:
        return fatal
    batch.end()
    failed = batch.summary.counts.get(JobState.FAILED, 0)
    if cancel.cancelled:  # the queue kept the interrupted file queued: it resumes
        reporter.line("Stopped. Finished files are kept; continue with: nemo-desk transcribe --resume")
        return EXIT_CANCELLED
    if failed:
        reporter.line(f"{failed} of {len(jobs)} file(s) failed.")
    return EXIT_FAILED if failed else EXIT_OK


def _install_sigint(cancel: CancelToken, reporter: TerminalReporter):
    """First Ctrl+C stops at the next chunk and keeps finished files; a second one aborts."""

    def handler(signum, frame):
        if cancel.cancelled:
            # At once, with no traceback: outputs are replaced atomically and the journal is
            # transactional, so nothing written is half done; --resume continues the file.
            reporter.line("Aborted. Finished files are kept; continue with: nemo-desk transcribe --resume")
            os._exit(EXIT_CANCELLED)
        cancel.cancel(CancelReason.SHUTDOWN)  # an interruption: the file stays queued
        reporter.line("Stopping after the current chunk (Ctrl+C again to abort)...")

    return signal.signal(signal.SIGINT, handler)


def run(argv: Sequence[str], services_factory: Callable, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
        if args.command == "transcribe":
            return run_transcribe(args, services_factory, err)
        if args.command == "watch":
            from nemo_desk.watch_cli import run_watch

            return run_watch(args, services_factory, err)
    except UsageError as exc:  # printed here, exits 2 like argparse's own errors
        err.write(f"nemo-desk: {exc.message}\n")
        raise
    if args.command == "models":
        from nemo_desk.model_commands import run_models

        return run_models(args, services_factory, out, err)
    if args.command == "export":
        from nemo_desk.export_cli import run_export

        return run_export(args, services_factory, out, err)
    parser.print_help(out)
    return EXIT_USAGE
