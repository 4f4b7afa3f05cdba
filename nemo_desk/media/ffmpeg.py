"""Finding the ffmpeg executable and checking once that it actually runs.

The Windows build ships ffmpeg inside the imageio-ffmpeg wheel (it lands in the
PyInstaller bundle with the rest of the packages), so users never install ffmpeg
themselves. `NEMO_DESK_FFMPEG` lets a developer or power user point at another build.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Union

from nemo_desk.core.errors import FfmpegUnavailableError
from nemo_desk.media.windowless import no_window_kwargs

ENV_VAR = "NEMO_DESK_FFMPEG"

# `-version` is instant on a healthy binary; the limit only guards against a broken
# or blocked executable (an antivirus holding a freshly unpacked exe, for example).
_VERSION_TIMEOUT_S = 30.0


def find_ffmpeg(env: Mapping[str, str] = os.environ) -> str:
    """Path of the ffmpeg executable to use.

    Order: the NEMO_DESK_FFMPEG override, the binary bundled with imageio-ffmpeg, then
    `ffmpeg` on PATH. An override that points nowhere is an error rather than being
    skipped, so a typo does not silently select a different ffmpeg.
    """
    override = env.get(ENV_VAR, "").strip()
    if override:
        if os.path.isfile(override):
            return override
        raise FfmpegUnavailableError(
            override, f"{ENV_VAR} points to this path, but no ffmpeg executable is there"
        )
    bundled = _imageio_ffmpeg_exe()
    if bundled:
        return bundled
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    raise FfmpegUnavailableError(
        "ffmpeg",
        "not found: the bundled copy (imageio-ffmpeg) is missing and there is no ffmpeg "
        f"on PATH; reinstall nemo_desk or set {ENV_VAR} to an ffmpeg executable",
    )


def _imageio_ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # it raises RuntimeError when no binary exists; any failure = absent
        return None
    return exe if exe and os.path.isfile(exe) else None


def input_arg(path: str | os.PathLike[str]) -> str:
    """The `-i` argument for a local file.

    Absolute and prefixed with `file:` so that names ffmpeg would otherwise misread
    work: a name starting with '-' (an option), or containing ':' (taken as a protocol
    such as 'concat:' or 'http:'). The file protocol accepts Windows drive paths too.
    """
    return "file:" + os.path.abspath(os.fspath(path))


class Ffmpeg:
    """One ffmpeg executable; `check()` runs `-version` the first time only.

    The caller (the composition root, or a test) creates one and passes it to probe()
    and decode(), so the verified state lives with that object, not in a module global.
    """

    def __init__(self, exe: str) -> None:
        self.exe = exe
        self._version: str | None = None

    @classmethod
    def locate(cls, env: Mapping[str, str] = os.environ) -> "Ffmpeg":
        return cls(find_ffmpeg(env))

    def check(self) -> str:
        """First line of `ffmpeg -version`; raises FfmpegUnavailableError if it won't run."""
        if self._version is None:
            self._version = self._run_version()
        return self._version

    def _run_version(self) -> str:
        try:
            done = subprocess.run(
                [self.exe, "-hide_banner", "-version"],
                stdin=subprocess.DEVNULL,  # a windowed app has no valid stdin handle
                capture_output=True,
                timeout=_VERSION_TIMEOUT_S,
                **no_window_kwargs(),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise FfmpegUnavailableError(self.exe, f"ffmpeg cannot be started ({exc})") from exc
        first = done.stdout.decode("utf-8", "replace").strip().splitlines()[:1]
        if done.returncode != 0 or not first or "ffmpeg" not in first[0].lower():
            raise FfmpegUnavailableError(
                self.exe, f"this is not a working ffmpeg (`-version` exited with {done.returncode})"
            )
        return first[0]

    def __repr__(self) -> str:
        return f"Ffmpeg({self.exe!r})"


FfmpegLike = Union[Ffmpeg, str]


def as_ffmpeg(ffmpeg: FfmpegLike) -> Ffmpeg:
    """Accept an executable path where an Ffmpeg is expected (handy in scripts and tests)."""
    return ffmpeg if isinstance(ffmpeg, Ffmpeg) else Ffmpeg(ffmpeg)
