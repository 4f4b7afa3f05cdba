"""`nemo-desk watch DIR... [transcribe options]`: transcribe media as it arrives in folders.

An unattended inbox for a recorder, a camera card copy or a synced folder: every media
file that appears (and those already there that were never queued) is transcribed once it
has stopped growing (engine/watch.py), with the same options as `transcribe`. Files that
arrive while a batch runs join it; the computer is kept awake while it runs and a summary
line ends it. What was queued is remembered in the journal, so a restart does not
transcribe it again. Ctrl+C stops after the current chunk; the next watch of a folder
that holds the file continues it first (with the options it was started with, from the
chunk it reached), as `nemo-desk transcribe --resume` would; so it does with any unfinished
file in the watched folders that `transcribe` or the window left. It runs until stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path
from typing import Callable, TextIO

from nemo_desk.cli_batch import EXIT_FAILED, CliBatch, run_batch
from nemo_desk.cli_checks import UsageError
from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.longpaths import long_path
from nemo_desk.engine.watch import DEFAULT_POLL_S, DEFAULT_SETTLE_S, FolderWatcher, MemoryRecord

EXIT_OK, EXIT_USAGE, EXIT_CANCELLED = 0, 2, 130


def add_parser(sub) -> None:
    from nemo_desk.cli_options import add_transcribe_options

    w = sub.add_parser("watch", help="transcribe new audio and video files as they arrive in folders")
    w.add_argument("folders", nargs="+", metavar="DIR", help="folders to watch (subfolders included)")
    w.add_argument(
        "--settle-seconds",
        type=float,
        default=DEFAULT_SETTLE_S,
        metavar="S",
        help=f"a file is taken once its size and time have not changed for this long "
        f"(default {DEFAULT_SETTLE_S:g}; more for slow network copies)",
    )
    w.add_argument(
        "--poll-seconds",
        type=float,
        default=DEFAULT_POLL_S,
        metavar="S",
        help=f"how often the folders are looked at (default {DEFAULT_POLL_S:g})",
    )
    add_transcribe_options(w)


def _check_folders(args: argparse.Namespace) -> list[Path]:
    if not 0 <= args.settle_seconds <= 3600:
        raise UsageError("--settle-seconds must be between 0 and 3600")
    if not 0.1 <= args.poll_seconds <= 600:
        raise UsageError("--poll-seconds must be between 0.1 and 600")
    folders = [Path(f) for f in args.folders]
    for folder in folders:
        if os.path.exists(long_path(folder)) and not os.path.isdir(long_path(folder)):
            raise UsageError(f"{folder} is a file; watch takes folders (transcribe takes files)")
    if not any(os.path.isdir(long_path(f)) for f in folders):
        raise UsageError(f"no such folder: {', '.join(map(str, folders))}")
    return folders


def run_watch(
    args: argparse.Namespace, services_factory: Callable, err: TextIO, sleep: Callable[[float], None] = time.sleep
) -> int:
    from nemo_desk.cli import TerminalReporter, _install_sigint, _jobs_from_args, check_options
    from nemo_desk.cli_options import subtitle_rules_refused

    folders = _check_folders(args)
    if (code := check_options(args, err)) is not None:
        return code
    reporter = TerminalReporter(err)
    services = services_factory(retry_seconds=args.retry_seconds, observer=reporter)
    cancel = CancelToken()
    previous = _install_sigint(cancel, reporter)
    batch = CliBatch(reporter)
    try:
        if subtitle_rules_refused(args, services, reporter, err):
            return EXIT_USAGE
        journal = services.queue.journal
        watcher = FolderWatcher(
            folders,
            settle_s=args.settle_seconds,
            record=journal if journal is not None else MemoryRecord(),
            warn=lambda m: reporter.line(f"warning: {m}"),
            exclude=[args.output_dir] if args.output_dir else (),
        )
        reporter.line(
            f"Watching {', '.join(map(str, folders))}: audio and video files not transcribed before, and new "
            "ones once they have stopped growing, are transcribed (Ctrl+C to stop)"
        )
        if (fatal := _continue_interrupted(services, watcher, reporter, cancel, batch)) is not None:
            return fatal
        while not cancel.cancelled:
            ready = watcher.poll()
            if not ready:
                batch.end()  # nothing more arrived while the last files ran: the batch is over
                _nap(sleep, args.poll_seconds, cancel)
                continue
            for path in ready:
                reporter.line(f"queued: {path}")
            batch.begin()
            jobs = services.queue.add(_jobs_from_args(args, ready, services.settings))
            if (fatal := run_batch(services, jobs, reporter, cancel, batch.summary)) is not None:
                return fatal
        batch.end()
        reporter.line(
            "Stopped watching. Finished files are kept; an interrupted one continues when these folders "
            "are watched again (or with: nemo-desk transcribe --resume)"
        )
        return EXIT_CANCELLED
    finally:
        batch.release()
        signal.signal(signal.SIGINT, previous)
        services.close()


def _continue_interrupted(services, watcher: FolderWatcher, reporter, cancel: CancelToken, batch: CliBatch):
    """Files in these folders that an earlier run left unfinished (a watch, `transcribe` or
    the window, stopped by Ctrl+C, a crash or a shut down PC): a watch never queues a file
    twice, so they run first, from their journal, and are claimed so that the next poll does
    not queue them again. Files elsewhere are left for `transcribe --resume` or the window."""
    restored = services.queue.restore(keep=watcher.watches)
    for note in restored.notes:
        reporter.line(f"warning: {note}")
    if not restored.jobs:
        return None
    for job in restored.jobs:
        watcher.claim(job.source)
        reporter.line(f"continuing: {job.source}")
    batch.begin()
    return run_batch(services, restored.jobs, reporter, cancel, batch.summary)


def _nap(sleep: Callable[[float], None], seconds: float, cancel: CancelToken) -> None:
    """Sleep in short steps, so Ctrl+C between polls stops at once."""
    deadline = time.monotonic() + seconds
    while not cancel.cancelled and (left := deadline - time.monotonic()) > 0:
        sleep(min(left, 0.2))


__all__ = ["EXIT_FAILED", "add_parser", "run_watch"]
