"""Accessible names for a dialog's controls that have none, from what a sighted user reads
beside them: the form label of their row, or their own text.

A field inside a composite row (a line edit with its Browse button) gets no buddy label
from QFormLayout, so a screen reader announced it by its group ("Options"); each such
control is named here from its row's label ("Output folder", "Output folder: Browse").
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

INTERACTIVE = (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView, QPlainTextEdit, QAbstractSpinBox)


def _clean(text: str) -> str:
    return text.replace("&", "").rstrip(":").replace("…", "").strip()


def _controls(item_widget: QWidget | None, item_layout: QLayout | None) -> list[QWidget]:
    found: list[QWidget] = []
    if item_widget is not None:
        found += [item_widget] if isinstance(item_widget, INTERACTIVE) else []
        found += [w for w in item_widget.findChildren(QWidget) if isinstance(w, INTERACTIVE)]
    if item_layout is not None:
        for i in range(item_layout.count()):
            item = item_layout.itemAt(i)
            if item is not None:
                found += _controls(item.widget(), item.layout())
    return [w for w in found if not isinstance(w.parent(), (QComboBox, QAbstractSpinBox))]


def name_controls(root: QWidget) -> None:
    """Give every interactive control under `root` without an accessible name one."""
    for form in root.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            label_item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field_item = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            label = label_item.widget() if label_item is not None else None
            if field_item is None or not isinstance(label, QLabel):
                continue
            row_name = _clean(label.text())
            controls = _controls(field_item.widget(), field_item.layout())
            for control in controls:
                if control.accessibleName():
                    continue
                own = _clean(control.text()) if isinstance(control, QAbstractButton) else ""
                control.setAccessibleName(f"{row_name}: {own}" if own and len(controls) > 1 else row_name)
    for control in root.findChildren(QWidget):  # the rest: buttons and boxes named by their text
        if isinstance(control, QAbstractButton) and not control.accessibleName() and control.text():
            control.setAccessibleName(_clean(control.text()))
