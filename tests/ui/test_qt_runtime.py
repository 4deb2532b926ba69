"""Guards against Qt binding builds that would crash the app in daily use."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_do_not_leak_references_to_none(qtbot) -> None:  # type: ignore[no-untyped-def]
    # PySide6 6.12.0 dropped a reference to None on every call returning nothing; on Python 3.11
    # the process aborts ("deallocating None") after a few thousand clock ticks.
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.hide()
        label.setText("来电")
    assert sys.getrefcount(None) >= before - 50
