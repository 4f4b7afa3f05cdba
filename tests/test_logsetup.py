"""The log file rolls over with Windows' rule simulated: an open file cannot be renamed."""
from __future__ import annotations

import logging
import os

import pytest

from nemo_desk.logsetup import LOG_FILE, setup_file_logging


def _open_in_this_process(path: str) -> bool:
    target = os.path.realpath(path)
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


@pytest.fixture
def windows_rename(monkeypatch):
    """os.rename as on Windows: a file that any handle holds open cannot be renamed."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to see open handles")
    real = os.rename

    def rename(src, dst):
        if _open_in_this_process(src):
            raise PermissionError(13, "The process cannot access the file because it is being used by "
                                      "another process", src, 32)
        real(src, dst)

    monkeypatch.setattr(os, "rename", rename)


@pytest.fixture
def fresh_root():
    """The root logger's handlers as they were before the test (setup adds one)."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield root
    ours = logging.getLogger("nemo_desk")
    for logger in (root, ours):
        for h in logger.handlers[:]:
            if h not in before:
                logger.removeHandler(h)
                h.close()


def fill(lines: int) -> None:
    ours, foreign = logging.getLogger("nemo_desk"), logging.getLogger("other_library.module")
    for i in range(lines):
        ours.info("line %d %s", i, "x" * 80)
        foreign.warning("foreign %d", i)


def test_rollover_works_with_one_handler_for_the_file(tmp_path, windows_rename, fresh_root, capsys):
    setup_file_logging(tmp_path, max_bytes=4000)
    fill(100)
    assert "Logging error" not in capsys.readouterr().err
    assert (tmp_path / f"{LOG_FILE}.1").is_file()  # it did roll over
    text = (tmp_path / LOG_FILE).read_text(encoding="utf-8")
    assert "[other_library.module] foreign" in text and " line 99 " in text
    handlers = fresh_root.handlers + logging.getLogger("nemo_desk").handlers
    assert sum(getattr(h, "baseFilename", "") == str(tmp_path / LOG_FILE) for h in handlers) == 1


def test_a_file_held_by_someone_else_costs_one_note_not_a_flood(tmp_path, windows_rename, fresh_root, capsys):
    setup_file_logging(tmp_path, max_bytes=4000)
    logging.getLogger("nemo_desk").info("first")
    with open(tmp_path / LOG_FILE, encoding="utf-8"):  # another program has the log open
        fill(100)
    assert "Logging error" not in capsys.readouterr().err
    text = (tmp_path / LOG_FILE).read_text(encoding="utf-8")
    # One note per failed try, and a new try only after another 4000 bytes: not one per line.
    assert 1 <= text.count("could not start a new log file") <= len(text) // 4000 + 1 and " line 99 " in text
    fill(100)  # released: the next rollover works
    assert (tmp_path / f"{LOG_FILE}.1").is_file()


def test_undecodable_file_names_are_logged_not_raised(tmp_path, fresh_root, capsys):
    setup_file_logging(tmp_path)
    logging.getLogger("nemo_desk").info("Done: %s", os.fsdecode(b"caf\xe9.wav"))
    assert "Logging error" not in capsys.readouterr().err
    assert "caf\\udce9.wav" in (tmp_path / LOG_FILE).read_text(encoding="utf-8")
