"""The engine's job queue and its journal: one resume policy, owners, integrity, old rows."""
from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path

import pytest

from nemo_desk.core.cancel import CancelReason, CancelToken
from nemo_desk.core.events import LogEvent, Progress
from nemo_desk.core.states import JobState
from nemo_desk.core.transcript import Segment
from nemo_desk.engine.jobs import Job, JobResult, job_from_json, job_to_json
from nemo_desk.engine.journal import Journal, JournalUnavailable
from nemo_desk.engine.queue import JobQueue

DEAD_OWNER = "999999999:1.0:dead"  # no such process


class StepPipeline:
    """The pipeline's seam, not NeMo: each job 'transcribes' three batches of one chunk."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.seen: list[tuple[str, dict]] = []

    def run(self, job, cancel, observer, cache=None):
        reused = cache.load("plan") if cache is not None else {}
        self.seen.append((job.id, reused))
        for i in range(3):
            if i in reused:
                continue
            if self.stop_after is not None and i >= self.stop_after:
                cancel.cancel(CancelReason.SHUTDOWN)
                return JobResult(job, JobState.CANCELLED)
            if cache is not None:
                cache.save("plan", i, [Segment(f"chunk {i}", i, i + 1)])
            observer(Progress("transcribing", i + 1, 3))
        return JobResult(job, JobState.DONE)


def committed_chunks(path: Path) -> int:
    with sqlite3.connect(path) as con:
        return con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]


def make_queue(tmp_path, pipeline=None, warn=None) -> JobQueue:
    journal = Journal.open(tmp_path / "journal.sqlite3", lambda m: None)
    return JobQueue(journal, pipeline or StepPipeline(), warn or (lambda m: None))


def test_interrupted_job_is_queued_again_and_resumes_its_committed_chunks(tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"x")
    first = make_queue(tmp_path, StepPipeline(stop_after=2))
    (job,) = first.add([Job(source=audio)])
    token = CancelToken()
    assert first.run(job, token).status == JobState.CANCELLED
    assert committed_chunks(tmp_path / "journal.sqlite3") == 2  # each batch committed as it finished
    first.close()

    second = make_queue(tmp_path)
    restored = second.restore()
    assert restored.jobs == [job]
    assert second.run(job, CancelToken()).status == JobState.DONE
    assert sorted(second.pipeline.seen[0][1]) == [0, 1]  # the two finished chunks were reused
    assert second.journal.jobs()[0]["state"] == "done"
    second.close()


def test_chunks_are_committed_once_per_batch_not_per_save(tmp_path):
    queue = make_queue(tmp_path)
    (job,) = queue.add([Job(source=tmp_path / "a.wav")])
    seen = []

    def observer(event):
        seen.append(committed_chunks(tmp_path / "journal.sqlite3"))

    class SavesTwice(StepPipeline):
        def run(self, job, cancel, observer, cache=None):
            cache.save("plan", 0, [])
            cache.save("plan", 1, [])
            observer(LogEvent("info", "between saves and the batch's progress"))
            observer(Progress("transcribing", 2, 2))
            return JobResult(job, JobState.DONE)

    queue.pipeline = SavesTwice()
    queue.run(job, CancelToken(), observer)
    assert seen == [0, 2]  # nothing before the batch ended, both after
    queue.close()


def test_a_bug_in_the_pipeline_is_recorded_as_a_failure(tmp_path):
    class Buggy(StepPipeline):
        def run(self, job, cancel, observer, cache=None):
            raise RuntimeError("a bug")

    queue = make_queue(tmp_path, Buggy())
    (job,) = queue.add([Job(source=tmp_path / "a.wav")])
    result = queue.run(job, CancelToken())
    assert result.status == JobState.FAILED and result.failure.message == "Unexpected error: RuntimeError: a bug"
    assert queue.journal.jobs()[0]["state"] == "failed"
    queue.close()


def test_user_cancel_is_final_but_shutdown_keeps_the_job(tmp_path):
    queue = make_queue(tmp_path, StepPipeline(stop_after=0))
    a, b = queue.add([Job(source=tmp_path / "a.wav"), Job(source=tmp_path / "b.wav")])
    user = CancelToken()
    user.cancel()
    assert queue.run(a, user).status == JobState.CANCELLED  # cancelled while it waited
    queue.run(b, CancelToken())  # the pipeline stops it as a shutdown would
    states = {r["id"]: (r["state"], r["message"]) for r in queue.journal.jobs()}
    assert states == {a.id: ("cancelled", ""), b.id: ("queued", "interrupted")}
    queue.close()


def seed_v0_journal(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """A journal as the first release wrote it: chunks with run_id, jobs without an owner."""
    with sqlite3.connect(path) as con:
        con.executescript("""
            CREATE TABLE jobs (id TEXT PRIMARY KEY, batch TEXT NOT NULL, position INTEGER NOT NULL,
                source TEXT NOT NULL, job_json TEXT NOT NULL, state TEXT NOT NULL,
                message TEXT NOT NULL DEFAULT '', outputs_json TEXT NOT NULL DEFAULT '[]',
                fingerprint TEXT NOT NULL DEFAULT '', updated REAL NOT NULL);
            CREATE TABLE chunks (job_id TEXT NOT NULL, idx INTEGER NOT NULL, fingerprint TEXT NOT NULL,
                segments_json TEXT NOT NULL, run_id TEXT NOT NULL, PRIMARY KEY (job_id, idx));
        """)
        for i, (job_id, job_json, state) in enumerate(rows):
            con.execute("INSERT INTO jobs VALUES (?, 'old', ?, ?, ?, ?, '', '[]', '', 1.0)",
                        (job_id, i, f"/old/{job_id}.wav", job_json, state))
        con.execute("INSERT INTO chunks VALUES ('a', 0, 'fp', '[]', 'run-1')")


def old_job_json(job_id: str, source: str, **extra) -> str:
    # An older version's row: no "overwrite", an option this version does not know.
    return json.dumps({"id": job_id, "source": source, "formats": ["srt"], "output_dir": None,
                       "model": {"model_id": "nvidia/parakeet-tdt-0.6b-v3", "path": None, "device": "cpu"},
                       "options": {"language": None, "vad": True}, **extra})


def test_old_journal_is_migrated_and_unreadable_rows_are_skipped_on_resume(tmp_path, app_home, capsys):
    from nemo_desk import cli
    from nemo_desk.app import build_services

    missing = tmp_path / "gone.wav"
    (app_home / "data").mkdir(parents=True)
    seed_v0_journal(app_home / "data" / "journal.sqlite3", [
        ("a", old_job_json("a", str(missing)), "running"),
        ("b", "{not json", "queued"),
        ("c", json.dumps({"id": "c"}), "queued"),  # no source: cannot be a job
    ])
    err = io.StringIO()
    code = cli.run(["transcribe", "--resume"], build_services, err=err)
    text = err.getvalue()
    assert code == 1, text  # the readable old row ran (its file is gone), and said so in one line
    assert "failed: gone.wav: " in text and "Traceback" not in text
    assert text.count("its journal entry could not be read") == 2
    with sqlite3.connect(app_home / "data" / "journal.sqlite3") as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        assert "run_id" not in {r[1] for r in con.execute("PRAGMA table_info(chunks)")}
        states = dict(con.execute("SELECT id, state FROM jobs"))
    assert states == {"a": "failed", "b": "failed", "c": "failed"}  # nothing is retried for ever
    again = io.StringIO()
    assert cli.run(["transcribe", "--resume"], build_services, err=again) == 0
    assert "nothing to resume" in again.getvalue()


def test_rows_from_another_version_read_with_todays_defaults(tmp_path):
    job = job_from_json(old_job_json("x1", "/m/a.wav", future_field=3))
    assert job.id == "x1" and job.overwrite is False and job.options.language is None
    with pytest.raises(ValueError):
        job_from_json('{"id": "x"}')


def test_a_live_owner_keeps_its_jobs_and_a_dead_owners_are_adopted(tmp_path):
    path = tmp_path / "journal.sqlite3"
    journal = Journal.open(path, lambda m: None)
    jobs = {name: Job(source=tmp_path / f"{name}.wav") for name in ("dead", "reused", "live", "free")}
    owners = {"dead": DEAD_OWNER, "reused": f"{os.getpid()}:1.0:old",  # our pid, but started long after
              "live": f"{os.getpid()}:{4e9:.3f}:other", "free": ""}
    for i, (name, job) in enumerate(jobs.items()):
        journal.add(job.id, "b", i, str(job.source), job_to_json(job), owners[name])
    queue = JobQueue(journal, StepPipeline())
    found = queue.restore()
    assert [j.source.name for j in found.jobs] == ["dead.wav", "reused.wav", "free.wav"]
    assert found.notes == [f"1 unfinished file(s) belong to another nemo_desk that is still running "
                           f"(process {os.getpid()}); left them alone"]
    assert {r["owner"] for r in journal.jobs() if r["id"] != jobs["live"].id} == {queue.owner}
    assert JobQueue(Journal.open(path, lambda m: None), StepPipeline()).restore().jobs == []  # ours now
    queue.close()


def test_sources_are_stored_absolute_and_undecodable_names_survive(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"caf\xe9 \xff.wav")  # not UTF-8: Linux keeps the bytes as lone surrogates
    queue = make_queue(tmp_path)
    (job,) = queue.add([Job(source=Path(name))])
    assert job.source == tmp_path / name
    queue.release()
    restored = make_queue(tmp_path).restore().jobs
    assert restored == [job] and os.fsencode(restored[0].source).endswith(b"caf\xe9 \xff.wav")


def test_a_damaged_journal_is_set_aside_with_a_message(tmp_path):
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"this is not a database" * 300)
    notes = []
    journal = Journal.open(path, notes.append)
    assert journal.jobs() == [] and len(notes) == 1 and "damaged" in notes[0]
    assert [p.name for p in tmp_path.glob("journal.sqlite3.damaged-*")]
    journal.close()


def test_a_damaged_page_is_found_by_the_check_on_open(tmp_path):
    path = tmp_path / "journal.sqlite3"
    journal = Journal.open(path, lambda m: None)
    for i in range(400):
        job = Job(source=tmp_path / f"{i:04d}-{'x' * 200}.wav")
        journal.add(job.id, "b", i, str(job.source), job_to_json(job), "")
    journal.close()
    data = bytearray(path.read_bytes())
    data[4096 * 3: 4096 * 3 + 12] = b"\x07" * 12  # a b-tree page header; the file header is intact
    path.write_bytes(bytes(data))
    notes = []
    Journal.open(path, notes.append).close()
    assert len(notes) == 1 and "damaged" in notes[0]


def test_a_full_disk_is_not_damage_the_queue_runs_without_a_journal(tmp_path, monkeypatch):
    path = tmp_path / "journal.sqlite3"
    Journal.open(path, lambda m: None).close()
    before = path.read_bytes()

    def full(*args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("nemo_desk.engine.journal.connect", full)
    with pytest.raises(JournalUnavailable):
        Journal.open(path, lambda m: pytest.fail("a full disk is not damage"))
    assert path.read_bytes() == before and not list(tmp_path.glob("*.damaged-*"))
    queue = JobQueue(None, StepPipeline())
    (job,) = queue.add([Job(source=tmp_path / "a.wav")])
    assert queue.run(job, CancelToken()).status == JobState.DONE and queue.restore().jobs == []


def test_a_journal_that_fills_up_mid_run_warns_once_and_the_job_finishes(tmp_path, monkeypatch):
    warned = []
    queue = make_queue(tmp_path, warn=warned.append)
    (job,) = queue.add([Job(source=tmp_path / "a.wav")])

    def full(*args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(queue.journal, "set_state", full)
    monkeypatch.setattr(queue.journal, "flush", full)
    events = []
    assert queue.run(job, CancelToken(), events.append).status == JobState.DONE
    assert len(warned) == 1 and "disk is full" in warned[0]
    chunk_warnings = [e for e in events if isinstance(e, LogEvent) and e.level == "warning"]
    assert len(chunk_warnings) == 1 and "disk is full" in chunk_warnings[0].message
    queue.close()


def test_a_restore_limited_to_some_sources_leaves_the_others_queued_and_unowned(tmp_path):
    """`nemo-desk watch` continues the interrupted files of its own folders only; the rest
    stay for `transcribe --resume` or the window, not adopted by the watch."""
    path = tmp_path / "journal.sqlite3"
    journal = Journal.open(path, lambda m: None)
    inbox, elsewhere = Job(source=tmp_path / "inbox" / "a.wav"), Job(source=tmp_path / "desk" / "b.wav")
    for i, job in enumerate((inbox, elsewhere)):
        journal.add(job.id, "b", i, str(job.source), job_to_json(job), DEAD_OWNER)
    queue = JobQueue(journal, StepPipeline())
    found = queue.restore(keep=lambda source: Path(source).parent.name == "inbox")
    assert found.jobs == [inbox] and found.notes == []
    owners = {r["source"]: r["owner"] for r in journal.jobs()}
    assert owners == {str(inbox.source): queue.owner, str(elsewhere.source): DEAD_OWNER}
    queue.close()  # gives its unfinished jobs back: a plain resume later takes both
    assert JobQueue(Journal.open(path, lambda m: None), StepPipeline()).restore().jobs == [inbox, elsewhere]
