"""The call list page (来电记录): every call, newest first, filtered and searched, a million without
loading them (the model fetches only the rows on screen; see ``list_model``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QModelIndex, QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _
from ui.calls.filters import CallFilters
from ui.calls.list_model import COLUMN_INDEX, COLUMNS, CallListModel
from ui.changes import OpChanges

if TYPE_CHECKING:
    from ui.main_window import MainWindow

HEADER_KEY = "calls/header"
HIDDEN_BY_DEFAULT = ("module", "duration")


class CallTableView(QTableView):
    """Enter opens the current call, like a double-click."""

    def __init__(self, page: CallsPage) -> None:
        super().__init__(page)
        self._page = page

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._page.open_current()
            event.accept()
            return
        super().keyPressEvent(event)


class CallsPage(QWidget):
    def __init__(self, mw: MainWindow) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setObjectName("callsPage")
        self._reselect_key: int | None = None
        self._started = False

        self.filters = CallFilters(mw, self)
        self.filters.query_changed.connect(self.refresh)

        self.model = CallListModel(mw, self)
        self.model.search_started.connect(self._search_started)
        self.model.search_finished.connect(self._search_finished)

        self.view = CallTableView(self)
        self.view.setObjectName("callTable")
        self.view.setModel(self.model)
        # Connected after setModel, so these run after the view's own reset handling.
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setSortingEnabled(False)  # always newest first: the key order is the time order
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._row_menu)
        self.ticket_action = QAction(_("Create ticket from this call"), self)
        self.ticket_action.setObjectName("createTicketFromCall")
        self.ticket_action.setShortcut(QKeySequence("Ctrl+T"))
        self.ticket_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.ticket_action.triggered.connect(self.create_ticket_from_current)
        self.addAction(self.ticket_action)
        vertical = self.view.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row sizing: rows stay lazy
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.view.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self._default_columns()
        self._default_header_state = header.saveState()

        self.empty_label = QLabel(self)
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("QLabel { color: palette(mid); font-size: 15px; }")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty_label)

        self.count_label = QLabel(self)
        self.count_label.setObjectName("callCount")
        self.searching_label = QLabel(_("Searching…"), self)
        self.searching_label.setObjectName("searching")
        self.searching_label.setStyleSheet("QLabel { color: palette(mid); }")
        self.searching_label.hide()
        self._unindexed = 0
        self.index_note = QLabel(self)
        self.index_note.setObjectName("indexNote")
        self.index_note.setStyleSheet("QLabel { color: #b35c00; }")
        self.index_note.hide()

        status = QHBoxLayout()
        status.setContentsMargins(0, 0, 0, 0)
        status.addWidget(self.count_label)
        status.addSpacing(12)
        status.addWidget(self.searching_label)
        status.addSpacing(12)
        status.addWidget(self.index_note)
        status.addStretch(1)
        hint = QLabel(
            _("Enter or double-click opens a call · right-click the header to choose columns"), self
        )
        hint.setStyleSheet("QLabel { color: palette(mid); }")
        status.addWidget(hint)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.setSpacing(6)
        layout.addWidget(self.filters)
        layout.addWidget(self.stack, 1)
        layout.addLayout(status)
        QWidget.setTabOrder(self.filters.engineer_combo, self.view)

        mw.taskman.operation_did_execute.connect(self._on_changes)
        mw.site_changed.connect(self._site_changed)
        # The window restores the filters right after building the page and that searches; this is for
        # a page built without a restore.
        QTimer.singleShot(0, self, self._first_search)

    # --- columns ----------------------------------------------------------------------------------

    def _default_columns(self) -> None:
        header = self.view.horizontalHeader()
        for index, column in enumerate(COLUMNS):
            header.resizeSection(index, column.width)
            header.setSectionHidden(index, column.name in HIDDEN_BY_DEFAULT)
        self._stretch_question()

    def _stretch_question(self) -> None:
        # The question takes whatever width the other columns leave, so the list fits the window.
        self.view.horizontalHeader().setSectionResizeMode(
            COLUMN_INDEX["question"], QHeaderView.ResizeMode.Stretch
        )

    def _header_menu(self, pos: QPoint) -> None:
        menu = self.column_menu()
        menu.exec(self.view.horizontalHeader().mapToGlobal(pos))
        menu.deleteLater()

    def column_menu(self) -> QMenu:
        """One checkable entry per column, and a way back to the default layout."""
        header = self.view.horizontalHeader()
        menu = QMenu(self)
        for index, column in enumerate(COLUMNS):
            action = QAction(_(column.title), menu)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(index))
            action.toggled.connect(lambda checked, i=index: self.set_column_visible(i, checked))
            menu.addAction(action)
        menu.addSeparator()
        reset = QAction(_("Restore default columns"), menu)
        reset.triggered.connect(self.reset_columns)
        menu.addAction(reset)
        return menu

    def set_column_visible(self, index: int, visible: bool) -> None:
        header = self.view.horizontalHeader()
        if not visible and header.count() - header.hiddenSectionCount() <= 1:
            return  # keep at least one column
        header.setSectionHidden(index, not visible)

    def reset_columns(self) -> None:
        self.view.horizontalHeader().restoreState(self._default_header_state)
        self._stretch_question()

    # --- searching --------------------------------------------------------------------------------

    def _first_search(self) -> None:
        if not self._started:
            self.refresh()

    def refresh(self) -> None:
        """Search again with the current filters (the old rows stay until the result arrives)."""
        self._started = True
        self.model.search(self.filters.query())

    def _search_started(self) -> None:
        self.searching_label.show()

    def set_unindexed(self, remaining: int) -> None:
        """Calls not yet in the search index (after a large first sync): a search by words says so."""
        self._unindexed = remaining
        self._show_index_note()

    def _show_index_note(self) -> None:
        count = self._unindexed or self.model.unindexed  # the indexer's count is the fresher one
        self.index_note.setVisible(bool(self.filters.query().text) and self.model.unindexed > 0 and count > 0)
        self.index_note.setText(
            _("{count} calls are not indexed for search yet; a search by words may miss them.").format(
                count=f"{count:,}"
            )
        )

    def _search_finished(self, count: int) -> None:
        self._show_index_note()
        self.searching_label.setVisible(self.model.searching)
        self.count_label.setText(_("{count} calls").format(count=f"{count:,}"))
        if count:
            self.stack.setCurrentWidget(self.view)
            return
        if not self.model.any_calls:
            text = _("No calls recorded yet.\nPress Ctrl+N to record the first call.")
        else:
            text = _("No calls match the filters.")
        self.empty_label.setText(text)
        self.stack.setCurrentWidget(self.empty_label)

    def _remember_selection(self) -> None:
        index = self.view.currentIndex()
        self._reselect_key = self.model.key_at(index.row()) if index.isValid() else None
        self._reselect_column = index.column() if index.isValid() else 0

    def _restore_selection(self) -> None:
        if self._reselect_key is None:
            return
        row = self.model.row_of_key(self._reselect_key)
        self._reselect_key = None
        if row is None:
            return
        index = self.model.index(row, self._reselect_column)
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)

    def _on_changes(self, changes: OpChanges) -> None:
        if changes.reference:
            self.filters.reload_choices()
        if changes.calls:
            self.filters.reload_engineers()
        if changes.calls or changes.reference:
            self.refresh()

    def _site_changed(self, site_id: str) -> None:
        self.filters.follow_site(site_id)

    # --- opening ----------------------------------------------------------------------------------

    def current_call_id(self) -> str | None:
        index = self.view.currentIndex()
        return self.model.call_id_at(index.row()) if index.isValid() else None

    def open_current(self) -> None:
        call_id = self.current_call_id()
        if call_id is not None:
            self.mw.open_call(call_id)

    def create_ticket_from_current(self) -> None:
        """转工单 (Ctrl+T): a new ticket prefilled from the selected call, linked to it on save."""
        call_id = self.current_call_id()
        if call_id is not None:
            self.mw.open_ticket(None, from_call=call_id)

    def row_menu(self) -> QMenu:
        menu = QMenu(self)
        open_action = QAction(_("Open"), menu)
        open_action.triggered.connect(self.open_current)
        menu.addAction(open_action)
        menu.addAction(self.ticket_action)
        return menu

    def _row_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        self.view.setCurrentIndex(index)
        menu = self.row_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _double_clicked(self, index: QModelIndex) -> None:
        call_id = self.model.call_id_at(index.row())
        if call_id is not None:
            self.mw.open_call(call_id)

    # --- page API ---------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.filters.focus_search()

    def save_state(self, qsettings: QSettings) -> None:
        qsettings.setValue(HEADER_KEY, self.view.horizontalHeader().saveState())
        self.filters.save_state(qsettings)

    def restore_state(self, qsettings: QSettings) -> None:
        state = qsettings.value(HEADER_KEY)
        if isinstance(state, QByteArray | bytes) and not self.view.horizontalHeader().restoreState(state):
            self.reset_columns()
        self._stretch_question()
        self.filters.restore_state(qsettings)
        self.refresh()
