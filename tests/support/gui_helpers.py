"""Helpers for the GUI tests: dialog recorder, thread/Qt-warning guards, window fixture.

Import the fixtures into a test module (`from tests.support.gui_helpers import ...`) and
set `pytestmark = GUI_MARKS` there: Qt warnings fail the test (pytest-qt's own check,
for the test body) and the window fixture checks its own teardown the same way.
"""
from __future__ import annotations

import gc
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QThread, QUrl, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

# Harmless platform noise of the offscreen plugin (no window manager to hint sizes to), and
# of QtMultimedia on a machine without PipeWire (the editor's player; no sound is played).
QT_LOG_IGNORE = (r"propagateSizeHints", r"pipewire-0\.3")
GUI_MARKS = [pytest.mark.qt_log_level_fail("WARNING"), pytest.mark.qt_log_ignore(*QT_LOG_IGNORE)]
# Threads libraries start once per process and keep on purpose (tqdm's monitor).
ALLOWED_THREADS = ("tqdm_monitor",)


# -- dialogs ----------------------------------------------------------------------------
class DialogRecorder:
    """Stands in for every function of nemo_desk.gui.dialogs.

    A call with no answer set fails the test (a real dialog would hang it); `answer()`
    sets a value or a callable; `calls` records (name, args) in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from nemo_desk.gui import dialogs

        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._answers: dict[str, Any] = {"open_path": True, "copy_text": None}
        # confirm_download asks through confirm (recorded there), as the real one does.
        monkeypatch.setattr(dialogs, "confirm_download", dialogs.confirm_download)
        self.unexpected: list[str] = []
        for name in ("open_path", "copy_text", "show_error", "confirm", "confirm_quit",
                     "pick_files", "pick_folder", "pick_model_file", "edit_settings", "show_lock_error",
                     "manage_models", "ask_text", "show_info"):
            monkeypatch.setattr(dialogs, name, self._stand_in(name))

    def _stand_in(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args + tuple(kwargs.values())))
            if name not in self._answers:
                self.unexpected.append(f"{name}{args!r}")
                raise AssertionError(f"unexpected dialog {name}{args!r}")
            answer = self._answers[name]
            return answer(*args, **kwargs) if callable(answer) else answer

        return call

    def answer(self, name: str, value: Any) -> None:
        self._answers[name] = value

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]


@pytest.fixture
def dialogs_rec(monkeypatch) -> DialogRecorder:
    rec = DialogRecorder(monkeypatch)
    yield rec
    assert not rec.unexpected, f"unexpected dialogs: {rec.unexpected}"


# -- leaks and Qt warnings --------------------------------------------------------------------
def running_qthreads() -> list[QThread]:
    # type() rather than isinstance(): some torch objects warn when asked for __class__.
    return [o for o in gc.get_objects() if issubclass(type(o), QThread) and _alive(o)]


def _alive(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is gone: certainly not running
        return False


def leaked_threads(before: set[int]) -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t.ident not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
            and t.name not in ALLOWED_THREADS]


@pytest.fixture(autouse=False)
def no_leaks():
    """Fails the test if it leaves a Python thread or a QThread running."""
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 5
    while (leaked_threads(before) or running_qthreads()) and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    assert not leaked_threads(before), f"threads left running: {leaked_threads(before)}"
    assert not running_qthreads(), f"QThreads left running: {[t.objectName() for t in running_qthreads()]}"


class QtWarnings:
    """Records Qt warnings while installed (used around teardown, which pytest-qt does not watch)."""

    def __init__(self) -> None:
        self.records: list[str] = []
        self._previous = None

    def __enter__(self) -> "QtWarnings":
        def handler(kind, _context, message) -> None:
            if kind != QtMsgType.QtDebugMsg and kind != QtMsgType.QtInfoMsg:
                if not any(re.search(p, message) for p in QT_LOG_IGNORE):
                    self.records.append(message)

        self._previous = qInstallMessageHandler(handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        qInstallMessageHandler(self._previous)


# -- the window ---------------------------------------------------------------------------
def gui_settings(**changes: Any):
    from nemo_desk.settings import Settings

    base = dict(retry_seconds=2.0, formats=["srt", "txt"])
    base.update(changes)
    return Settings(**base)


@pytest.fixture
def make_window(services, qtbot, dialogs_rec, no_leaks):
    """make_window(settings=None) -> a shown MainWindow on the real services; shut down after."""
    from nemo_desk.gui.main_window import MainWindow

    made = []

    def make(settings=None):
        window = MainWindow(services, settings or gui_settings())
        made.append(window)
        window.show()
        qtbot.waitExposed(window, timeout=30_000)  # generous: CI machines can be very busy
        return window

    yield make
    with QtWarnings() as warnings:
        for window in made:
            assert window.shutdown(timeout_ms=20_000), "the worker did not stop"
            window.close()
            window.deleteLater()
        QApplication.processEvents()
    assert not warnings.records, f"Qt warnings at shutdown: {warnings.records}"


def use_local_model(window, model_path: Path) -> None:
    window.options.set_local_model(model_path)


def wait_finished(qtbot, window, count: int | None = None, timeout: float = 60.0) -> None:
    """Wait until every row (or `count` rows) ended done/failed/cancelled."""
    def finished() -> bool:
        rows = window.queue.rows
        ended = [r for r in rows if r.state in ("done", "failed", "cancelled") and not r.submitted]
        return len(ended) == (len(rows) if count is None else count) and bool(rows)

    qtbot.waitUntil(finished, timeout=int(timeout * 1000))


def row_by_name(window, name: str):
    matches = [r for r in window.queue.rows if r.job.source.name == name]
    assert len(matches) == 1, f"{name}: {len(matches)} rows"
    return matches[0]


def drop_paths(widget, paths: list[Path]) -> QDropEvent:
    """Simulate dragging local files/folders onto `widget` and dropping them."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = widget.rect().center()
    try:  # QPointF since PySide6 6.12 (pinned to 6.11.3 for now: tools/constraints.txt), QPoint before
        enter = QDragEnterEvent(QPointF(center), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
    except TypeError:
        enter = QDragEnterEvent(center, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the drop area refused the drag"
    drop = QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop


# -- outputs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SrtCue:
    index: int
    start: float
    end: float
    text: str


_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2}):(\d{2}):(\d{2}),(\d{3})$")


def parse_srt(text: str) -> list[SrtCue]:
    """Strict SRT parser: numbered blocks, valid times, start < end, in order."""
    cues: list[SrtCue] = []
    blocks = [b for b in text.replace("\r\n", "\n").strip("\n").split("\n\n") if b.strip()]
    for n, block in enumerate(blocks, 1):
        lines = block.split("\n")
        assert lines[0] == str(n), f"cue {n}: bad number {lines[0]!r}"
        m = _TIME.match(lines[1])
        assert m, f"cue {n}: bad time line {lines[1]!r}"
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        assert start < end, f"cue {n}: start {start} >= end {end}"
        assert not cues or start >= cues[-1].end - 1e-6, f"cue {n} overlaps the previous one"
        body = "\n".join(lines[2:])
        assert body.strip(), f"cue {n} has no text"
        cues.append(SrtCue(n, start, end, body))
    return cues
