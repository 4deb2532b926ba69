"""Driving widgets as a user would: typing (Chinese included), replacing text, picking, clicking."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QComboBox, QPushButton, QWidget


def type_text(qtbot: Any, widget: QWidget, text: str) -> None:
    """Type like a user: ASCII on the keyboard, Chinese through the input method (QTest cannot do CJK)."""
    for chunk in re.findall(r"[\x00-\x7f]+|[^\x00-\x7f]+", text):
        if chunk.isascii():
            qtbot.keyClicks(widget, chunk)
        else:
            event = QInputMethodEvent()
            event.setCommitString(chunk)
            QApplication.sendEvent(widget, event)


def replace_text(qtbot: Any, widget: Any, text: str) -> None:
    """Select everything in a line or text edit, delete it and type ``text`` instead."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Delete)
    type_text(qtbot, widget, text)


def pick(qtbot: Any, combo: QComboBox, text: str) -> None:
    """Choose an entry with the arrow keys, as a keyboard user would."""
    target = combo.findText(text)
    assert target >= 0, f"{text!r} not among {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setFocus()
    for _attempt in range(combo.count() + 1):
        if combo.currentIndex() == target:
            return
        qtbot.keyClick(combo, Qt.Key.Key_Down if combo.currentIndex() < target else Qt.Key.Key_Up)
    assert combo.currentText() == text


def click_button(qtbot: Any, parent: QWidget, text: str) -> None:
    """Click the one visible, enabled button of ``parent`` labelled ``text``."""
    matches = [b for b in parent.findChildren(QPushButton) if b.text() == text and b.isVisible()]
    assert len(matches) == 1, f"button {text!r}: {[b.text() for b in parent.findChildren(QPushButton)]}"
    assert matches[0].isEnabled(), f"button {text!r} is disabled"
    qtbot.mouseClick(matches[0], Qt.MouseButton.LeftButton)
