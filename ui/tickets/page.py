"""The ticket list (工单): open tickets of the window's site, most urgent first, with live countdowns;
and the "due soon" panel that stays in view whichever page is shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QKeyEvent, QPainter, QRegion
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _
from app.services.callbacks import CallbackTask
from app.services.tickets import TicketSummary
from app.sla.countdown import countdown
from app.sla.policy import TargetKind
from ui.tickets.board import TicketBoard
from ui.tickets.countdown import colour_of, widest_countdown
from ui.tickets.list_model import (
    COLUMN_INDEX,
    COLUMNS,
    FIRST_COUNTDOWN,
    ID_ROLE,
    LAST_COUNTDOWN,
    TicketListModel,
)

DUE_SOON_ROWS = 8
IS_CALL_ROLE = Qt.ItemDataRole.UserRole + 40  # a due-soon line of a call to call back


class CountdownDelegate(QStyledItemDelegate):
    """Paints a countdown cell as plain coloured text. These cells repaint every second; the style's
    full item painting (focus frame, icon, check box, a dozen data roles per cell, each a trip from Qt
    into Python) cost several times as much as the text itself."""

    def __init__(self, model: TicketListModel, parent: QWidget) -> None:
        super().__init__(parent)
        self._model = model

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        rect = option.rect
        palette = option.palette
        if selected:
            painter.fillRect(rect, palette.highlight())
        text, colour = self._model.countdown_cell(index.row(), index.column())
        painter.setPen(palette.highlightedText().color() if selected or colour is None else colour)
        painter.drawText(rect.adjusted(4, 0, -4, 0), _TEXT_ALIGNMENT, text)


_TEXT_ALIGNMENT = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)


class DueSoonDelegate(QStyledItemDelegate):
    """A due-soon line: the number (elided) and, set right, the countdown, in the countdown's colour;
    the title below, elided. The item's text is "number\tcountdown\ntitle". Every line repaints every
    second; plain text is a fraction of the style's item painting."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        rect = option.rect.adjusted(4, 2, -4, -2)
        palette = option.palette
        if selected:
            painter.fillRect(option.rect, palette.highlight())
        first, _sep, title = str(index.data(Qt.ItemDataRole.DisplayRole) or "").partition("\n")
        heading, _tab, remaining = first.partition("\t")
        colour = index.data(Qt.ItemDataRole.ForegroundRole)
        plain = palette.highlightedText().color() if selected else palette.text().color()
        line = rect.height() // 2
        metrics = option.fontMetrics
        painter.setPen(plain if selected or colour is None else colour.color())
        top = rect.adjusted(0, 0, 0, -line)
        countdown_width = metrics.horizontalAdvance(remaining)
        painter.drawText(top, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight), remaining)
        room = max(rect.width() - countdown_width - metrics.horizontalAdvance("  "), 0)
        painter.drawText(top, _TEXT_ALIGNMENT, metrics.elidedText(heading, Qt.TextElideMode.ElideRight, room))
        painter.setPen(plain)
        elided = option.fontMetrics.elidedText(title, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect.adjusted(0, line, 0, 0), _TEXT_ALIGNMENT, elided)
        painter.setPen(palette.midlight().color())  # a hairline between lines
        bottom = option.rect.bottom()
        painter.drawLine(option.rect.left() + 4, bottom, option.rect.right() - 4, bottom)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(option.rect.width(), 2 * option.fontMetrics.height() + 8)


class _TicketTable(QTableView):
    def __init__(self, page: TicketsPage) -> None:
        super().__init__(page)
        self._page = page

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._page.open_current()
            return
        super().keyPressEvent(event)


class TicketsPage(QWidget):
    def __init__(self, mw: Any, board: TicketBoard) -> None:
        super().__init__(mw)
        self.setObjectName("ticketsPage")
        self.mw = mw
        self.board = board
        self.model = TicketListModel(board.ticker.now(), self)

        self.new_button = QPushButton(_("New ticket"), self)
        self.new_button.clicked.connect(lambda: mw.open_ticket(None))
        self.mine_check = QCheckBox(_("Only mine"), self)
        self.mine_check.toggled.connect(self._fill)
        top = QHBoxLayout()
        top.addWidget(self.new_button)
        top.addSpacing(12)
        top.addWidget(self.mine_check)
        top.addStretch(1)

        self.view = _TicketTable(self)
        self.view.setObjectName("ticketTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, (_name, _label, width) in enumerate(COLUMNS):
            self.view.setColumnWidth(column, width)
        for column in range(FIRST_COUNTDOWN, LAST_COUNTDOWN + 1):  # "已超时 99天 23:59:59" fits whole
            self.view.setColumnWidth(column, widest_countdown(self.view.fontMetrics()) + 10)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self._countdown_delegate = CountdownDelegate(self.model, self.view)
        for column in range(FIRST_COUNTDOWN, LAST_COUNTDOWN + 1):
            self.view.setItemDelegateForColumn(column, self._countdown_delegate)
        self.view.doubleClicked.connect(lambda index: self._open(index))

        self.count_label = QLabel(self)
        self.count_label.setObjectName("ticketCount")
        self.empty_label = QLabel(self)
        self.empty_label.setStyleSheet("QLabel { color: palette(mid); }")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        status = QHBoxLayout()
        status.addWidget(self.count_label)
        status.addSpacing(12)
        status.addWidget(self.empty_label)
        status.addStretch(1)
        layout.addLayout(status)

        self._painted: dict[tuple[str, int], str] = {}  # countdown texts last asked to be painted
        board.changed.connect(self._fill)
        board.ticker.tick.connect(self._tick)
        self._fill()

    def _rows(self) -> list[TicketSummary]:
        rows = self.board.summaries
        if self.mine_check.isChecked():
            rows = [s for s in rows if s.assignee == self.mw.ctx.engineer]
        return rows

    def _fill(self) -> None:
        current = self.current_ticket_id()
        rows = self._rows()
        self._painted.clear()  # the reset repaints everything
        self.model.set_rows(rows)
        # most contracts have no on-site target for most tickets: its column only when one has it
        self.view.setColumnHidden(COLUMN_INDEX["on_site"], not self.model.has_target(TargetKind.ON_SITE))
        self.count_label.setText(_("{count} open tickets").format(count=f"{len(rows):,}"))
        self.empty_label.setText("" if rows or not self.board.loaded else _("No open tickets."))
        if current is not None:
            row = self.model.row_of(current)
            if row is not None:
                self.view.selectRow(row)

    def _tick(self, now: Any) -> None:
        self.model.set_now(now)
        if not self.isVisible() or self.model.rowCount() == 0:
            return  # a hidden list is drawn afresh when shown
        view = self.view
        first = max(view.rowAt(0), 0)
        last = view.rowAt(view.viewport().height() - 1)
        last = self.model.rowCount() - 1 if last < 0 else last
        # repaint only the cells whose text moves (met, paused or by-agreement ones stand still); a run
        # of such cells down one column is one rectangle
        row_height = view.rowHeight(first)
        top = view.rowViewportPosition(first)
        changed = QRegion()
        for column in range(FIRST_COUNTDOWN, LAST_COUNTDOWN + 1):
            if view.isColumnHidden(column):
                continue
            left, width = view.columnViewportPosition(column), view.columnWidth(column)
            run_start: int | None = None
            for row in range(first, last + 2):
                moved = False
                if row <= last:
                    summary = self.model.summary_at(row)
                    text = self.model.countdown_cell(row, column)[0]
                    key = (summary.id if summary is not None else "", column)
                    moved = self._painted.get(key) != text
                    if moved:
                        self._painted[key] = text
                if moved and run_start is None:
                    run_start = row
                elif not moved and run_start is not None:
                    y = top + (run_start - first) * row_height
                    changed += QRect(left, y, width, (row - run_start) * row_height)
                    run_start = None
        if not changed.isEmpty():
            view.viewport().update(changed)

    def current_ticket_id(self) -> str | None:
        index = self.view.currentIndex()
        return str(index.data(ID_ROLE)) if index.isValid() else None

    def open_current(self) -> None:
        self._open(self.view.currentIndex())

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.mw.open_ticket(str(index.data(ID_ROLE)))


@dataclass(frozen=True, slots=True)
class _DueLine:
    """One line of the due-soon panel: a ticket (its next target) or a call to call back."""

    id: str
    is_call: bool
    heading: str  # the ticket's number, or "回电 李会计 0519-…"
    title: str
    due: dt.datetime
    summary: TicketSummary | None = None
    task: CallbackTask | None = None

    def state(self, now: Any) -> Any:
        if self.task is not None:
            return self.task.state
        return _next_target(self.summary, now) if self.summary is not None else None


def _due_lines(board: TicketBoard) -> list[_DueLine]:
    lines = [
        _DueLine(s.id, False, s.number, s.title, s.next_due_at, summary=s)
        for s in board.summaries
        if s.next_due_at is not None
    ]
    lines += [
        _DueLine(t.call_id, True, t.label(), t.unit_name or t.question, t.due, task=t)
        for t in board.callbacks
        if t.due is not None
    ]
    return sorted(lines, key=lambda line: line.due)[:DUE_SOON_ROWS]


class DueSoonPanel(QDockWidget):
    """The open tickets and the call-backs whose deadline is nearest, always in view (a dock the
    engineer may move or close from the View menu)."""

    def __init__(self, mw: Any, board: TicketBoard) -> None:
        super().__init__(_("Due soon"), mw)
        self.setObjectName("dueSoonPanel")
        self.setMinimumWidth(280)
        self.mw = mw
        self.board = board
        self.list = QListWidget(self)
        self.list.setObjectName("dueSoonList")
        self.list.itemActivated.connect(self._open)
        self.list.itemDoubleClicked.connect(self._open)
        self.empty = QLabel(_("No open tickets."), self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("QLabel { color: palette(mid); }")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addWidget(self.empty)
        self.setWidget(body)
        self._shown: list[_DueLine] = []
        self._lines: list[tuple[str, Any]] = []  # what each line shows: its text and colour
        self.list.setUniformItemSizes(True)  # every line is two lines of text: no layout per change
        self._delegate = DueSoonDelegate(self.list)
        self.list.setItemDelegate(self._delegate)
        board.changed.connect(self._fill)
        board.ticker.tick.connect(self._tick)
        self._fill()

    def _fill(self) -> None:
        self._shown = _due_lines(self.board)
        self._lines = [("", None)] * len(self._shown)
        self.list.clear()
        now = self.board.ticker.now()
        for line in self._shown:
            item = QListWidgetItem()
            item.setData(ID_ROLE, line.id)
            item.setData(IS_CALL_ROLE, line.is_call)
            state = line.state(now)
            if state is not None:
                item.setToolTip(state.explanation())
            self.list.addItem(item)
        self.list.setVisible(bool(self._shown))
        self.empty.setVisible(not self._shown)
        self._tick(now)

    def _tick(self, now: Any) -> None:
        """Each line's countdown; an item is touched only when its text or colour moved (every change
        of an item makes the list lay out and repaint)."""
        for row, line in enumerate(self._shown):
            item = self.list.item(row)
            state = line.state(now)
            if item is None or state is None:
                continue
            shown = countdown(state, now)
            drawn = (f"{line.heading}\t{shown.text()}\n{line.title}", colour_of(shown))
            if drawn == self._lines[row]:
                continue
            if drawn[0] != self._lines[row][0]:
                item.setText(drawn[0])
            if drawn[1] != self._lines[row][1]:
                item.setForeground(drawn[1])
            self._lines[row] = drawn

    def _open(self, item: QListWidgetItem) -> None:
        if item.data(IS_CALL_ROLE):
            self.mw.open_call(str(item.data(ID_ROLE)))
        else:
            self.mw.open_ticket(str(item.data(ID_ROLE)))


def _next_target(summary: TicketSummary, now: Any) -> Any:
    """The open target whose deadline comes first (or passed first)."""
    if summary.deadlines is None:
        return None
    open_targets = [
        (t.due, n, t) for n, t in enumerate(summary.deadlines.targets) if t.met_at is None and t.due
    ]
    if open_targets:
        return min(open_targets)[2]
    waiting = [t for t in summary.deadlines.targets if t.met_at is None]
    return waiting[0] if waiting else None
