"""The actors: how many, what each asks of the cluster, starting and replacing them.

One actor per GPU when the cluster has GPUs (each loads the model once onto its own GPU;
Ray sets CUDA_VISIBLE_DEVICES), else one per CPU slot; `--cluster-workers` overrides.
Ray does not restart a dead actor here: the driver replaces it (a new actor, maybe on
another node) and decides what happens to the file it had, so that a file is retried a
bounded number of times and never runs twice at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from nemo_desk.cluster.actor import TranscribeWorker
from nemo_desk.engine.jobs import Job

CLOSE_WAIT_S = 10.0  # a worker's own clean-up (its temp folder) before it is killed


@dataclass
class Slot:
    """One place in the pool and the actor now in it (a replacement keeps the number)."""

    number: int
    actor: Any
    ready: Any = None  # the hello() call while the actor starts
    run: Any = None  # the run() call while it works on `job`
    job: Job | None = None
    pid: int = 0
    host: str = ""
    stage: str = ""
    fraction: float = 0.0
    status_call: Any = None
    started: float = field(default_factory=time.monotonic)
    cancelled: bool = False
    retired: bool = False

    @property
    def name(self) -> str:
        where = f" on {self.host}" if self.host else ""
        return f"worker {self.number}{where}"

    @property
    def idle(self) -> bool:
        return not self.retired and self.ready is None and self.run is None


def pool_size(resources: dict[str, float], wanted: int | None, files: int) -> tuple[int, dict[str, float]]:
    """How many actors, and the resources each asks for."""
    gpus = int(resources.get("GPU", 0))
    each = {"num_gpus": 1.0, "num_cpus": 1.0} if gpus else {"num_cpus": 1.0}
    size = wanted or gpus or int(resources.get("CPU", 1)) or 1
    return max(1, min(size, files)), each


class Pool:
    def __init__(self, ray, each: dict[str, float], init_args: tuple, folders: list[str]) -> None:
        self._ray = ray
        # max_concurrency: status() and cancel() answer while run() works.
        self._remote = ray.remote(max_concurrency=4, max_restarts=0, **each)(TranscribeWorker)
        self._init_args = init_args
        self._folders = folders
        self.slots: list[Slot] = []

    def start(self, number: int) -> Slot:
        actor = self._remote.remote(*self._init_args)
        slot = Slot(number, actor, ready=actor.hello.remote(self._folders))
        if number <= len(self.slots):
            self.slots[number - 1] = slot
        else:
            self.slots.append(slot)
        return slot

    def replace(self, slot: Slot) -> Slot:
        self.kill(slot)
        return self.start(slot.number)

    def kill(self, slot: Slot) -> None:
        slot.retired = True
        try:
            self._ray.kill(slot.actor, no_restart=True)
        except Exception:  # already gone with its node: nothing to stop
            pass

    def retire(self, slot: Slot) -> None:
        """No more files for it: free its GPU or CPU slot for the others' replacements."""
        slot.retired = True
        try:
            self._ray.get(slot.actor.close.remote(), timeout=CLOSE_WAIT_S)
        except Exception:  # a dead or stuck worker: killed below all the same
            pass
        self.kill(slot)

    def close(self) -> None:
        live = [s for s in self.slots if not s.retired]
        closing = [s.actor.close.remote() for s in live]
        try:
            self._ray.wait(closing, num_returns=len(closing), timeout=CLOSE_WAIT_S)
        except Exception:
            pass
        for slot in live:
            self.kill(slot)
