"""The job queue as a table: one row per file, updated from the worker's signals.

Rows are keyed by the job id; the worker's signals carry it, so a row removed while its
job still runs just stops being updated. A row's Job is rebuilt from the options when it
is (re)submitted, so changing the model before pressing Start applies to waiting rows.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from nemo_desk.core.errors import ModelError
from nemo_desk.core.states import JobState, Stage
from nemo_desk.engine.catalog import get_spec
from nemo_desk.engine.jobs import Job, JobResult
from nemo_desk.engine.modelref import ModelRef
from nemo_desk.gui import colours

# Status (with its progress bar) and ETA come right after the name: at the window's
# minimum width they are what must stay on screen (the view scrolls the rest).
COLUMNS = ("File", "Status", "ETA", "Duration", "Model", "Output")
FILE, STATUS, ETA, DURATION, MODEL, OUTPUT = range(len(COLUMNS))
BAR_ROLE = Qt.ItemDataRole.UserRole  # the row's bar (0..1), or None where no bar is drawn
FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})
RERUNNABLE = frozenset({"failed", "cancelled"})
# How much of the bar each stage fills: decoding is quick, transcribing is the work.
_BAR = {"decoding": (0.0, 0.05), "transcribing": (0.05, 0.97), "writing": (0.97, 1.0)}


@dataclass
class JobRow:
    job: Job
    state: str = "queued"
    fraction: float = 0.0
    eta: float = -1.0
    duration: float | None = None
    outputs: tuple[Path, ...] = ()
    message: str = ""  # one line, for the status column
    detail: str = ""  # the full message (some engine errors span lines), for the tooltip
    submitted: bool = False  # handed to the worker and not finished yet
    fixed: bool = False  # restored from the journal: keep its job as it is (to resume)
    history: list[str] = field(default_factory=list)
    resume_s: float = 0.0  # restored: seconds of audio already transcribed last time
    tracks: tuple[str, ...] = ()  # the file's audio tracks, once probed (several: a choice)
    audio_track: int | None = None  # the user's choice for this row (None: the first)
    output_dir: Path | None = None  # its own output folder (a watched folder's rule); None: the panel's

    @property
    def key(self) -> str:
        return source_key(self.job.source)

    @property
    def pending(self) -> bool:
        return self.state not in FINISHED

    @property
    def resume_fraction(self) -> float | None:
        """Where a restored row resumes (0..1), when known."""
        if self.state != JobState.QUEUED or self.resume_s <= 0 or not self.duration:
            return None
        return min(1.0, self.resume_s / self.duration)

    @property
    def bar(self) -> float:
        if self.state == JobState.DONE:
            return 1.0
        if (resume := self.resume_fraction) is not None:
            return _BAR["transcribing"][0] + (_BAR["transcribing"][1] - _BAR["transcribing"][0]) * resume
        low, high = _BAR.get(self.state, (0.0, 0.0))
        return low + (high - low) * self.fraction

    @property
    def shows_bar(self) -> bool:
        """A bar only where there is progress to show: running rows and interrupted ones."""
        return self.state not in FINISHED and (self.state != JobState.QUEUED or self.resume_fraction is not None)

    def status_text(self) -> str:
        if self.state == JobState.QUEUED and self.resume_s > 0:
            resume = self.resume_fraction
            return f"interrupted - resumes at {int(resume * 100)} %" if resume is not None else "interrupted"
        if self.state == Stage.TRANSCRIBING:
            return f"transcribing {int(self.fraction * 100)} %"
        if self.state == JobState.FAILED and self.message:
            return f"failed: {self.message}"
        if self.state == "loading model":
            return "loading model…"
        return self.state


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def source_key(path: str | os.PathLike[str]) -> str:
    """Same file, same key (case-insensitive on Windows)."""
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def model_name(model: ModelRef) -> str:
    """What the options list calls it: "Parakeet TDT 0.6B v3", not "nvidia/parakeet-tdt-0.6b-v3"."""
    if model.path is None and model.model_id:
        try:
            return get_spec(model.model_id).name
        except ModelError:
            pass
    return model.label


def format_seconds(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class QueueModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[JobRow] = []

    # -- Qt model API ---------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == OUTPUT and row.outputs:
                return "\n".join(str(p) for p in row.outputs)
            if col == FILE:  # all of it, also what a narrow window's hidden columns say
                outputs = "".join(f"\n{p}" for p in row.outputs)
                return f"{row.job.source}\nModel: {row.job.model.label}{outputs}"
            return row.detail or row.status_text()
        if role == Qt.ItemDataRole.ForegroundRole and col == STATUS:
            colour = colours.for_state(row.state, QGuiApplication.palette())  # readable in light and dark
            return QBrush(colour) if colour is not None else None
        if role == BAR_ROLE:
            return row.bar if row.shows_bar else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (ETA, DURATION):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: JobRow, col: int) -> str | None:
        if col == FILE:
            return row.job.source.name
        if col == DURATION:
            return format_seconds(row.duration)
        if col == MODEL:
            return model_name(row.job.model)
        if col == STATUS:
            return row.status_text()
        if col == ETA:
            return format_seconds(row.eta) if row.state == Stage.TRANSCRIBING else ""
        if col == OUTPUT:
            return ", ".join(p.name for p in row.outputs)
        return None

    # -- rows -------------------------------------------------------------------------
    def add(self, job: Job, fixed: bool = False) -> bool:
        """Queue a row; False when the same file is already waiting or running."""
        key = source_key(job.source)
        if any(r.key == key and r.pending for r in self.rows):
            return False
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        self.rows.append(JobRow(job, fixed=fixed))
        self.endInsertRows()
        return True

    def find(self, job_id: str) -> int:
        return next((i for i, r in enumerate(self.rows) if r.job.id == job_id), -1)

    def row(self, job_id: str) -> JobRow | None:
        i = self.find(job_id)
        return self.rows[i] if i >= 0 else None

    def set_job(self, job_id: str, job: Job) -> None:
        i = self.find(job_id)
        if i >= 0:
            self.rows[i].job = job
            self._changed(i)

    def reset_for_rerun(self, job_id: str) -> JobRow | None:
        i = self.find(job_id)
        if i < 0:
            return None
        row = self.rows[i]
        row.state, row.fraction, row.eta, row.message, row.detail, row.outputs = "queued", 0.0, -1.0, "", "", ()
        row.resume_s = 0.0
        self._changed(i)
        return row

    def set_probed(self, job_id: str, duration: float | None, tracks: tuple[str, ...]) -> None:
        """What the background probe found: known before the job runs."""
        i = self.find(job_id)
        if i >= 0:
            row = self.rows[i]
            row.duration = duration if duration is not None else row.duration
            row.tracks = tracks
            self._changed(i)

    def overall(self) -> tuple[int, int, float] | None:
        """(rows finished, rows in this run, fraction of the run) while something runs, for
        the window title and the taskbar button; None when nothing does."""
        active = [r for r in self.rows if r.submitted or (r.state in FINISHED and r.history)]
        if not any(r.submitted for r in active):
            return None
        done = sum(1 for r in active if r.state in FINISHED)
        fraction = sum(1.0 if r.state in FINISHED else r.bar for r in active) / len(active)
        return done, len(active), fraction

    def update_state(self, job_id: str, state: str, fraction: float, eta: float) -> None:
        i = self.find(job_id)
        if i < 0:
            return
        row = self.rows[i]
        if row.state in FINISHED and state not in FINISHED:
            return  # a late progress signal after the end
        row.state, row.fraction, row.eta = state, fraction, eta
        if not row.history or row.history[-1] != state:
            row.history.append(state)
        if state in FINISHED:
            row.submitted = False
        self._changed(i)

    def set_duration(self, job_id: str, seconds: float) -> None:
        i = self.find(job_id)
        if i >= 0:
            self.rows[i].duration = seconds
            self._changed(i)

    def set_result(self, job_id: str, result: JobResult) -> None:
        i = self.find(job_id)
        if i < 0:
            return
        row = self.rows[i]
        row.outputs = tuple(o.path for o in result.outputs)
        row.detail = result.failure.message if result.failure else result.note
        message = one_line(row.detail)
        for prefix in (f"{row.job.source}: ", f"{row.job.source.name}: "):  # media errors lead with the path
            message = message.removeprefix(prefix)
        row.message = message
        row.submitted = False
        if result.transcript is not None and row.duration is None:
            row.duration = result.transcript.duration
        self._changed(i)

    def remove(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            i = self.find(job_id)
            if i >= 0:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self.rows[i]
                self.endRemoveRows()

    def finished_ids(self) -> list[str]:
        return [r.job.id for r in self.rows if r.state in FINISHED]

    def _changed(self, i: int) -> None:
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))


class QueueView(QTableView):
    """The queue: File takes what the other columns leave, so nothing needs a horizontal
    scroll at the default size; names are elided in the middle (the tooltip has the path)."""

    EMPTY_TEXT = "Drop audio or video files here, or use Add files…"

    def __init__(self, model: QueueModel, parent=None) -> None:
        from nemo_desk.gui.queue_delegate import StatusDelegate

        super().__init__(parent)
        self.setModel(model)
        self._delegate = StatusDelegate(self)  # kept: the view does not own delegates
        self.setItemDelegateForColumn(STATUS, self._delegate)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(48)
        for col, width in COLUMN_WIDTHS.items():
            self.setColumnWidth(col, width)
        self.setAccessibleName("Queue")
        self.setAccessibleDescription("The files to transcribe: name, status and progress, time left, "
                                      "length, model and output files")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Narrow (the window at its minimum, or at 150 % scaling): Output, then Model, then
        Duration step aside so that File, Status and ETA stay in view without scrolling; each
        is in the row's tooltip or its context menu meanwhile."""
        room = self.viewport().width() - FILE_MIN_WIDTH
        needed = sum(self.columnWidth(c) for c in (STATUS, ETA))
        for col in (DURATION, MODEL, OUTPUT):  # the first to come back, the last to go
            width = COLUMN_WIDTHS[col] if self.isColumnHidden(col) else self.columnWidth(col)
            needed += width
            self.setColumnHidden(col, needed > room)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.model().rowCount() == 0:  # the empty state says what to do
            from PySide6.QtGui import QPainter

            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.viewport().rect(), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                             self.EMPTY_TEXT)
            painter.end()

    def selected_ids(self) -> list[str]:
        model: QueueModel = self.model()  # type: ignore[assignment]
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        return [model.rows[r].job.id for r in rows if r < len(model.rows)]

    def id_at(self, index: QModelIndex | QPersistentModelIndex) -> str | None:
        model: QueueModel = self.model()  # type: ignore[assignment]
        return model.rows[index.row()].job.id if index.isValid() and index.row() < len(model.rows) else None


# Status first: its text ("transcribing 42 %", "interrupted - resumes at 48 %") needs room.
COLUMN_WIDTHS = {STATUS: 190, ETA: 56, DURATION: 64, MODEL: 120, OUTPUT: 120}
FILE_MIN_WIDTH = 160  # below this a name is mostly "…"
