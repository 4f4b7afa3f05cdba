"""The Status cell: a horizontal progress bar with the status text on it, while a row runs.

QStyleOptionProgressBar takes its orientation from State_Horizontal in `state`; an item
view's option state lacks that flag, so copying it (as this cell once did) gave a bar
that filled bottom-up: at 30 % a thin strip along the bottom of the cell.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from nemo_desk.gui.queue_table import BAR_ROLE

BAR_STEPS = 1000


class StatusDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        # A status reads from its start ("failed: not a readable…"); names elide in the middle.
        option.textElideMode = Qt.TextElideMode.ElideRight

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        fraction = index.data(BAR_ROLE)
        if fraction is None:  # a finished or waiting row: its (coloured) text, as any cell
            super().paint(painter, option, index)
            return
        # Imported at the first bar's paint: QStyle's dozens of enums cost start-up time.
        from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionProgressBar

        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        # The selection highlight first, so a selected running row still looks selected.
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, BAR_STEPS
        bar.progress = int(round(min(1.0, max(0.0, float(fraction))) * BAR_STEPS))
        bar.text = self.elided(option, index.data(Qt.ItemDataRole.DisplayRole) or "", bar.rect.width())
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.direction = option.direction
        bar.palette = option.palette
        bar.fontMetrics = option.fontMetrics
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)

    @staticmethod
    def elided(option: QStyleOptionViewItem, text: str, width: int) -> str:
        return option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideMiddle, max(0, width - 8))
