"""The directory (通讯录): units and their contacts, search as you type, merging duplicates, call history.

Searches run through ``mw.op`` (the directory can hold 50,000 contacts) and are debounced; a reply that
arrives after a newer search was started is dropped. Lists hold at most ``directory.SEARCH_LIMIT`` rows,
so a plain table model over a Python list is enough here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSettings,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.i18n import N_, _
from app.services import calls, directory
from app.services.calls import CallRow
from app.services.directory import ContactSummary
from app.storage.models import ORG_KIND_LABELS, OUTCOME_LABELS, Contact, Organisation, OrgKind, Outcome, Site
from ui import dialogs
from ui.changes import OpChanges
from ui.directory.merge_dialog import MergeCandidate, MergeDialog
from ui.directory.org_dialog import OrgDialog
from ui.operations import OpContext

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEARCH_DELAY_MS = 250
HISTORY_LIMIT = 500
LIST_LIMIT = directory.SEARCH_LIMIT


# --- queries this page needs beyond the directory service ---------------------------------------


@dataclass(frozen=True, slots=True)
class UnitRow:
    id: str
    name: str
    kind: str
    site_name: str
    notes: str


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_units(
    session: Session,
    text: str = "",
    kind: str | None = None,
    site_id: str | None = None,
    limit: int = LIST_LIMIT,
) -> list[UnitRow]:
    """Units whose name contains ``text`` (typed ``%``/``_`` are literal), of this site or of all sites."""
    query = (
        select(Organisation.id, Organisation.name, Organisation.kind, Site.name, Organisation.notes)
        .outerjoin(Site, Site.id == Organisation.site_id)
        .where(Organisation.deleted.is_(False))
    )
    if text.strip():
        query = query.where(Organisation.name.like(_like(text.strip()), escape="\\"))
    if kind:
        query = query.where(Organisation.kind == kind)
    if site_id:
        query = query.where(or_(Organisation.site_id == site_id, Organisation.site_id.is_(None)))
    rows = session.execute(query.order_by(Organisation.name).limit(limit))
    return [UnitRow(r[0], r[1], r[2], r[3] or "", r[4] or "") for r in rows]


def contacts_of_units(
    session: Session, org_ids: Sequence[str], limit: int = LIST_LIMIT
) -> list[ContactSummary]:
    result: list[ContactSummary] = []
    for org_id in org_ids:
        result.extend(directory.search_contacts(session, "", org_id=org_id, limit=limit - len(result)))
        if len(result) >= limit:
            break
    return result


def count_contacts(session: Session, org_id: str) -> int:
    query = (
        select(func.count()).select_from(Contact).where(Contact.org_id == org_id, Contact.deleted.is_(False))
    )
    return int(session.scalar(query) or 0)


# --- display helpers ----------------------------------------------------------------------------


def kind_label(kind: str) -> str:
    try:
        return _(ORG_KIND_LABELS[OrgKind(kind)])
    except ValueError:
        return kind


def outcome_label(outcome: str) -> str:
    try:
        return _(OUTCOME_LABELS[Outcome(outcome)])
    except ValueError:
        return outcome


def local_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Column:
    title: str  # N_()-marked; translated when shown
    value: Callable[[Any], str]
    width: int


UNIT_COLUMNS = (
    Column(N_("Unit"), lambda u: u.name, 200),
    Column(N_("Kind"), lambda u: kind_label(u.kind), 80),
    Column(N_("Site"), lambda u: u.site_name or _("All sites"), 100),
)
CONTACT_COLUMNS = (
    Column(N_("Name"), lambda c: c.name, 90),
    Column(N_("Title"), lambda c: c.title, 90),
    Column(N_("Unit"), lambda c: c.org_name, 220),
    Column(N_("Phone numbers"), lambda c: "、".join(c.phones), 200),
)
HISTORY_COLUMNS = (
    Column(N_("Time"), lambda r: local_time(r.started_at), 125),
    Column(N_("System / module"), lambda r: " / ".join(p for p in (r.system_name, r.module_name) if p), 200),
    Column(N_("Category"), lambda r: r.category_name, 70),
    Column(N_("Question"), lambda r: one_line(r.question), 320),
    Column(N_("Outcome"), lambda r: outcome_label(r.outcome), 100),
)


class RowsModel(QAbstractTableModel):
    """A read-only table over a short list of rows (at most a search limit's worth)."""

    def __init__(self, columns: Sequence[Column], parent: QWidget) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self._rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[Any]:
        return list(self._rows)

    def row_at(self, row: int) -> Any:
        return self._rows[row]

    def row_of(self, row_id: str) -> int:
        for number, item in enumerate(self._rows):
            if item.id == row_id:
                return number
        return -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = self.columns[index.column()].value(self._rows[index.row()])
            if role == Qt.ItemDataRole.ToolTipRole and len(text) < 20:
                return None
            return text
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(self.columns[section].title)
        return None


def _make_view(parent: QWidget, name: str, model: RowsModel, multi: bool, stretch: int) -> QTableView:
    """A list view; column ``stretch`` takes the spare width so the others stay visible."""
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(
        QAbstractItemView.SelectionMode.ExtendedSelection
        if multi
        else QAbstractItemView.SelectionMode.SingleSelection
    )
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTabKeyNavigation(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for number, column in enumerate(model.columns):
        view.setColumnWidth(number, column.width)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    return view


def _button(action: QAction, parent: QWidget) -> QPushButton:
    """A push button that mirrors an action (text with mnemonic, enabled state)."""
    button = QPushButton(action.text(), parent)
    button.setEnabled(action.isEnabled())
    button.setToolTip(action.toolTip())
    button.clicked.connect(action.trigger)
    action.changed.connect(lambda: button.setEnabled(action.isEnabled()))
    return button


def _heading(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setMinimumWidth(1)  # a long unit or contact name must not widen the whole window
    return label


class DirectoryPage(QWidget):
    def __init__(self, mw: Any) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setObjectName("DirectoryPage")
        self.org_dialog: OrgDialog | None = None
        self.contact_dialog: Any = None
        self.merge_dialog: MergeDialog | None = None
        self._loaded = False
        self._restoring = False
        self._seq = {"units": 0, "contacts": 0, "history": 0}
        self._scope: list[str] = []  # ids of the selected units whose contacts are listed
        self._pending_unit: str | None = None
        self._pending_contact: str | None = None
        self._history_contact: str | None = None

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._reload)
        self._reload_timer = QTimer(self)  # coalesces several change notifications into one reload
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(0)
        self._reload_timer.timeout.connect(self._reload)

        self._build()
        self._update_actions()
        mw.taskman.operation_did_execute.connect(self._on_changes)
        mw.site_changed.connect(self._on_site_changed)

    # --- construction -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("directorySearch")
        self.search_edit.setPlaceholderText(_("Name, unit or phone number"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._search_typed)
        self.search_edit.returnPressed.connect(self._search_now)
        self.search_edit.installEventFilter(self)
        search_label = QLabel(_("&Search:"), self)
        search_label.setBuddy(self.search_edit)
        top = QHBoxLayout()
        top.addWidget(search_label)
        top.addWidget(self.search_edit, 1)

        # Units pane
        self.units_model = RowsModel(UNIT_COLUMNS, self)
        self.units_view = _make_view(self, "unitsView", self.units_model, multi=True, stretch=0)
        self.units_view.selectionModel().selectionChanged.connect(self._units_selected)
        self.units_view.activated.connect(lambda _i: self.edit_unit())
        self.kind_combo = QComboBox(self)
        self.kind_combo.setObjectName("kindFilter")
        self.kind_combo.addItem(_("All kinds"), None)
        for kind, label in ORG_KIND_LABELS.items():
            self.kind_combo.addItem(_(label), kind.value)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._reload_units())
        self.units_count = QLabel(self)
        self.units_count.setMinimumWidth(1)
        self.new_unit_action = self._action(_("New &unit"), self.new_unit, self.units_view)
        self.edit_unit_action = self._action(_("Edit unit"), self.edit_unit, self.units_view, "F2")
        self.merge_units_action = self._action(_("Merge units…"), self.merge_units, self.units_view)
        self.merge_units_action.setToolTip(_("Select two or more units that are the same, then merge them"))

        units_pane = QWidget(self)
        units_layout = QVBoxLayout(units_pane)
        units_layout.setContentsMargins(0, 0, 0, 0)
        units_head = QHBoxLayout()
        units_head.addWidget(_heading(_("Units"), units_pane))
        units_head.addWidget(self.units_count, 1)
        units_head.addWidget(self.kind_combo)
        units_layout.addLayout(units_head)
        units_layout.addWidget(self.units_view, 1)
        units_buttons = QHBoxLayout()
        for action in (self.new_unit_action, self.edit_unit_action, self.merge_units_action):
            units_buttons.addWidget(_button(action, units_pane))
        units_buttons.addStretch(1)
        units_layout.addLayout(units_buttons)

        # Contacts pane
        self.contacts_model = RowsModel(CONTACT_COLUMNS, self)
        self.contacts_view = _make_view(self, "contactsView", self.contacts_model, multi=True, stretch=3)
        self.contacts_view.selectionModel().selectionChanged.connect(self._contacts_selected)
        self.contacts_view.activated.connect(lambda _i: self.edit_contact())
        self.contacts_title = _heading(_("Contacts"), self)
        self.contacts_count = QLabel(self)
        self.contacts_count.setMinimumWidth(1)
        self.new_contact_action = self._action(_("New &contact"), self.new_contact, self.contacts_view)
        self.edit_contact_action = self._action(
            _("&Edit contact"), self.edit_contact, self.contacts_view, "F2"
        )
        self.delete_contact_action = self._action(
            _("&Delete contact"), self.delete_contacts, self.contacts_view, QKeySequence.StandardKey.Delete
        )
        self.merge_contacts_action = self._action(
            _("&Merge contacts…"), self.merge_contacts, self.contacts_view
        )
        self.merge_contacts_action.setToolTip(
            _("Select two or more entries for the same person, then merge them into one")
        )
        self.new_call_action = self._action(
            _("&Record a call from this contact"), self.new_call, self.contacts_view
        )

        contacts_pane = QWidget(self)
        contacts_layout = QVBoxLayout(contacts_pane)
        contacts_layout.setContentsMargins(0, 0, 0, 0)
        contacts_head = QHBoxLayout()
        contacts_head.addWidget(self.contacts_title)
        contacts_head.addWidget(self.contacts_count, 1)
        contacts_layout.addLayout(contacts_head)
        contacts_layout.addWidget(self.contacts_view, 1)
        contact_buttons = QHBoxLayout()
        for action in (
            self.new_contact_action,
            self.edit_contact_action,
            self.delete_contact_action,
            self.merge_contacts_action,
        ):
            contact_buttons.addWidget(_button(action, contacts_pane))
        contact_buttons.addStretch(1)
        contacts_layout.addLayout(contact_buttons)

        # History pane
        self.history_model = RowsModel(HISTORY_COLUMNS, self)
        self.history_view = _make_view(self, "historyView", self.history_model, multi=False, stretch=3)
        self.history_view.activated.connect(self._open_call)
        self.history_view.selectionModel().selectionChanged.connect(lambda *_a: self._update_actions())
        self.open_call_action = self._action(_("Open call"), self._open_selected_call, self.history_view)
        self.history_title = _heading("", self)
        history_pane = QWidget(self)
        history_layout = QVBoxLayout(history_pane)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_head = QHBoxLayout()
        history_head.addWidget(self.history_title, 1)
        history_head.addWidget(_button(self.new_call_action, history_pane))
        history_layout.addLayout(history_head)
        history_layout.addWidget(self.history_view, 1)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.right_splitter.setObjectName("directoryRightSplitter")
        self.right_splitter.addWidget(contacts_pane)
        self.right_splitter.addWidget(history_pane)
        self.right_splitter.setStretchFactor(0, 3)
        self.right_splitter.setStretchFactor(1, 2)
        self.right_splitter.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("directorySplitter")
        self.splitter.addWidget(units_pane)
        self.splitter.addWidget(self.right_splitter)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([420, 700])
        self.right_splitter.setSizes([360, 260])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self._show_history_title()
        self.setTabOrder(self.search_edit, self.contacts_view)
        self.setTabOrder(self.contacts_view, self.history_view)
        self.setTabOrder(self.history_view, self.units_view)
        self.setTabOrder(self.units_view, self.kind_combo)

    def _action(
        self,
        text: str,
        slot: Callable[[], None],
        view: QTableView,
        shortcut: str | QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, view)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        view.addAction(action)
        return action

    # --- API for the main window ------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def save_state(self, qsettings: QSettings) -> None:
        qsettings.setValue("directory/splitter", self.splitter.saveState())
        qsettings.setValue("directory/rightSplitter", self.right_splitter.saveState())
        for key, view in self._views().items():
            qsettings.setValue(f"directory/{key}Header", view.horizontalHeader().saveState())

    def restore_state(self, qsettings: QSettings) -> None:
        for key, splitter in (("splitter", self.splitter), ("rightSplitter", self.right_splitter)):
            state = qsettings.value(f"directory/{key}")
            if state is not None:
                splitter.restoreState(state)
        for key, view in self._views().items():
            state = qsettings.value(f"directory/{key}Header")
            if state is not None:
                view.horizontalHeader().restoreState(state)

    def _views(self) -> dict[str, QTableView]:
        return {"units": self.units_view, "contacts": self.contacts_view, "history": self.history_view}

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Down in the search box moves into the contact list, as in a browser's address bar.
        if (
            watched is self.search_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and self.contacts_model.rowCount()
        ):
            self.contacts_view.setFocus(Qt.FocusReason.TabFocusReason)
            if not self.contacts_view.selectionModel().hasSelection():
                self.contacts_view.selectRow(0)
            return True
        return super().eventFilter(watched, event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._loaded:
            self._loaded = True
            self._reload()

    # --- selection ----------------------------------------------------------------------------------

    def selected_units(self) -> list[UnitRow]:
        rows = sorted(index.row() for index in self.units_view.selectionModel().selectedRows())
        return [self.units_model.row_at(r) for r in rows]

    def selected_contacts(self) -> list[ContactSummary]:
        rows = sorted(index.row() for index in self.contacts_view.selectionModel().selectedRows())
        return [self.contacts_model.row_at(r) for r in rows]

    def _select_ids(self, view: QTableView, model: RowsModel, ids: Sequence[str]) -> None:
        selection = QItemSelection()
        first: QModelIndex | None = None
        for row_id in ids:
            row = model.row_of(row_id)
            if row < 0:
                continue
            left, right = model.index(row, 0), model.index(row, model.columnCount() - 1)
            selection.select(left, right)
            first = first or left
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        view.selectionModel().select(selection, flags)
        if first is not None:
            view.selectionModel().setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
            view.scrollTo(first)

    def _units_selected(self, *_args: object) -> None:
        self._update_actions()
        if self._restoring:
            return
        scope = [u.id for u in self.selected_units()]
        if scope != self._scope:
            self._scope = scope
            self._reload_contacts()

    def _contacts_selected(self, *_args: object) -> None:
        self._update_actions()
        if not self._restoring:
            self._reload_history()

    def _update_actions(self) -> None:
        units, contacts = len(self.selected_units()), len(self.selected_contacts())
        self.edit_unit_action.setEnabled(units == 1)
        self.merge_units_action.setEnabled(units >= 2)
        self.edit_contact_action.setEnabled(contacts == 1)
        self.delete_contact_action.setEnabled(contacts >= 1)
        self.merge_contacts_action.setEnabled(contacts >= 2)
        self.new_call_action.setEnabled(contacts == 1)
        self.open_call_action.setEnabled(self.history_view.selectionModel().hasSelection())

    # --- loading ------------------------------------------------------------------------------------

    def _search_typed(self, _text: str) -> None:
        # Typing searches everything again: a unit picked earlier no longer limits the contacts.
        self._scope = []
        self._restoring = True
        try:
            self.units_view.clearSelection()
        finally:
            self._restoring = False
        self._search_timer.start()

    def _search_now(self) -> None:
        self._search_timer.stop()
        self._reload()
        self.contacts_view.setFocus()

    def _on_site_changed(self, _site_id: str) -> None:
        if self._loaded:
            self._reload_units()

    def _on_changes(self, changes: OpChanges) -> None:
        if not self._loaded:
            return
        if changes.directory or changes.reference:
            self._reload_timer.start()
        elif changes.calls:
            self._reload_history()

    def _reload(self) -> None:
        self._reload_units()
        self._reload_contacts()

    def _next(self, what: str) -> int:
        self._seq[what] += 1
        return self._seq[what]

    def _reload_units(self) -> None:
        seq = self._next("units")
        text, kind, site_id = self.search_edit.text(), self.kind_combo.currentData(), self.mw.site_id
        ctx = self.mw.ctx

        def work(_op: OpContext) -> list[UnitRow]:
            with ctx.uow() as uow:
                return search_units(uow.session, text, kind, site_id)

        self.mw.op(work).success(lambda rows: self._units_loaded(seq, rows)).run()

    def _units_loaded(self, seq: int, rows: list[UnitRow]) -> None:
        if seq != self._seq["units"]:
            return
        keep = [u.id for u in self.selected_units()]
        if self._pending_unit and any(u.id == self._pending_unit for u in rows):
            keep, self._pending_unit = [self._pending_unit], None
        self._restoring = True
        try:
            self.units_model.set_rows(rows)
            self._select_ids(self.units_view, self.units_model, keep)
        finally:
            self._restoring = False
        note = _(" (first {limit} shown)").format(limit=LIST_LIMIT) if len(rows) >= LIST_LIMIT else ""
        self.units_count.setText(_("{count} units").format(count=len(rows)) + note)
        self._units_selected()

    def _reload_contacts(self) -> None:
        seq = self._next("contacts")
        text, scope = self.search_edit.text(), list(self._scope)
        ctx = self.mw.ctx

        def work(_op: OpContext) -> list[ContactSummary]:
            with ctx.uow() as uow:
                if scope:
                    return contacts_of_units(uow.session, scope)
                return directory.search_contacts(uow.session, text)

        self.mw.op(work).success(lambda rows: self._contacts_loaded(seq, scope, rows)).run()

    def _contacts_loaded(self, seq: int, scope: list[str], rows: list[ContactSummary]) -> None:
        if seq != self._seq["contacts"]:
            return
        keep = [c.id for c in self.selected_contacts()]
        if self._pending_contact and any(c.id == self._pending_contact for c in rows):
            keep, self._pending_contact = [self._pending_contact], None
        self._restoring = True
        try:
            self.contacts_model.set_rows(rows)
            self._select_ids(self.contacts_view, self.contacts_model, keep)
        finally:
            self._restoring = False
        units = self.selected_units()
        if scope and len(units) == 1:
            self.contacts_title.setText(_("Contacts of {unit}").format(unit=units[0].name))
        elif scope:
            self.contacts_title.setText(_("Contacts of {count} units").format(count=len(scope)))
        elif self.search_edit.text().strip():
            self.contacts_title.setText(_("Contacts found"))
        else:
            self.contacts_title.setText(_("Contacts"))
        note = (
            _(" (first {limit} shown; type more to narrow)").format(limit=LIST_LIMIT)
            if len(rows) >= LIST_LIMIT
            else ""
        )
        self.contacts_count.setText(_("{count} contacts").format(count=len(rows)) + note)
        self._update_actions()
        self._reload_history()

    def _reload_history(self) -> None:
        seq = self._next("history")
        contacts = self.selected_contacts()
        if len(contacts) != 1:
            self._history_contact = None
            self.history_model.set_rows([])
            self._show_history_title()
            self._update_actions()
            return
        contact = contacts[0]
        ctx = self.mw.ctx

        def work(_op: OpContext) -> list[CallRow]:
            with ctx.uow() as uow:
                return calls.contact_history(uow.session, contact.id, limit=HISTORY_LIMIT)

        self.mw.op(work).success(lambda rows: self._history_loaded(seq, contact, rows)).run()

    def _history_loaded(self, seq: int, contact: ContactSummary, rows: list[CallRow]) -> None:
        if seq != self._seq["history"]:
            return
        keep = self.history_view.currentIndex()
        kept_id = self.history_model.row_at(keep.row()).id if keep.isValid() else None
        same_contact = contact.id == self._history_contact
        self._history_contact = contact.id
        self.history_model.set_rows(rows)
        if kept_id and same_contact:
            self._select_ids(self.history_view, self.history_model, [kept_id])
        self._show_history_title(contact.name, len(rows))
        self._update_actions()

    def _show_history_title(self, name: str = "", count: int = 0) -> None:
        if not name:
            self.history_title.setText(_("Select a contact to see their calls."))
            return
        text = _("Calls of {name} ({count}), newest first").format(name=name, count=count)
        if count >= HISTORY_LIMIT:
            text += _(" — the latest {limit} are shown").format(limit=HISTORY_LIMIT)
        self.history_title.setText(text)

    # --- units --------------------------------------------------------------------------------------

    def new_unit(self) -> None:
        text = self.search_edit.text().strip()
        prefill = text if text and not self.units_model.rowCount() and not _looks_like_phone(text) else ""
        self._open_org_dialog(None, prefill)

    def edit_unit(self) -> None:
        units = self.selected_units()
        if len(units) == 1:
            self._open_org_dialog(units[0].id, "")

    def _open_org_dialog(self, org_id: str | None, prefill: str) -> None:
        dialog = OrgDialog(self.mw, org_id=org_id, prefill_name=prefill)
        dialog.accepted.connect(lambda: self._org_saved(dialog, is_new=org_id is None))
        dialog.finished.connect(lambda _r: self._forget("org_dialog", dialog))
        self.org_dialog = dialog
        dialog.open()

    def _forget(self, name: str, dialog: QWidget) -> None:
        """A closed dialog is deleted and no longer reachable from the page."""
        if getattr(self, name) is dialog:
            setattr(self, name, None)
        dialog.deleteLater()

    def _org_saved(self, dialog: OrgDialog, is_new: bool) -> None:
        self._pending_unit = dialog.org_id
        if is_new:
            # Show the new unit even if the current search would hide it.
            name = dialog.name_edit.text().strip()
            self.kind_combo.setCurrentIndex(0)
            if self.search_edit.text() != name:
                self.search_edit.setText(name)
                return
        self._reload_timer.start()

    def merge_units(self) -> None:
        units = self.selected_units()
        if len(units) < 2:
            return
        with self.mw.ctx.db.session() as session:
            counts = {u.id: count_contacts(session, u.id) for u in units}
        candidates = [
            MergeCandidate(
                u.id,
                (
                    (_("Unit"), u.name),
                    (_("Kind"), kind_label(u.kind)),
                    (_("Site"), u.site_name or _("All sites")),
                    (_("Contacts"), str(counts[u.id])),
                    (_("Notes"), u.notes),
                ),
            )
            for u in units
        ]
        intro = _(
            "These units will become one. Choose the one to keep: the others' contacts move to it and "
            "they disappear from the directory. Calls already recorded are not changed."
        )
        dialog = MergeDialog(self.mw, _("Merge units"), intro, candidates)
        dialog.choose(max(units, key=lambda u: counts[u.id]).id)
        dialog.accepted.connect(lambda: self._run_merge("units", dialog.survivor_id, dialog.duplicate_ids))
        dialog.finished.connect(lambda _r: self._forget("merge_dialog", dialog))
        self.merge_dialog = dialog
        dialog.open()

    # --- contacts -----------------------------------------------------------------------------------

    def new_contact(self) -> None:
        from ui.directory.contact_dialog import ContactDialog

        text = self.search_edit.text().strip()
        nothing_found = not self.contacts_model.rowCount()
        units = self.selected_units()
        dialog = ContactDialog(
            self.mw,
            prefill_phone=text if nothing_found and _looks_like_phone(text) else "",
            prefill_name=text if nothing_found and text and not _looks_like_phone(text) else "",
            prefill_unit=units[0].name if len(units) == 1 else "",
        )
        self._open_contact_dialog(dialog, is_new=True)

    def edit_contact(self) -> None:
        from ui.directory.contact_dialog import ContactDialog

        contacts = self.selected_contacts()
        if len(contacts) == 1:
            self._open_contact_dialog(ContactDialog(self.mw, contact_id=contacts[0].id), is_new=False)

    def _open_contact_dialog(self, dialog: Any, is_new: bool) -> None:
        dialog.accepted.connect(lambda: self._contact_saved(dialog, is_new))
        dialog.finished.connect(lambda _r: self._forget("contact_dialog", dialog))
        self.contact_dialog = dialog
        dialog.open()

    def _contact_saved(self, dialog: Any, is_new: bool) -> None:
        contact_id = getattr(dialog, "contact_id", None)
        self._pending_contact = contact_id
        if is_new and contact_id:
            org_id = getattr(dialog, "org_id", None)
            if not (self._scope and org_id in self._scope):
                with self.mw.ctx.db.session() as session:
                    summary = directory.get_contact(session, contact_id)
                if summary is not None and self.search_edit.text() != summary.name:
                    self.search_edit.setText(summary.name)  # so the new contact is in the list
                    return
        self._reload_timer.start()

    def delete_contacts(self) -> None:
        contacts = self.selected_contacts()
        if not contacts:
            return
        if len(contacts) == 1:
            question = _("Delete the contact “{name}”? Calls already recorded are kept.").format(
                name=contacts[0].name
            )
        else:
            question = _("Delete these {count} contacts? Calls already recorded are kept.").format(
                count=len(contacts)
            )
        if not dialogs.ask(self, question):
            return
        ids, ctx = [c.id for c in contacts], self.mw.ctx

        def work(_op: OpContext) -> int:
            with ctx.uow() as uow:
                for contact_id in ids:
                    directory.delete_contact(uow, contact_id)
            return len(ids)

        self.mw.op(work).success(
            lambda count: self.mw.status_message(_("{count} contacts deleted.").format(count=count))
        ).changes(OpChanges(directory=True)).run()

    def merge_contacts(self) -> None:
        contacts = self.selected_contacts()
        if len(contacts) < 2:
            return
        candidates = [
            MergeCandidate(
                c.id,
                (
                    (_("Name"), c.name),
                    (_("Title"), c.title),
                    (_("Unit"), c.org_name),
                    (_("Phone numbers"), "\n".join(c.phones)),
                ),
            )
            for c in contacts
        ]
        intro = _(
            "These entries will become one contact. Choose the one to keep: the others' phone numbers "
            "move to it and their calls appear in its history. Calls already recorded are not changed."
        )
        dialog = MergeDialog(self.mw, _("Merge contacts"), intro, candidates)
        dialog.choose(max(contacts, key=lambda c: len(c.phones)).id)
        dialog.accepted.connect(lambda: self._run_merge("contacts", dialog.survivor_id, dialog.duplicate_ids))
        dialog.finished.connect(lambda _r: self._forget("merge_dialog", dialog))
        self.merge_dialog = dialog
        dialog.open()

    def _run_merge(self, what: str, survivor_id: str, duplicate_ids: list[str]) -> None:
        if not survivor_id or not duplicate_ids:
            return
        ctx = self.mw.ctx

        def work(_op: OpContext) -> int:
            with ctx.uow() as uow:
                if what == "contacts":
                    return directory.merge_contacts(uow, survivor_id, duplicate_ids)
                return directory.merge_organisations(uow, survivor_id, duplicate_ids)

        def merged(count: int) -> None:
            if what == "contacts":
                self._pending_contact = survivor_id
                self.mw.status_message(_("{count} duplicate contacts merged.").format(count=count))
            else:
                self._pending_unit = survivor_id
                self.mw.status_message(_("{count} duplicate units merged.").format(count=count))

        self.mw.op(work).success(merged).changes(OpChanges(directory=True)).run()

    def new_call(self) -> None:
        self.mw.open_new_call()

    # --- history ------------------------------------------------------------------------------------

    def _open_call(self, index: QModelIndex) -> None:
        if index.isValid():
            self.mw.open_call(self.history_model.row_at(index.row()).id)

    def _open_selected_call(self) -> None:
        self._open_call(self.history_view.currentIndex())


def _looks_like_phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 3 and all(ch.isdigit() or ch in " -+()转#" for ch in text)
