"""The open tickets as a table, with a live countdown per target.

The rows are the board's ``TicketSummary`` list (deadlines already derived). A tick sets the time
(``set_now``) and the page repaints the countdown cells of the rows on screen: Qt then asks for those
cells, each one ``countdown()`` — arithmetic on the precomputed state — so a tick costs the same with
50 tickets or 5,000.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.i18n import N_, _
from app.services.tickets import TicketSummary
from app.sla.countdown import countdown
from app.sla.policy import TargetKind
from app.sla.wall_time import SHANGHAI
from ui.tickets.countdown import colour_of

AnyIndex = QModelIndex | QPersistentModelIndex
ID_ROLE = Qt.ItemDataRole.UserRole + 1

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("number", N_("Ticket no."), 125),
    ("title", N_("Title"), 260),
    ("unit", N_("Unit"), 130),
    ("severity", N_("Severity"), 56),
    ("status", N_("Status"), 70),
    ("assignee", N_("Assignee"), 56),
    ("response", N_("Response"), 112),
    ("on_site", N_("On site"), 112),
    ("resolution", N_("Resolution"), 112),
    ("reported", N_("Reported"), 90),
)
COLUMN_INDEX = {name: i for i, (name, _label, _width) in enumerate(COLUMNS)}
TARGET_COLUMNS: dict[str, TargetKind] = {
    "response": TargetKind.RESPONSE,
    "on_site": TargetKind.ON_SITE,
    "resolution": TargetKind.RESOLUTION,
}
_ROLES = frozenset(
    {Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole, ID_ROLE}
)
FIRST_COUNTDOWN = COLUMN_INDEX["response"]
LAST_COUNTDOWN = COLUMN_INDEX["resolution"]


class TicketListModel(QAbstractTableModel):
    def __init__(self, now: dt.datetime, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[TicketSummary] = []
        self._now = now
        self._shown: dict[tuple[str, TargetKind], tuple[dt.datetime, str, QColor]] = {}

    def set_rows(self, rows: list[TicketSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._shown.clear()
        self.endResetModel()

    def set_now(self, now: dt.datetime) -> None:
        """A new second. The countdown cells are worked out when they are painted, so the view only
        has to repaint them (``TicketsPage._tick``): no signal per cell, which costs more than the
        countdowns themselves."""
        self._now = now
        if len(self._shown) > 4 * len(self._rows) + 64:
            self._shown.clear()  # rows scrolled past: keep the memo to about what is on screen

    def countdown_cell(self, row: int, column: int) -> tuple[str, QColor | None]:
        """The text and colour of a countdown cell now (for the page's painter: straight from Python,
        without two trips through Qt per cell)."""
        summary = self.summary_at(row)
        target = TARGET_COLUMNS.get(COLUMNS[column][0])
        if summary is None or target is None or summary.deadlines is None:
            return "—", None
        key = (summary.id, target)
        cached = self._shown.get(key)
        if cached is None or cached[0] != self._now:  # one countdown per cell and second
            state = summary.deadlines.target(target)
            if state is None:
                return "—", None
            shown = countdown(state, self._now)
            cached = self._shown[key] = (self._now, shown.text(), colour_of(shown))
        return cached[1], cached[2]

    def has_target(self, target: TargetKind) -> bool:
        return any(s.deadlines is not None and s.deadlines.target(target) is not None for s in self._rows)

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
        if role not in _ROLES:
            return None  # Qt asks a dozen roles per cell at every repaint: answer the rest at once
        if role == ID_ROLE:
            return summary.id
        name = COLUMNS[index.column()][0]
        target = TARGET_COLUMNS.get(name)
        if target is not None:
            state = summary.deadlines.target(target) if summary.deadlines is not None else None
            if state is None:
                return "—" if role == Qt.ItemDataRole.DisplayRole else None
            if role == Qt.ItemDataRole.ToolTipRole:
                return state.explanation()
            text, colour = self.countdown_cell(index.row(), index.column())
            return text if role == Qt.ItemDataRole.DisplayRole else colour
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
