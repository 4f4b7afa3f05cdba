"""One-line messages for everything that can go wrong while downloading a model."""
from __future__ import annotations

from pathlib import Path

from nemo_desk.core.errors import ModelError, is_disk_full_os
from nemo_desk.engine.catalog import ModelSpec

_WIN_NO_SYMLINK_PRIVILEGE = 1314


def translate_error(exc: BaseException, spec: ModelSpec, dest: Path, host: str, revision: str) -> ModelError | None:
    """A one-line ModelError for what went wrong, or None for an unexpected error (a bug)."""
    import httpx2
    from huggingface_hub.errors import (
        FileMetadataError,
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo, filename = spec.id, spec.hf_filename
    if isinstance(exc, OfflineModeIsEnabled):
        return ModelError(
            f"{spec.name} is not installed and Hugging Face downloads are switched off "
            f"(HF_HUB_OFFLINE is set); unset it or import a .nemo file instead"
        )
    if isinstance(exc, GatedRepoError):
        return ModelError(
            f"{repo} is a gated model on Hugging Face: accept its terms on the model page "
            f"and sign in with a token that may read it"
        )
    if isinstance(exc, RepositoryNotFoundError):  # 404, or 401 for private repos
        return ModelError(
            f"Hugging Face has no model {repo} (or it is private and needs a token) "
            f"(HTTP {_status(exc)})"
        )
    if isinstance(exc, RevisionNotFoundError):
        return ModelError(f"{repo} has no revision '{revision}' on Hugging Face (HTTP 404)")
    if isinstance(exc, RemoteEntryNotFoundError):
        return ModelError(f"{repo} has no file {filename} on Hugging Face (HTTP 404)")
    if isinstance(exc, HfHubHTTPError):
        status = _status(exc)
        if status in (401, 403):
            return ModelError(
                f"Hugging Face refused access to {repo} (HTTP {status}); "
                f"check the token or accept the model's terms on its page"
            )
        if status == 404:
            return ModelError(f"{repo}/{filename} was not found on Hugging Face (HTTP 404)")
        return ModelError(
            f"Hugging Face answered HTTP {status} while downloading {repo}; try again later"
        )
    if isinstance(exc, FileMetadataError):
        return ModelError(
            f"the server at {host} did not answer like Hugging Face for {repo}; "
            f"check HF_ENDPOINT and proxy settings"
        )
    if isinstance(exc, httpx2.TransportError):
        # "[Errno -3] Temporary failure in name resolution" is for the log file, not for people.
        error = ModelError(
            f"could not reach Hugging Face ({host}): this computer seems to be offline, or a firewall "
            f"or proxy blocks it; check the connection and try again, or import a .nemo file instead"
        )
        error.technical = one_line(exc) or type(exc).__name__
        return error
    if isinstance(exc, httpx2.HTTPError):
        return ModelError(f"downloading {repo} failed: {one_line(exc)}")
    if isinstance(exc, OSError):
        winerror = getattr(exc, "winerror", None)
        if is_disk_full_os(exc):
            return ModelError(
                f"not enough disk space in {dest} for {spec.size_gb:g} GB ({spec.name}); "
                f"free some space and try again (the download continues where it stopped)"
            )
        if winerror == _WIN_NO_SYMLINK_PRIVILEGE:
            return ModelError(
                f"Windows refused to create a symbolic link while saving {spec.name} "
                f"(WinError 1314: the privilege is not held); enable Developer Mode or import a .nemo file"
            )
        return ModelError(f"could not save the download of {spec.name} in {dest}: {one_line(exc)}")
    return None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


def human_size(n: int | None) -> str:
    if n is None:
        return "an unknown size"
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.0f} kB"
