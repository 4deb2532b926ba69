"""The crash handler: a bug of ours writes a report, saves what can be saved, and says so plainly.

The user never sees a traceback. Before the dialog, every registered "emergency save" hook runs (the
call form registers one that writes its draft), so a crash loses nothing that was typed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtWidgets import QApplication, QMessageBox

from app.i18n import _
from app.logs import write_crash_report

log = logging.getLogger("hotline.crash")


class CrashHandler:
    def __init__(self) -> None:
        self.crash_dir: Path | None = None
        self._emergency_saves: list[Callable[[], None]] = []
        self._showing = False
        self.last_report: Path | None = None
        self.show_dialog = True  # tests turn the modal dialog off and assert on last_report

    def install(self, crash_dir: Path) -> None:
        self.crash_dir = crash_dir
        sys.excepthook = self.handle

    def add_emergency_save(self, hook: Callable[[], None]) -> None:
        self._emergency_saves.append(hook)

    def remove_emergency_save(self, hook: Callable[[], None]) -> None:
        if hook in self._emergency_saves:
            self._emergency_saves.remove(hook)

    def handle(
        self, exc_type: type[BaseException], exc_value: BaseException, exc_tb: TracebackType | None
    ) -> None:
        log.error("unexpected error", exc_info=(exc_type, exc_value, exc_tb))
        for hook in list(self._emergency_saves):
            try:
                hook()
            except Exception:
                log.exception("emergency save failed")
        report = write_crash_report(self.crash_dir, exc_type, exc_value, exc_tb) if self.crash_dir else None
        self.last_report = report
        if not self.show_dialog or self._showing or QApplication.instance() is None:
            return
        self._showing = True
        try:
            text = _(
                "Something went wrong inside Hotline Console. Your saved calls are safe and the call you "
                "were typing has been kept as a draft."
            )
            if report is not None:
                text += "\n\n" + _(
                    "A report was written to:\n{path}\nPlease send it to your support contact."
                ).format(path=report)
            QMessageBox.critical(None, _("Hotline Console"), text)
        finally:
            self._showing = False


crash_handler = CrashHandler()


def install_qt_message_logging() -> Any:
    """Route Qt's own warnings into our log (tests fail on them; users never see them)."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("hotline.qt")
    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }

    def handler(msg_type: QtMsgType, _context: Any, message: str) -> None:
        qt_log.log(levels.get(msg_type, logging.WARNING), message)

    return qInstallMessageHandler(handler)
