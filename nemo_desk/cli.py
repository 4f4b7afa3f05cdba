"""The headless command line: the same pipeline as the window, for scripts and servers.

    nemo-desk transcribe FILE_OR_FOLDER... [options]
    nemo-desk models [list|verify|delete ID|download ID|import PATH]

One bad file never stops the rest: it gets a one-line reason (no traceback) and the exit
status is 1 if any file failed, 0 if all succeeded, 130 when cancelled with Ctrl+C.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Sequence, TextIO

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.events import Event, LogEvent, Progress, RetryEvent
from nemo_desk.core.longpaths import long_path
from nemo_desk.engine.catalog import CATALOG, DEFAULT_MODEL_ID
from nemo_desk.engine.models import ModelRef
from nemo_desk.engine.jobs import Job, JobResult, job_from_json, job_to_json
from nemo_desk.engine.options import TranscribeOptions
from nemo_desk.engine.vocabulary import DEFAULT_STRENGTH, STRENGTHS, VocabularyError, parse_phrases, read_boost_file, unique
from nemo_desk.export import FORMATS
from nemo_desk.media import find_media_files

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nemo-desk", description="Offline transcription with NVIDIA NeMo models.")
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser("transcribe", help="transcribe audio or video files")
    t.add_argument("inputs", nargs="*", metavar="FILE", help="media files or folders (searched for media)")
    t.add_argument("--resume", action="store_true",
                   help="continue the last interrupted run: finished files are kept, the interrupted "
                        "file goes on from its last finished chunk")
    which = t.add_mutually_exclusive_group()
    which.add_argument("--model", default=DEFAULT_MODEL_ID,
                       help="catalog model: " + ", ".join(s.id for s in CATALOG) + f" (default {DEFAULT_MODEL_ID})")
    which.add_argument("--model-path", type=Path, help="a local .nemo file (it can run code: trusted files only)")
    t.add_argument("--format", default="srt,txt", help=f"comma-separated: {','.join(FORMATS)} (default srt,txt)")
    t.add_argument("--output-dir", type=Path, help="write outputs here (default: next to each source)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    t.add_argument("--no-cuda-graphs", action="store_true",
                   help="decode without CUDA graphs on the GPU (if decoding fails or stalls with them)")
    t.add_argument("--language", help="spoken language code, e.g. en, de (Canary; Parakeet v3 detects it)")
    t.add_argument("--target-language", help="translate into this language (Canary)")
    t.add_argument("--no-punctuation", action="store_true", help="ask Canary for text without punctuation")
    t.add_argument("--batch-size", type=int, help="chunks per batch (default: the model's)")
    t.add_argument("--chunk-seconds", type=float, help="longest piece of audio per model call (default: the model's)")
    t.add_argument("--boost", action="append", default=[], metavar="PHRASES",
                   help='vocabulary to prefer: names and terms, comma-separated ("Ada Lovelace, ACME"); repeatable')
    t.add_argument("--boost-file", action="append", default=[], type=Path, metavar="FILE",
                   help="vocabulary from a text file: one phrase a line, # starts a comment; repeatable")
    t.add_argument("--boost-strength", choices=tuple(STRENGTHS), default=DEFAULT_STRENGTH,
                   help=f"how strongly the vocabulary is preferred (default {DEFAULT_STRENGTH})")
    t.add_argument("--overwrite", action="store_true", help="replace existing outputs even if nemo_desk did not write them")
    t.add_argument("--retry-seconds", type=float, help="how long to wait out a locked file (default 10)")
    m = sub.add_parser("models", help="list, download, import, verify or delete models")
    m.add_argument("action", choices=("list", "download", "import", "verify", "delete"), nargs="?", default="list")
    m.add_argument("target", nargs="?", help="model id (download/delete/verify) or .nemo path (import)")
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

    def __init__(self, stream: TextIO, interactive: bool | None = None) -> None:
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self._last_pct = -1
        self._bar_open = False
        self.prefix = ""
        self._stage = ""
        self._started = time.monotonic()
        self._width = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._progress(event)
        elif isinstance(event, RetryEvent):
            self.line(f"retry: {event.describe()}")
        elif isinstance(event, LogEvent):
            self.line(event.message if event.level == "info" else f"{event.level}: {event.message}")

    def _progress(self, p: Progress) -> None:
        if p.stage != "transcribing" or p.total <= 0:
            if p.stage != self._stage and p.stage in _STAGE_WORDS:
                self._stage = p.stage
                self._status(f"{self.prefix} {_STAGE_WORDS[p.stage]}")
            return
        if self._stage != "transcribing":
            self._stage, self._started = "transcribing", time.monotonic()
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


_STAGE_WORDS = {"loading": "loading model...", "downloading": "downloading model...",
                "unpacking": "unpacking model (first use only)...", "decoding": "reading audio...",
                "writing": "writing outputs..."}


def _eta(elapsed: float, fraction: float) -> str:
    if fraction <= 0.02 or fraction >= 1.0 or elapsed < 1.0:
        return ""
    left = int(elapsed * (1 - fraction) / fraction)
    return f"  ETA {left // 60}:{left % 60:02d}"


def _jobs_from_args(args: argparse.Namespace, files: list[Path]) -> list[Job]:
    formats = tuple(f.strip().lower() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise SystemExit(f"nemo-desk: unknown format {', '.join(bad) or '(none)'}; choose from {','.join(FORMATS)}")
    if args.batch_size is not None and args.batch_size < 1:
        raise SystemExit("nemo-desk: --batch-size must be at least 1")
    ref = ModelRef(model_id=args.model, path=args.model_path, device=args.device,
                   cuda_graphs=not args.no_cuda_graphs)
    options = TranscribeOptions(language=args.language, target_language=args.target_language,
                                punctuation=not args.no_punctuation, batch_size=args.batch_size,
                                chunk_seconds=args.chunk_seconds, boost=_boost_phrases(args),
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
    if result.status == "done":
        outs = ", ".join(str(o.path) for o in result.outputs)
        note = f" ({result.note})" if result.note else ""
        return f"done: {name} -> {outs}{note}"
    if result.status == "cancelled":
        return f"cancelled: {name}"
    failure = result.failure
    assert failure is not None
    message = failure.message
    for prefix in (f"{result.job.source}: ", f"{name}: "):  # media errors lead with the path
        message = message.removeprefix(prefix)
    text = f"failed: {name}: {message}"
    if failure.lock is not None:
        text += "\n" + "\n".join(f"  {i}. {s}" for i, s in enumerate(failure.lock.steps, 1))
    return text


def run_transcribe(args: argparse.Namespace, services_factory: Callable, out: TextIO, err: TextIO) -> int:
    if args.resume and args.inputs:
        raise SystemExit("nemo-desk: give files to transcribe, or --resume to continue the last run, not both")
    if not args.resume and not args.inputs:
        raise SystemExit("nemo-desk: say which files to transcribe (or --resume)")
    files = expand_inputs(args.inputs)
    if args.inputs and not files:
        err.write("nemo-desk: no media files found in the given folders\n")
        return EXIT_FAILED
    _boost_phrases(args)  # a bad boost file stops the run before the model loads
    reporter = TerminalReporter(err)
    services = services_factory(retry_seconds=args.retry_seconds, observer=reporter)
    try:
        jobs = _resumed_jobs(services.journal, reporter) if args.resume else _new_batch(services.journal, args, files)
        return _run_jobs(services, jobs, reporter)
    finally:
        services.close()


def _new_batch(journal, args: argparse.Namespace, files: list[Path]) -> list[Job]:
    jobs = _jobs_from_args(args, files)
    batch = uuid.uuid4().hex[:12]
    for position, job in enumerate(jobs):
        journal.add(job.id, batch, position, str(job.source), job_to_json(job))
    return jobs


def _resumed_jobs(journal, reporter: TerminalReporter) -> list[Job]:
    batch = journal.latest_unfinished_batch()
    if batch is None:
        reporter.line("nothing to resume: the last run finished")
        return []
    jobs = []
    for row in journal.jobs(batch):
        if row["state"] == "done":
            reporter.line(f"already done: {Path(row['source']).name}")
        elif row["state"] in ("queued", "running"):
            jobs.append(job_from_json(row["job_json"]))
    return jobs


def _run_jobs(services, jobs: list[Job], reporter: TerminalReporter) -> int:
    observer = services.observer(reporter)
    cancel = CancelToken()
    previous = _install_sigint(cancel, reporter)
    failed = 0
    try:
        for i, job in enumerate(jobs, 1):
            if cancel.cancelled:
                break
            reporter.start(f"[{i}/{len(jobs)}] {job.source.name}")
            result = services.pipeline.run(job, cancel, observer)
            reporter.line(describe_result(result))
            if result.failure is not None and result.failure.detail:
                services.log_detail(result.failure.detail)
            failed += result.status == "failed"
    finally:
        signal.signal(signal.SIGINT, previous)
    if cancel.cancelled:
        # Ctrl+C interrupts the run rather than giving up on the file: keep it resumable.
        for job in jobs:
            rows = [r for r in services.journal.jobs() if r["id"] == job.id]
            if rows and rows[0]["state"] in ("cancelled", "running"):
                services.journal.set_state(job.id, "queued", "interrupted")
        reporter.line("Stopped. Finished files are kept; continue with: nemo-desk transcribe --resume")
        return EXIT_CANCELLED
    if failed:
        reporter.line(f"{failed} of {len(jobs)} file(s) failed.")
    return EXIT_FAILED if failed else EXIT_OK


def _install_sigint(cancel: CancelToken, reporter: TerminalReporter):
    """First Ctrl+C stops at the next chunk and keeps finished files; a second one aborts."""

    def handler(signum, frame):  # noqa: ARG001
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        reporter.line("Stopping after the current chunk (Ctrl+C again to abort)...")

    return signal.signal(signal.SIGINT, handler)


def run(argv: Sequence[str], services_factory: Callable, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.command == "transcribe":
        return run_transcribe(args, services_factory, out, err)
    if args.command == "models":
        from nemo_desk.model_commands import run_models

        return run_models(args, services_factory, out, err)
    parser.print_help(out)
    return EXIT_USAGE
