"""Joining or starting the Ray cluster, with one line when that fails."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from typing import Iterator

LOCAL = "local"
# Ray keeps Unix sockets under its temp folder (".../ray/session_<date>_<pid>/sockets/
# plasma_store"), and a socket path cannot exceed 107 bytes. The app's own temp folder
# (where TMPDIR points once the app runs) is often deeper than that leaves room for.
_SOCKET_PATH_MAX = 107
_SOCKET_TAIL = len("/ray/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store")


class ClusterUnreachable(Exception):
    pass


@contextlib.contextmanager
def connected(ray, where: str, forward_env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Ray, started on this machine (`local`) or joined (`auto`, an address), shut down
    afterwards if started here. Yields the environment the workers get from the driver:
    on this machine, the driver's app folder (one model store, one output ledger); on a
    cluster nothing, since each node has its own app folder (and maybe another OS)."""
    env = dict(forward_env or {})
    if ray.is_initialized():  # the caller connected already (a notebook, the tests)
        yield env
        return
    # Workers log to the node's own nemo_desk log file; their stdout (NeMo's chatter) is
    # not echoed here, where the progress lines are.
    common = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if where == LOCAL:
            ray.init(num_cpus=os.cpu_count() or 1, _temp_dir=ray_temp_dir(), **common)
        else:
            env = {}
            if (silent := _nothing_answers(where)) is not None:
                raise ConnectionError(silent)
            ray.init(address=where, **common)
    except Exception as exc:  # ConnectionError, a bad address, a version mismatch...
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterUnreachable(f"cannot {'start Ray' if where == LOCAL else 'join the Ray cluster at ' + where}: "
                                 f"{why}") from None
    try:
        yield env
    finally:
        ray.shutdown()


def app_environment(environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """What a worker on the driver's own machine needs to use the driver's app folder."""
    return {k: v for k, v in environ.items() if k.startswith(("NEMO_DESK_", "HF_HUB_"))}


def ray_temp_dir(platform: str = sys.platform, temp: str | None = None) -> str | None:
    """Where a local Ray keeps its session: None (Ray's choice, under the temp folder) when
    its socket paths fit there, else Ray's classic /tmp/ray. Windows uses no Unix sockets."""
    if platform == "win32":
        return None
    base = temp if temp is not None else tempfile.gettempdir()
    return None if len(base) + _SOCKET_TAIL <= _SOCKET_PATH_MAX else "/tmp/ray"


def _nothing_answers(where: str, timeout_s: float = 5.0) -> str | None:
    """For "host:port" (or "ray://host:port"): why nothing answers there, else None. Ray
    itself retries an address that does not answer for minutes; a mistyped one is said at once.
    "auto" (Ray finds the cluster itself) is left to Ray."""
    import socket

    address = where.split("://", 1)[-1]
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return f"nothing answers at {address} ({why}); is `ray start --head` running there?"
