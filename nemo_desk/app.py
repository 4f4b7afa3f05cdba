"""Composition root: builds every service once and hands them to the CLI or the window.

Nothing else in nemo_desk creates app-wide objects; there are no module globals. Order
matters: folders and the temp root are set up before anything imports NeMo, so NeMo's
temporary files land in the app's own temp folder.
"""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from nemo_desk.core.events import Event, LogEvent, ObserverFn, null_observer

# The services' modules are imported inside build_services, not here: the window imports
# this module before it shows, and builds the services right after its first paint
# (gui/launch.py), so tarfile, tenacity, sqlite3, logging.handlers... are not on the path
# to the first window.
if TYPE_CHECKING:
    from nemo_desk.engine.models import ModelManager
    from nemo_desk.engine.pipeline import Pipeline
    from nemo_desk.engine.queue import JobQueue
    from nemo_desk.engine.store import ModelStore
    from nemo_desk.export import OutputLedger
    from nemo_desk.locks.fileops import FileOps
    from nemo_desk.media import Ffmpeg
    from nemo_desk.paths import AppPaths, TempRoot
    from nemo_desk.settings import Settings

CLI_COMMANDS = ("transcribe", "watch", "models", "export", "-h", "--help")


@dataclass
class Services:
    paths: AppPaths
    temp_root: TempRoot
    fileops: FileOps
    store: ModelStore
    models: ModelManager
    pipeline: Pipeline
    ledger: OutputLedger
    logger: logging.Logger
    uninstall: Callable[[], None]  # undoes process-wide changes (tests build many Services)
    queue: JobQueue  # owns the journal
    settings: Settings  # as loaded from settings.json; every front end starts from them

    def log_detail(self, text: str) -> None:
        self.logger.error("%s", text)

    def observer(self, front: ObserverFn) -> ObserverFn:
        """`front` (terminal or window) plus the log file."""

        from nemo_desk.logsetup import log_event

        def both(event: Event) -> None:
            log_event(self.logger, event)
            front(event)

        return both

    def close(self) -> None:
        self.models.unload()
        self.uninstall()


def _make_ffmpeg_provider(env: Mapping[str, str]) -> Callable[[], Ffmpeg]:
    found: list[Ffmpeg] = []

    def provide() -> Ffmpeg:
        from nemo_desk.media import Ffmpeg

        if not found:
            ffmpeg = Ffmpeg.locate(env)
            ffmpeg.check()
            found.append(ffmpeg)
        return found[0]

    return provide


def _lazy_hub_downloader(env: Mapping[str, str], fileops: FileOps):
    """huggingface_hub is imported only when a download actually happens."""

    def download(spec, dest, observer, cancel):
        from nemo_desk.engine.download import HubDownloader

        offline = env.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        return HubDownloader(offline=offline, fileops=fileops)(spec, dest, observer, cancel)

    return download


def build_services(
    env: Mapping[str, str] | None = None,
    retry_seconds: float | None = None,
    observer: ObserverFn = null_observer,
    path_overrides: Mapping[str, str] | None = None,
    downloader=None,
    settings: Settings | None = None,
) -> Services:
    """Every front end gets the same services from the same settings.json (folders, retry
    budget, cue rules); `retry_seconds` and `path_overrides` override them for one run.
    The window passes the settings it already loaded; the CLI lets them be read here."""
    from nemo_desk.engine.journal import Journal, JournalUnavailable
    from nemo_desk.engine.models import ModelManager
    from nemo_desk.engine.pipeline import Pipeline
    from nemo_desk.engine.queue import NO_RESUME, JobQueue
    from nemo_desk.engine.store import ModelStore
    from nemo_desk.export import CueRules, OutputLedger
    from nemo_desk.locks.diagnose import Diagnoser
    from nemo_desk.locks.fileops import FileOps, RetryPolicy
    from nemo_desk.locks.processes import default_process_lister
    from nemo_desk.locks.tempdirs import install_tolerant_tempdirs
    from nemo_desk.logsetup import log_event, setup_file_logging
    from nemo_desk.paths import AppPaths, install_temp_root, sweep_temp
    from nemo_desk.settings import Settings

    env = os.environ if env is None else env
    early: list[str] = []  # settings warnings, logged once the log file exists
    if settings is None:
        settings = Settings.load(AppPaths.resolve(env).settings_file, warn=early.append)
    overrides = {**settings.path_overrides(), **(path_overrides or {})}
    paths = AppPaths.resolve(env, overrides=overrides).ensure()
    # Process-wide by nature (tempfile.tempdir, TMP/TEMP for children): always os.environ.
    temp_root = install_temp_root(paths)
    logger = setup_file_logging(paths.logs)
    diagnose = Diagnoser(paths.folders(), env, default_process_lister)

    def front(event: Event) -> None:
        log_event(logger, event)
        observer(event)

    for note in (*early, *paths.notes):
        front(LogEvent("warning", note))
    fileops = FileOps(RetryPolicy(budget_s=retry_seconds or settings.retry_seconds), front, diagnose)
    uninstall_tempdirs = install_tolerant_tempdirs(fileops, lambda msg: logger.warning("%s", msg))
    sweep_temp(paths.temp, fileops, current_run=temp_root.run_dir, log=lambda m: logger.warning("%s", m))
    if downloader is None:
        downloader = _lazy_hub_downloader(env, fileops)
    store = ModelStore(paths.models, fileops, downloader)
    store.sweep_partials()
    models = ModelManager(store)
    ledger = OutputLedger(paths.data / "outputs.db", fileops)
    try:
        rules = settings.cue_rules()
    except ValueError as exc:
        front(LogEvent("warning", f"Subtitle line rules not usable ({exc}); using the defaults"))
        rules = CueRules()
    pipeline = Pipeline(models, _make_ffmpeg_provider(env), fileops, ledger, rules)
    notes: list[str] = []
    journal_path = paths.data / "journal.sqlite3"
    try:
        journal: Journal | None = Journal.open(journal_path, notes.append)
    except JournalUnavailable as exc:
        journal = None
        notes.append(f"The queue journal {journal_path} cannot be used ({exc}); files are transcribed "
                     f"without it, so {NO_RESUME}")
    for note in notes:
        logger.warning("%s", note)
    queue = JobQueue(journal, pipeline, lambda m: front(LogEvent("warning", m)), notes)

    def uninstall() -> None:
        queue.close()
        uninstall_tempdirs()
        temp_root.restore()
        try:  # our own run folder; if something still holds a file, the next start sweeps it
            fileops.rmtree(temp_root.run_dir)
        except Exception as exc:
            logger.warning("could not remove %s (%s); it will be removed at the next start",
                           temp_root.run_dir, exc)

    return Services(paths, temp_root, fileops, store, models, pipeline, ledger, logger, uninstall, queue, settings)


def main(argv: Sequence[str] | None = None) -> int:
    from nemo_desk.frozen import startup

    startup()  # freeze_support, stdio guards, CUDA DLL folders: before anything loads torch
    args = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in args:
        from nemo_desk.selftest import run_self_test

        return run_self_test(args, build_services)
    if args and (args[0] in CLI_COMMANDS):
        from nemo_desk import cli

        return cli.run(args, build_services)
    if args[:1] == ["open"]:  # the editor window on one transcript (export_cli.py)
        from nemo_desk.gui.editor_launch import launch_editor

        return launch_editor(args[1:], build_services)
    from nemo_desk.gui.launch import launch_gui

    return launch_gui(args, build_services)


if __name__ == "__main__":
    sys.exit(main())
