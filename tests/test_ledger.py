"""The output ledger in SQLite: incremental writes, two processes, old JSON ledgers, odd names."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nemo_desk.core.errors import ExportError, is_disk_full_os
from nemo_desk.core.transcript import Segment, Transcript
from nemo_desk.export import OutputLedger, write_outputs
from nemo_desk.locks.fileops import FileOps

REPO = Path(__file__).resolve().parents[1]


def test_two_processes_writing_at_once_lose_no_record(tmp_path: Path) -> None:
    # The JSON ledger re-read and merged the file before each save; two writers at once
    # could each save over the other's new records. SQLite serialises them: all survive.
    db = tmp_path / "outputs.db"
    script = textwrap.dedent("""
        import sys
        from nemo_desk.export import OutputLedger
        ledger = OutputLedger(sys.argv[1])
        for i in range(150):
            ledger.record(f"{sys.argv[2]}/out{i}.srt", f"{sys.argv[2]} {i}".encode())
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), str(tmp_path / name)], env=env)
             for name in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    ledger = OutputLedger(db)
    for name in ("a", "b"):
        for i in range(150):
            entry = ledger.entry(tmp_path / name / f"out{i}.srt")
            assert entry is not None and entry.size == len(f"{tmp_path / name} {i}".encode())


def test_a_new_file_opened_while_another_process_writes_to_it_waits_instead_of_failing(tmp_path: Path) -> None:
    # Two processes opening the same new file: one holds the write lock while the other
    # switches the file to WAL. SQLite answers that switch "database is locked" at once,
    # without its busy handler, so a window and the CLI started together on a new profile
    # lost the ledger for the session. A writer holding the lock is the same.
    import sqlite3
    import threading

    from nemo_desk.core.sqlite_db import connect
    from nemo_desk.export.ledger import SCHEMA, SCHEMA_VERSION

    db = tmp_path / "outputs.db"
    other = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE IF NOT EXISTS warmup (x)")
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.4, lambda: other.execute("COMMIT"))
    release.start()
    try:
        opened = connect(db, SCHEMA, SCHEMA_VERSION)
    finally:
        release.join()
        other.close()
    assert opened.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    opened.close()


def test_a_write_touches_one_row_not_the_whole_ledger(tmp_path: Path) -> None:
    ledger = OutputLedger(tmp_path / "outputs.db")
    ledger.record_many([(tmp_path / f"x{i}.srt", b"x") for i in range(3000)])
    db = ledger._connection()
    assert db is not None
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    ledger.record(tmp_path / "new.srt", b"new")
    # One insert and one bounded prune: nothing reads or rewrites the 3000 other records.
    assert not any(s.lstrip().upper().startswith("SELECT") for s in statements), statements
    assert sum("INSERT" in s for s in statements) == 1


def test_oldest_records_beyond_the_limit_are_dropped(tmp_path: Path, monkeypatch) -> None:
    ledger = OutputLedger(tmp_path / "outputs.db", max_entries=5)
    clock = iter(range(1000, 2000))
    monkeypatch.setattr("nemo_desk.export.ledger.time.time", lambda: float(next(clock)))
    for i in range(8):
        ledger.record(tmp_path / f"f{i}.srt", b"data")
    kept = [i for i in range(8) if ledger.entry(tmp_path / f"f{i}.srt") is not None]
    assert kept == [3, 4, 5, 6, 7]


def test_records_of_an_old_json_ledger_are_taken_over_once(tmp_path: Path) -> None:
    out = tmp_path / "talk.srt"
    out.write_bytes(b"subtitles")
    import hashlib
    legacy = tmp_path / "outputs.json"
    legacy.write_text(json.dumps({"version": 1, "entries": {
        os.path.normcase(str(out)): {"sha256": hashlib.sha256(b"subtitles").hexdigest(), "size": 9,
                                     "written_at": 1.0, "source": str(tmp_path / "talk.wav")},
        "broken": {"size": "not a number"}}}), encoding="utf-8")
    ledger = OutputLedger(tmp_path / "outputs.db")
    assert ledger.owns(out)
    assert ledger.entry(out).source == str(tmp_path / "talk.wav")  # type: ignore[union-attr]
    assert not legacy.exists() and (tmp_path / "outputs.json.imported").exists()


def test_names_that_are_not_valid_unicode_are_keys_like_any_other(tmp_path: Path) -> None:
    ledger = OutputLedger(tmp_path / "outputs.db")
    linux_name = tmp_path / "caf\udce9.srt"        # Latin-1 bytes on a UTF-8 file system
    windows_name = tmp_path / "half\ud800pair.srt"  # a lone UTF-16 surrogate (NTFS allows it)
    ledger.record(linux_name, b"one", source=tmp_path / "caf\udce9.wav")
    ledger.record(windows_name, b"two")
    fresh = OutputLedger(tmp_path / "outputs.db")
    assert fresh.entry(linux_name).source == str(tmp_path / "caf\udce9.wav")  # type: ignore[union-attr]
    assert fresh.entry(windows_name).size == 3  # type: ignore[union-attr]


def test_a_ledger_that_cannot_open_owns_nothing_and_the_outputs_still_arrive(tmp_path: Path) -> None:
    blocked = tmp_path / "outputs.db"
    blocked.mkdir()  # a folder where the file should be: sqlite cannot open it
    source = tmp_path / "talk.wav"
    source.write_bytes(b"")
    ops = FileOps()
    ledger = OutputLedger(blocked, ops)
    transcript = Transcript(segments=[Segment("hello", 0.0, 1.0)], language="en", duration=1.0)
    with pytest.raises(ExportError, match="wrote .*talk.txt but could not update .*outputs.db"):
        write_outputs(transcript, source, ["txt"], None, ops, ledger)
    assert (tmp_path / "talk.txt").read_text(encoding="utf-8").strip() == "hello"
    assert not ledger.owns(tmp_path / "talk.txt")


def test_disk_full_is_recognised_on_windows_without_edquot() -> None:
    """Windows' errno module has no EDQUOT; importing and using the check must not raise
    AttributeError there. In a fresh process: reloading core.errors here would give every
    module imported since other exception classes than the ones already imported."""
    script = textwrap.dedent("""
        import errno
        del errno.EDQUOT  # as on Windows
        from nemo_desk.core.errors import is_disk_full_os
        from tests.support.windows import FakeWindows
        assert is_disk_full_os(FakeWindows.error(112))
        assert is_disk_full_os(FakeWindows.error(112, errno_code=errno.EINVAL))  # only the winerror
        assert is_disk_full_os(OSError(errno.ENOSPC, "full"))
        assert not is_disk_full_os(OSError(errno.EACCES, "denied"))
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
    assert is_disk_full_os(OSError(errno.ENOSPC, "full"))


@pytest.mark.parametrize("code", [errno.ENOSPC])
def test_sqlite_and_os_disk_full_agree(code) -> None:
    from nemo_desk.core.sqlite_db import is_disk_full
    assert is_disk_full(OSError(code, "full"))
