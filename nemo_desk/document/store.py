"""Opening, saving and autosaving transcript documents (no Qt).

Saving replaces the file atomically through `FileOps` (export/atomic.py): a crash or a
full disk leaves the previous version whole. A saved document is deliberately *not*
recorded in the output ledger: once a person has edited it, it is their file, and a
later transcription of the same source writes "<name> (2).json" instead of replacing
their edits (export/writer.py).

Autosave keeps a copy of unsaved edits in the app's data folder (not next to the file:
no clutter in the user's folders, nothing for a sync client to upload), one file per
document, keyed by the document's normalised path. The editor writes it a few seconds
after each change and removes it on save or on a deliberate discard; whatever is left
after a crash is offered back the next time the document is opened.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from nemo_desk.core.document import TranscriptDocument
from nemo_desk.core.errors import ExportError
from nemo_desk.core.longpaths import long_path
from nemo_desk.export.atomic import atomic_write_bytes
from nemo_desk.export.json_format import render_json, transcript_to_dict
from nemo_desk.export.json_read import TranscriptFormatError, read_document
from nemo_desk.export.ledger import ledger_key
from nemo_desk.export.writer import _export_error  # the writer's one-line OS error messages
from nemo_desk.locks.fileops import FileOps

AUTOSAVE_VERSION = 1


def load_document(path: str | os.PathLike[str]) -> tuple[TranscriptDocument, list[str]]:
    """The document at `path` and notes on what was adapted; ExportError in one line."""
    path = Path(path)
    try:
        with open(long_path(path), "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ExportError(f"{path}: is a folder, not a transcript file") from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")  # a BOM from a Windows editor is harmless
    except UnicodeDecodeError:
        raise ExportError(f"{path}: not a transcript (not UTF-8 text)") from None
    try:
        return read_document(text)
    except TranscriptFormatError as exc:
        raise TranscriptFormatError(f"{path.name}: {exc}") from exc


def save_document(path: str | os.PathLike[str], document: TranscriptDocument, fileops: FileOps) -> None:
    path = Path(path)
    try:
        atomic_write_bytes(path, render_json(document).encode("utf-8"), fileops)
    except OSError as exc:
        raise _export_error(exc, path) from exc


def document_for(path: str | os.PathLike[str]) -> Path:
    """The transcript to open for `path`: itself if it is a .json, else the JSON of the
    same name next to it (the media file's transcript)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return path
    candidate = path.with_suffix(".json")
    if os.path.isfile(long_path(candidate)):
        return candidate
    raise ExportError(f"no transcript next to {path.name} (looked for {candidate.name}); transcribe it "
                      "with the JSON format to edit it")


def media_for(document: TranscriptDocument, document_path: Path) -> Path | None:
    """The source media of a document: its recorded path, else a file of the same name
    next to the JSON (the folder may have moved or come from another computer)."""
    if document.source:
        recorded = Path(document.source)
        candidates = [recorded, document_path.parent / recorded.name]
        if not recorded.is_absolute():
            candidates.insert(0, document_path.parent / recorded)
        for c in candidates:
            if os.path.isfile(long_path(c)):
                return c
    return None


@dataclass(frozen=True)
class Recovered:
    document: TranscriptDocument
    saved_at: float  # time.time() of the autosave


class Autosave:
    def __init__(self, folder: str | os.PathLike[str], fileops: FileOps) -> None:
        self.folder = Path(folder)
        self.fileops = fileops

    def path_for(self, document_path: str | os.PathLike[str]) -> Path:
        key = hashlib.sha1(ledger_key(document_path).encode("utf-8")).hexdigest()[:20]
        return self.folder / f"{key}.json"

    def write(self, document_path: str | os.PathLike[str], document: TranscriptDocument) -> Path:
        target = self.path_for(document_path)
        data = {"autosave_version": AUTOSAVE_VERSION, "document_path": str(document_path),
                "saved_at": round(time.time(), 3), "document": transcript_to_dict(document)}
        os.makedirs(long_path(self.folder), exist_ok=True)
        atomic_write_bytes(target, json.dumps(data, ensure_ascii=False).encode("utf-8"), self.fileops)
        return target

    def recover(self, document_path: str | os.PathLike[str]) -> Recovered | None:
        """The unsaved edits left for this document, or None (none, or unreadable)."""
        target = self.path_for(document_path)
        try:
            with open(long_path(target), "rb") as handle:
                data = json.loads(handle.read().decode("utf-8"))
            if ledger_key(data["document_path"]) != ledger_key(document_path):
                return None  # a hash collision: someone else's edits
            document, _ = read_document(json.dumps(data["document"]))
            return Recovered(document, float(data["saved_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def discard(self, document_path: str | os.PathLike[str]) -> None:
        self.fileops.unlink(self.path_for(document_path), missing_ok=True)
