"""Writing output files: names, the ownership ledger, atomic replacement, OS errors."""
from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import pytest

from nemo_desk.core.errors import ExportError
from nemo_desk.core.events import RetryEvent
from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.export import FORMATS, OutputLedger, ledger_key, render, render_bytes, write_outputs
from nemo_desk.export import ledger as ledger_module
from nemo_desk.export.writer import rename_warnings
from nemo_desk.locks.fileops import FileOps, RetryPolicy
from nemo_desk.locks.lockerror import LockError
from tests.support.windows import FakeWindows


def make_transcript(text: str = "Hello world.") -> Transcript:
    words = tuple(Word(w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(text.split()))
    return Transcript([Segment(text, 0.0, words[-1].end, words)], duration=10.0, model="m", source="talk.wav")


@pytest.fixture
def events() -> list:
    return []


@pytest.fixture
def fileops(events: list) -> FileOps:
    return FileOps(policy=RetryPolicy(budget_s=2, initial_delay=0.01, max_delay=0.05), observer=events.append)


@pytest.fixture
def ledger(tmp_path: Path, fileops: FileOps) -> OutputLedger:
    return OutputLedger(tmp_path / "app data" / "outputs.db", fileops)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    src = folder / "talk.wav"
    src.write_bytes(b"RIFF not really audio")
    return src


def temp_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".nemo_desk-" in p.name or p.name.endswith(".tmp")]


def write(t, source, fileops, ledger, formats=FORMATS, output_dir=None, **kw):
    return write_outputs(t, source, formats, output_dir, fileops, ledger, **kw)


# -- names, content, folders -------------------------------------------------------------------
def test_writes_every_format_next_to_the_source(source, fileops, ledger) -> None:
    t = make_transcript("Ça va? l'été 東京")
    written = write(t, source, fileops, ledger)
    assert [w.format for w in written] == list(FORMATS)
    for w in written:
        assert w.path == source.with_suffix("." + w.format)
        assert w.path.is_absolute() and w.renamed_from is None
        data = w.path.read_bytes()
        assert data == render_bytes(w.format, t)
        if w.format == "csv":  # for Excel: a BOM, and RFC 4180's "\r\n"
            assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == data.count(b"\n")
        elif w.format != "docx":
            # Exactly the rendered text: UTF-8, no BOM, "\n" only.
            assert data == render(w.format, t).encode("utf-8")
            assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    assert temp_leftovers(source.parent) == []


def test_formats_are_normalised_and_deduplicated(source, fileops, ledger) -> None:
    written = write(make_transcript(), source, fileops, ledger, formats=["TXT", ".srt", "txt"])
    assert [(w.format, w.path.name) for w in written] == [("txt", "talk.txt"), ("srt", "talk.srt")]


def test_unknown_format_writes_nothing(source, fileops, ledger) -> None:
    with pytest.raises(ExportError) as info:
        write(make_transcript(), source, fileops, ledger, formats=["srt", "pdf"])
    assert "pdf" in str(info.value) and "srt, txt, vtt, json" in str(info.value)
    assert sorted(p.name for p in source.parent.iterdir()) == ["talk.wav"]


def test_output_dir_is_created(tmp_path, source, fileops, ledger) -> None:
    out = tmp_path / "not" / "yet" / "there"
    (w,) = write(make_transcript(), source, fileops, ledger, formats=["srt"], output_dir=out)
    assert w.path == out / "talk.srt" and w.path.is_file()
    assert not source.with_suffix(".srt").exists()


@pytest.mark.parametrize("folder", ["My Talks", "l'été d’Anaïs", "東京 (draft) 2024", "a.b.c"])
def test_awkward_folder_and_file_names(tmp_path, fileops, ledger, folder) -> None:
    src = tmp_path / folder / "interview l'été 01.final.mp4"
    src.parent.mkdir()
    src.write_bytes(b"x")
    out = tmp_path / folder / "sous-titres à part"
    written = write(make_transcript(), src, fileops, ledger, output_dir=out)
    for w in written:
        assert w.path.name == f"interview l'été 01.final.{w.format}"
        assert w.path.read_bytes() == render_bytes(w.format, make_transcript())
    # Rerun: recognised as ours through the same awkward path, so replaced in place.
    again = write(make_transcript("Other words"), src, fileops, ledger, output_dir=out)
    assert [w.path for w in again] == [w.path for w in written]
    assert all(w.renamed_from is None for w in again)


def test_output_dir_that_is_a_file(tmp_path, source, fileops, ledger) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("I am a file")
    with pytest.raises(ExportError, match="a file has that name"):
        write(make_transcript(), source, fileops, ledger, output_dir=blocker)


def test_empty_transcript_still_writes_valid_files(source, fileops, ledger) -> None:
    empty = Transcript([], duration=5.0)
    written = {w.format: w.path for w in write(empty, source, fileops, ledger)}
    assert written["srt"].read_bytes() == b""
    assert written["vtt"].read_text(encoding="utf-8") == "WEBVTT\n"
    assert json.loads(written["json"].read_text(encoding="utf-8"))["segments"] == []


# -- ownership ---------------------------------------------------------------------------------
def test_rerun_replaces_our_own_file(source, fileops, ledger) -> None:
    (first,) = write(make_transcript("first run"), source, fileops, ledger, formats=["txt"])
    (second,) = write(make_transcript("second run"), source, fileops, ledger, formats=["txt"])
    assert second.path == first.path and second.renamed_from is None
    assert second.path.read_text(encoding="utf-8") == "second run\n"
    assert sorted(p.name for p in source.parent.iterdir()) == ["talk.txt", "talk.wav"]


def test_ownership_survives_a_restart(tmp_path, source, fileops, ledger) -> None:
    write(make_transcript("first"), source, fileops, ledger, formats=["srt"])
    fresh = OutputLedger(ledger.path, fileops)
    assert fresh.owns(source.with_suffix(".srt"))
    (w,) = write(make_transcript("second"), source, fileops, fresh, formats=["srt"])
    assert w.renamed_from is None


def test_user_file_is_never_overwritten(source, fileops, ledger) -> None:
    user = source.with_suffix(".srt")
    user.write_text("my own careful subtitles", encoding="utf-8")
    (w,) = write(make_transcript(), source, fileops, ledger, formats=["srt"])
    assert w.path == source.parent / "talk (2).srt"
    assert w.renamed_from == user
    assert user.read_text(encoding="utf-8") == "my own careful subtitles"


def test_user_edited_output_is_never_overwritten(source, fileops, ledger) -> None:
    (ours,) = write(make_transcript("machine words"), source, fileops, ledger, formats=["txt"])
    ours.path.write_text("machine words, corrected by hand\n", encoding="utf-8")
    (w,) = write(make_transcript("new words"), source, fileops, ledger, formats=["txt"])
    assert w.path.name == "talk (2).txt" and w.renamed_from == ours.path
    assert ours.path.read_text(encoding="utf-8") == "machine words, corrected by hand\n"
    # Running again reuses our own "(2)" rather than piling up "(3)", "(4)", ...
    (again,) = write(make_transcript("newer words"), source, fileops, ledger, formats=["txt"])
    assert again.path == w.path and again.path.read_text(encoding="utf-8") == "newer words\n"


def test_same_size_edit_is_still_the_users(source, fileops, ledger) -> None:
    (ours,) = write(make_transcript("teh cat sat."), source, fileops, ledger, formats=["txt"])
    edited = ours.path.read_bytes().replace(b"teh", b"the")  # a typo fixed, same length
    ours.path.write_bytes(edited)
    (w,) = write(make_transcript("new"), source, fileops, ledger, formats=["txt"])
    assert w.renamed_from == ours.path and ours.path.read_bytes() == edited


def test_numbered_names_skip_other_users_files(source, fileops, ledger) -> None:
    for name in ("talk.vtt", "talk (2).vtt", "talk (3).vtt"):
        (source.parent / name).write_text(name)
    (w,) = write(make_transcript(), source, fileops, ledger, formats=["vtt"])
    assert w.path.name == "talk (4).vtt"
    for name in ("talk.vtt", "talk (2).vtt", "talk (3).vtt"):
        assert (source.parent / name).read_text() == name


def test_overwrite_replaces_anything_and_takes_ownership(source, fileops, ledger) -> None:
    user = source.with_suffix(".json")
    user.write_text("{}")
    (w,) = write(make_transcript(), source, fileops, ledger, formats=["json"], overwrite=True)
    assert w.path == user and w.renamed_from is None
    assert json.loads(user.read_text(encoding="utf-8"))["format"] == "nemo_desk.transcript"
    (w2,) = write(make_transcript("changed"), source, fileops, ledger, formats=["json"])
    assert w2.path == user


def test_the_source_file_is_never_an_output(tmp_path, fileops, ledger) -> None:
    odd_source = tmp_path / "dictation.txt"  # whatever the user dropped in
    odd_source.write_bytes(b"original")
    (w,) = write(make_transcript(), odd_source, fileops, ledger, formats=["txt"], overwrite=True)
    assert w.path.name == "dictation (2).txt"
    assert odd_source.read_bytes() == b"original"


def test_ledger_keys_are_absolute_and_case_folded_like_the_os(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert ledger_key("out/a.srt") == ledger_key(tmp_path / "out" / "a.srt")
    # On Windows normcase folds case and slashes; the ledger must use it.
    monkeypatch.setattr(ledger_module.os.path, "normcase", lambda p: p.lower().replace("/", "\\"))
    assert ledger_key(tmp_path / "Out" / "A.SRT") == ledger_key(tmp_path / "out" / "a.srt")


def test_damaged_ledger_treats_files_as_the_users(source, fileops, ledger) -> None:
    (ours,) = write(make_transcript(), source, fileops, ledger, formats=["srt"])
    ledger.close()  # damaged while the app was not running
    ledger.path.write_bytes(b"{not a database" * 100)
    assert not OutputLedger(ledger.path, fileops).owns(ours.path)
    (w,) = write(make_transcript("again"), source, fileops, OutputLedger(ledger.path, fileops), formats=["srt"])
    assert w.renamed_from == ours.path
    # The damaged file is kept for a bug report; the new ledger knows the new output.
    (aside,) = ledger.path.parent.glob("outputs.db.damaged-*")
    assert aside.read_bytes().startswith(b"{not a database")
    assert OutputLedger(ledger.path, fileops).owns(w.path)


def test_ledger_merges_records_from_another_process(tmp_path, source, fileops, ledger) -> None:
    other = OutputLedger(ledger.path, fileops)
    write(make_transcript(), source, fileops, ledger, formats=["srt"])
    write(make_transcript(), source, fileops, other, formats=["txt"])  # other instance, same file
    fresh = OutputLedger(ledger.path, fileops)
    assert fresh.owns(source.with_suffix(".srt")) and fresh.owns(source.with_suffix(".txt"))


# -- atomicity and errors ----------------------------------------------------------------------
def test_disk_full_at_fsync_keeps_the_old_file(source, fileops, ledger, monkeypatch) -> None:
    (w,) = write(make_transcript("old content"), source, fileops, ledger, formats=["txt"])
    before = w.path.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ExportError) as info:
        write(make_transcript("new content"), source, fileops, ledger, formats=["txt"])
    monkeypatch.undo()
    assert str(info.value) == f"not enough disk space to write {w.path}"
    assert w.path.read_bytes() == before
    assert temp_leftovers(source.parent) == []


class FailingWrites(FileOps):
    """FileOps whose new files named like `victim` fail with `exc` (at open or on write)."""

    def __init__(self, base: FileOps, victim: Path, exc: OSError, at_open: bool = False) -> None:
        super().__init__(base.policy, base.observer)
        self.victim, self.exc, self.at_open = victim, exc, at_open

    def open(self, path, mode="rb", **kw):
        path = Path(path)
        if "x" not in mode or path.parent != self.victim.parent or f".{self.victim.name}." not in path.name:
            return super().open(path, mode, **kw)
        if self.at_open:
            raise self.exc
        handle = super().open(path, mode, **kw)
        exc = self.exc

        class HalfWritten:
            def __enter__(self):
                return self

            def __exit__(self, *a):
                handle.close()

            def write(self, data):
                handle.write(data[: len(data) // 2])
                raise exc

            def __getattr__(self, name):
                return getattr(handle, name)

        return HalfWritten()


def test_disk_full_mid_write_keeps_old_file_and_writes_no_temp(source, fileops, ledger) -> None:
    (w,) = write(make_transcript("old content"), source, fileops, ledger, formats=["json"])
    before = w.path.read_bytes()
    broken = FailingWrites(fileops, w.path, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(ExportError, match="^not enough disk space to write .*talk.json$"):
        write(make_transcript("much newer content"), source, broken, ledger, formats=["json"])
    assert w.path.read_bytes() == before
    assert temp_leftovers(source.parent) == []


def test_a_failure_on_one_format_leaves_every_output_of_the_job_old(source, fileops, ledger) -> None:
    """Disk full on the JSON after the SRT, TXT and VTT were ready: all four stay old, no temp."""
    fmts = ["srt", "txt", "vtt", "json"]
    old = write(make_transcript("old words here"), source, fileops, ledger, formats=fmts)
    before = {w.path: w.path.read_bytes() for w in old}
    broken = FailingWrites(fileops, source.with_suffix(".json"), OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(ExportError, match="^not enough disk space to write .*talk.json$"):
        write(make_transcript("entirely new words"), source, broken, ledger, formats=fmts)
    assert {w.path: w.path.read_bytes() for w in old} == before
    assert temp_leftovers(source.parent) == []
    assert all(ledger.owns(p) for p in before)  # still ours: the next run replaces them


def test_a_failed_rename_puts_back_the_files_already_replaced(source, fileops, ledger, monkeypatch) -> None:
    old = write(make_transcript("old"), source, fileops, ledger, formats=["srt", "txt"])
    before = {w.path: w.path.read_bytes() for w in old}
    real = FileOps.replace
    refused: list[Path] = []

    def refuse_txt(self, src, dst):  # the new TXT cannot be put in place, once
        if Path(dst) == source.with_suffix(".txt") and not refused:
            refused.append(Path(src))
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        return real(self, src, dst)

    monkeypatch.setattr(FileOps, "replace", refuse_txt)
    with pytest.raises(ExportError):
        write(make_transcript("new"), source, fileops, ledger, formats=["srt", "txt"])
    monkeypatch.undo()
    assert refused  # the SRT was already new when the TXT failed
    assert {w.path: w.path.read_bytes() for w in old} == before
    assert temp_leftovers(source.parent) == []


def test_two_sources_with_one_stem_never_replace_each_other(tmp_path, fileops, ledger) -> None:
    """dir1/talk.wav and dir2/talk.wav into one output folder: both kept, each told."""
    out = tmp_path / "subs"
    first_src, second_src = tmp_path / "dir1" / "talk.wav", tmp_path / "dir2" / "talk.wav"
    for p in (first_src, second_src):
        p.parent.mkdir()
        p.write_bytes(b"RIFF")
    first = write(make_transcript("first talk"), first_src, fileops, ledger, ["srt", "txt"], out)
    second = write(make_transcript("second talk"), second_src, fileops, ledger, ["srt", "txt"], out, overwrite=True)
    assert [w.path.name for w in first] == ["talk.srt", "talk.txt"]
    assert [w.path.name for w in second] == ["talk (2).srt", "talk (2).txt"]
    assert (out / "talk.txt").read_text(encoding="utf-8") == "first talk\n"
    assert (out / "talk (2).txt").read_text(encoding="utf-8") == "second talk\n"
    (warning,) = rename_warnings(second, second_src)
    assert warning == (f"talk.srt, talk.txt already hold the transcript of {first_src}; "
                       f"wrote talk (2).srt, talk (2).txt for {second_src}")
    # Re-running either one replaces its own outputs, not the other's.
    again = write(make_transcript("first talk, again"), first_src, fileops, ledger, ["srt", "txt"], out)
    assert [w.path.name for w in again] == ["talk.srt", "talk.txt"] and rename_warnings(again, first_src) == []
    again2 = write(make_transcript("second talk, again"), second_src, fileops, ledger, ["txt"], out)
    assert again2[0].path.name == "talk (2).txt"
    assert sorted(p.name for p in out.iterdir()) == ["talk (2).srt", "talk (2).txt", "talk.srt", "talk.txt"]


def test_one_number_for_all_of_a_jobs_formats(source, fileops, ledger) -> None:
    source.with_suffix(".srt").write_text("the user's own")
    written = write(make_transcript(), source, fileops, ledger, formats=["srt", "txt"])
    assert [w.path.name for w in written] == ["talk (2).srt", "talk (2).txt"]
    assert rename_warnings(written, source) == [
        "talk.srt exists and was not written by nemo_desk; kept it and wrote talk (2).srt"]


def test_permission_denied_in_the_folder(source, fileops, ledger) -> None:
    denied = PermissionError(errno.EACCES, "Permission denied")  # no winerror: not a lock
    broken = FailingWrites(fileops, source.with_suffix(".srt"), denied, at_open=True)
    with pytest.raises(ExportError) as info:
        write(make_transcript(), source, broken, ledger, formats=["srt"])
    assert str(info.value) == f"cannot write to folder {source.parent}: permission denied"
    assert sorted(p.name for p in source.parent.iterdir()) == ["talk.wav"]


@pytest.mark.skipif(sys.platform == "win32", reason="chmod does not make Windows folders read-only")
def test_real_read_only_folder(source, fileops, ledger) -> None:
    os.chmod(source.parent, 0o555)
    try:
        probe = source.parent / "probe"
        try:
            probe.touch()
        except PermissionError:
            pass
        else:
            probe.unlink()
            pytest.skip("this user can write to read-only folders (root)")
        with pytest.raises(ExportError, match="permission denied"):
            write(make_transcript(), source, fileops, ledger, formats=["txt"])
        assert sorted(p.name for p in source.parent.iterdir()) == ["talk.wav"]
    finally:
        os.chmod(source.parent, 0o755)


def test_output_folder_cannot_be_created(tmp_path, source, fileops, ledger, monkeypatch) -> None:
    def refuse(name, *a, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(name))

    monkeypatch.setattr(os, "makedirs", refuse)
    with pytest.raises(ExportError, match="^cannot create folder .*: permission denied$"):
        write(make_transcript(), source, fileops, ledger, output_dir=tmp_path / "new")


def winlock() -> OSError:
    return FakeWindows.error(32)  # ERROR_SHARING_VIOLATION, as Windows reports a scanner's handle


def test_transient_lock_on_replace_is_waited_out(source, fileops, ledger, events, monkeypatch) -> None:
    (w,) = write(make_transcript("old"), source, fileops, ledger, formats=["srt"])
    real_replace, failures = os.replace, []

    def flaky_replace(src, dst):
        if Path(dst) == w.path and len(failures) < 2:
            failures.append(dst)
            raise winlock()
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    (again,) = write(make_transcript("new words"), source, fileops, ledger, formats=["srt"])
    assert again.path == w.path and "new words" in w.path.read_text(encoding="utf-8")
    retries = [e for e in events if isinstance(e, RetryEvent)]
    assert [(e.operation, e.attempt, e.path) for e in retries] == [
        ("replace", 1, str(w.path)),
        ("replace", 2, str(w.path)),
    ]
    assert temp_leftovers(source.parent) == []


def test_lasting_lock_raises_lock_error_unchanged(source, ledger, monkeypatch) -> None:
    fast = FileOps(policy=RetryPolicy(budget_s=0.05, initial_delay=0.01, max_delay=0.01))
    (w,) = write(make_transcript("old"), source, fast, ledger, formats=["srt"])
    before = w.path.read_bytes()
    real_replace = os.replace

    def locked(src, dst):
        if Path(dst) == w.path:
            raise winlock()
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(LockError) as info:
        write(make_transcript("new"), source, fast, ledger, formats=["srt"])
    assert info.value.path == str(w.path) and info.value.operation == "replace"
    assert w.path.read_bytes() == before
    assert temp_leftovers(source.parent) == []
