"""The window and `nemo-desk transcribe --resume` restore one journal by one policy."""
from __future__ import annotations

import io
import os

from nemo_desk import cli
from nemo_desk.app import build_services
from nemo_desk.core.states import JobState
from nemo_desk.engine.jobs import Job, job_to_json
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS, dialogs_rec, make_window, no_leaks,
)

pytestmark = GUI_MARKS
DEAD = "999999999:1.0:crashed"
LIVE = f"{os.getpid()}:{4e9:.3f}:another-window"  # this process, so certainly running


def resume(expect: int) -> str:
    err = io.StringIO()
    assert cli.run(["transcribe", "--resume"], build_services, err=err) == expect, err.getvalue()
    return err.getvalue()


def test_window_and_cli_resume_the_same_journal_the_same_way(make_window, services, tmp_path):
    journal = services.queue.journal
    jobs = {n: Job(source=tmp_path / f"{n}.wav") for n in ("queued", "running", "finished", "busy")}
    rows = [("queued", DEAD, JobState.QUEUED), ("running", DEAD, JobState.RUNNING),
            ("finished", DEAD, JobState.DONE), ("busy", LIVE, JobState.QUEUED)]
    for i, (name, owner, state) in enumerate(rows):
        journal.add(jobs[name].id, "crashed-batch", i, str(jobs[name].source), job_to_json(jobs[name]), owner)
        journal.set_state(jobs[name].id, state)
    journal.add("old", "crashed-batch", 9, "/x/old.wav", '{"id": "old"}', DEAD)

    window = make_window()
    restored = [r.job for r in window.queue.rows]
    assert restored == [jobs["queued"], jobs["running"]]
    assert window.log_pane.count("warning", "belong to another nemo_desk that is still running") == 1
    assert window.log_pane.count("warning", "its journal entry could not be read") == 1

    # While a window (or command) owns unfinished files, --resume refuses and says so.
    text = resume(1)
    assert "3 unfinished file(s) belong to a nemo_desk window or command that is still running" in text
    assert "failed:" not in text

    window.shutdown()  # the window gives them up; --resume adopts exactly what it restored
    journal.release(LIVE)  # and the other one was closed too
    text = resume(1)  # the sources do not exist: each fails in one line
    ran = [ln.split(":")[1].strip() for ln in text.splitlines() if ln.startswith("failed:")]
    assert ran == [j.source.name for j in restored] + ["busy.wav"]  # what the window restored, then the rest
    assert "already done: finished.wav" in text
