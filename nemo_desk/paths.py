"""The app's own folders, its process temp root, and the start-up sweep of that root.

Everything lives in local (never roaming) app data, so nothing the app writes is synced;
a folder that still ends up inside OneDrive/Dropbox/Google Drive/iCloud (an override,
an odd profile) is moved to a safe place, with a note the app logs, because sync
clients lock the files we write (see docs/windows-locks.md).
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping, MutableMapping

from nemo_desk.locks.fileops import FileOps, plain_diagnosis
from nemo_desk.locks.lockerror import LockError
from nemo_desk.locks.processes import pid_alive
from nemo_desk.locks.syncroots import env_lookup, find_sync_root, running_on_windows

APP_NAME = "nemo_desk"
HOME_ENV = "NEMO_DESK_HOME"
_FIELDS = ("data", "models", "cache", "logs", "temp", "settings_file")
_LABELS = MappingProxyType({"data": "data", "models": "model", "cache": "cache", "logs": "log",
                            "temp": "temporary", "settings_file": "settings"})
_RUN_DIR = re.compile(r"^run-(\d+)-(\d+)$")
# Caches of libraries we pull in, pointed into the app cache only when the user has not
# chosen: numba (via librosa) otherwise writes next to the installed package, which is
# read-only in Program Files; matplotlib falls back to a fresh temp dir per start.
# Deliberately absent: HF_HOME and NEMO_CACHE_DIR (the model store owns model files),
# TORCH_HOME (nothing here uses torch.hub; moving it would only split the user's cache),
# and lhotse, which has no cache-folder variable (its tools dir is fixed under ~/.lhotse).
_CACHE_VARS = (("NUMBA_CACHE_DIR", "numba"), ("MPLCONFIGDIR", "matplotlib"))
_TEMP_VARS = ("TMP", "TEMP", "TMPDIR")


def platform_defaults() -> dict[str, Path]:
    """platformdirs' answer: %LOCALAPPDATA%\\nemo_desk on Windows (roaming=False, so it is
    not copied around a domain), XDG folders on Linux, ~/Library on macOS."""
    import platformdirs

    data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False))
    cache = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    return {
        "data": data, "models": data / "models", "cache": cache, "temp": cache / "tmp",
        "logs": Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        "settings_file": Path(platformdirs.user_config_dir(APP_NAME, appauthor=False, roaming=False))
        / "settings.json",
    }


def _home_layout(home: Path) -> dict[str, Path]:
    return {"data": home / "data", "models": home / "data" / "models", "cache": home / "cache",
            "temp": home / "cache" / "tmp", "logs": home / "logs", "settings_file": home / "settings.json"}


@dataclass(frozen=True)
class AppPaths:
    data: Path
    models: Path
    cache: Path
    logs: Path
    temp: Path
    settings_file: Path
    notes: tuple[str, ...] = field(default=(), compare=False)  # why something moved; the app logs them

    @classmethod
    def resolve(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        overrides: Mapping[str, str | os.PathLike | None] | None = None,
        defaults: Mapping[str, Path] | None = None,
        windows: bool | None = None,
    ) -> "AppPaths":
        """Platform defaults, or everything under NEMO_DESK_HOME, then explicit overrides
        (settings). A models/temp folder follows an overridden data/cache folder."""
        env = os.environ if env is None else env
        windows = running_on_windows() if windows is None else windows
        defaults = dict(defaults if defaults is not None else platform_defaults())
        home = env_lookup(env, HOME_ENV, windows)
        chosen = _home_layout(_user_path(home, windows)) if home else dict(defaults)
        given = {k: _user_path(v, windows) for k, v in (overrides or {}).items() if v is not None and k in _FIELDS}
        if "data" in given:
            chosen["models"] = given["data"] / "models"
        if "cache" in given:
            chosen["temp"] = given["cache"] / "tmp"
        chosen.update(given)
        notes: list[str] = []
        for key in _FIELDS:
            chosen[key] = _out_of_sync(key, chosen[key], defaults, env, windows, notes)
        return cls(**{k: chosen[k] for k in _FIELDS}, notes=tuple(notes))

    def folders(self) -> dict[str, Path]:
        """The folders by role, e.g. for `Diagnoser(app_folders=...)`."""
        return {"data": self.data, "models": self.models, "cache": self.cache, "logs": self.logs,
                "temp": self.temp}

    def ensure(self) -> "AppPaths":
        """Create the folders (on demand: resolving alone touches nothing on disk)."""
        for folder in (*self.folders().values(), self.settings_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def _user_path(value: str | os.PathLike, windows: bool) -> Path:
    # "~" is not expanded by Windows shells, and a relative folder would move with the
    # working directory; made absolute only when the path is of this platform (tests
    # simulate Windows paths on Linux).
    path = Path(value).expanduser()
    return path.absolute() if windows == running_on_windows() else path


def _fallbacks(key: str, defaults: Mapping[str, Path], env: Mapping[str, str], windows: bool) -> list[Path]:
    leaf = "settings.json" if key == "settings_file" else key
    found = [defaults[key]] if key in defaults else []
    if windows:
        # Local app data is never redirected by OneDrive's folder backup; ProgramData is
        # machine-wide but writable for new subfolders, so keep a per-user subfolder.
        local, program_data = env_lookup(env, "LOCALAPPDATA", True), env_lookup(env, "ProgramData", True)
        user = env_lookup(env, "USERNAME", True) or "user"
        found += [Path(local) / APP_NAME / leaf] if local else []
        found += [Path(program_data) / APP_NAME / user / leaf] if program_data else []
    else:
        uid = os.getuid() if hasattr(os, "getuid") else 0  # simulated POSIX on Windows
        found.append(Path("/var/tmp") / f"{APP_NAME}-{uid}" / leaf)
    found.append(Path(tempfile.gettempdir()) / APP_NAME / leaf)
    return found


def _out_of_sync(key: str, chosen: Path, defaults: Mapping[str, Path], env: Mapping[str, str],
                 windows: bool, notes: list[str]) -> Path:
    folder = chosen.parent if key == "settings_file" else chosen
    sync = find_sync_root(folder, env, windows=windows)
    if sync is None:
        return chosen
    for candidate in _fallbacks(key, defaults, env, windows):
        probe = candidate.parent if key == "settings_file" else candidate
        if find_sync_root(probe, env, windows=windows) is None:
            notes.append(f"The {_LABELS[key]} folder {folder} is inside {sync.name} ({sync.evidence}); using "
                         f"{probe} instead, because sync programs lock files while the app writes them.")
            return candidate
    notes.append(f"The {_LABELS[key]} folder {folder} is inside {sync.name} and no unsynced place was found; "
                 f"expect 'file in use' retries.")
    return chosen


@dataclass(frozen=True)
class TempRoot:
    """What `install_temp_root` changed, so it can be logged (and undone in tests)."""

    root: Path
    run_dir: Path
    env_set: Mapping[str, str]  # variables we set
    env_kept: Mapping[str, str]  # the user's own values we left alone
    previous_env: Mapping[str, str | None]
    previous_tempdir: str | None

    def restore(self, env: MutableMapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        tempfile.tempdir = self.previous_tempdir
        for name, old in self.previous_env.items():
            if old is None:
                env.pop(name, None)
            else:
                env[name] = old


def install_temp_root(paths: AppPaths, env: MutableMapping[str, str] | None = None, *,
                      pid: int | None = None, now: float | None = None) -> TempRoot:
    """Point this process's temp files (tempfile and, via TMP/TEMP/TMPDIR, child processes
    such as ffmpeg) at `<temp>/run-<pid>-<start>`. Call before NeMo is imported.

    The per-run folder lets two instances share the temp root: the sweep removes only
    folders whose process is gone."""
    env = os.environ if env is None else env
    pid = os.getpid() if pid is None else pid
    now = time.time() if now is None else now
    run_dir = paths.temp / f"run-{pid}-{int(now)}"
    run_dir.mkdir(parents=True, exist_ok=True)
    wanted = {name: str(run_dir) for name in _TEMP_VARS}
    kept: dict[str, str] = {}
    for name, sub in _CACHE_VARS:
        if env.get(name):
            kept[name] = env[name]
        else:
            wanted[name] = str(paths.cache / sub)
    previous = {name: env.get(name) for name in wanted}
    previous_tempdir = tempfile.tempdir
    for name, value in wanted.items():
        env[name] = value
    tempfile.tempdir = str(run_dir)
    return TempRoot(paths.temp, run_dir, wanted, kept, previous, previous_tempdir)


@dataclass
class SweepResult:
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    failed: list[Path] = field(default_factory=list)


def sweep_temp(
    temp_dir: str | os.PathLike,
    fileops: FileOps,
    older_than_s: float = 24 * 3600,
    *,
    log: Callable[[str], None] | None = None,
    budget_s: float = 1.0,
    now: float | None = None,
    current_run: str | os.PathLike | None = None,
    is_alive: Callable[[int, float | None], bool] = pid_alive,
) -> SweepResult:
    """Remove what earlier runs left in the temp root. Never raises.

    `run-<pid>-<start>` folders go when their process is gone; anything else when older
    than `older_than_s`. Pass `current_run` (TempRoot.run_dir) so that an old folder
    whose pid was reused by this very process is recognised as stale. Locked leftovers
    get a short retry budget (start-up must not wait 10 s per file) and a warning; the
    next start tries again."""
    warn = log or logging.getLogger(__name__).warning
    now = time.time() if now is None else now
    ops = fileops.derive(policy=replace(fileops.policy, budget_s=min(fileops.policy.budget_s, budget_s)),
                         diagnose=plain_diagnosis)  # a warning needs no process listing
    result = SweepResult()
    current = Path(current_run).name if current_run is not None else None
    try:
        entries = list(os.scandir(os.fspath(temp_dir)))
    except FileNotFoundError:
        return result
    except OSError as exc:
        warn(f"could not look into the temporary folder {temp_dir}: {exc}")
        return result
    for entry in entries:
        path = Path(entry.path)
        try:
            if not _is_stale(entry, now, older_than_s, is_alive, current):
                result.kept.append(path)
                continue
            if entry.is_dir(follow_symlinks=False):
                ops.rmtree(path)
            else:
                ops.unlink(path)
            result.removed.append(path)
        except FileNotFoundError:
            continue  # gone already (another instance swept it)
        except (LockError, OSError) as exc:
            result.failed.append(path)
            warn(f"could not remove old temporary item {path}; it will be removed at a later start ({exc})")
    return result


def _is_stale(entry: os.DirEntry, now: float, older_than_s: float,
              is_alive: Callable[[int, float | None], bool], current: str | None) -> bool:
    match = _RUN_DIR.match(entry.name)
    if match and entry.is_dir(follow_symlinks=False):
        if entry.name == current:
            return False
        pid, started = int(match.group(1)), float(match.group(2))
        if pid == os.getpid():
            return current is not None  # ours only if it is the current run
        return not is_alive(pid, started)
    return now - entry.stat(follow_symlinks=False).st_mtime >= older_than_s
