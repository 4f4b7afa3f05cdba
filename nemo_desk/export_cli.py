"""`nemo-desk export` and `nemo-desk open`: the transcript document from a terminal.

    nemo-desk export TRANSCRIPT.json... [--format srt,vtt,txt,json] [--output-dir DIR] [--overwrite]
    nemo-desk open FILE.json | MEDIA        (the editor window; MEDIA: its JSON next to it)

`export` re-renders outputs from a (possibly hand-edited) transcript JSON with the same
subtitle rules as a transcription (the settings') and the same never-overwrite policy:
an output nemo_desk wrote and nobody changed is replaced, anyone else's file is kept and
the new one goes to "<name> (2).<ext>". Outputs are named after the JSON and written next
to it (or in --output-dir). A bad file gets one line and the others still run; the exit
status is 1 if any failed.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, TextIO

from nemo_desk.core.errors import NemoDeskError
from nemo_desk.export import FORMATS

EXIT_OK, EXIT_FAILED = 0, 1
SPEAKER_LABELS = ("name", "dash", "none")  # cues.SpeakerLabel's values (kept light: no export import here)


def add_parsers(sub) -> None:
    """Register `export` and `open` on the main parser's subcommands."""
    e = sub.add_parser("export", help="render SRT/VTT/TXT/JSON again from a transcript JSON (after editing it)")
    e.add_argument("inputs", nargs="+", metavar="TRANSCRIPT.json", help="nemo_desk transcript JSON files")
    e.add_argument("--format", default="srt", help=f"comma-separated: {','.join(FORMATS)} (default srt)")
    e.add_argument("--output-dir", type=Path, help="write outputs here (default: next to each JSON)")
    e.add_argument("--overwrite", action="store_true",
                   help="replace existing outputs even if nemo_desk did not write them")
    e.add_argument("--retry-seconds", type=float, help="how long to wait out a locked file (default 10)")
    add_speaker_label_argument(e)
    o = sub.add_parser("open", help="open a transcript in the editor (a .json, or a media file with its .json next to it)")
    o.add_argument("target", metavar="FILE", help="transcript JSON or its media file")


def add_speaker_label_argument(parser) -> None:
    """`--speaker-label`, shared by `transcribe` and `export` (cues.SpeakerLabel)."""
    parser.add_argument("--speaker-label", choices=SPEAKER_LABELS, default=None,
                        help="how SRT marks a new speaker's turn: name (Speaker 1: ...), dash (- ...) or none; "
                             "none also drops VTT's voice spans (default name)")


def with_speaker_label(rules, label: str | None):
    """`rules` with the chosen speaker label (None: as they are)."""
    from dataclasses import replace

    return rules if label is None else replace(rules, speaker_label=label)


def _settings(services):
    from nemo_desk.settings import Settings

    return Settings.load(services.paths.settings_file, warn=lambda m: services.logger.warning("%s", m))


def export_document(path: Path, formats, output_dir: Path | None, fileops, ledger, rules,
                    overwrite: bool = False, document=None):
    """Write `formats` for the transcript at `path` (or `document`, already open).
    Returns (written files, notes). Raises NemoDeskError (one line)."""
    from nemo_desk.document.store import load_document
    from nemo_desk.export import write_outputs

    notes: list[str] = []
    if document is None:
        document, notes = load_document(path)
    written = write_outputs(document, path, formats, output_dir, fileops, ledger, overwrite=overwrite, rules=rules)
    for out in written:
        if out.renamed_from is not None:
            notes.append(f"{out.renamed_from.name} exists and was not written by nemo_desk; "
                         f"kept it and wrote {out.path.name}")
    return written, notes


def run_export(args: argparse.Namespace, services_factory: Callable, out: TextIO, err: TextIO) -> int:
    from nemo_desk.export import normalise_formats

    try:
        formats = normalise_formats(args.format)
    except NemoDeskError as exc:
        err.write(f"nemo-desk: {exc.user_message}\n")
        return 2
    services = services_factory(retry_seconds=args.retry_seconds)
    failed = 0
    try:
        rules = with_speaker_label(_settings(services).cue_rules(), args.speaker_label)
        for raw in args.inputs:
            path = Path(raw)
            try:
                written, notes = export_document(path, formats, args.output_dir, services.fileops, services.ledger,
                                                 rules, args.overwrite)
            except NemoDeskError as exc:
                failed += 1
                message = " ".join(exc.user_message.split())
                for prefix in (f"{path}: ", f"{path.name}: "):  # errors may lead with the file
                    message = message.removeprefix(prefix)
                err.write(f"failed: {path.name}: {message}\n")
                continue
            for note in notes:
                err.write(f"note: {path.name}: {note}\n")
            out.write(f"done: {path.name} -> {', '.join(str(w.path) for w in written)}\n")
    finally:
        services.close()
    return EXIT_FAILED if failed else EXIT_OK
