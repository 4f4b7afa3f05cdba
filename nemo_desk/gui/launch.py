"""Starting the window. Imports only Qt here: torch and NeMo load later, on the worker.

Order: QApplication, settings (they decide the model/temp folders), window, show and
first paint, then services, attach, excepthook. The window is on screen at once; the
first job pays for importing torch and NeMo on the worker thread, with "loading model…"
in its row.

`--quit-after-show` prints "window shown" after the first paint and "ready" once the
services are attached, then closes (start-up smoke tests, the "no torch at start-up"
check and the start-up benchmark use it).
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any, Callable, Sequence

QUIT_AFTER_SHOW = "--quit-after-show"
_FINAL_WAIT_MS = 60_000


def install_excepthook(logger: logging.Logger, parent: Callable[[], Any]) -> Callable[[], None]:
    """Log GUI-thread bugs and show them, instead of dying silently (PySide6 calls
    sys.excepthook for exceptions raised in slots and event handlers). Returns an undo."""
    from nemo_desk.gui import dialogs

    previous = sys.excepthook
    showing: list[bool] = []

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        detail = "".join(traceback.format_exception(exc_type, exc, tb))
        logger.error("unexpected error in the window:\n%s", detail)
        if showing:  # the error dialog itself failed: the log has it, do not recurse
            return
        showing.append(True)
        try:
            dialogs.show_error(parent(), "Unexpected error",
                               f"{exc_type.__name__}: {exc}\n\nnemo_desk keeps running; the details are "
                               "in the log file (Open log file).", detail)
        except Exception:
            logger.exception("could not show the error dialog")
        finally:
            showing.clear()

    sys.excepthook = hook
    return lambda: setattr(sys, "excepthook", previous)


def launch_gui(args: Sequence[str], services_factory: Callable) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from nemo_desk.gui import dialogs
    from nemo_desk.gui.main_window import MainWindow
    from nemo_desk.gui.single_instance import first_or_hand_over, launch_files, receive_into
    from nemo_desk.paths import AppPaths
    from nemo_desk.settings import Settings

    args = list(args)
    app = QApplication.instance() or QApplication([sys.argv[0], *args])
    app.setApplicationName("nemo_desk")
    instance = first_or_hand_over(AppPaths.resolve().data, args)
    if instance is None:  # the window already running has this launch's files
        return 0
    early: list[str] = []  # settings warnings, logged once the log file exists
    try:
        # Settings first: they may move the model and temp folders the services set up.
        settings = Settings.load(AppPaths.resolve().settings_file, warn=early.append)
    except Exception as exc:
        dialogs.show_error(None, "nemo_desk cannot start", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        instance.release()
        return 1
    # The window first, the engine right after: the services (folders, temp sweep, log
    # file, journal, model store) and their imports come after the first paint, so the
    # window is on screen at once; its controls are enabled once they are attached.
    window = MainWindow(None, settings)
    window.show()
    app.processEvents()  # the first paint happens here, before any of the work below
    if QUIT_AFTER_SHOW in args:
        print(f"nemo_desk: window shown: {window.isVisible()}", flush=True)
    try:
        services = services_factory(settings=settings)
    except Exception as exc:
        dialogs.show_error(window, "nemo_desk cannot start", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        window.close()
        instance.release()
        return 1
    window.attach(services)
    from nemo_desk.gui.watch_folder import install_unattended  # after the first paint, like the services

    install_unattended(window)
    instance.serve(receive_into(window))
    for text in (*early, *instance.notes):
        window.log("warning", text)
    if launch_files(args):
        window.add_paths(launch_files(args))
    undo_hook = install_excepthook(services.logger, lambda: window)
    if QUIT_AFTER_SHOW in args:
        def ready_then_quit() -> None:
            print(f"nemo_desk: ready: {window.worker is not None and window.worker.isRunning()}", flush=True)
            window.close()

        QTimer.singleShot(0, ready_then_quit)
    try:
        code = app.exec()
    finally:
        stopped = window.shutdown()
        if not stopped:
            # Past the cancel, only a model load or a locked-file wait can still run, and
            # both end; unloading the model under a running job would be worse.
            stopped = window.worker is None or window.worker.wait(_FINAL_WAIT_MS)
        undo_hook()
        instance.release()
        if stopped:
            services.close()
    if not stopped:
        services.logger.error("the worker thread did not stop; exiting without waiting for it")
        logging.shutdown()
        # Destroying a running QThread aborts the process with a Qt fatal error; leave now.
        os._exit(code or 1)
    return code
