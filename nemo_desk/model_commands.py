"""`nemo-desk models ...`: list, download, import, verify and delete models from a terminal.

Every event reaches the log file (through `Services.observer`) and the terminal: progress
as a line, and each log line ("download interrupted, continuing at ...") and retry."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, TextIO

from nemo_desk.core.cancel import CancelToken
from nemo_desk.core.errors import NemoDeskError
from nemo_desk.core.events import LogEvent, Progress, RetryEvent
from nemo_desk.core.relay import EventRelay
from nemo_desk.engine.catalog import CATALOG, DIARIZERS, get_any_spec
from nemo_desk.engine.store import FOREIGN_MODEL_NOTE, slug_for


def _mb(n: float) -> str:
    return f"{n / 1024**2:,.0f} MB"


def _terminal(err: TextIO) -> EventRelay:
    interactive = err.isatty()
    last = [-1]
    bar = [False]

    def progress(event: Progress) -> None:
        if not event.total:
            return
        pct = event.fraction * 100
        if interactive:
            err.write(f"\r{event.stage} {pct:5.1f}% of {_mb(event.total)}")
            bar[0] = True
        elif int(pct) // 10 != last[0] // 10 or pct >= 100:  # plain lines for logs and pipes
            err.write(f"{event.stage} {pct:5.1f}% of {_mb(event.total)}\n")
        last[0] = int(pct)
        err.flush()

    def line(text: str) -> None:
        err.write(("\n" if bar[0] else "") + text + "\n")
        bar[0] = False
        err.flush()

    def log(event: LogEvent) -> None:
        line(event.message if event.level == "info" else f"{event.level}: {event.message}")

    def retry(event: RetryEvent) -> None:
        line(f"retry: {event.describe()}")

    return EventRelay(progress, retry, log)


def run_models(args: argparse.Namespace, services_factory: Callable, out: TextIO, err: TextIO) -> int:
    front = _terminal(err)
    services = services_factory(observer=front)
    observer = services.observer(front)  # the terminal and the log file
    store = services.store
    try:
        if args.action == "list":
            installed = {m.slug: m for m in store.installed()}
            out.write(f"Models folder: {store.root}\n")
            for title, specs in (("Recognisers (speech to text)", CATALOG), ("Diarizers (who speaks)", DIARIZERS)):
                out.write(f"{title}:\n")
                for spec in specs:
                    m = installed.pop(slug_for(spec.id), None)
                    state = (f"installed, {_mb(m.size_bytes)}" if m and m.complete
                             else "incomplete (will be redone)" if m else f"not installed (~{spec.size_gb:.1f} GB)")
                    licence = f" Licence: {spec.licence}." if spec.licence else ""
                    out.write(f"  {spec.id:32} {state}\n      {spec.description}{licence}\n")
            if installed:
                out.write("Local files:\n")
            for m in installed.values():
                out.write(f"  {m.model_id:32} local {_local_kind(m.folder)}, {_mb(m.size_bytes)}\n")
            return 0
        if not args.target:
            err.write(f"nemo-desk models {args.action}: say which model\n")
            return 2
        if args.action == "import":
            out.write(FOREIGN_MODEL_NOTE + "\n")
            folder = store.import_local(Path(args.target), observer, CancelToken())
            out.write(f"\nimported into {folder}\n")
            return 0
        folder = _folder(store, args.target)
        if args.action == "download":
            folder = store.ensure_catalog_model(get_any_spec(args.target), observer, CancelToken())
            out.write(f"\nready: {folder}\n")
            return 0
        if args.action == "verify":
            problems = store.verify(folder)
            out.write("\n".join(problems) + "\n" if problems else f"{folder}: OK\n")
            return 1 if problems else 0
        store.delete(folder)
        out.write(f"deleted {folder}\n")
        return 0
    except NemoDeskError as exc:
        err.write(f"\nnemo-desk: {exc.user_message}\n")
        return 1


def _local_kind(folder: Path) -> str:
    from nemo_desk.engine.catalog import kind_of_target
    from nemo_desk.engine.fastload import read_config

    try:
        return kind_of_target(str(read_config(folder).get("target", "")))
    except (OSError, ValueError):
        return "model"


def _folder(store, target: str) -> Path:
    for m in store.installed():
        if target in (m.slug, m.model_id) or slug_for(target) == m.slug:
            return m.folder
    return store.folder_for(get_any_spec(target))
