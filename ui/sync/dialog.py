"""The sync window (同步): the sync log, the conflicts to settle and the changes the server parked.

Each list is read on the database lane and is small by nature (the log keeps its newest 500 entries,
conflicts and parked changes are the exceptions a person must look at). Settling a conflict or retrying
a parked change writes through the local sync services, on the database lane, and is sent at the next
sync.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.errors import UserFacingError
from app.i18n import N_, _
from ui import dialogs
from ui.changes import OpChanges
from ui.operations import OpContext, show_error
from ui.sync.controller import SyncStatus
from ui.sync.status import local_time, state_text

if TYPE_CHECKING:
    from app.sync.engine import ServerRejection
    from app.sync.local import ConflictView, LogEntry, ParkedOp

ID_ROLE = Qt.ItemDataRole.UserRole
CELL_MAX = 80  # longer values are cut in the table and shown whole in the tooltip

LEVELS = {"info": N_("Info"), "error": N_("Error")}
OPERATIONS = {"insert": N_("Created"), "update": N_("Changed"), "delete": N_("Deleted")}
CALL_TABLES = {"calls", "call_revisions"}
DIRECTORY_TABLES = {"organisations", "contacts", "contact_phones"}


@dataclass(frozen=True)
class SyncLists:
    log: list[LogEntry]
    conflicts: list[ConflictView]
    parked: list[ParkedOp]


def changes_for(tables: set[str]) -> OpChanges:
    """What a local write to these tables changes for the views."""
    return OpChanges(
        calls=bool(tables & CALL_TABLES),
        directory=bool(tables & DIRECTORY_TABLES),
        reference=bool(tables - CALL_TABLES - DIRECTORY_TABLES),
    )


def _item(text: str, data: Any = None) -> QTableWidgetItem:
    one_line = " ".join(text.split())
    shown = one_line if len(one_line) <= CELL_MAX else one_line[: CELL_MAX - 1] + "…"
    item = QTableWidgetItem(shown)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if shown != text:
        item.setToolTip(text)
    if data is not None:
        item.setData(ID_ROLE, data)
    return item


def _table(parent: QWidget, name: str, headers: list[str], stretch: tuple[int, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column in stretch:
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    return table


def _selected_ids(table: QTableWidget) -> list[Any]:
    rows = sorted({index.row() for index in table.selectionModel().selectedRows()})
    items = [table.item(row, 0) for row in rows]
    return [item.data(ID_ROLE) for item in items if item is not None]


class SyncDialog(QDialog):
    def __init__(self, mw: Any) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setObjectName("SyncDialog")
        self.setWindowTitle(_("Synchronisation"))
        self._loading = False
        self._reload_again = False
        self._conflict_tables: dict[str, str] = {}

        self.status_label = QLabel(self)
        self.status_label.setObjectName("syncDialogStatus")
        self.status_label.setWordWrap(True)
        self.sync_button = QPushButton(_("Sync &now"), self)
        self.sync_button.setObjectName("syncNowButton")
        self.sync_button.clicked.connect(mw.sync.sync_now)
        top = QHBoxLayout()
        top.addWidget(self.status_label, 1)
        top.addWidget(self.sync_button)

        self.tabs = QTabWidget(self)
        self.log_table = _table(self, "syncLog", [_("Time"), _("Level"), _("Message")], (2,))
        self.tabs.addTab(self.log_table, _("Log"))

        self.keep_button = self._button(
            _("&Keep current"), "keepCurrent", lambda: self._resolve(use_lost=False)
        )
        self.use_lost_button = self._button(
            _("&Use lost value"), "useLostValue", lambda: self._resolve(use_lost=True)
        )
        self.conflicts_table = self._list_tab(
            _("Conflicts"),
            "syncConflicts",
            [_("Record"), _("Field"), _("Kept value"), _("Lost value"), _("From"), _("When")],
            (2, 3),
            _(
                "The same field was changed on two computers. The value shown as kept is in use; the lost "
                "value is kept here until you decide."
            ),
            [self.keep_button, self.use_lost_button],
        )

        self.retry_button = self._button(_("&Retry"), "retryParked", self._retry)
        self.discard_button = self._button(_("&Discard"), "discardParked", self._discard)
        self.parked_table = self._list_tab(
            _("Parked changes"),
            "syncParked",
            [_("Parked at"), _("Record"), _("Change"), _("Reason")],
            (1, 3),
            _(
                "The server refused these changes. Retry sends them again at the next sync; discard drops "
                "them from this computer's queue."
            ),
            [self.retry_button, self.discard_button],
        )

        self.server_message = QLabel(self)
        self.server_message.setObjectName("serverRejectedMessage")
        self.server_message.setWordWrap(True)
        self.server_refresh_button = self._button(
            _("Re&fresh"), "refreshServerRejected", lambda: self.load_server_rejections()
        )
        self.server_retry_button = self._button(
            _("Apply &again on the server"), "retryOnServer", lambda: self._resolve_on_server(retry=True)
        )
        self.server_dismiss_button = self._button(
            _("Dis&miss"), "dismissOnServer", lambda: self._resolve_on_server(retry=False)
        )
        self.server_table = self._list_tab(
            _("Refused on the server"),
            "syncServerRejected",
            [_("Refused at"), _("Computer"), _("Record"), _("Change"), _("Reason")],
            (2, 4),
            _(
                "Changes the shared server refused, from every computer, that nobody has dealt with yet. "
                "Once the cause is put right (for example after the server was upgraded), apply one again "
                "on the server; or dismiss it. The computer it came from drops its parked copy at its next "
                "sync."
            ),
            [self.server_refresh_button, self.server_retry_button, self.server_dismiss_button],
            message=self.server_message,
        )
        self.server_tab_index = self.tabs.count() - 1
        self.tabs.currentChanged.connect(
            lambda index: self.load_server_rejections() if index == self.server_tab_index else None
        )

        for table in (self.conflicts_table, self.parked_table, self.server_table):
            table.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        self.resize(900, 520)

        mw.sync.status_changed.connect(self._show_status)
        mw.sync.sync_finished.connect(self._sync_finished)
        self._show_status(mw.sync.status)
        self.reload()

    def _button(self, text: str, name: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _list_tab(
        self,
        title: str,
        name: str,
        headers: list[str],
        stretch: tuple[int, ...],
        note: str,
        buttons: list[QPushButton],
        message: QLabel | None = None,
    ) -> QTableWidget:
        """A tab with an explaining note, a list and the buttons that act on its selection."""
        page = QWidget(self)
        table = _table(page, name, headers, stretch)
        label = QLabel(note, page)
        label.setWordWrap(True)
        row = QHBoxLayout()
        if message is not None:
            row.addWidget(message, 1)
        else:
            row.addStretch(1)
        for button in buttons:
            row.addWidget(button)
        layout = QVBoxLayout(page)
        layout.addWidget(label)
        layout.addWidget(table, 1)
        layout.addLayout(row)
        self.tabs.addTab(page, title)
        return table

    # --- loading ----------------------------------------------------------------------------------

    def reload(self) -> None:
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        db = self.mw.ctx.db

        def work(_ctx: OpContext) -> SyncLists:
            from app.sync.local import open_conflicts, parked_ops, sync_log

            with db.session() as session:
                return SyncLists(sync_log(session), open_conflicts(session), parked_ops(session))

        self.mw.op(work).success(self._show_lists).failure(self._load_failed).run()

    def _load_failed(self, error: BaseException) -> None:
        self._loading = False
        if isValid(self):
            show_error(self, error)

    def _show_lists(self, lists: SyncLists) -> None:
        self._loading = False
        if not isValid(self):
            return
        self._fill_log(lists.log)
        self._fill_conflicts(lists.conflicts)
        self._fill_parked(lists.parked)
        self.tabs.setTabText(1, _("Conflicts ({count})").format(count=len(lists.conflicts)))
        self.tabs.setTabText(2, _("Parked changes ({count})").format(count=len(lists.parked)))
        self._update_buttons()
        if self._reload_again:
            self._reload_again = False
            self.reload()

    def _fill_log(self, entries: list[LogEntry]) -> None:
        table = self.log_table
        table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            level = LEVELS.get(entry.level)
            level_item = _item(_(level) if level else entry.level)
            if entry.level == "error":
                level_item.setForeground(Qt.GlobalColor.darkRed)
            table.setItem(row, 0, _item(local_time(entry.at, seconds=True)))
            table.setItem(row, 1, level_item)
            table.setItem(row, 2, _item(entry.message))
        table.resizeColumnToContents(0)
        table.resizeColumnToContents(1)

    def _fill_conflicts(self, conflicts: list[ConflictView]) -> None:
        table = self.conflicts_table
        table.setRowCount(len(conflicts))
        self._conflict_tables = {c.id: c.table_name for c in conflicts}
        for row, conflict in enumerate(conflicts):
            table.setItem(row, 0, _item(conflict.row_label, conflict.id))
            table.setItem(row, 1, _item(conflict.field_label))
            table.setItem(row, 2, _item(conflict.kept_value))
            table.setItem(row, 3, _item(conflict.lost_value))
            table.setItem(row, 4, _item(conflict.lost_origin))
            table.setItem(row, 5, _item(local_time(conflict.detected_at)))
        for column in (0, 1, 4, 5):
            table.resizeColumnToContents(column)

    def _fill_parked(self, parked: list[ParkedOp]) -> None:
        table = self.parked_table
        table.setRowCount(len(parked))
        for row, op in enumerate(parked):
            operation = OPERATIONS.get(op.op)
            table.setItem(row, 0, _item(local_time(op.parked_at), op.id))
            table.setItem(row, 1, _item(op.description))
            table.setItem(row, 2, _item(_(operation) if operation else op.op))
            table.setItem(row, 3, _item(op.reason))
        for column in (0, 2):
            table.resizeColumnToContents(column)

    def _update_buttons(self) -> None:
        conflicts = bool(self.conflicts_table.selectionModel().selectedRows())
        parked = bool(self.parked_table.selectionModel().selectedRows())
        self.keep_button.setEnabled(conflicts)
        self.use_lost_button.setEnabled(conflicts)
        self.retry_button.setEnabled(parked)
        self.discard_button.setEnabled(parked)
        on_server = bool(self.server_table.selectionModel().selectedRows())
        self.server_retry_button.setEnabled(on_server)
        self.server_dismiss_button.setEnabled(on_server)

    def _show_status(self, status: SyncStatus) -> None:
        if not isValid(self):
            return
        text = state_text(status)
        if status.message:
            text += " — " + status.message
        self.status_label.setText(text)
        self.sync_button.setEnabled(not status.syncing)

    def _sync_finished(self, _report: Any) -> None:
        if isValid(self) and self.isVisible():
            self.reload()

    # --- actions ----------------------------------------------------------------------------------

    def _resolve(self, use_lost: bool) -> None:
        ids = [str(i) for i in _selected_ids(self.conflicts_table)]
        if not ids:
            return
        tables = {self._conflict_tables.get(i, "") for i in ids}

        def work(_ctx: OpContext) -> None:
            from app.sync.local import resolve_conflict

            for conflict_id in ids:
                with self.mw.ctx.uow() as uow:
                    resolve_conflict(uow, conflict_id, use_lost)

        self._write(work, changes_for(tables))

    def _retry(self) -> None:
        ids = [int(i) for i in _selected_ids(self.parked_table)]
        if not ids:
            return

        def work(_ctx: OpContext) -> None:
            from app.sync.local import retry_parked

            with self.mw.ctx.uow() as uow:
                retry_parked(uow, ids)

        self._write(work, OpChanges())

    def _discard(self) -> None:
        ids = [int(i) for i in _selected_ids(self.parked_table)]
        if not ids:
            return
        question = _(
            "Discard {count} parked changes? They will not reach the shared server; this cannot be undone."
        ).format(count=len(ids))
        if not dialogs.ask(self, question):
            return

        def work(_ctx: OpContext) -> None:
            from app.sync.local import discard_parked

            with self.mw.ctx.uow() as uow:
                discard_parked(uow, ids)

        self._write(work, OpChanges())

    # --- refused on the server (every computer's) ---------------------------------------------------

    def load_server_rejections(self, note: str = "") -> None:
        """Read the server's list on the network lane; a server out of reach is said in the tab.
        ``note`` (what the last action came to) is shown once the list is there."""
        self.server_message.setText(_("Loading…"))

        def shown(rejections: list[ServerRejection]) -> None:
            if isValid(self):
                self._fill_server(rejections, note)

        def failed(error: BaseException) -> None:
            if not isValid(self):
                return
            if isinstance(error, UserFacingError):
                self.server_table.setRowCount(0)
                self.server_message.setText(error.message)
                self._update_buttons()
            else:
                show_error(self, error)

        self.mw.sync.engine_op(lambda engine: engine.server_rejections()).success(shown).failure(failed).run()

    def _fill_server(self, rejections: list[ServerRejection], note: str = "") -> None:
        from app.sync.local import reason_text, table_label

        table = self.server_table
        table.setRowCount(len(rejections))
        for row, rejection in enumerate(rejections):
            fields = ", ".join(sorted(k for k in rejection.fields if k not in ("id", "deleted")))
            table.setItem(row, 0, _item(local_time(rejection.rejected_at), rejection.id))
            table.setItem(row, 1, _item(rejection.client_name or rejection.client_id[:12]))
            table.setItem(row, 2, _item(table_label(rejection.table_name)))
            table.setItem(row, 3, _item(fields[:200]))
            table.setItem(row, 4, _item(reason_text(rejection.reason)))
        self.server_message.setText(note or (_("Nothing refused is waiting.") if not rejections else ""))
        self.tabs.setTabText(
            self.server_tab_index, _("Refused on the server ({count})").format(count=len(rejections))
        )
        self._update_buttons()

    def _resolve_on_server(self, retry: bool) -> None:
        ids = [int(i) for i in _selected_ids(self.server_table)]
        if not ids:
            return
        if not retry and not dialogs.ask(
            self,
            _("Dismiss {count} refused changes? They will never reach the shared server.").format(
                count=len(ids)
            ),
        ):
            return
        by = self.mw.ctx.engineer

        def work(engine: Any) -> list[str]:
            return [engine.resolve_server_rejection(i, retry, by) for i in ids]

        def done(statuses: list[str]) -> None:
            if not isValid(self):
                return
            refused = statuses.count("rejected")
            note = (
                _("{count} change(s) were refused again; the reason is in the list.").format(count=refused)
                if refused
                else ""
            )
            self.load_server_rejections(note)
            self.mw.sync.sync_now()  # bring what was applied to this computer too

        def failed(error: BaseException) -> None:
            if isValid(self) and isinstance(error, UserFacingError):
                self.server_message.setText(error.message)
            else:
                show_error(self, error)

        self.mw.sync.engine_op(work).success(done).failure(failed).run()

    def _write(self, work: Any, changes: OpChanges) -> None:
        def done(_none: None) -> None:
            if isValid(self):
                self.reload()
            self.mw.sync.note_local_change()

        def failed(error: BaseException) -> None:
            show_error(self, error)  # e.g. the conflict was resolved meanwhile: say so, show what is
            if isValid(self):
                self.reload()

        self.mw.op(work).success(done).failure(failed).changes(changes).run()
