"""Finding, activating and waiting for windows in the widget tests."""

from __future__ import annotations

from typing import Any, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QWidget

W = TypeVar("W", bound=QWidget)


def shown_windows(kind: type[W], parent: QObject | None = None) -> list[W]:
    """The visible top-level windows of a type (whose parent is ``parent``, if given), e.g. dialogs."""
    return [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, kind) and w.isVisible() and (parent is None or w.parent() is parent)
    ]


def activate(qtbot: Any, window: QWidget) -> None:
    """The offscreen platform does not activate a newly shown window the way a desktop does."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def wait_for_tasks(qtbot: Any, mw: Any) -> None:
    """Wait until the main window has no background operation running."""
    qtbot.waitUntil(lambda: mw.taskman.running == 0, timeout=5000)
