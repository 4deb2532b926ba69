"""The main window: navigation between the parts of the app, the site picker, the status bar.

Pages are plain widgets that take the window (``mw``) and use its small API:

- ``mw.ctx`` (AppContext), ``mw.taskman``, ``mw.op(work)`` to start background work;
- ``mw.site_id`` and the ``site_changed`` signal; ``mw.qsettings`` for remembered layout;
- ``mw.open_new_call()``, ``mw.open_call(call_id)``, ``mw.show_page(name)``;
- ``mw.taskman.operation_did_execute`` (OpChanges) to refresh what changed;
- ``mw.sync`` (SyncController: the shared server), ``mw.open_sync_window()``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from app import messages
from app.context import AppContext
from app.i18n import N_, _
from app.services import reference
from ui.changes import OpChanges
from ui.operations import Op, OpContext, TaskManager
from ui.search_index import SearchIndexer, SearchIndexStatus
from ui.sync.controller import SyncController
from ui.sync.status import SyncStatusWidget
from ui.tickets.board import TicketBoard
from ui.tickets.countdown import Ticker
from ui.tickets.page import DueSoonPanel

log = logging.getLogger("hotline.ui.main")
T = TypeVar("T")
SHANGHAI = ZoneInfo("Asia/Shanghai")

# (page name, label, available now). Later releases fill in tickets, knowledge base and reports.
PAGES: tuple[tuple[str, str, bool], ...] = (
    ("calls", N_("Calls"), True),
    ("directory", N_("Directory"), True),
    ("tickets", N_("Tickets"), True),
    ("kb", N_("Knowledge base"), True),
    ("reports", N_("Reports"), True),
)


class MainWindow(QMainWindow):
    site_changed = Signal(str)

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.taskman = TaskManager(self)
        self.qsettings = QSettings(str(ctx.paths.root / "window.ini"), QSettings.Format.IniFormat)
        self._site_id = ctx.current_site_id()
        self.call_form: Any = None
        self.setWindowTitle(_("Hotline Console"))
        self.setObjectName("MainWindow")

        from ui.calls.list_page import CallsPage

        self.calls_page = CallsPage(self)
        self._directory_page: Any = None  # built when first shown: start-up shows the call list only
        self.sync_window: Any = None
        self.sync = SyncController(self)
        self.indexer = SearchIndexer(self)
        self.ticker = Ticker(parent=self)
        self.tickets_board = TicketBoard(self, self.ticker)
        self._tickets_page: Any = None  # built on first visit
        self._kb_page: Any = None  # built on first visit
        self._reports_page: Any = None  # built on first visit
        self._tray: Any = None
        self._ticket_windows: list[Any] = []
        self._build_toolbar()
        self._build_pages()
        self._build_status_bar()
        messages.add_listener(self._on_message)
        self.taskman.operation_did_execute.connect(self._on_changes)
        self._restore_layout()
        self._settled = False
        self.calls_page.model.first_page_shown.connect(self._after_first_page)

    # --- API for pages ----------------------------------------------------------------------------

    @property
    def site_id(self) -> str:
        return self._site_id

    def op(self, work: Callable[[OpContext], T]) -> Op[T]:
        return Op(self, self.taskman, work)

    def open_new_call(self, draft: Any = None) -> None:
        from ui.calls.form import CallForm

        if self.call_form is not None and self.call_form.isVisible():
            self.call_form.raise_()
            self.call_form.activateWindow()
            return
        self.call_form = CallForm(self, draft=draft)
        self.call_form.finished.connect(self._call_form_closed)
        self.call_form.show()

    def open_call(self, call_id: str) -> None:
        from ui.calls.detail import CallDetailDialog

        CallDetailDialog(self, call_id).show()

    def _put_page(self, name: str, page: QWidget) -> None:
        """A page built on first use takes its placeholder's place in the stack."""
        index = self._page_index(name)
        current = self.stack.currentIndex()
        placeholder = self.stack.widget(index)
        self.stack.insertWidget(index, page)
        if placeholder is not None:
            self.stack.removeWidget(placeholder)
            placeholder.deleteLater()
        self.stack.setCurrentIndex(current)

    @property
    def directory_page(self) -> Any:
        """The directory page, built (and put in its place in the stack) on first use."""
        if self._directory_page is None:
            from ui.directory.page import DirectoryPage

            page = DirectoryPage(self)
            page.restore_state(self.qsettings)
            self._put_page("directory", page)
            self._directory_page = page
        return self._directory_page

    @property
    def tickets_page(self) -> Any:
        """The ticket list, built (and put in its place in the stack) on first use."""
        if self._tickets_page is None:
            from ui.tickets.page import TicketsPage

            page = TicketsPage(self, self.tickets_board)
            self._put_page("tickets", page)
            self._tickets_page = page
        return self._tickets_page

    @property
    def kb_page(self) -> Any:
        """The knowledge base, built (and put in its place in the stack) on first use."""
        if self._kb_page is None:
            from ui.kb.page import KnowledgePage

            page = KnowledgePage(self)
            self._put_page("kb", page)
            self._kb_page = page
        return self._kb_page

    @property
    def reports_page(self) -> Any:
        """The reports, built (and put in its place in the stack) on first use."""
        if self._reports_page is None:
            from ui.reports.page import ReportsPage

            page = ReportsPage(self)
            self._put_page("reports", page)
            self._reports_page = page
        return self._reports_page

    def new_article(self, call_id: str | None = None, ticket_id: str | None = None) -> None:
        """A new article, prefilled from a call or a ticket and linked to it when one is given."""
        from app.services import kb

        ctx = self.ctx

        def work(_op: OpContext) -> kb.ArticleInput | None:
            with ctx.db.session() as session:
                if call_id is not None:
                    return kb.input_from_call(session, call_id)
                if ticket_id is not None:
                    return kb.input_from_ticket(session, ticket_id)
                return None

        self.op(work).success(
            lambda prefill: self.kb_page.open_editor(None, prefill, call_id=call_id, ticket_id=ticket_id)
        ).run()

    def open_article(self, article_id: str) -> None:
        """Show an article on the knowledge-base page, the main window brought forward."""
        self.show_page("kb")
        self.kb_page.show_article(article_id)
        self.raise_()
        self.activateWindow()

    def open_ticket(self, ticket_id: str | None, from_call: str | None = None) -> None:
        """Open a ticket (None: a new one, from the call ``from_call`` if given)."""
        from ui.tickets.dialog import TicketDialog

        self._ticket_windows = [w for w in self._ticket_windows if w.isVisible()]
        if ticket_id is not None:
            for window in self._ticket_windows:  # already open: bring it forward, not a second copy
                if window.ticket_id == ticket_id:
                    window.raise_()
                    window.activateWindow()
                    return
        dialog = TicketDialog(self, ticket_id, from_call=from_call)
        self._ticket_windows.append(dialog)
        dialog.show()

    def notify(self, title: str, text: str) -> None:
        """A warning the engineer should see even in another program: a desktop notification where
        the system has a tray; the status bar always."""
        self.status_message(text, 30_000)
        from PySide6.QtWidgets import QSystemTrayIcon

        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        if self._tray is None:
            self._tray = QSystemTrayIcon(self.windowIcon(), self)
            self._tray.setToolTip(_("Hotline Console"))
            self._tray.show()
        self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 15_000)

    @staticmethod
    def _page_index(name: str) -> int:
        return next(row for row, (page_name, _label, _enabled) in enumerate(PAGES) if page_name == name)

    def show_page(self, name: str) -> None:
        for row, (page_name, _label, _enabled) in enumerate(PAGES):
            if page_name == name:
                self.nav.setCurrentRow(row)

    def status_message(self, text: str, msecs: int = 5000) -> None:
        self.statusBar().showMessage(text, msecs)

    # --- construction -----------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = QToolBar(_("Main toolbar"), self)
        bar.setObjectName("MainToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.new_call_action = QAction(_("New call"), self)
        self.new_call_action.setShortcut(QKeySequence("Ctrl+N"))
        self.new_call_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.new_call_action.setToolTip(_("Record a new call (Ctrl+N)"))
        self.new_call_action.triggered.connect(lambda: self.open_new_call())
        bar.addAction(self.new_call_action)
        bar.addSeparator()
        bar.addWidget(QLabel(_("Service site:") + " "))
        self.site_combo = QComboBox(self)
        self.site_combo.setObjectName("siteCombo")
        self.site_combo.setMinimumContentsLength(8)
        self._fill_sites()
        self.site_combo.currentIndexChanged.connect(self._site_picked)
        bar.addWidget(self.site_combo)
        spacer = QWidget(self)
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        bar.addWidget(spacer)
        self.sync_action = QAction(_("Sync now"), self)
        self.sync_action.setObjectName("syncNow")
        self.sync_action.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.sync_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.sync_action.setToolTip(_("Synchronise with the shared server now (F5)"))
        self.sync_action.triggered.connect(self.sync.sync_now)
        bar.addAction(self.sync_action)
        self.sync_window_action = QAction(_("Sync window"), self)
        self.sync_window_action.setToolTip(_("Sync log, conflicts and parked changes"))
        self.sync_window_action.triggered.connect(self.open_sync_window)
        bar.addAction(self.sync_window_action)
        self.settings_action = QAction(_("Settings"), self)
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.triggered.connect(self._open_settings)
        bar.addAction(self.settings_action)
        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._focus_search)
        self.addAction(find)

    def _fill_sites(self) -> None:
        with self.ctx.db.session() as session:
            sites = reference.list_sites(session)
        self.site_combo.blockSignals(True)
        self.site_combo.clear()
        for site in sites:
            self.site_combo.addItem(site.name, site.id)
        index = self.site_combo.findData(self._site_id)
        self.site_combo.setCurrentIndex(max(index, 0))
        self.site_combo.blockSignals(False)
        if sites and index < 0:
            self._site_id = sites[0].id

    def _build_pages(self) -> None:
        self.nav = QListWidget(self)
        self.nav.setObjectName("navigation")
        self.nav.setFixedWidth(112)
        self.nav.setFrameShape(QListWidget.Shape.NoFrame)
        self.nav.setStyleSheet(
            "QListWidget#navigation { background: palette(window); border-right: 1px solid palette(mid); }"
            "QListWidget#navigation::item { padding: 10px 14px; }"
        )
        self.stack = QStackedWidget(self)
        for name, label, enabled in PAGES:
            item = QListWidgetItem(_(label))
            if not enabled:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(_("Coming in a later release"))
            self.nav.addItem(item)
            self.stack.addWidget(self.calls_page if name == "calls" else QWidget(self))
        self.due_soon = DueSoonPanel(self, self.tickets_board)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.due_soon)
        self.nav.currentRowChanged.connect(self._show_row)
        self.nav.setCurrentRow(0)
        central = QWidget(self)
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _start_tickets(self) -> None:
        self.ticker.start()
        self.tickets_board.reload()

    def _after_first_page(self) -> None:
        """Once the list is on screen, take what start-up built (it lives all session) out of the
        garbage collector's full passes, which would otherwise walk it again and again while the
        engineer types."""
        if self._settled:
            return
        self._settled = True
        QTimer.singleShot(0, self, self._start_tickets)  # after the calls: start-up shows those first
        import gc

        gc.freeze()

    def _show_row(self, row: int) -> None:
        if row == self._page_index("directory"):
            self.directory_page  # noqa: B018 - builds it on first visit
        if row == self._page_index("tickets"):
            self.tickets_page  # noqa: B018 - builds it on first visit
        if row == self._page_index("kb"):
            self.kb_page  # noqa: B018 - builds it on first visit
        if row == self._page_index("reports"):
            self.reports_page  # noqa: B018 - builds it on first visit
        self.stack.setCurrentIndex(row)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.index_status = SearchIndexStatus(self.indexer, self)
        bar.addPermanentWidget(self.index_status)
        self.indexer.remaining_changed.connect(self.calls_page.set_unindexed)
        self.sync_status = SyncStatusWidget(self)
        self.sync_status.clicked.connect(self.open_sync_window)
        self.sync.status_changed.connect(self.sync_status.show_status)
        self.sync_status.show_status(self.sync.status)
        bar.addPermanentWidget(self.sync_status)
        self.engineer_label = QLabel(self)
        self.site_label = QLabel(self)
        self.clock_label = QLabel(self)
        for label in (self.engineer_label, self.site_label, self.clock_label):
            bar.addPermanentWidget(label)
        self._update_status_labels()
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)
        self._tick()

    def _update_status_labels(self) -> None:
        engineer = self.ctx.engineer or _("(not set)")
        self.engineer_label.setText(_("Engineer: {name}").format(name=engineer))
        self.site_label.setText(_("Site: {name}").format(name=self.site_combo.currentText()))

    def _tick(self) -> None:
        now = dt.datetime.now(SHANGHAI)
        self.clock_label.setText(now.strftime("%Y-%m-%d %H:%M:%S"))

    # --- behaviour --------------------------------------------------------------------------------

    def _site_picked(self, _index: int) -> None:
        site_id = self.site_combo.currentData()
        if not site_id or site_id == self._site_id:
            return
        self._site_id = str(site_id)
        self.ctx.settings["site_id"] = self._site_id
        self._save_settings_quietly()
        self._update_status_labels()
        self.site_changed.emit(self._site_id)

    def _save_settings_quietly(self) -> None:
        try:
            self.ctx.settings.save()
        except OSError as exc:
            log.warning("settings not saved: %s", exc)
            self.status_message(_("Settings could not be saved: {error}").format(error=exc.strerror or exc))

    def _open_settings(self) -> None:
        from ui.settings.dialog import SettingsDialog

        dialog = SettingsDialog(self)
        dialog.exec()

    def open_sync_window(self) -> None:
        from ui.sync.dialog import SyncDialog

        if self.sync_window is None:
            self.sync_window = SyncDialog(self)
        else:
            self.sync_window.reload()
        self.sync_window.show()
        self.sync_window.raise_()
        self.sync_window.activateWindow()

    def _focus_search(self) -> None:
        if self.stack.currentWidget() is self.calls_page:
            self.calls_page.focus_search()
        elif self._directory_page is not None and self.stack.currentWidget() is self._directory_page:
            self.directory_page.focus_search()
        elif self._kb_page is not None and self.stack.currentWidget() is self._kb_page:
            self.kb_page.focus_search()

    def _on_changes(self, changes: OpChanges) -> None:
        if changes.reference:
            self._fill_sites()
        if changes.settings or changes.reference:
            self._update_status_labels()

    def _on_message(self, message: messages.Message) -> None:
        if message.level is messages.Level.INFO:
            self.status_message(message.text)
        else:
            from ui.dialogs import warn

            warn(self, message.text)

    def _call_form_closed(self, _result: int) -> None:
        self.call_form = None

    def after_show(self) -> None:
        """First-run questions and draft recovery, once the window is on screen."""
        if not self.ctx.engineer:
            from ui.settings.dialog import FirstRunDialog

            FirstRunDialog(self).exec()
            self._update_status_labels()
        draft = self.ctx.drafts.load()
        if draft is not None:
            from ui.dialogs import ask

            when = draft.started_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            if ask(
                self, _("An unfinished call from {when} was kept. Open it to finish it?").format(when=when)
            ):
                self.open_new_call(draft=draft)
            else:
                self.ctx.drafts.discard()

    # --- layout memory ----------------------------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry = self.qsettings.value("main/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self.qsettings.value("main/state")
        if state is not None:
            self.restoreState(state)
        self.calls_page.restore_state(self.qsettings)

    def save_layout(self) -> None:
        self.qsettings.setValue("main/geometry", self.saveGeometry())
        self.qsettings.setValue("main/state", self.saveState())
        self.calls_page.save_state(self.qsettings)
        if self._directory_page is not None:
            self.directory_page.save_state(self.qsettings)
        self.qsettings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.call_form is not None and self.call_form.isVisible():
            self.call_form.save_draft_now()
        self.save_layout()
        messages.remove_listener(self._on_message)
        self.sync.shutdown()  # stops the running sync and closes the connection, so waiting is short
        self.indexer.shutdown()  # what is indexed stays; the rest is indexed at the next start
        self.ticker.stop()
        self.taskman.wait_for_idle(10_000)
        super().closeEvent(event)
