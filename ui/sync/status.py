"""The sync part of the status bar: online / offline / not set up / error, the last successful sync,
the changes waiting to be sent, and — when there are any — parked changes and conflicts (a click opens
the sync window)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.i18n import _
from app.sync.protocol import Problem, SyncError
from ui.sync.controller import SyncState, SyncStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")

_DOT_COLOURS = {
    SyncState.NOT_CONFIGURED: "#9a9a9a",
    SyncState.WAITING: "#9a9a9a",
    SyncState.ONLINE: "#2e9d4f",
    SyncState.OFFLINE: "#d08a00",
    SyncState.ERROR: "#c9302c",
}


def local_time(moment: dt.datetime, seconds: bool = False) -> str:
    """A UTC moment as the engineer reads it: the time alone today, the date and time otherwise."""
    local = moment.astimezone(SHANGHAI)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    if local.date() == dt.datetime.now(SHANGHAI).date():
        return local.strftime(clock)
    return local.strftime("%Y-%m-%d " + clock)


def state_text(status: SyncStatus) -> str:
    if status.state is SyncState.NOT_CONFIGURED:
        return _("Shared server: not set up")
    if status.syncing:
        return _("Synchronising…")
    if status.problem is Problem.NO_PASSWORD:
        return _("Password needed (press F5)")
    return {
        SyncState.WAITING: _("Shared server: not synchronised yet"),
        SyncState.ONLINE: _("Online"),
        SyncState.OFFLINE: _("Offline"),
        SyncState.ERROR: _("Sync error"),
    }[status.state]


class SyncStatusWidget(QWidget):
    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.dot = QLabel("●", self)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("syncState")
        self.details_label = QLabel(self)
        self.details_label.setObjectName("syncDetails")
        self.problems_button = QPushButton(self)
        self.problems_button.setObjectName("syncProblems")
        self.problems_button.setFlat(True)
        self.problems_button.setStyleSheet("QPushButton { color: #c9302c; padding: 0 4px; }")
        self.problems_button.setToolTip(_("Open the sync window to look at them"))
        self.problems_button.clicked.connect(self.clicked)
        self.problems_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.dot)
        layout.addWidget(self.state_label)
        layout.addWidget(self.details_label)
        layout.addWidget(self.problems_button)

    def show_status(self, status: SyncStatus) -> None:
        self.dot.setStyleSheet(f"color: {_DOT_COLOURS[status.state]};")
        self.state_label.setText(state_text(status))
        if status.state is SyncState.NOT_CONFIGURED:
            tip = SyncError(Problem.NOT_CONFIGURED).message
        elif status.message:
            tip = status.message
        else:
            tip = _("Click to open the sync window (log, conflicts, parked changes).")
        self.setToolTip(tip)
        self.state_label.setToolTip(tip)

        local = status.local
        if status.state is SyncState.NOT_CONFIGURED or local is None:
            self.details_label.clear()
            self.details_label.hide()
            self.problems_button.hide()
            return
        if local.last_success is not None:
            last = _("last sync {time}").format(time=local_time(local.last_success))
        else:
            last = _("never synchronised")
        self.details_label.setText(
            _("{last} · {pending} changes waiting").format(last=last, pending=local.pending)
        )
        self.details_label.show()
        problems = []
        if local.conflicts:
            problems.append(_("{count} conflicts").format(count=local.conflicts))
        if local.parked:
            problems.append(_("{count} parked").format(count=local.parked))
        self.problems_button.setText(" · ".join(problems))
        self.problems_button.setVisible(bool(problems))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)
