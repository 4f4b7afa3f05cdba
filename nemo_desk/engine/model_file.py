"""Is this file a NeMo model? Asked before a file is imported or chosen as a job's model.

A user who picks the wrong file (a recording, a zip, a half-downloaded .nemo) must hear
which file it is and what to choose instead, never tarfile's "invalid header" or
"method gz: ReadError": the check looks at the name and the archive header, in a second,
before anything is unpacked.
"""

from __future__ import annotations

from pathlib import Path

from nemo_desk.media.discover import MEDIA_EXTENSIONS

SUFFIX = ".nemo"
_WHERE = "Choose a .nemo file (NVIDIA publishes them on its model pages), or download a model in Models."


def model_file_problem(path: str | Path, check_archive: bool = True) -> str:
    """One line saying why `path` cannot be a NeMo model, or "" when it looks like one.
    `check_archive=False`: the name and size only (the store reads the archive header only
    when it is about to unpack: a model already unpacked loads without opening its .nemo)."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix.lstrip(".") in MEDIA_EXTENSIONS:
        return f"{name} is a recording, not a speech model. To transcribe it, add it to the list of files. {_WHERE}"
    if suffix != SUFFIX:
        return f"{name} is not a speech model: model files end in .nemo. {_WHERE}"
    if not path.is_file():
        return f"The model file {name} was not found (moved or deleted?): {path.parent}"
    if path.stat().st_size == 0:
        return f"The model file {name} is empty (an unfinished download?). Download it again."
    if check_archive and not _is_archive(path):
        return (
            f"{name} is damaged or not a NeMo model file (an unfinished download?). "
            f"Download it again from where you got it."
        )
    return ""


def _is_archive(path: Path) -> bool:
    """A .nemo is a tar archive, plain or gzip-compressed; only its first block is read."""
    import tarfile  # not on the path to the first window

    try:
        with tarfile.open(path, "r:*") as tar:
            return tar.next() is not None
    except (tarfile.TarError, EOFError, OSError):
        return False
