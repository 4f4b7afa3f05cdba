"""Writing a transcript's output files: names, collisions, atomic replacement, errors.

Outputs are `<source stem>.<ext>` next to the source, or in `output_dir`. Text files
are UTF-8 without a byte order mark (CSV: with one, for Excel) and "\n" line endings
(CSV: "\r\n", RFC 4180), as `formats.render_bytes` gives them; the bytes are written
exactly (binary mode), so Windows text-mode translation never turns "\n" into "\r\n"
behind our back and the ledger's hash is the hash of what is on disk.

A file already at the output name is replaced only when it is ours and unchanged (see
`OutputLedger`) or when `overwrite=True`; otherwise the output goes to `<stem> (2).<ext>`
(or the first free or our-own `(n)` name) and `renamed_from` tells the caller so it can
tell the user. The source file itself is never a candidate, whatever `overwrite` says,
and neither is another source's unchanged transcript (the ledger records whose it is). A
job's formats share one number, and are replaced together: all new or all old.

OS errors become one-line `ExportError`s; `LockError` (a file that stayed locked through
the retry budget) passes through unchanged because it carries its own diagnosis.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from nemo_desk.core.errors import ExportError, is_disk_full_os
from nemo_desk.core.longpaths import long_path
from nemo_desk.core.transcript import Transcript
from nemo_desk.export.atomic import atomic_write_all
from nemo_desk.export.cues import CueRules
from nemo_desk.export.formats import normalise_formats, render_bytes
from nemo_desk.export.ledger import OutputLedger, ledger_key
from nemo_desk.export.plaintext import DEFAULT_PARAGRAPH_GAP
from nemo_desk.locks.fileops import FileOps

_MAX_NUMBERED = 9999
_WINERROR_NAME_TOO_LONG = frozenset({206})  # ERROR_FILENAME_EXCED_RANGE


@dataclass(frozen=True)
class WrittenFile:
    format: str
    path: Path
    # The name we wanted but did not take (a file that is not ours, or another source's
    # transcript, holds it or a sibling format's name: a job's files share one number).
    renamed_from: Path | None = None
    # The other media file whose transcript holds the wanted name, when that was the reason.
    taken_by: str | None = None


def output_path(source: str | os.PathLike[str], fmt: str, output_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where `fmt` output for `source` goes before any collision handling (absolute)."""
    source = Path(source)
    folder = Path(output_dir) if output_dir is not None else source.parent
    return Path(os.path.abspath(folder)) / f"{source.stem}.{fmt}"


def write_outputs(
    transcript: Transcript,
    source: str | os.PathLike[str],
    formats: str | Iterable[str],
    output_dir: str | os.PathLike[str] | None,
    fileops: FileOps,
    ledger: OutputLedger,
    overwrite: bool = False,
    rules: CueRules = CueRules(),
    paragraph_gap: float = DEFAULT_PARAGRAPH_GAP,
    txt_timestamps: bool = False,
) -> list[WrittenFile]:
    """Write one file per format, all replaced together (all new or all old); returns them
    in the order the formats were given."""
    fmts = normalise_formats(formats)
    # Render everything before touching the disk: a failure here leaves nothing half done.
    contents = [(fmt, render_bytes(fmt, transcript, rules, paragraph_gap, txt_timestamps)) for fmt in fmts]
    targets = [output_path(source, fmt, output_dir) for fmt in fmts]
    _ensure_folder(targets[0].parent)
    try:
        paths, taken_by = _choose_paths(targets, Path(source), ledger, overwrite)
    except OSError as exc:
        # Reading the ledger or an existing output failed (not a lock: that arrives as
        # LockError); without it we cannot tell whose file it is.
        reason = exc.strerror or exc
        raise ExportError(f"cannot check whether {targets[0]} may be replaced: {reason}") from exc
    items = [(path, data) for path, (_, data) in zip(paths, contents)]
    atomic_write_all(items, fileops, describe=_export_error)
    try:
        ledger.record_many(items, source)
    except OSError as exc:
        names = ", ".join(str(p) for p, _ in items)
        raise ExportError(
            f"wrote {names} but could not update {ledger.path}: {exc.strerror or exc}"
        ) from exc
    return [WrittenFile(fmt, path, None if path == target else target, taken_by if path != target else None)
            for (fmt, _), path, target in zip(contents, paths, targets)]


def rename_warnings(written: Iterable[WrittenFile], source: str | os.PathLike[str]) -> list[str]:
    """What to tell the user about outputs that did not get the name they expected."""
    renamed = [(w, w.renamed_from) for w in written if w.renamed_from is not None]
    if not renamed:
        return []
    wanted = ", ".join(old.name for _, old in renamed)
    got = ", ".join(w.path.name for w, _ in renamed)
    if renamed[0][0].taken_by:
        return [f"{wanted} already hold the transcript of {renamed[0][0].taken_by}; "
                f"wrote {got} for {os.path.abspath(source)}"]
    return [f"{old.name} exists and was not written by nemo_desk; kept it and wrote {w.path.name}"
            for w, old in renamed if os.path.lexists(long_path(old))]


def numbered_name(target: Path, n: int) -> Path:
    return target.with_name(f"{target.stem} ({n}){target.suffix}")


def _choose_paths(targets: list[Path], source: Path, ledger: OutputLedger,
                  overwrite: bool) -> tuple[list[Path], str | None]:
    """One number for all of a job's formats (talk (2).srt and talk (2).txt belong together):
    the first n whose every name may be written. Also which other source, if any, holds the
    wanted names."""
    source_key = ledger_key(source)
    taken_by: str | None = None
    for n in range(1, _MAX_NUMBERED + 1):
        candidates = [t if n == 1 else numbered_name(t, n) for t in targets]
        verdicts = [_may_write(c, source, source_key, ledger, overwrite and n == 1) for c in candidates]
        if all(v is True for v in verdicts):
            return candidates, taken_by
        if n == 1:
            taken_by = next((v for v in verdicts if isinstance(v, str)), None)
    raise ExportError(f"cannot find a free file name for {targets[0]} (tried up to ({_MAX_NUMBERED}))")


def _may_write(candidate: Path, source: Path, source_key: str, ledger: OutputLedger, overwrite: bool) -> bool | str:
    """True when `candidate` may be (re)written; else False, or the other source whose
    unchanged transcript is there: that one is never replaced, whatever `overwrite` says,
    so two files with one stem in a batch (dir1/talk.wav, dir2/talk.wav with one output
    folder; meeting.mp4 and meeting.wav) each keep their own outputs."""
    if ledger_key(candidate) == source_key:
        return False
    on_disk = long_path(candidate)
    if not os.path.lexists(on_disk):
        return True
    if os.path.isdir(on_disk):
        return False
    entry = ledger.entry(candidate)
    ours = entry is not None and ledger.owns(candidate)
    if ours and not entry.is_for(source):  # type: ignore[union-attr]
        return entry.source  # type: ignore[union-attr]
    return overwrite or ours


def output_folder_problem(folder: str | os.PathLike[str]) -> str | None:
    """Why `folder` cannot hold outputs (it or a parent is a file), or None. A folder that
    does not exist yet is fine: it is created when the first output is written."""
    path = Path(os.path.abspath(folder))
    for candidate in (path, *path.parents):
        if os.path.isdir(long_path(candidate)):
            return None
        if os.path.lexists(long_path(candidate)):
            if candidate == path:
                return f"{folder} is a file, not a folder"
            return f"{candidate} is a file, so {folder} cannot be created"
    return None


def _ensure_folder(folder: Path) -> None:
    if os.path.isdir(long_path(folder)):
        return
    try:
        os.makedirs(long_path(folder), exist_ok=True)
    except FileExistsError as exc:
        raise ExportError(f"cannot use {folder} as the output folder: a file has that name") from exc
    except OSError as exc:
        if is_disk_full_os(exc):
            raise ExportError(f"not enough disk space to create folder {folder}") from exc
        if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ExportError(f"cannot create folder {folder}: permission denied") from exc
        raise ExportError(f"cannot create folder {folder}: {exc.strerror or exc}") from exc


def _export_error(exc: OSError, path: Path) -> ExportError:
    folder = path.parent
    if is_disk_full_os(exc):
        return ExportError(f"not enough disk space to write {path}")
    if exc.errno == errno.EROFS:
        return ExportError(f"cannot write to folder {folder}: the drive is read-only")
    if exc.errno == errno.ENAMETOOLONG or getattr(exc, "winerror", None) in _WINERROR_NAME_TOO_LONG:
        return ExportError(f"cannot write {path}: the file name ({len(path.name)} characters) or the path "
                           f"({len(str(path))}) is too long for this drive; choose a shorter output folder "
                           "or rename the source file")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        # On Windows replacing a file with the read-only attribute is "access denied"
        # even in a writable folder; say which one it is.
        on_disk = long_path(path)
        if os.path.isfile(on_disk) and not os.access(on_disk, os.W_OK):
            return ExportError(f"cannot replace {path}: the file is read-only")
        return ExportError(f"cannot write to folder {folder}: permission denied")
    return ExportError(f"cannot write {path}: {exc.strerror or exc}")
