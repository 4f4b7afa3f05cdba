"""The queue view and the window's looks (#19), without running a model: the bar's
direction, columns and elision, resume wording and ETA, the taskbar button, the empty
state, sizes, accessible names and colour contrast."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QStyleFactory,
    QWidget,
)

from nemo_desk.core.events import Progress
from nemo_desk.core.states import Stage
from nemo_desk.core.transcript import Segment
from nemo_desk.engine.catalog import DEFAULT_MODEL_ID, get_spec
from nemo_desk.engine.jobs import Job
from nemo_desk.gui import colours, dialogs
from nemo_desk.gui.main_window import DEFAULT_SIZE, MINIMUM_SIZE
from nemo_desk.gui.queue_table import COLUMNS, DURATION, ETA, FILE, MODEL, OUTPUT, STATUS, QueueModel, QueueView
from nemo_desk.gui.taskbar import SET_PROGRESS_STATE, SET_PROGRESS_VALUE, TBPF_ERROR, TaskbarButton, title_for
from nemo_desk.gui.worker import Worker, _JobObserver
from nemo_desk.locks.lockerror import RETRY_STEP, Holder, LockReport
from tests.support.gui_helpers import GUI_MARKS, dialogs_rec, make_window, no_leaks  # noqa: F401 (fixtures)

pytestmark = GUI_MARKS


def _view(qtbot, *states: tuple[str, str, float]) -> QueueView:
    model = QueueModel()
    for name, state, fraction in states:
        job = Job(source=Path(f"/media/{name}"))
        model.add(job)
        model.update_state(job.id, state, fraction, 12.0)
    view = QueueView(model)
    qtbot.addWidget(view)
    view.resize(900, 200)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_progress_bar_fills_left_to_right_not_bottom_up(qtbot):
    view = _view(qtbot, ("talk.wav", "transcribing", 0.3))
    image = view.viewport().grab().toImage()
    rect = view.visualRect(view.model().index(0, STATUS)).adjusted(4, 5, -4, -5)
    left, right = rect.left() + rect.width() // 10, rect.left() + rect.width() * 9 // 10
    top, bottom = rect.top() + 1, rect.bottom() - 1
    # Filled on the left at the top and the bottom of the cell alike (a bottom-up bar left
    # the top empty); empty on the right.
    filled = image.pixelColor(left, top)
    assert colours.contrast(filled, image.pixelColor(left, bottom)) < 1.3
    assert colours.contrast(filled, image.pixelColor(right, (top + bottom) // 2)) > 1.3


def test_columns_in_order_names_elided_in_the_middle(qtbot):
    assert COLUMNS == ("File", "Status", "ETA", "Duration", "Model", "Output")
    assert (FILE, STATUS, ETA, DURATION, MODEL, OUTPUT) == tuple(range(6))
    view = _view(qtbot, ("a very long recording name from the annual general meeting 2026 part one.wav", "queued", 0.0))
    assert view.textElideMode() == Qt.TextElideMode.ElideMiddle
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()  # a status reads from its start: "failed: not a readable…"
    view.itemDelegateForColumn(STATUS).initStyleOption(option, view.model().index(0, STATUS))
    assert option.textElideMode == Qt.TextElideMode.ElideRight
    model = view.model().index(0, MODEL).data()  # the name the options list shows, not the id
    assert model == get_spec(DEFAULT_MODEL_ID).name


def test_restored_row_says_where_it_resumes(make_window, qtbot, services, speech_dir, tmp_path):
    import shutil

    source = Path(shutil.copy(speech_dir / "hello.wav", tmp_path / "hello.wav"))
    job = Job(source=source)
    journal = services.queue.journal
    from nemo_desk.engine.jobs import job_to_json

    journal.add(job.id, "old-batch", 0, str(source), job_to_json(job), "999999999:1.0:crashed")
    journal.set_state(job.id, "running")
    journal.save_chunk(job.id, 0, "fp", [Segment("hello", 0.0, 0.5)])
    journal.flush()
    window = make_window()
    qtbot.waitUntil(lambda: window.queue.rows and window.queue.rows[0].duration is not None, timeout=20_000)
    row = window.queue.rows[0]
    percent = int(0.5 / row.duration * 100)
    assert row.status_text() == f"interrupted - resumes at {percent} %"  # "queued 0 %" before
    assert window.queue.index(0, STATUS).data(Qt.ItemDataRole.UserRole) is not None  # its bar shows


def test_eta_after_a_resume_counts_only_the_remaining_audio(services):
    worker = Worker(services)  # not started: only its signals are used
    seen: list[float] = []
    worker.job_state.connect(lambda _id, _state, _fraction, eta: seen.append(eta))
    now = [100.0]
    observer = _JobObserver(worker, "job", clock=lambda: now[0])
    observer._progress(Progress(Stage.TRANSCRIBING, 48, 87))  # resumed at 48 of 87 chunks
    now[0] += 10.0
    observer._progress(Progress(Stage.TRANSCRIBING, 58, 87))  # 10 chunks in 10 s: 29 left
    assert seen[-1] == pytest.approx(29.0)  # said 5 s (counted the saved chunks as fast work)


class _FakeTaskbar:
    """An ITaskbarList3 in memory: a vtable of ctypes callbacks that record their calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, tuple]] = []
        proto = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64)
        self._funcs = [proto(lambda this, a, b, c, i=i: self.calls.append((i, (a, b, c))) or 0) for i in range(12)]
        self._table = (ctypes.c_void_p * 12)(*[ctypes.cast(f, ctypes.c_void_p) for f in self._funcs])
        self._object = ctypes.c_void_p(ctypes.addressof(self._table))

    def create(self, _clsid: str, _iid: str) -> ctypes.c_void_p:
        return ctypes.c_void_p(ctypes.addressof(self._object))


def test_taskbar_button_on_windows_and_the_title(qtbot):
    fake = _FakeTaskbar()
    button = TaskbarButton(1234, co_create=fake.create, platform="win32")
    assert button.active
    button.set_progress(0.25, failed=True)
    states = [args for i, args in fake.calls if i == SET_PROGRESS_STATE]
    values = [args for i, args in fake.calls if i == SET_PROGRESS_VALUE]
    assert states[-1][:2] == (1234, TBPF_ERROR) and values[-1][1:] == (250, 1000)
    button.close()
    assert not button.active
    assert TaskbarButton(1234, co_create=fake.create, platform="linux").active is False
    assert title_for("App", (1, 4, 0.4)) == "40 % (1 of 4 done) — App" and title_for("App", None) == "App"


def test_empty_queue_says_what_to_do(qtbot):
    view = _view(qtbot)
    with_text = view.viewport().grab().toImage()
    view.EMPTY_TEXT = ""
    view.viewport().repaint()
    without = view.viewport().grab().toImage()
    assert with_text != without  # the text is drawn
    assert "Drop audio or video files" in QueueView.EMPTY_TEXT


def test_default_size_fits_small_screens_and_minimum_keeps_status_visible(make_window, qtbot):
    # 1280x720 at 100 %, and 1920x1080 at 150 % (1280x720 logical), less a 48 px taskbar and
    # the title bar and frame (about 40 px high, 16 px wide).
    assert DEFAULT_SIZE.width() + 16 <= 1280 and DEFAULT_SIZE.height() + 40 + 48 <= 720
    window = make_window()
    for size in (DEFAULT_SIZE, MINIMUM_SIZE):
        window.resize(size)
        QApplication.processEvents()
        assert window.size().expandedTo(window.minimumSizeHint()) == window.size(), size
        view, header = window.view, window.view.horizontalHeader()
        for col in (FILE, STATUS, ETA):
            right = header.sectionViewportPosition(col) + header.sectionSize(col)
            assert 0 <= header.sectionViewportPosition(col) and right <= view.viewport().width(), (size, col)
        if size == DEFAULT_SIZE:  # every column without scrolling
            assert not any(view.isColumnHidden(c) for c in range(len(COLUMNS)))
        assert view.horizontalScrollBar().maximum() == 0
    assert window.minimumSize() == MINIMUM_SIZE and MINIMUM_SIZE.width() <= QSize(800, 600).width()


def test_every_control_has_an_accessible_name_and_a_tooltip(make_window):
    window = make_window()
    kinds = (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView, QPlainTextEdit, QAbstractSpinBox)
    missing = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, kinds) or isinstance(widget, QHeaderView) or not widget.isVisibleTo(window):
            continue
        if isinstance(widget.parent(), (QComboBox, QAbstractSpinBox)):  # a part of a named control
            continue
        if widget.objectName().startswith("qt_"):  # Qt's own parts (scroll bar buttons, corner)
            continue
        if not widget.accessibleName() or not widget.toolTip():
            missing.append(f"{type(widget).__name__} {widget.text() if hasattr(widget, 'text') else ''!r}")
    assert not missing, missing
    assert window.options.output_edit.accessibleName() == "Output folder"  # announced as "Options" before


def test_dialog_controls_have_accessible_names(qtbot, services):
    from nemo_desk.gui.models_dialog import ModelsDialog
    from nemo_desk.gui.settings_dialog import SettingsDialog
    from nemo_desk.settings import Settings

    for dialog in (SettingsDialog(Settings()), ModelsDialog(services)):
        qtbot.addWidget(dialog)
        kinds = (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView, QPlainTextEdit, QAbstractSpinBox)
        unnamed = [
            f"{type(w).__name__} {w.text() if hasattr(w, 'text') else ''!r}"
            for w in dialog.findChildren(QWidget)
            if isinstance(w, kinds)
            and not isinstance(w, QHeaderView)
            and not isinstance(w.parent(), (QComboBox, QAbstractSpinBox))
            and not w.objectName().startswith("qt_")
            and w.isVisibleTo(dialog)
            and not w.accessibleName()
        ]
        assert not unnamed, (type(dialog).__name__, unnamed)
    settings = SettingsDialog(Settings())  # a Browse button says which folder it browses for
    qtbot.addWidget(settings)
    names = {b.accessibleName() for b in settings.findChildren(QAbstractButton)}
    assert {"Models: Browse", "Output: Browse"} <= names


def _palettes() -> dict[str, QPalette]:
    light = QStyleFactory.create("Fusion").standardPalette()
    dark = QPalette(light)
    for role, colour in (
        (QPalette.ColorRole.Window, "#2d2d2d"),
        (QPalette.ColorRole.Base, "#1e1e1e"),
        (QPalette.ColorRole.AlternateBase, "#2a2a2a"),
        (QPalette.ColorRole.Text, "#e0e0e0"),
    ):
        dark.setColor(role, QColor(colour))
    return {"light": light, "dark": dark}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("state", sorted(colours.HUES))
def test_status_and_log_colours_pass_wcag_aa(scheme, state):
    palette = _palettes()[scheme]
    colour = colours.for_state(state, palette)
    assert colour is not None
    for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
        assert colours.contrast(colour, palette.color(role)) >= 4.5, (scheme, state, colour.name())
    # The meaning's hue is kept (red stays red), only its lightness moves.
    assert abs(colour.hslHue() - QColor(colours.HUES[state]).hslHue()) <= 3


def test_the_old_fixed_colours_failed_on_dark():
    """The computation can fail: the colours used before #19 on the dark palette."""
    base = _palettes()["dark"].color(QPalette.ColorRole.Base)
    assert colours.contrast(QColor("#2e7d32"), base) < 4.5 and colours.contrast(QColor("#c62828"), base) < 4.5


def test_lock_dialog_speaks_of_the_file_not_the_operation(qtbot, tmp_path):
    report = LockReport(
        str(tmp_path / "out.srt"),
        "replace",
        Holder("unknown", "another program"),
        ("Close programs that may have out.srt open.", RETRY_STEP),
    )
    dialog = dialogs.LockDialog(report)
    qtbot.addWidget(dialog)
    text = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "Operation: replace" not in text and "save the new version of this file" in text
    assert "run the command again" not in text and "Close programs" in text
