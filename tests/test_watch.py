"""engine/watch.py: files are queued once, after they stopped growing; the rest is ignored."""

from __future__ import annotations

import os
from pathlib import Path

from nemo_desk.engine.journal import Journal
from nemo_desk.engine.watch import FolderWatcher, is_partial_name


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _grow(path: Path, data: bytes, mtime_ns: int) -> None:
    with open(path, "ab") as f:
        f.write(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_growing_file_is_queued_once_after_it_stopped_growing(tmp_path):
    clock = Clock()
    watcher = FolderWatcher([tmp_path], settle_s=5.0, clock=clock)
    clip = tmp_path / "interview.wav"
    for i in range(4):  # a copy in pieces, one every 2 s: never stable for 5 s
        _grow(clip, b"x" * 1000, 10**18 + i)
        assert watcher.poll() == []
        clock.now += 2.0
    clock.now += 2.9  # 4.9 s without change: not yet
    assert watcher.poll() == []
    clock.now += 0.2
    assert watcher.poll() == [clip]
    clock.now += 60
    assert watcher.poll() == []  # once


def test_non_media_partial_hidden_and_excluded_files_are_ignored(tmp_path):
    clock = Clock()
    out = tmp_path / "transcripts"
    out.mkdir()
    for name in (
        "notes.txt",
        "talk.srt",
        "talk.mp4.part",
        "talk.mp4.crdownload",
        "~$talk.wav",
        ".talk.wav",
        "talk.tmp.mp4",
        ".talk.srt.nemo_desk-abc123.tmp",
    ):
        (tmp_path / name).write_bytes(b"data")
    (out / "copy.wav").write_bytes(b"data")  # under the excluded output folder
    (tmp_path / "empty.wav").write_bytes(b"")  # just created, nothing written yet
    watcher = FolderWatcher([tmp_path], settle_s=1.0, clock=clock, exclude=[out])
    assert watcher.poll() == []
    clock.now += 10
    assert watcher.poll() == []
    assert is_partial_name("x.MP4.PART") and not is_partial_name("meeting.part2.wav".replace(".part2", " part2"))


def test_a_path_is_watched_inside_the_folders_not_beside_them_nor_in_the_excluded_one(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "inbox" / "transcripts"
    watcher = FolderWatcher([inbox], exclude=[out])
    assert watcher.watches(inbox / "a.wav") and watcher.watches(inbox / "day 2" / "b.mp4")
    assert not watcher.watches(tmp_path / "inbox2" / "a.wav")  # a name that only starts the same
    assert not watcher.watches(tmp_path / "a.wav") and not watcher.watches(out / "c.wav")
    root = FolderWatcher([os.path.abspath(os.sep)])  # a whole drive ("C:\\" on Windows): one separator
    assert root.watches(tmp_path / "a.wav")
    assert not FolderWatcher([tmp_path], exclude=[os.path.abspath(os.sep)]).watches(tmp_path / "a.wav")


def test_a_claimed_file_is_not_queued_again_unless_it_changes(tmp_path):
    """A file continued from the journal (queued by `transcribe` or the window) is claimed
    by the watch, so it is transcribed once; replaced by another, it is new."""
    clock = Clock()
    clip = tmp_path / "talk.wav"
    _grow(clip, b"x" * 100, 10**18)
    watcher = FolderWatcher([tmp_path], settle_s=1.0, clock=clock)
    watcher.claim(clip)
    watcher.claim(tmp_path / "gone.wav")  # deleted meanwhile: nothing to remember, no error
    for _ in range(3):
        assert watcher.poll() == []
        clock.now += 2
    _grow(clip, b"y" * 100, 10**18 + 5)
    watcher.poll()
    clock.now += 2
    assert watcher.poll() == [clip]


def test_queued_files_are_remembered_across_a_restart_through_the_journal(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.wav").write_bytes(b"a" * 100)
    journal = Journal(tmp_path / "journal.sqlite3")
    clock = Clock()
    first = FolderWatcher([inbox], settle_s=1.0, record=journal, clock=clock)
    first.poll()
    clock.now += 2
    assert first.poll() == [inbox / "a.wav"]
    journal.close()

    journal = Journal(tmp_path / "journal.sqlite3")  # a restart
    again = FolderWatcher([inbox], settle_s=1.0, record=journal, clock=clock)
    again.poll()
    clock.now += 2
    assert again.poll() == []
    # The same name with a different file (a new recording): that one is new.
    (inbox / "a.wav").write_bytes(b"b" * 200)
    again.poll()
    clock.now += 2
    assert again.poll() == [inbox / "a.wav"]
    journal.close()


def test_a_missing_folder_is_said_once_and_watched_until_it_is_back(tmp_path):
    said: list[str] = []
    clock = Clock()
    folder = tmp_path / "usb"
    watcher = FolderWatcher([folder], settle_s=1.0, clock=clock, warn=said.append)
    assert watcher.poll() == [] and watcher.poll() == []
    assert len(said) == 1 and "Cannot read the watched folder" in said[0]
    folder.mkdir()
    (folder / "b.mp3").write_bytes(b"b" * 10)
    watcher.poll()
    clock.now += 2
    assert watcher.poll() == [folder / "b.mp3"]
    assert said[1] == f"The watched folder {folder} is back"
