"""Opening the editor: from a finished row of the main window, or `nemo-desk open FILE`.

A finished row opens its JSON transcript. A row transcribed without the JSON format
still has its transcript in memory: it is written as "<name>.json" next to the row's
other outputs first (through the writer, so nobody's file is replaced), because the
editor edits and autosaves a file. QtMultimedia is imported here, when an editor opens,
never on the way to the main window.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from nemo_desk.core.document import TranscriptDocument
from nemo_desk.core.errors import NemoDeskError
from nemo_desk.core.longpaths import long_path
from nemo_desk.core.states import JobState
from nemo_desk.gui import dialogs


def context_for(services, settings, log: Callable[[str, str], None] = lambda level, text: None):
    from nemo_desk.document.store import Autosave
    from nemo_desk.gui.editor_window import EditorContext

    return EditorContext(services.fileops, services.ledger, Autosave(services.paths.data / "autosave",
                                                                     services.fileops),
                         settings.cue_rules(), tuple(settings.formats), log)


def open_editor(target: str | os.PathLike[str], context, parent=None):
    """Show an editor on `target` (a transcript JSON or a media file with its JSON next to
    it). Returns the window, or None after telling the user why not (one line)."""
    from nemo_desk.document.store import document_for, load_document, media_for
    from nemo_desk.gui.editor_window import EditorWindow

    try:
        path = document_for(target)
        document, notes = load_document(path)
    except NemoDeskError as exc:
        dialogs.show_error(parent, "Cannot open the transcript", exc.user_message)
        return None
    for note in notes:
        context.log("warning", f"{path.name}: {note}")
    window = EditorWindow(path, document, context, media_for(document, path), parent)
    recovered = context.autosave.recover(path)
    if recovered is not None and recovered.document != document:
        import time

        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(recovered.saved_at))
        if dialogs.confirm(window, "Recover unsaved edits?",
                           f"{path.name} has edits from {when} that were never saved (the editor did not "
                           "close normally). Recover them? (Undo goes back to the saved file.)", "Recover"):
            window.model.apply(recovered.document, "Recovered edits")
        else:
            context.autosave.discard(path)
    elif recovered is not None:  # the same as the file: nothing to offer
        context.autosave.discard(path)
    window.show()
    return window


def json_for_row(row, transcript, context) -> Path | None:
    """The row's transcript JSON: one of its outputs, or written now from `transcript`."""
    for out in row.outputs:
        if out.suffix.lower() == ".json":
            return out
    if transcript is None or not row.outputs:
        return None
    from nemo_desk.export import write_outputs

    written = write_outputs(TranscriptDocument.of(transcript), row.job.source, ["json"], row.outputs[0].parent,
                            context.fileops, context.ledger, rules=context.rules)
    context.log("info", f"Wrote {written[0].path.name} (the transcript document the editor works on)")
    return written[0].path


def open_for_job(window, job_id: str | None):
    """The main window's "Open transcript" (double-click or context menu) on a done row."""
    row = window.queue.row(job_id) if job_id else None
    if row is None or row.state != JobState.DONE or window.services is None:
        return None
    context = context_for(window.services, window.settings, window.log)
    return open_row(window, row, window.transcripts.get(job_id), context)


def open_row(parent, row, transcript, context):
    try:
        path = json_for_row(row, transcript, context)
    except NemoDeskError as exc:
        dialogs.show_error(parent, "Cannot open the transcript", exc.user_message)
        return None
    if path is None or not os.path.isfile(long_path(path)):
        dialogs.show_error(parent, "Cannot open the transcript",
                           f"No transcript JSON for {row.job.source.name}; re-run it to edit it")
        return None
    # A window of its own, owned by the main window (closed, with its save question, before it).
    return open_editor(path, context, parent)


def close_editors(parent) -> bool:
    """Close the editors `parent` owns (each asks about unsaved edits); False if one stays."""
    from nemo_desk.gui.editor_window import EditorWindow

    return all(w.close() for w in parent.findChildren(EditorWindow) if w.isVisible())


def launch_editor(args: Sequence[str], services_factory: Callable) -> int:
    """`nemo-desk open FILE`: the editor alone, on one transcript. `--quit-after-show`
    (the frozen smoke test) prints whether it showed, with its player, and closes it."""
    from PySide6.QtWidgets import QApplication

    from nemo_desk.gui.launch import QUIT_AFTER_SHOW
    from nemo_desk.paths import AppPaths
    from nemo_desk.settings import Settings

    quit_after_show = QUIT_AFTER_SHOW in args
    args = [a for a in args if a != QUIT_AFTER_SHOW]
    if len(args) != 1 or args[0].startswith("-"):
        sys.stderr.write("usage: nemo-desk open FILE.json | MEDIA (with its .json next to it)\n")
        return 2
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("nemo_desk")
    warnings: list[str] = []
    settings = Settings.load(AppPaths.resolve().settings_file, warn=warnings.append)
    services = services_factory(settings=settings)  # loaded once, shared with the services
    try:
        for text in warnings:
            services.logger.warning("%s", text)
        context = context_for(services, settings, lambda level, text: services.logger.warning("%s", text))
        window = open_editor(args[0], context)
        if window is None:
            return 1
        if quit_after_show:
            import time

            # Let the media finish loading first: closing mid-load makes QtMultimedia warn.
            deadline = time.monotonic() + 20
            while not window.player.loaded and time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.02)
            print(f"nemo_desk: editor shown: {window.isVisible()}, player: {window.player.loaded}", flush=True)
            window.close()
            return 0
        return app.exec()
    finally:
        services.close()
