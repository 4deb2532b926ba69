"""The knowledge-base page: one search box over articles, tickets and earlier calls (as you type,
ranked, matched words marked), filters, the article on the right, and the actions on articles."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _
from app.search.kb import KbFilters
from app.services import kb, reference
from ui import dialogs
from ui.changes import OpChanges
from ui.kb.view import ArticleData, ArticleView, HitList, marked_html, meta_of
from ui.operations import OpContext

SEARCH_DELAY_MS = 120  # as you type: wait for a pause this long before searching
STATUS_CHOICES = (
    ("current", ("published", "draft")),
    ("published", ("published",)),
    ("draft", ("draft",)),
    ("archived", ("archived",)),
    ("all", ("published", "draft", "archived")),
)


@dataclass(frozen=True)
class Choices:
    systems: list[tuple[str, str]]
    modules: dict[str, list[tuple[str, str]]]
    tags: list[str]
    names: dict[str, str]


class KnowledgePage(QWidget):
    def __init__(self, mw: Any) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setObjectName("KnowledgePage")
        self._seq = 0
        self._shown_seq = 0
        self._names: dict[str, str] = {}
        self._current: str | None = None
        self._build()
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.search_now)
        mw.taskman.operation_did_execute.connect(self._on_changes)
        mw.site_changed.connect(lambda _site: self.reload_choices())
        self.reload_choices()

    # --- construction -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("kbSearch")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setPlaceholderText(
            _("Search articles, tickets and calls: words, error codes, pinyin initials…")
        )
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.system_combo = QComboBox(self)
        self.module_combo = QComboBox(self)
        self.type_combo = QComboBox(self)
        self.tag_combo = QComboBox(self)
        self.status_combo = QComboBox(self)
        self.type_combo.addItem(_("All types"), None)
        for code, label in kb.ARTICLE_TYPES.items():
            self.type_combo.addItem(_(label), code)
        labels = {"current": _("Published and drafts"), "published": _("Published"), "draft": _("Drafts"),
                  "archived": _("Archived"), "all": _("All statuses")}  # fmt: skip
        for code, statuses in STATUS_CHOICES:
            self.status_combo.addItem(labels[code], statuses)
        self.system_combo.currentIndexChanged.connect(self._system_changed)
        for combo in (self.module_combo, self.type_combo, self.tag_combo, self.status_combo):
            combo.currentIndexChanged.connect(lambda _i: self.search_now())

        filters = QHBoxLayout()
        for widget in (
            self.system_combo,
            self.module_combo,
            self.type_combo,
            self.tag_combo,
            self.status_combo,
        ):
            filters.addWidget(widget, 1)

        self.new_button = QPushButton(_("&New article"), self)
        self.edit_button = QPushButton(_("&Edit"), self)
        self.publish_button = QPushButton(_("&Publish"), self)
        self.archive_button = QPushButton(_("Arc&hive"), self)
        self.history_button = QPushButton(_("&History"), self)
        self.pdf_button = QPushButton(_("Print / PDF…"), self)
        self.delete_button = QPushButton(_("Delete"), self)
        self.synonyms_button = QPushButton(_("Synonyms…"), self)
        self.canned_button = QPushButton(_("Canned answers…"), self)
        self.transfer_button = QPushButton(_("Import / export"), self)
        self.transfer_button.setObjectName("kbTransfer")
        transfer_menu = QMenu(self.transfer_button)
        for text, slot in (
            (_("Import a folder of Markdown files…"), lambda: self._import("md")),
            (_("Import an Excel sheet…"), lambda: self._import("xlsx")),
            (None, None),
            (_("Export as Markdown files…"), lambda: self._export("md")),
            (_("Export as an Excel sheet…"), lambda: self._export("xlsx")),
        ):
            if text is None:
                transfer_menu.addSeparator()
            else:
                transfer_menu.addAction(text).triggered.connect(slot)
        self.transfer_button.setMenu(transfer_menu)
        self.new_button.clicked.connect(lambda: self.open_editor(None))
        self.edit_button.clicked.connect(lambda: self.open_editor(self._current))
        self.publish_button.clicked.connect(lambda: self._set_status("published"))
        self.archive_button.clicked.connect(lambda: self._set_status("archived"))
        self.history_button.clicked.connect(self._show_history)
        self.pdf_button.clicked.connect(self._save_pdf)
        self.delete_button.clicked.connect(self._delete)
        self.synonyms_button.clicked.connect(self._edit_synonyms)
        self.canned_button.clicked.connect(self._edit_canned)
        actions = QHBoxLayout()
        for button in (self.new_button, self.edit_button, self.publish_button, self.archive_button,
                       self.history_button, self.pdf_button, self.delete_button):  # fmt: skip
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.transfer_button)
        actions.addWidget(self.synonyms_button)
        actions.addWidget(self.canned_button)

        self.articles = HitList(self)
        self.articles.setObjectName("kbArticles")
        self.articles.currentItemChanged.connect(self._article_picked)
        self.tickets = HitList(self)
        self.tickets.itemActivated.connect(
            lambda item: self.mw.open_ticket(item.data(Qt.ItemDataRole.UserRole))
        )
        self.calls = HitList(self)
        self.calls.itemActivated.connect(
            lambda item: (
                self.mw.open_call(item.data(Qt.ItemDataRole.UserRole))
                if item.data(Qt.ItemDataRole.UserRole)
                else None
            )
        )
        self.results = QTabWidget(self)
        self.results.addTab(self.articles, _("Articles"))
        self.results.addTab(self.tickets, _("Tickets"))
        self.results.addTab(self.calls, _("Earlier calls"))
        self.count_label = QLabel(self)
        self.count_label.setStyleSheet("color: gray")
        left = QWidget(self)
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        left_box.addWidget(self.results, 1)
        left_box.addWidget(self.count_label)
        self.view = ArticleView(self)
        self.splitter = QSplitter(self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.view)
        self.splitter.setSizes([420, 620])

        layout = QVBoxLayout(self)
        layout.addWidget(self.search_edit)
        layout.addLayout(filters)
        layout.addLayout(actions)
        layout.addWidget(self.splitter, 1)
        QShortcut(QKeySequence("Ctrl+N"), self, lambda: self.open_editor(None))
        self.search_edit.returnPressed.connect(self._focus_results)
        self._update_actions()

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _focus_results(self) -> None:
        if self.articles.count():
            self.articles.setFocus()
            self.articles.setCurrentRow(0)

    # --- choices ------------------------------------------------------------------------------------

    def reload_choices(self) -> None:
        ctx, site_id = self.mw.ctx, self.mw.site_id

        def work(_op: OpContext) -> Choices:
            with ctx.db.session() as session:
                systems = reference.list_systems(session, site_id)
                all_systems = reference.list_systems(session, None)
                modules = reference.list_modules(session, None)
                names = {s.id: s.name for s in all_systems} | {m.id: m.name for m in modules}
                by_system: dict[str, list[tuple[str, str]]] = {}
                for m in modules:
                    by_system.setdefault(m.system_id, []).append((m.id, m.name))
                return Choices([(s.id, s.name) for s in systems], by_system, kb.all_tags(session), names)

        self.mw.op(work).success(self._choices_loaded).run()

    def _choices_loaded(self, choices: Choices) -> None:
        self._names, self._modules = choices.names, choices.modules
        for combo, first, items in (
            (self.system_combo, _("All systems"), choices.systems),
            (self.tag_combo, _("All tags"), [(t, t) for t in choices.tags]),
        ):
            keep = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(first, None)
            for value, label in items:
                combo.addItem(label, value)
            combo.setCurrentIndex(max(0, combo.findData(keep)))
            combo.blockSignals(False)
        self._system_changed()

    def _system_changed(self, _index: int = 0) -> None:
        keep = self.module_combo.currentData()
        self.module_combo.blockSignals(True)
        self.module_combo.clear()
        self.module_combo.addItem(_("All modules"), None)
        for module_id, name in getattr(self, "_modules", {}).get(self.system_combo.currentData(), []):
            self.module_combo.addItem(name, module_id)
        self.module_combo.setCurrentIndex(max(0, self.module_combo.findData(keep)))
        self.module_combo.blockSignals(False)
        self.search_now()

    # --- searching ----------------------------------------------------------------------------------

    def filters(self) -> KbFilters:
        return KbFilters(
            site_id=self.mw.site_id,
            system_id=self.system_combo.currentData(),
            module_id=self.module_combo.currentData(),
            article_type=self.type_combo.currentData(),
            tag=self.tag_combo.currentData(),
            statuses=tuple(self.status_combo.currentData() or ("published", "draft")),
        )

    def search_now(self) -> None:
        self._search_timer.stop()
        self._seq += 1
        seq, text, filters, ctx = self._seq, self.search_edit.text(), self.filters(), self.mw.ctx

        def work(_op: OpContext) -> kb.SearchResult:
            if seq != self._seq:  # typed on meanwhile: this answer would be thrown away
                return kb.SearchResult([])
            with ctx.db.session() as session:
                return kb.search_everything(session, text, filters, limit=50, as_you_type=True)

        self.mw.op(work).success(lambda result: self._show(seq, result)).run()

    def _show(self, seq: int, result: kb.SearchResult) -> None:
        if seq != self._seq:
            return
        self._shown_seq = seq
        keep = self._current
        self.articles.blockSignals(True)
        self.articles.clear()
        for hit in result.articles:
            self.articles.add_hit(hit.id, self._hit_html(hit), hit.title)
        self.articles.blockSignals(False)
        rows = [self.articles.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.articles.count())]
        if keep in rows:
            self.articles.setCurrentRow(rows.index(keep))
        elif rows:
            self.articles.setCurrentRow(0)
        else:
            self._current = None
            self.view.show_article(None, _("No article matches.") if self.search_edit.text().strip() else "")
            self._update_actions()
        self._fill_simple(
            self.tickets, [(t.id, f"{t.number}  {t.title}", marked_html(t.snippet)) for t in result.tickets]
        )
        calls = []
        for c in result.calls:
            when = c.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
            calls.append((c.id, f"{when}  {c.unit_name}", marked_html(c.snippet)))
        self._fill_simple(self.calls, calls)
        self.results.setTabText(0, _("Articles ({n})").format(n=len(result.articles)))
        self.results.setTabText(1, _("Tickets ({n})").format(n=len(result.tickets)))
        if result.calls_deferred:  # one character typed of the word: the calls follow with the next
            self.results.setTabText(2, _("Earlier calls"))
            wait = html.escape(_("Type one more character to search the earlier calls."))
            hint = self.calls.add_hit("", f'<span style="color:gray">{wait}</span>')
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
        else:
            self.results.setTabText(2, _("Earlier calls ({n})").format(n=len(result.calls)))
        self.count_label.setText(_("Double-click a ticket or a call to open it."))

    def _hit_html(self, hit: kb.ArticleHit) -> str:
        facts = [kb.type_label(hit.kind)]
        if hit.status != "published":
            facts.append(kb.status_label(hit.status))
        for ref in (hit.system_id, hit.module_id):
            if ref and ref in self._names:
                facts.append(self._names[ref])
        if hit.uses:
            facts.append(_("used {n}×").format(n=hit.uses))
        return (
            f"<b>{marked_html(hit.title_marks)}</b><br>"
            f'<span style="color:#555">{marked_html(hit.snippet)}</span><br>'
            f'<span style="color:gray; font-size:small">{" · ".join(facts)}</span>'
        )

    def _fill_simple(self, widget: HitList, rows: list[tuple[str, str, str]]) -> None:
        widget.clear()
        for row_id, head, snippet in rows:
            widget.add_hit(row_id, f"<b>{html.escape(head)}</b><br>{snippet}")

    # --- the article --------------------------------------------------------------------------------

    def _article_picked(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        article_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        self._current = article_id
        self._update_actions()
        if article_id is None:
            return
        self.load_article(article_id)

    def show_article(self, article_id: str) -> None:
        """Show one article (a link from a call or a ticket), whatever the list shows."""
        self.results.setCurrentWidget(self.articles)
        matching = self.articles.findItems("*", Qt.MatchFlag.MatchWildcard)
        rows = [item for item in matching if item.data(Qt.ItemDataRole.UserRole) == article_id]
        if rows:  # it is among the hits: select it there (which loads it)
            self.articles.setCurrentItem(rows[0])
            return
        self.articles.setCurrentRow(-1)
        self._current = article_id
        self._update_actions()
        self.load_article(article_id)

    def load_article(self, article_id: str) -> None:
        ctx, names = self.mw.ctx, dict(self._names)

        def work(_op: OpContext) -> ArticleData | None:
            with ctx.db.session() as session:
                article = kb.get_article(session, article_id)
                if article is None:
                    return None
                history = kb.versions(session, article_id)
                uses = kb.uses(session, [article_id]).get(article_id, 0)
                latest = history[-1] if history else None
                return ArticleData(
                    id=article.id, title=article.title, symptom=article.symptom, cause=article.cause,
                    solution=article.solution, meta=meta_of(article, names, latest, uses),
                    images=kb.images_of(session, article_id), status=article.status,
                )  # fmt: skip

        def shown(data: ArticleData | None) -> None:
            if self._current == article_id:
                self.view.show_article(data, _("This article no longer exists."))
                self._update_actions()

        self.mw.op(work).success(shown).run()

    def _update_actions(self) -> None:
        data = self.view.data
        has = self._current is not None
        for button in (self.edit_button, self.history_button, self.pdf_button, self.delete_button):
            button.setEnabled(has)
        self.publish_button.setEnabled(has and data is not None and data.status != "published")
        self.archive_button.setEnabled(has and data is not None and data.status != "archived")

    def open_editor(self, article_id: str | None, prefill: kb.ArticleInput | None = None,
                    call_id: str | None = None, ticket_id: str | None = None) -> None:  # fmt: skip
        from ui.kb.editor import ArticleEditor

        editor = ArticleEditor(self.mw, article_id, prefill, call_id=call_id, ticket_id=ticket_id)
        editor.saved.connect(self._saved)
        editor.show()

    def _saved(self, article_id: str) -> None:
        self._current = article_id
        self.mw.status_message(_("Article saved."))

    def _set_status(self, status: str) -> None:
        article_id, ctx, engineer = self._current, self.mw.ctx, self.mw.ctx.engineer or ""
        if article_id is None:
            return

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                kb.set_status(uow, article_id, status, engineer, dt.datetime.now(dt.UTC))

        self.mw.op(work).changes(OpChanges(kb=True)).run()

    def _delete(self) -> None:
        article_id, ctx = self._current, self.mw.ctx
        if article_id is None or self.view.data is None:
            return
        if not dialogs.ask(
            self, _("Delete the article “{title}” on every computer?").format(title=self.view.data.title)
        ):
            return

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                kb.delete_article(uow, article_id)

        self.mw.op(work).changes(OpChanges(kb=True)).run()

    def _show_history(self) -> None:
        if self._current is None:
            return
        from ui.kb.history import HistoryDialog

        HistoryDialog(self.mw, self._current, dict(self._names)).show()

    def _save_pdf(self) -> None:
        if self._current is None or self.view.data is None:
            return
        from ui.kb.printing import print_article

        print_article(self.mw, self.view.data)

    def _import(self, kind: str) -> None:
        from ui.kb.transfer import choose_import_source, import_articles

        source = choose_import_source(self, kind)
        if source is not None:
            import_articles(self.mw, source)

    def _export(self, kind: str) -> None:
        from ui.kb.transfer import choose_export_target, export_articles

        target = choose_export_target(self, kind)
        if target is not None:
            export_articles(self.mw, target, kind)

    def _edit_synonyms(self) -> None:
        from ui.kb.lists import SynonymsDialog

        SynonymsDialog(self.mw).exec()

    def _edit_canned(self) -> None:
        from ui.kb.lists import CannedDialog

        CannedDialog(self.mw).exec()

    def _on_changes(self, changes: OpChanges) -> None:
        if changes.kb or changes.reference:
            self.reload_choices()
            if self._current is not None:
                self.load_article(self._current)
        elif changes.tickets or changes.calls:
            self.search_now()
