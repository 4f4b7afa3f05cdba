"""Long paths: Windows' 260-character limit, and the 255-character limit on one name.

The `\\\\?\\` rewriting is Windows-only; here it is checked as a pure function with the
platform simulated, and the wiring is checked on real files deeper than 260 characters
(Linux allows them) with a spy that records every path handed to the OS.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from nemo_desk.core.errors import ExportError
from nemo_desk.core.longpaths import PREFIX_FROM, long_path
from nemo_desk.core.transcript import Segment, Transcript, Word
from nemo_desk.export import FORMATS, OutputLedger, write_outputs
from nemo_desk.export import writer as writer_module
from nemo_desk.export.atomic import MAX_NAME, temp_path_for
from nemo_desk.locks import fileops as fileops_module
from nemo_desk.locks.fileops import FileOps, RetryPolicy

DEEP_WIN = "C:\\Users\\me\\OneDrive - Contoso\\" + "\\".join(f"Project folder {i:02d}" for i in range(14))


def transcript() -> Transcript:
    words = (Word("Hello", 0.0, 0.4), Word("world.", 0.5, 0.9))
    return Transcript([Segment("Hello world.", 0.0, 0.9, words)], duration=2.0, model="m", source="x.wav")


# -- the rewriting (Windows simulated) ---------------------------------------------------------
def test_short_paths_and_other_systems_are_left_alone():
    assert long_path("C:\\Users\\me\\talk.srt", platform="win32") == "C:\\Users\\me\\talk.srt"
    long_posix = "/home/me/" + "x" * 300
    assert long_path(long_posix, platform="linux") == long_posix
    assert long_path(Path(long_posix), platform="linux") == long_posix


def test_a_long_drive_path_gets_the_prefix_normalised():
    path = DEEP_WIN + "\\sub\\..\\talk.srt"
    assert len(path) >= PREFIX_FROM
    out = long_path(path, platform="win32")
    assert out == "\\\\?\\" + DEEP_WIN + "\\talk.srt"  # '..' resolved: \\?\ turns off clean-up


def test_forward_slashes_become_backslashes():
    out = long_path(DEEP_WIN.replace("\\", "/") + "/talk.srt", platform="win32")
    assert out.startswith("\\\\?\\C:\\Users\\") and "/" not in out


def test_a_long_unc_path_gets_the_unc_form():
    path = "\\\\nas\\media\\" + "\\".join(f"Season {i:02d} interviews" for i in range(12)) + "\\ep.srt"
    out = long_path(path, platform="win32")
    assert out.startswith("\\\\?\\UNC\\nas\\media\\Season 00 interviews\\") and out.endswith("\\ep.srt")


def test_an_already_prefixed_path_is_not_prefixed_twice():
    done = long_path(DEEP_WIN + "\\talk.srt", platform="win32")
    assert long_path(done, platform="win32") == done


def test_the_platform_defaults_to_this_one(monkeypatch, fake_windows):
    assert long_path(DEEP_WIN + "\\talk.srt").startswith("\\\\?\\C:\\")


# -- the wiring, on real deep folders -------------------------------------------------------------
def record_long_path(monkeypatch, *modules) -> list[str]:
    """Replaces long_path in `modules` with a recorder that returns paths unchanged."""
    seen: list[str] = []

    def record(path, platform=None):
        seen.append(os.fspath(path))
        return os.fspath(path)

    for module in modules:
        monkeypatch.setattr(module, "long_path", record)
    return seen


def deep_folder(root: Path, words: str, levels: int) -> Path:
    """A real folder whose path is longer than 260 characters (Linux allows it)."""
    deep = root.joinpath(*[f"{words} {i:02d} " + "x" * 30 for i in range(levels)])
    deep.mkdir(parents=True)
    assert len(str(deep)) > 260
    return deep


@pytest.fixture
def spy(monkeypatch):
    return record_long_path(monkeypatch, writer_module, fileops_module)


def test_outputs_deeper_than_260_characters_go_through_long_path(tmp_path, spy):
    deep = deep_folder(tmp_path, "level", 8) / "out"
    source = tmp_path / "talk.wav"
    source.write_bytes(b"RIFF")
    ops = FileOps(RetryPolicy(budget_s=1))
    ledger = OutputLedger(tmp_path / "outputs.db", ops)
    written = write_outputs(transcript(), source, FORMATS, deep, ops, ledger)
    assert len(str(written[0].path)) > 260 and all(w.path.is_file() for w in written)
    long_seen = {p for p in spy if len(p) > 260}
    assert str(deep) in long_seen  # the folder was created through it
    for w in written:
        assert str(w.path) in long_seen  # the final rename
        assert any(p.startswith(str(deep / ".")) and p.endswith(".tmp") for p in long_seen)  # the temp file


def test_a_dropped_folder_is_searched_past_260_characters(tmp_path, monkeypatch):
    from nemo_desk.media import discover

    seen = record_long_path(monkeypatch, discover)
    deep = deep_folder(tmp_path, "Season", 8)
    (deep / "ep01.mp4").write_bytes(b"x")
    (tmp_path / "top.wav").write_bytes(b"x")
    found = discover.find_media_files(tmp_path)
    assert found == [str(deep / "ep01.mp4"), str(tmp_path / "top.wav")]  # sorted by path, case-folded
    assert str(deep) in seen  # every folder is opened through long_path


def test_a_deep_source_file_is_checked_through_long_path(tmp_path, monkeypatch):
    from nemo_desk.media import probing

    seen = record_long_path(monkeypatch, probing)
    clip = deep_folder(tmp_path, "Take", 8) / "clip.wav"
    clip.write_bytes(b"RIFF1234")
    assert probing.check_file(str(clip)) == 8
    assert str(clip) in seen


# -- one name longer than the file system allows -----------------------------------------------------
def test_temporary_name_of_a_long_file_name_stays_within_255():
    target = Path("/out") / ("t" * 250 + ".srt")
    tmp = temp_path_for(target)
    assert len(tmp.name) <= MAX_NAME and tmp.name.startswith(".ttt") and tmp.name.endswith(".tmp")
    assert temp_path_for(target) != tmp  # still unique


def test_a_source_with_a_250_character_name_still_gets_its_transcript(tmp_path):
    source = tmp_path / ("A very long video title " * 10)[:246].strip()
    source = source.with_name(source.name + ".wav")
    source.write_bytes(b"RIFF")
    ops = FileOps(RetryPolicy(budget_s=1))
    written = write_outputs(transcript(), source, ["srt"], None, ops, OutputLedger(tmp_path / "o.db", ops))
    assert written[0].path.is_file() and len(written[0].path.name) <= 255


def test_a_name_the_file_system_refuses_gets_a_clear_message(tmp_path):
    source = tmp_path / ("n" * 251 + ".wav")  # 255 characters: fits; its ".json" output (256) does not
    ops = FileOps(RetryPolicy(budget_s=1))
    source.write_bytes(b"RIFF")
    with pytest.raises(ExportError, match=r"is too long for this drive; choose a shorter output folder"):
        write_outputs(transcript(), source, ["json"], None, ops, OutputLedger(tmp_path / "o.db", ops))


def test_windows_filename_too_long_error_gets_the_same_message():
    exc = OSError(errno.EINVAL, "The filename or extension is too long")
    exc.winerror = 206
    message = str(writer_module._export_error(exc, Path("C:/x/" + "y" * 200 + ".srt")))
    assert "is too long for this drive" in message and "(204 characters)" in message
