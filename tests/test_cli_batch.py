"""A command-line batch: the computer kept awake while it runs, released after, one summary line."""

from __future__ import annotations

import io
from pathlib import Path

from nemo_desk import cli, cli_batch
from nemo_desk.core.awake import AWAKE_MESSAGE
from nemo_desk.core.states import FailureKind, JobState
from nemo_desk.engine.jobs import Job, JobFailure, JobResult


class Awake:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def acquire(self) -> str:
        self.calls.append("acquire")
        return AWAKE_MESSAGE

    def release(self) -> None:
        self.calls.append("release")


class Queue:
    def __init__(self, awake: Awake) -> None:
        self.awake = awake
        self.held_while_running: list[bool] = []

    def run(self, job, cancel, observer):
        self.held_while_running.append(self.awake.calls[-1:] == ["acquire"])
        if job.source.name == "bad.wav":
            return JobResult(job, JobState.FAILED, failure=JobFailure(FailureKind.MEDIA, "no audio", reason="no audio"))
        return JobResult(job, JobState.DONE)


class Services:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def observer(self, front):
        return front

    def log_detail(self, text: str) -> None:
        pass


def test_a_cli_batch_keeps_the_computer_awake_and_ends_with_a_summary(monkeypatch):
    awake = Awake()
    monkeypatch.setattr(cli_batch, "KeepAwake", lambda: awake)
    queue = Queue(awake)
    err = io.StringIO()
    code = cli._run_jobs(
        Services(queue),
        [Job(source=Path("good.wav")), Job(source=Path("bad.wav"))],
        cli.TerminalReporter(err, interactive=False),
    )
    lines = err.getvalue().splitlines()
    assert code == cli.EXIT_FAILED
    assert lines[0] == AWAKE_MESSAGE
    assert queue.held_while_running == [True, True]
    assert awake.calls.count("acquire") == 1 and awake.calls[-1] == "release"  # release is idempotent
    assert "Batch finished: 1 done, 1 failed in 0:00" in lines
    assert lines[-1] == "1 of 2 file(s) failed."


def test_nothing_to_run_is_no_batch(monkeypatch):
    awake = Awake()
    monkeypatch.setattr(cli_batch, "KeepAwake", lambda: awake)
    err = io.StringIO()
    assert cli._run_jobs(Services(Queue(awake)), [], cli.TerminalReporter(err, interactive=False)) == cli.EXIT_OK
    assert "acquire" not in awake.calls and "Batch finished" not in err.getvalue()
