"""Form rows whose label is a buddy of its field, so the label's &-shortcut focuses the field."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget


def add_row(
    form: QFormLayout, parent: QWidget, text: str, buddy: QWidget, field: QWidget | QVBoxLayout | None = None
) -> None:
    """A row labelled ``text`` whose shortcut focuses ``buddy``; ``field`` (the buddy with, say, its
    inline error underneath) is what the row shows, the buddy alone when not given."""
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    if isinstance(field, QVBoxLayout):
        form.addRow(label, field)
    else:
        form.addRow(label, field or buddy)
