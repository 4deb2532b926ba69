"""Inline field errors: a red border on the field and the message in red beneath it.

Shared by the dialogs that check their fields themselves (settings, reference data, units, contacts)
and by the new-call form.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

ERROR_STYLE = "border: 1px solid #d9534f;"
ERROR_TEXT_STYLE = "color: #c9302c;"


def error_label(parent: QWidget) -> QLabel:
    """A red, word-wrapped message label, hidden until there is something to say."""
    label = QLabel(parent)
    label.setStyleSheet(ERROR_TEXT_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


def show_field_error(field: QWidget, label: QLabel, message: str) -> None:
    """Mark a field as wrong the way every form does: red border and the message under it.

    An empty ``message`` clears the mark and hides the label.
    """
    field.setStyleSheet(ERROR_STYLE if message else "")
    label.setText(message)
    label.setVisible(bool(message))


def stacked(*widgets: QWidget) -> QVBoxLayout:
    """A field with what belongs under it (its error label, a note), close together."""
    box = QVBoxLayout()
    box.setSpacing(2)
    for widget in widgets:
        box.addWidget(widget)
    return box
