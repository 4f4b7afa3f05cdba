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

from nemo_desk.core.events import Event, ObserverFn, null_observer

# The services' modules are imported inside build_services, not here: the window imports
# this module before it shows, and builds the services right after its first paint
# (gui/launch.py), so tarfile, tenacity, sqlite3, logging.handlers... are not on the path
# to the first window.
if TYPE_CHECKING:
    from nemo_desk.engine.journal import Journal
    from nemo_desk.engine.models import ModelManager
    from nemo_desk.engine.pipeline import Pipeline
    from nemo_desk.engine.store import ModelStore
    from nemo_desk.export import OutputLedger
    from nemo_desk.locks.fileops import FileOps
    from nemo_desk.media import Ffmpeg
    from nemo_desk.paths import AppPaths, TempRoot

CLI_COMMANDS = ("transcribe", "models", "export", "-h", "--help")


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
    journal: Journal

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
) -> Services:
    from nemo_desk.engine.journal import Journal
    from nemo_desk.engine.models import ModelManager
    from nemo_desk.engine.pipeline import Pipeline
    from nemo_desk.engine.store import ModelStore
    from nemo_desk.export import OutputLedger
    from nemo_desk.locks.diagnose import Diagnoser
    from nemo_desk.locks.fileops import FileOps, RetryPolicy
    from nemo_desk.locks.processes import default_process_lister
    from nemo_desk.locks.tempdirs import install_tolerant_tempdirs
    from nemo_desk.logsetup import log_event, setup_file_logging
    from nemo_desk.paths import AppPaths, install_temp_root, sweep_temp

    env = os.environ if env is None else env
    paths = AppPaths.resolve(env, overrides=path_overrides).ensure()
    # Process-wide by nature (tempfile.tempdir, TMP/TEMP for children): always os.environ.
    temp_root = install_temp_root(paths)
    logger = setup_file_logging(paths.logs)
    for note in paths.notes:
        logger.warning("%s", note)
    diagnose = Diagnoser(paths.folders(), env, default_process_lister)

    def front(event: Event) -> None:
        log_event(logger, event)
        observer(event)

    fileops = FileOps(RetryPolicy(budget_s=retry_seconds or 10.0), front, diagnose)
    uninstall_tempdirs = install_tolerant_tempdirs(fileops, lambda msg: logger.warning("%s", msg))
    sweep_temp(paths.temp, fileops, current_run=temp_root.run_dir, log=lambda m: logger.warning("%s", m))
    if downloader is None:
        downloader = _lazy_hub_downloader(env, fileops)
    store = ModelStore(paths.models, fileops, downloader)
    store.sweep_partials()
    models = ModelManager(store)
    ledger = OutputLedger(paths.data / "outputs.json", fileops)
    journal = Journal.open_or_reset(paths.data / "journal.sqlite3", lambda m: logger.warning("%s", m))
    pipeline = Pipeline(models, _make_ffmpeg_provider(env), fileops, ledger, journal=journal)

    def uninstall() -> None:
        journal.close()
        uninstall_tempdirs()
        temp_root.restore()
        try:  # our own run folder; if something still holds a file, the next start sweeps it
            fileops.rmtree(temp_root.run_dir)
        except Exception as exc:
            logger.warning("could not remove %s (%s); it will be removed at the next start",
                           temp_root.run_dir, exc)

    return Services(paths, temp_root, fileops, store, models, pipeline, ledger, logger, uninstall, journal)


def main(argv: Sequence[str] | None = None) -> int:
    from nemo_desk.frozen import startup

    startup()  # freeze_support, stdio guards, CUDA DLL folders: before anything loads torch
    args = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in args:
        from nemo_desk.selftest import run_self_test

        return run_self_test(args, build_services)
    if args and (args[0] in CLI_COMMANDS):
        from nemo_desk import cli

        def factory(**kw):
            return build_services(**kw)

        return cli.run(args, factory)
    if args[:1] == ["open"]:  # the editor window on one transcript (export_cli.py)
        from nemo_desk.gui.editor_launch import launch_editor

        return launch_editor(args[1:], build_services)
    from nemo_desk.gui.launch import launch_gui

    return launch_gui(args, build_services)


if __name__ == "__main__":
    sys.exit(main())
