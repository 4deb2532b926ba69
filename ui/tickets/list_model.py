"""The open tickets as a table, with a live countdown per target.

The rows are the board's ``TicketSummary`` list (deadlines already derived). A tick changes only the
countdown cells of the rows on screen (``tick_rows``): Qt then asks for those cells and each is one
``countdown()`` — arithmetic on the precomputed state — so a tick costs the same with 50 tickets or
5,000.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.i18n import N_, _
from app.services.tickets import TicketSummary
from app.sla.countdown import countdown
from app.sla.policy import TargetKind
from app.sla.wall_time import SHANGHAI
from ui.tickets.countdown import colour_of

AnyIndex = QModelIndex | QPersistentModelIndex
ID_ROLE = Qt.ItemDataRole.UserRole + 1

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("number", N_("Ticket no."), 120),
    ("title", N_("Title"), 260),
    ("unit", N_("Unit"), 150),
    ("severity", N_("Severity"), 60),
    ("status", N_("Status"), 90),
    ("assignee", N_("Assignee"), 70),
    ("response", N_("Response"), 130),
    ("on_site", N_("On site"), 130),
    ("resolution", N_("Resolution"), 130),
    ("reported", N_("Reported"), 120),
)
COLUMN_INDEX = {name: i for i, (name, _label, _width) in enumerate(COLUMNS)}
TARGET_COLUMNS: dict[str, TargetKind] = {
    "response": TargetKind.RESPONSE,
    "on_site": TargetKind.ON_SITE,
    "resolution": TargetKind.RESOLUTION,
}
FIRST_COUNTDOWN = COLUMN_INDEX["response"]
LAST_COUNTDOWN = COLUMN_INDEX["resolution"]


class TicketListModel(QAbstractTableModel):
    def __init__(self, now: dt.datetime, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[TicketSummary] = []
        self._now = now

    def set_rows(self, rows: list[TicketSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def tick_rows(self, now: dt.datetime, first: int, last: int) -> None:
        """A new second: the countdown cells of rows ``first``…``last`` (those on screen) change."""
        self._now = now
        if not self._rows or first > last:
            return
        first, last = max(first, 0), min(last, len(self._rows) - 1)
        self.dataChanged.emit(
            self.index(first, FIRST_COUNTDOWN),
            self.index(last, LAST_COUNTDOWN),
            [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole],
        )

    def summary_at(self, row: int) -> TicketSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, ticket_id: str) -> int | None:
        return next((i for i, s in enumerate(self._rows) if s.id == ticket_id), None)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(COLUMNS[section][1])
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        summary = self.summary_at(index.row())
        if summary is None:
            return None
        name = COLUMNS[index.column()][0]
        if role == ID_ROLE:
            return summary.id
        target = TARGET_COLUMNS.get(name)
        if target is not None:
            state = summary.deadlines.target(target) if summary.deadlines is not None else None
            if state is None:
                return "—" if role == Qt.ItemDataRole.DisplayRole else None
            if role == Qt.ItemDataRole.DisplayRole:
                return countdown(state, self._now).text()
            if role == Qt.ItemDataRole.ForegroundRole:
                return colour_of(countdown(state, self._now))
            if role == Qt.ItemDataRole.ToolTipRole:
                return state.explanation()
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(summary, name)
        if role == Qt.ItemDataRole.ToolTipRole and name == "title" and summary.flagged:
            return _("{count} change(s) did not apply after a merge; open the ticket to check.").format(
                count=summary.flagged
            )
        return None

    @staticmethod
    def _text(summary: TicketSummary, name: str) -> str:
        if name == "number":
            return summary.number
        if name == "title":
            return ("⚠ " if summary.flagged else "") + summary.title
        if name == "unit":
            return summary.unit_name or summary.caller_name
        if name == "severity":
            return summary.severity_name
        if name == "status":
            return summary.status.label()
        if name == "assignee":
            return summary.assignee
        if name == "reported":
            reported = summary.deadlines.reported_at if summary.deadlines is not None else summary.created_at
            return reported.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
        return ""
