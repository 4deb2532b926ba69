"""Knowledge-base help inside the new-call form: the articles matching the question as it is typed
(inserting one's answer links it to the call), and canned answers inserted with Ctrl+J."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _
from app.services import kb
from ui.changes import OpChanges
from ui.kb.view import HitList, marked_html
from ui.operations import Op, OpContext

SUGGEST_DELAY_MS = 200  # a pause in typing this long asks for suggestions
SUGGESTIONS = 5
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\(kbimg:[^)]*\)\s*")


def answer_text(solution: str) -> str:
    """An article's solution as it goes into a call's answer: without its pasted images."""
    return _IMAGE_RE.sub("", solution).strip()


class SuggestionPanel(QWidget):
    """The top matches for the question; Enter, a double-click or Ctrl+1…5 inserts one (Alt+1…4 are the
    handling choices' keys)."""

    chosen = Signal(str, str)  # article id, its answer text

    def __init__(self, mw: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self.setObjectName("kbSuggestions")
        self._seq = 0
        self._hits: list[kb.ArticleHit] = []
        self.title = QLabel(_("Knowledge base"), self)
        self.title.setStyleSheet("font-weight: bold;")
        self.hint = QLabel(_("Matching articles appear here as you type the question."), self)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: gray;")
        self.list = HitList(self, margins=(4, 3, 4, 3))
        self.list.setObjectName("kbSuggestionList")
        self.list.itemDoubleClicked.connect(self._activated)
        self.list.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addWidget(self.list, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SUGGEST_DELAY_MS)
        self._timer.timeout.connect(self.suggest_now)
        self._question = ""
        self._site_id: str | None = None

    def question_changed(self, question: str, site_id: str | None) -> None:
        self._question, self._site_id = question, site_id
        self._timer.start()

    def suggest_now(self) -> None:
        self._timer.stop()
        self._seq += 1
        seq, question, site_id, ctx = self._seq, self._question, self._site_id, self.mw.ctx
        if not question.strip():
            self._show(seq, [])
            return

        def work(_op: OpContext) -> list[kb.ArticleHit]:
            if seq != self._seq:
                return []
            with ctx.db.session() as session:
                return kb.suggestions(session, question, site_id, SUGGESTIONS)

        # bound to the panel: an answer arriving after the call form closed is dropped
        Op(self, self.mw.taskman, work).success(lambda hits: self._show(seq, hits)).run()

    def _show(self, seq: int, hits: list[kb.ArticleHit]) -> None:
        if seq != self._seq:
            return
        self._hits = hits
        self.list.clear()
        for number, hit in enumerate(hits, start=1):
            self.list.add_hit(
                hit.id,
                f"<b>{number}. {marked_html(hit.title_marks)}</b><br>"
                f'<span style="color:#555">{marked_html(hit.snippet)}</span>',
                answer_text(hit.solution)[:500],
            )
        if hits:
            self.hint.setText(_("Enter or Ctrl+1…{n}: insert the answer into the call.").format(n=len(hits)))
        elif self._question.strip():
            self.hint.setText(_("No matching article."))
        else:
            self.hint.setText(_("Matching articles appear here as you type the question."))

    def choose(self, number: int) -> bool:
        """Insert the answer of suggestion ``number`` (1-based); False when there is none."""
        if not 1 <= number <= len(self._hits):
            return False
        hit = self._hits[number - 1]
        self.chosen.emit(hit.id, answer_text(hit.solution))
        return True

    def _activated(self, item: QListWidgetItem) -> None:
        self.choose(self.list.row(item) + 1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Enter on a suggestion inserts it; it must not reach the call form (whose Enter would save)
        if (
            watched is self.list
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.list.currentRow() >= 0
        ):
            self.choose(self.list.currentRow() + 1)
            return True
        return super().eventFilter(watched, event)


class CannedAnswers:
    """Ctrl+J in a text: the abbreviation before the cursor becomes its canned answer; without one,
    a menu of the site's canned answers. The list is read in the background and kept."""

    def __init__(self, mw: Any, edit: QPlainTextEdit, site_id: str) -> None:
        self.mw, self.edit, self.site_id = mw, edit, site_id
        self.rows: list[tuple[str, str, str]] = []  # (abbreviation, title, body)
        QShortcut(QKeySequence("Ctrl+J"), edit, self.expand)  # in the whole window: the answer field is meant
        mw.taskman.operation_did_execute.connect(self._on_changes)
        self.reload()

    def reload(self) -> None:
        ctx, site_id = self.mw.ctx, self.site_id

        def work(_op: OpContext) -> list[tuple[str, str, str]]:
            with ctx.db.session() as session:
                return [(r.abbreviation, r.title, r.body) for r in kb.list_canned(session, site_id)]

        Op(self.edit, self.mw.taskman, work).success(self._loaded).run()  # dropped once the form is gone

    def _loaded(self, rows: list[tuple[str, str, str]]) -> None:
        self.rows = rows

    def _on_changes(self, changes: OpChanges) -> None:
        if changes.kb:
            self.reload()

    def expand(self) -> None:
        cursor = self.edit.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()].casefold()
        for abbreviation, _title, body in sorted(self.rows, key=lambda r: -len(r[0])):
            wanted = abbreviation.casefold()
            if not wanted or not before.endswith(wanted):
                continue
            edge = before[: -len(wanted)][-1:]
            if edge.isascii() and edge.isalnum():
                continue  # part of a longer word: "xcq" is not "cq"
            for _char in wanted:
                cursor.deletePreviousChar()
            cursor.insertText(body)
            self.edit.setTextCursor(cursor)
            return
        self.show_menu()

    def _inserter(self, text: str) -> Callable[[], None]:
        return lambda: self.edit.insertPlainText(text)

    def show_menu(self) -> QMenu:
        menu = QMenu(self.edit)
        menu.setObjectName("cannedMenu")
        if not self.rows:
            action = menu.addAction(_("No canned answers yet: add them in the knowledge base."))
            action.setEnabled(False)
        for abbreviation, title, body in self.rows:
            label = f"{abbreviation}\t{title}" if abbreviation else title
            menu.addAction(label, self._inserter(body))
        rect = self.edit.cursorRect()
        menu.popup(self.edit.viewport().mapToGlobal(rect.bottomLeft()))
        return menu
