"""Which cloud-sync folder (OneDrive, Dropbox, Google Drive, iCloud) contains a path.

One place for this question: the lock diagnosis uses it to name the likely holder, and
`paths.AppPaths` uses it to keep the app's own folders out of synced folders. Sync
clients open every new file to upload it, which is exactly what locks our temp files and
outputs on Windows.

Evidence, strongest first: the client's own setting (OneDrive's environment variables,
Dropbox's info.json), then well-known folder names. Paths are compared with the rules of
the platform they come from (`windows=`), so Windows paths can be tested on Linux.
"""
from __future__ import annotations

import json
import ntpath
import os
import posixpath
import sys
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

ONEDRIVE_ENV_VARS = ("OneDrive", "OneDriveConsumer", "OneDriveCommercial")
# (service, human name, exact folder names, name prefixes), compared casefolded.
_FOLDER_RULES: tuple[tuple[str, str, frozenset[str], tuple[str, ...]], ...] = (
    # "OneDrive - Contoso" is OneDrive for work; macOS uses "OneDrive-Personal".
    ("onedrive", "OneDrive", frozenset({"onedrive"}), ("onedrive - ", "onedrive-")),
    # "Dropbox (Personal)" / "Dropbox (Contoso)" when personal and team accounts are linked.
    ("dropbox", "Dropbox", frozenset({"dropbox"}), ("dropbox (",)),
    # Drive for desktop mounts a drive letter labelled "Google Drive" holding "My Drive";
    # macOS uses ~/Library/CloudStorage/GoogleDrive-<account>.
    ("google_drive", "Google Drive", frozenset({"google drive", "googledrive", "my drive"}), ("googledrive-",)),
    ("icloud", "iCloud Drive", frozenset({"iclouddrive", "icloud drive", "mobile documents"}), ()),
)


@dataclass(frozen=True)
class SyncRoot:
    service: str  # "onedrive", "dropbox", "google_drive", "icloud" (a Holder.kind)
    name: str  # "OneDrive", "Dropbox", "Google Drive", "iCloud Drive"
    root: str  # the synced folder that contains the path
    evidence: str  # why we think so, shown to the user


def running_on_windows() -> bool:
    # Read at call time (not import time) so tests can monkeypatch sys.platform.
    return sys.platform == "win32"


def path_module(windows: bool):
    """ntpath or posixpath: the path rules of the platform a path comes from."""
    return ntpath if windows else posixpath


def normalize(path: str | os.PathLike, windows: bool | None = None) -> str:
    """An absolute, normalized spelling of `path` in the given platform's rules."""
    pm = path_module(running_on_windows() if windows is None else windows)
    s = os.fsdecode(path)
    if pm is os.path:
        return pm.abspath(s)
    # Another platform's path (tests simulating Windows): our current directory means
    # nothing there, so only tidy it up.
    return pm.normpath(s)


def _key(path: str | os.PathLike, windows: bool) -> str:
    # normcase lowercases and unifies slashes on Windows; identity on POSIX.
    return path_module(windows).normcase(normalize(path, windows))


def is_within(path: str | os.PathLike, root: str | os.PathLike, *, windows: bool | None = None) -> bool:
    """True when `path` is `root` or lies below it (case-insensitive on Windows)."""
    windows = running_on_windows() if windows is None else windows
    sep = path_module(windows).sep
    p, r = _key(path, windows), _key(root, windows)
    if p == r:
        return True
    return p.startswith(r if r.endswith(sep) else r + sep)


def env_lookup(env: Mapping[str, str], name: str, windows: bool | None = None) -> str | None:
    """env[name]; on Windows variable names are case-insensitive (and os.environ copies
    made there have upper-cased keys), so "OneDrive" must find "ONEDRIVE"."""
    windows = running_on_windows() if windows is None else windows
    value = env.get(name)
    if value is None and windows:
        wanted = name.upper()
        value = next((v for k, v in env.items() if k.upper() == wanted), None)
    return value or None


def _read_small_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read(1_000_000)


def dropbox_roots(
    env: Mapping[str, str], windows: bool | None = None, read_text: Callable[[str], str] = _read_small_text
) -> list[str]:
    """Folders Dropbox says it syncs, from its info.json; [] when it cannot be read."""
    windows = running_on_windows() if windows is None else windows
    if windows:
        bases = [env_lookup(env, "LOCALAPPDATA", True), env_lookup(env, "APPDATA", True)]
        candidates = [os.path.join(b, "Dropbox", "info.json") for b in bases if b]
    else:
        home = env.get("HOME")
        candidates = [os.path.join(home, ".dropbox", "info.json")] if home else []
    roots: list[str] = []
    for candidate in candidates:
        try:
            data = json.loads(read_text(candidate))
            roots += [acct["path"] for acct in data.values() if isinstance(acct, dict) and acct.get("path")]
        except (OSError, ValueError, TypeError, AttributeError):
            continue  # absent or malformed: folder names still catch the usual layout
    return roots


def _configured_roots(env: Mapping[str, str], windows: bool, read_text) -> Iterator[SyncRoot]:
    for var in ONEDRIVE_ENV_VARS:
        value = env_lookup(env, var, windows)
        if value:
            yield SyncRoot("onedrive", "OneDrive", value, f"environment variable {var}={value}")
    for root in dropbox_roots(env, windows, read_text):
        yield SyncRoot("dropbox", "Dropbox", root, f"Dropbox's settings (info.json) name {root}")


def _match_folder_name(name: str) -> tuple[str, str] | None:
    folded = name.casefold()
    for service, human, exact, prefixes in _FOLDER_RULES:
        if folded in exact or folded.startswith(prefixes):
            return service, human
    return None


def _by_folder_name(path: str, windows: bool) -> SyncRoot | None:
    pm = path_module(windows)
    norm = normalize(path, windows)
    drive, rest = pm.splitdrive(norm)
    anchor = drive + (pm.sep if rest.startswith(pm.sep) else "")
    parts = [c for c in rest.split(pm.sep) if c]
    for i, part in enumerate(parts):  # outermost first: that is the folder the client syncs
        hit = _match_folder_name(part)
        if hit is None and windows and i == 0 and part.casefold() == "shared drives":
            hit = ("google_drive", "Google Drive")  # G:\Shared drives\...
        if hit is not None:
            root = anchor + pm.sep.join(parts[: i + 1])
            return SyncRoot(hit[0], hit[1], root, f"the folder name '{part}' in {root}")
    return None


def find_sync_root(
    path: str | os.PathLike,
    env: Mapping[str, str] | None = None,
    *,
    windows: bool | None = None,
    read_text: Callable[[str], str] = _read_small_text,
) -> SyncRoot | None:
    """The synced folder containing `path`, or None. Never raises for odd input."""
    windows = running_on_windows() if windows is None else windows
    env = os.environ if env is None else env
    try:
        configured = [r for r in _configured_roots(env, windows, read_text)
                      if is_within(path, r.root, windows=windows)]
        if configured:
            # The innermost configured root is the most specific statement.
            return max(configured, key=lambda r: len(normalize(r.root, windows)))
        return _by_folder_name(os.fsdecode(path), windows)
    except (TypeError, ValueError):
        return None
