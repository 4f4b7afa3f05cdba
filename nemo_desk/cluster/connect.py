"""Joining or starting the Ray cluster, with one line when that fails."""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

LOCAL = "local"


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
            ray.init(num_cpus=os.cpu_count() or 1, **common)
        else:
            env = {}
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
