"""What a failed model load means, in words a user can act on.

torch and NeMo explain failures in their own terms: a damaged weights file gets torch's
advice to load it with `weights_only=False` (which would run any code inside the file: the
one thing a user must not do), and a folder with files missing gets an abstract-class
TypeError. Both reach the user only through here.
"""
from __future__ import annotations

from pathlib import Path

from nemo_desk.core.errors import NemoDeskError


def repair_hint(model_id: str, folder: Path) -> str:
    """How to get a good copy of the model in `folder` again."""
    if model_id.startswith("local:"):
        return f"choose its .nemo file again ({model_id[len('local:'):]}) or import it: nemo-desk models import FILE"
    if model_id:
        return f"delete it (nemo-desk models delete {model_id}, or Models in the window) and download it again"
    return f"delete the folder {folder} and download or import the model again"


def explain_load_error(error: BaseException, folder: Path) -> str:
    """One line for a model folder whose files are as unpacked but still do not load."""
    text = error.user_message if isinstance(error, NemoDeskError) else str(error)
    first = " ".join(text.split()).split(" Weights only load failed")[0]
    what = "the .nemo file it came from is damaged, or is not a model this version of nemo_desk can run"
    if "weights_only" in text or "Unpickl" in type(error).__name__ or "load key" in text:
        return (f"could not load the model in {folder}: its weights file is not a readable PyTorch checkpoint; "
                f"{what}. Get the model again")
    if isinstance(error, TypeError) and "abstract class" in text:
        return (f"could not load the model in {folder}: its configuration names a model class that cannot be "
                f"built; {what}")
    if isinstance(error, NemoDeskError):
        return first
    return f"could not load the model in {folder} ({type(error).__name__}: {first[:300]}); {what}"
