"""Which dropped files count as media, and what a dropped folder yields."""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from nemo_desk.core.errors import FileMissingError
from nemo_desk.media import MEDIA_EXTENSIONS, find_media_files, is_media_file
from nemo_desk.media import discover


def test_extensions() -> None:
    expected = {"wav", "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus", "wma", "mp4", "m4v",
                "mkv", "mov", "webm", "avi", "wmv", "mpg", "mpeg", "ts"}
    assert set(MEDIA_EXTENSIONS) == expected and len(MEDIA_EXTENSIONS) == len(expected)


@pytest.mark.parametrize(
    "name, expected",
    [("talk.mp3", True), ("TALK.MP3", True), ("a/b/Interview.Mkv", True), ("x.tar.gz", False),
     ("notes.txt", False), ("mp3", False), ("song.mp3.txt", False), ("clip.TS", True), ("noext", False)],
)
def test_is_media_file(name: str, expected: bool) -> None:
    assert is_media_file(name) is expected
    assert is_media_file(Path(name)) is expected


def _touch(root: Path, rel: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_find_media_files(tmp_path: Path) -> None:
    root = tmp_path / "dropped folder ü"
    wanted = ["b.wav", "A talk.MP3", "sub/c.Mkv", "Sub2/deep/nested/d.opus", "sub/Ünïcødé 日本.m4a"]
    unwanted = ["notes.txt", "song.mp3.txt", "noext", "sub/.hidden.mp3", "sub/._appledouble.mp3",
                ".git/objects/e.mp3", "$RECYCLE.BIN/S-1-5-21/$R123.mp3", "System Volume Information/f.wav",
                "__MACOSX/g.mp3"]
    for rel in wanted + unwanted:
        _touch(root, rel)
    (root / "folder.mp3").mkdir()  # a folder with a media-like name is not a file
    if sys.platform != "win32":  # a link loop must not hang or duplicate
        os.symlink(root, root / "sub" / "loop")
    found = find_media_files(root)
    assert all(isinstance(p, str) for p in found)
    rel = [os.path.relpath(p, root).replace(os.sep, "/") for p in found]
    assert rel == ["A talk.MP3", "b.wav", "sub/c.Mkv", "sub/Ünïcødé 日本.m4a", "Sub2/deep/nested/d.opus"]


def test_find_media_files_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileMissingError):
        find_media_files(tmp_path / "nope")
    assert find_media_files(tmp_path) == []


def test_windows_hidden_attribute_is_skipped() -> None:
    class Entry:  # what os.scandir gives on Windows for a hidden/system folder
        def __init__(self, name: str, attrs: int) -> None:
            self.name, self._attrs = name, attrs

        def stat(self, follow_symlinks: bool = True):
            return os.stat_result((0,) * 10) if not self._attrs else _WithAttrs(self._attrs)

    class _WithAttrs:
        def __init__(self, attrs: int) -> None:
            self.st_file_attributes = attrs

    assert discover._skipped(Entry("Recordings", stat.FILE_ATTRIBUTE_HIDDEN))
    assert discover._skipped(Entry("Recordings", stat.FILE_ATTRIBUTE_SYSTEM))
    assert not discover._skipped(Entry("Recordings", 0))
