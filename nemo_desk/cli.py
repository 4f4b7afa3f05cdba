"""The headless command line: the same pipeline as the window, for scripts and servers.

    nemo-desk transcribe FILE_OR_FOLDER... [options]
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

from nemo_desk.cli_checks import OneLineParser, UsageError, check_transcribe
from nemo_desk.core import limits
from nemo_desk.core.cancel import CancelReason, CancelToken
from nemo_desk.core.events import Event, Progress
from nemo_desk.core.relay import PROGRESS_INTERVAL_S, EventRelay
from nemo_desk.core.longpaths import long_path
from nemo_desk.core.states import STAGE_WORDS, JobState, Stage, stage_words
from nemo_desk.engine.catalog import CATALOG, DEFAULT_MODEL_ID, DIARIZERS
from nemo_desk.engine.models import ModelRef
from nemo_desk.engine.jobs import Job, JobResult
from nemo_desk.engine.options import DEFAULT_OVERLAP_S, RECOMMENDED_OVERLAP_S
from nemo_desk.engine.vocabulary import DEFAULT_STRENGTH, STRENGTHS, VocabularyError, parse_phrases, read_boost_file, unique
from nemo_desk.export import FORMATS
from nemo_desk.export.profiles import PROFILE_NAMES, RULE_LIMITS, check_rule
from nemo_desk.export_cli import add_parsers as add_document_parsers
from nemo_desk.export_cli import add_speaker_label_argument, with_speaker_label
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
    t.add_argument("--batch-size", type=int,
                   help=f"chunks per batch, {limits.BATCH_SIZE.describe()} (default: the settings', else the model's)")
    t.add_argument("--chunk-seconds", type=float,
                   help=f"longest piece of audio per model call, {limits.CHUNK_SECONDS.describe()} "
                        f"(default: the settings', else the model's)")
    t.add_argument("--overlap-seconds", type=float,
                   help=f"audio shared by neighbouring pieces, merged word by word so no word is lost or doubled "
                        f"at a cut, {limits.OVERLAP_SECONDS.describe()} (default: the settings', else "
                        f"{DEFAULT_OVERLAP_S:g}, plain cuts; {RECOMMENDED_OVERLAP_S:g} for continuous speech)")
    t.add_argument("--audio-track", type=int,
                   help="which audio track of a file with several to use, counting from 1 (default 1)")
    t.add_argument("--speakers", default="off", type=_speakers_arg, metavar="auto|off|N",
                   help="label who speaks (N: the expected number of speakers; default off)")
    t.add_argument("--diarizer", default="", metavar="ID",
                   help="diarizer: " + ", ".join(s.id for s in DIARIZERS) + " (default: Sortformer, TitaNet above 4)")
    t.add_argument("--diarizer-path", default="", metavar="PATH.nemo",
                   help="a local Sortformer or TitaNet .nemo (trusted files only)")
    t.add_argument("--boost", action="append", default=[], metavar="PHRASES",
                   help='vocabulary to prefer: names and terms, comma-separated ("Ada Lovelace, ACME"); repeatable')
    t.add_argument("--boost-file", action="append", default=[], type=Path, metavar="FILE",
                   help="vocabulary from a text file: one phrase a line, # starts a comment; repeatable")
    t.add_argument("--boost-strength", choices=tuple(STRENGTHS), default=DEFAULT_STRENGTH,
                   help=f"how strongly the vocabulary is preferred (default {DEFAULT_STRENGTH})")
    t.add_argument("--overwrite", action="store_true", help="replace existing outputs even if nemo_desk did not write them")
    t.add_argument("--retry-seconds", type=float,
                   help=f"how long to wait out a locked file, {limits.RETRY_SECONDS.describe()} "
                        f"(default: the settings', 10 s unless changed)")
    _add_subtitle_arguments(t)
    m = sub.add_parser("models", help="list, download, import, verify or delete models")
    m.add_argument("action", choices=("list", "download", "import", "verify", "delete"), nargs="?", default="list")
    m.add_argument("target", nargs="?", help="model id (download/delete/verify) or .nemo path (import)")
    add_document_parsers(sub)
    return parser


def _add_subtitle_arguments(t: argparse.ArgumentParser) -> None:
    s = t.add_argument_group("subtitles", "cue rules for SRT, VTT, ASS and TTML (default: the profile "
                                          "chosen in the settings, else broadcast)")
    s.add_argument("--subtitle-profile", choices=PROFILE_NAMES,
                   help="broadcast: 42x2, 17 chars/s, 0.833-7 s, 2-frame gaps; children: 13 chars/s; "
                        "social: one line of 32; custom: the values set in the settings dialog")
    s.add_argument("--max-chars", type=int, metavar="N", help="characters per line")
    s.add_argument("--max-lines", type=int, metavar="N", help="lines per cue")
    s.add_argument("--max-cps", type=float, metavar="CPS", help="reading speed, characters per second")
    s.add_argument("--min-duration", type=float, metavar="S", help="shortest cue, seconds")
    s.add_argument("--max-duration", type=float, metavar="S", help="longest cue, seconds")
    s.add_argument("--min-gap-frames", type=int, metavar="N", help="frames between cues")
    s.add_argument("--fps", type=float, help="frame rate for the gap (default: the video's, else 25)")
    s.add_argument("--txt-timestamps", action="store_true", help="start each TXT paragraph with its time")
    add_speaker_label_argument(s)


def _subtitle_overrides(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name, None) for name, *_ in RULE_LIMITS}


def _apply_subtitle_rules(args: argparse.Namespace, services, reporter: "TerminalReporter") -> None:
    """The chosen profile with the flags' changes, on the pipeline (ValueError: unusable)."""
    from nemo_desk.export.profiles import with_overrides
    from nemo_desk.settings import Settings

    settings = getattr(services, "settings", None) or Settings.load(
        services.paths.settings_file, warn=lambda m: reporter.line(f"warning: {m}"))
    base = settings.cue_rules(args.subtitle_profile)
    services.pipeline.rules = with_speaker_label(with_overrides(base, _subtitle_overrides(args)), args.speaker_label)
    services.pipeline.txt_timestamps = args.txt_timestamps or settings.txt_timestamps
def _speakers_arg(value: str) -> str:
    from nemo_desk.engine.speaker_job import parse_speakers

    if value.strip().lower() == "off":
        return "off"
    try:
        parse_speakers(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value.strip().lower()


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


def run_transcribe(args: argparse.Namespace, services_factory: Callable, err: TextIO) -> int:
    if args.resume and args.inputs:
        raise UsageError("give files to transcribe, or --resume to continue the last run, not both")
    if not args.resume and not args.inputs:
        raise UsageError("say which files to transcribe (or --resume)")
    problem = next((check_rule(k, v) for k, v in _subtitle_overrides(args).items()
                    if v is not None and check_rule(k, v)), None)
    if problem:  # before anything starts; the same table as the settings file's ranges
        err.write(f"nemo-desk: {problem}\n")
        return EXIT_USAGE
    for note in check_transcribe(args):  # before anything loads
        err.write(note + "\n")
    files = expand_inputs(args.inputs)
    if args.inputs and not files:
        err.write("nemo-desk: no media files found in the given folders\n")
        return EXIT_FAILED
    _boost_phrases(args)  # a bad boost file stops the run before the model loads
    reporter = TerminalReporter(err)
    services = services_factory(retry_seconds=args.retry_seconds, observer=reporter)
    try:
        try:
            _apply_subtitle_rules(args, services, reporter)
        except ValueError as exc:
            err.write(f"nemo-desk: {exc}\n")
            return EXIT_USAGE
        if args.resume:
            jobs = _resumed_jobs(services.queue, reporter)
        else:
            jobs = _jobs_from_args(args, files, services.settings)
        # Before anything is queued: speakers without a diarizer cost the user one line, not a batch.
        if jobs and (missing := _missing_diarizer(jobs[0], services.store)):
            err.write(f"nemo-desk: {missing}\n")
            return EXIT_FAILED
        if not args.resume:
            jobs = services.queue.add(jobs)
        return _run_jobs(services, jobs, reporter)
    finally:
        services.close()


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
    observer = services.observer(reporter)
    cancel = CancelToken()
    previous = _install_sigint(cancel, reporter)
    failed = 0
    try:
        for i, job in enumerate(jobs, 1):
            if cancel.cancelled:
                break
            reporter.start(f"[{i}/{len(jobs)}] {job.source.name}")
            result = services.queue.run(job, cancel, observer)
            if result.failure is not None and result.failure.detail:
                services.log_detail(result.failure.detail)
            if result.failure is not None and result.failure.fatal:
                # No file can run in this process: one line, and the queue stays for --resume.
                reporter.line(f"nemo-desk: {result.failure.message}")
                return EXIT_FAILED
            reporter.line(describe_result(result))
            failed += result.status == JobState.FAILED
    finally:
        signal.signal(signal.SIGINT, previous)
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
