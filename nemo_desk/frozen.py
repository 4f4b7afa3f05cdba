"""Start-up for the frozen (PyInstaller) app; harmless when run from source.

`startup()` is the first thing `app.main()` does, before anything imports torch:

- `multiprocessing.freeze_support()`: a frozen exe started as a multiprocessing child
  must run the child's code, not a second window;
- stdio guards: a windowed exe (`console=False`) has `sys.stdout`/`sys.stderr`/`sys.stdin`
  set to None, and the first `print` or warning would crash it; in the frozen console exe
  a name the console code page cannot show is escaped instead of crashing the run;
- a missing PATH variable gets the default (NeMo's import of lhotse needs one);
- on Windows, the folders holding CUDA's and torch's DLLs are added to the DLL search path
  (`os.add_dll_directory` and PATH, which DLLs that load other DLLs still use), from the
  bundle (`sys._MEIPASS`) when frozen, from site-packages otherwise.

The caches of dependencies (numba, matplotlib) and the process temp folder are pointed
into the app's own folders by `paths.install_temp_root`, which `build_services` runs before
anything imports NeMo, on every path (window, CLI, self-test). One exception, frozen only:
numba honours NUMBA_CACHE_DIR only for functions whose .py file exists on disk, so the
bundle's librosa functions are cached in numba's own user folder (~/.cache/numba,
%LOCALAPPDATA%\\numba\\numba\\Cache): local and writable, but outside the app's folders.
"""
from __future__ import annotations

import glob
import os
import site
import sys
import sysconfig
from typing import Any, Callable, Iterable, MutableMapping

# Relative to a base folder (the bundle, or a site-packages folder). CUDA builds of torch
# keep their DLLs in torch/lib, or in nvidia-* wheels (nvidia/cublas/bin, ...).
DLL_PATTERNS = ("torch/lib", "nvidia/*/bin")


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def bundle_dir() -> str | None:
    """The folder the bundle's files were collected into (`_internal`); None from source."""
    return getattr(sys, "_MEIPASS", None) if is_frozen() else None


def guard_stdio(frozen: bool | None = None) -> list[str]:
    """Give a missing stdin/stdout/stderr a harmless stand-in (the null device); returns the
    names replaced. When frozen, make output encoding errors escape instead of raise: a
    redirected console exe writes in the ANSI code page, which cannot show every file name."""
    frozen = is_frozen() if frozen is None else frozen
    replaced = []
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))
            replaced.append(name)
    if frozen:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if name not in replaced and getattr(stream, "errors", None) == "strict":
                try:
                    stream.reconfigure(errors="backslashreplace")
                except (AttributeError, ValueError, OSError):
                    pass
    return replaced


def _site_dirs() -> list[str]:
    found = [sysconfig.get_paths().get("purelib"), sysconfig.get_paths().get("platlib")]
    try:
        found += site.getsitepackages()
    except AttributeError:  # some embedded/virtualenv builds lack it
        pass
    seen: list[str] = []
    for d in found:
        if d and d not in seen:
            seen.append(d)
    return seen


def dll_folders(bases: Iterable[str], patterns: Iterable[str] = DLL_PATTERNS) -> list[str]:
    """Existing folders matching `patterns` under each base, in order, without repeats."""
    found: list[str] = []
    for base in bases:
        for pattern in patterns:
            for folder in sorted(glob.glob(os.path.join(base, *pattern.split("/")))):
                folder = os.path.normpath(folder)
                if os.path.isdir(folder) and folder not in found:
                    found.append(folder)
    return found


def add_dll_directories(
    platform: str | None = None,
    bases: Iterable[str] | None = None,
    add: Callable[[str], Any] | None = None,
    env: MutableMapping[str, str] | None = None,
) -> list[str]:
    """On Windows, make the CUDA/torch DLL folders findable before torch loads.

    Returns the folders added ([] elsewhere). A folder that cannot be added is skipped:
    the worst case is a CPU fallback that the device check explains, not a crash."""
    platform = sys.platform if platform is None else platform
    if platform != "win32":
        return []
    if bases is None:
        bundle = bundle_dir()
        bases = [bundle] if bundle else _site_dirs()
    add = add if add is not None else getattr(os, "add_dll_directory", None)
    env = os.environ if env is None else env
    added = []
    for folder in dll_folders(bases):
        try:
            if add is not None:
                add(folder)  # the returned handle only matters if closed; dropping it keeps the folder
            added.append(folder)
        except OSError:
            continue
    if added:
        # cuDNN and some CUDA libraries load their parts by name later; that search uses PATH.
        rest = [p for p in env.get("PATH", "").split(";") if p and p not in added]
        env["PATH"] = ";".join([*added, *rest])  # Windows' separator (this branch is Windows only)
    return added


def ensure_path_variable(env: MutableMapping[str, str] | None = None) -> bool:
    """Give a process started without PATH (`env -i`, some launchers and services) the
    default search path: lhotse, imported by NeMo, appends to os.environ["PATH"] at import
    and raises KeyError without it. os.defpath is what a missing PATH means anyway."""
    env = os.environ if env is None else env
    if "PATH" in env:
        return False
    env["PATH"] = os.defpath
    return True


def startup() -> None:
    """Everything the frozen app needs before anything else runs (see the module docstring)."""
    if getattr(sys, "frozen", False):  # a no-op otherwise; multiprocessing costs start-up time
        import multiprocessing

        multiprocessing.freeze_support()
    guard_stdio()
    ensure_path_variable()
    add_dll_directories()
