"""One call in full: every field, the full question and answer, its earlier versions (修改记录), and an
edit mode that saves a new version through ``calls.edit_call`` (the old one is kept)."""

from __future__ import annotations

import datetime as dt
import html
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStringListModel, Qt, QTime
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QTextBrowser,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.errors import UserFacingError, ValidationError
from app.i18n import N_, _
from app.services import callbacks, calls, directory, kb, reference
from app.services.callbacks import CallbackTask
from app.sla.countdown import countdown
from app.storage.models import (
    OUTCOME_LABELS,
    Category,
    Contact,
    Module,
    Organisation,
    Outcome,
    Site,
    System,
)
from ui import dialogs
from ui.calls.list_model import format_duration, format_time, outcome_label
from ui.changes import OpChanges
from ui.operations import show_error
from ui.tickets.countdown import colour_of

if TYPE_CHECKING:
    from ui.main_window import MainWindow

log = logging.getLogger("hotline.ui.calls")

HISTORY_VALUE_CHARS = 3000  # a changed 1 MB answer is shown cut, not rendered whole
ERROR_STYLE = "border: 1px solid #d93025;"

# Snapshot field → label, in the order the history lists changes.
FIELD_LABELS: tuple[tuple[str, str], ...] = (
    ("started_at", N_("Call time")),
    ("caller_phone", N_("Phone number")),
    ("caller_name", N_("Caller")),
    ("contact_id", N_("Contact (directory)")),
    ("unit_name", N_("Unit")),
    ("org_id", N_("Unit (directory)")),
    ("site_id", N_("Service site")),
    ("system_id", N_("System")),
    ("module_id", N_("Module")),
    ("category_id", N_("Category")),
    ("question", N_("Question")),
    ("answer", N_("Answer")),
    ("outcome", N_("Handling")),
    ("transferred_to", N_("Transferred to")),
    ("duration_s", N_("Duration")),
    ("engineer", N_("Engineer")),
)
_ID_MODELS: dict[str, type[Any]] = {
    "site_id": Site,
    "system_id": System,
    "module_id": Module,
    "category_id": Category,
    "org_id": Organisation,
    "contact_id": Contact,
}


@dataclass(frozen=True, slots=True)
class CallView:
    """What the read-only page shows, read once with the session open."""

    exists: bool
    started_at: str = ""
    duration: str = ""
    caller_phone: str = ""
    caller_name: str = ""
    unit: str = ""
    site: str = ""
    system: str = ""
    module: str = ""
    category: str = ""
    outcome: str = ""
    engineer: str = ""
    revision: int = 1
    question: str = ""
    answer: str = ""
    callback: CallbackTask | None = None  # the call needed a call back (done or not)
    articles: tuple[tuple[str, str], ...] = ()  # (id, title) of the knowledge-base articles it used


def _name(session: Session, field: str, value: Any) -> str:
    if not value:
        return ""
    row = session.get(_ID_MODELS[field], value)
    return str(row.name) if row is not None else _("(removed)")


def _readable(session: Session, field: str, value: Any) -> str:
    """A snapshot value as the user knows it."""
    if field in _ID_MODELS:
        return _name(session, field, value)
    if field == "started_at":
        return format_time(dt.datetime.fromisoformat(str(value))) if value else ""
    if field == "duration_s":
        return format_duration(int(value or 0))
    if field == "outcome":
        return outcome_label(str(value or ""))
    return str(value or "")


def history_entries(
    session: Session, revisions: list[tuple[Any, dict[str, Any]]], current: dict[str, Any]
) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(heading, [(field label, before, after)]) per edit, newest first."""
    entries: list[tuple[str, list[tuple[str, str, str]]]] = []
    newer = current
    for revision, before in revisions:  # newest first
        changes = [
            (
                _(label),
                _readable(session, field, before.get(field)),
                _readable(session, field, newer.get(field)),
            )
            for field, label in FIELD_LABELS
            if before.get(field) != newer.get(field)
        ]
        heading = _("{when} — edited by {editor} (version {old} → {new})").format(
            when=format_time(revision.replaced_at),
            editor=revision.replaced_by or _("(unknown)"),
            old=before.get("revision", revision.revision),
            new=newer.get("revision", revision.revision + 1),
        )
        entries.append((heading, changes))
        newer = before
    return entries


def _html_value(text: str) -> str:
    if not text:
        return '<span style="color:gray">{}</span>'.format(html.escape(_("(empty)")))
    if len(text) > HISTORY_VALUE_CHARS:
        text = text[:HISTORY_VALUE_CHARS] + " …"
    return html.escape(text).replace("\n", "<br>")


def history_html(entries: list[tuple[str, list[tuple[str, str, str]]]], first_engineer: str) -> str:
    parts: list[str] = []
    for heading, changes in entries:
        parts.append(f"<p style='margin-top:10px'><b>{html.escape(heading)}</b></p>")
        if not changes:
            parts.append("<p>{}</p>".format(html.escape(_("No visible field changed."))))
            continue
        parts.append(
            "<table border='1' cellspacing='0' cellpadding='4' width='100%' style='border-color:#ccc'>"
        )
        parts.append(
            "<tr><th align='left' width='16%'>{}</th><th align='left' width='42%'>{}</th>"
            "<th align='left' width='42%'>{}</th></tr>".format(
                html.escape(_("Field")), html.escape(_("Before")), html.escape(_("After"))
            )
        )
        for label, before, after in changes:
            parts.append(
                f"<tr><td valign='top'>{html.escape(label)}</td>"
                f"<td valign='top'>{_html_value(before)}</td><td valign='top'>{_html_value(after)}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        "<p style='margin-top:10px;color:gray'>{}</p>".format(
            html.escape(_("Version 1 was recorded by {engineer}.").format(engineer=first_engineer or "—"))
        )
    )
    return "".join(parts)


def _selectable(label: QLabel) -> QLabel:
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    label.setWordWrap(True)
    return label


class CallDetailDialog(QDialog):
    def __init__(self, mw: MainWindow, call_id: str) -> None:
        super().__init__(mw)
        self.mw = mw
        self.call_id = call_id
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("callDetail")
        self.setWindowTitle(_("Call"))
        self.resize(860, 720)
        self._call_input: calls.CallInput | None = None
        self._original_input: calls.CallInput | None = None
        self._original_org: tuple[str, str | None] = ("", None)
        self._saving = False
        self._org_ids_by_name: dict[str, str] = {}
        self._error_labels: dict[str, QLabel] = {}
        self._error_widgets: dict[str, list[QWidget]] = {}

        self.title_label = QLabel(self)
        self.title_label.setObjectName("callTitle")
        self.title_label.setStyleSheet("QLabel { font-size: 16px; font-weight: bold; }")
        _selectable(self.title_label)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self._build_view_page())
        self.stack.addWidget(self._build_edit_page())

        self.edit_button = QPushButton(_("&Edit"), self)
        self.edit_button.setObjectName("editButton")
        self.edit_button.clicked.connect(self.start_editing)
        self.close_button = QPushButton(_("Close"), self)
        self.close_button.clicked.connect(self.reject)
        self.ticket_button = QPushButton(_("Create &ticket"), self)
        self.ticket_button.setObjectName("createTicketButton")
        self.ticket_button.setToolTip(_("Open a ticket for this call, prefilled from it and linked to it"))
        self.ticket_button.clicked.connect(self.create_ticket)
        self.article_button = QPushButton(_("&Write to the knowledge base"), self)
        self.article_button.setObjectName("writeArticleButton")
        self.article_button.setToolTip(
            _("A new knowledge-base article from this call's question and answer, linked to the call")
        )
        self.article_button.clicked.connect(self.write_article)
        self.print_button = QPushButton(_("&Print…"), self)
        self.print_button.setObjectName("printCallButton")
        self.print_button.setToolTip(_("The call record sheet (来电记录单) in the print preview"))
        self.print_button.clicked.connect(self.print_sheet)
        self.save_button = QPushButton(_("&Save"), self)
        self.save_button.setObjectName("saveButton")
        self.save_button.setToolTip(_("Save the changes as a new version (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        self.cancel_edit_button = QPushButton(_("&Discard changes"), self)
        self.cancel_edit_button.clicked.connect(self.stop_editing)
        for button in (
            self.ticket_button,
            self.article_button,
            self.print_button,
            self.edit_button,
            self.close_button,
            self.save_button,
            self.cancel_edit_button,
        ):
            button.setAutoDefault(False)

        buttons = QHBoxLayout()
        buttons.addWidget(self.ticket_button)
        buttons.addWidget(self.article_button)
        buttons.addWidget(self.print_button)
        buttons.addStretch(1)
        for button in (self.edit_button, self.cancel_edit_button, self.save_button, self.close_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)

        save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        save_shortcut.activated.connect(self._save_shortcut)

        self._callback: CallbackTask | None = None
        self.load()
        self._set_mode(editing=False)
        mw.taskman.operation_did_execute.connect(self._on_changes)
        mw.ticker.tick.connect(self._show_callback)

    def _on_changes(self, changes: OpChanges) -> None:
        if (changes.calls or changes.reference or changes.kb) and not self.editing and not self._saving:
            self.load()  # edited elsewhere (another window, a sync): show the current version

    # --- the read-only page -----------------------------------------------------------------------

    def _build_view_page(self) -> QWidget:
        self.tabs = QTabWidget(self)
        details = QWidget(self.tabs)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(6)
        self.value_labels: dict[str, QLabel] = {}
        fields = (
            ("started_at", _("Call time"), "duration", _("Duration")),
            ("caller_phone", _("Phone number"), "caller_name", _("Caller")),
            ("unit", _("Unit"), "site", _("Service site")),
            ("system", _("System"), "module", _("Module")),
            ("category", _("Category"), "outcome", _("Handling")),
            ("engineer", _("Engineer"), "revision", _("Version")),
        )
        for row, (left, left_label, right, right_label) in enumerate(fields):
            for col, (name, text) in enumerate(((left, left_label), (right, right_label))):
                caption = QLabel(text + _(":"), details)
                caption.setStyleSheet("QLabel { color: #555555; }")
                value = _selectable(QLabel(details))
                value.setObjectName(f"value_{name}")
                value.setMinimumWidth(200)
                self.value_labels[name] = value
                grid.addWidget(caption, row, col * 2, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight)
                grid.addWidget(value, row, col * 2 + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        self.question_view = self._reader("questionView")
        self.answer_view = self._reader("answerView")
        self.callback_label = _selectable(QLabel(details))
        self.callback_label.setObjectName("callbackStatus")
        self.callback_button = QPushButton(_("Called &back"), details)
        self.callback_button.setObjectName("calledBackButton")
        self.callback_button.setToolTip(_("Record that the caller was called back now"))
        self.callback_button.setAutoDefault(False)
        self.callback_button.clicked.connect(self.mark_called_back)
        self.callback_row = QWidget(details)
        callback_line = QHBoxLayout(self.callback_row)
        callback_line.setContentsMargins(0, 0, 0, 0)
        caption = QLabel(_("Call back") + _(":"), self.callback_row)
        caption.setStyleSheet("QLabel { color: #555555; }")
        self.callback_reason = _selectable(QLabel(self.callback_row))
        self.callback_reason.setObjectName("callbackReason")
        self.callback_reason.setStyleSheet("QLabel { color: #777777; }")
        callback_line.addWidget(caption)
        callback_line.addWidget(self.callback_label)
        callback_line.addSpacing(8)
        callback_line.addWidget(self.callback_reason, 1)
        callback_line.addWidget(self.callback_button)
        self.callback_row.hide()
        box = QVBoxLayout(details)
        box.addLayout(grid)
        box.addWidget(self.callback_row)
        box.addSpacing(6)
        box.addWidget(QLabel("<b>{}</b>".format(html.escape(_("Question"))), details))
        box.addWidget(self.question_view, 1)
        box.addWidget(QLabel("<b>{}</b>".format(html.escape(_("Answer"))), details))
        box.addWidget(self.answer_view, 1)
        self.articles_label = QLabel(details)
        self.articles_label.setObjectName("callArticles")
        self.articles_label.setWordWrap(True)
        self.articles_label.linkActivated.connect(self._open_article)
        self.articles_label.hide()
        box.addWidget(self.articles_label)
        self.tabs.addTab(details, _("&Details"))

        self.history_view = QTextBrowser(self.tabs)
        self.history_view.setObjectName("historyView")
        self.history_view.setOpenLinks(False)
        self.tabs.addTab(self.history_view, _("History"))
        return self.tabs

    def _reader(self, name: str) -> QPlainTextEdit:
        reader = QPlainTextEdit(self)
        reader.setObjectName(name)
        reader.setReadOnly(True)
        reader.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        return reader

    def load(self) -> None:
        """Read the call and its history (one record and its few revisions: fine on the GUI thread)."""
        with self.mw.ctx.db.session() as session:
            call = calls.get_call(session, self.call_id)
            if call is None or call.deleted:
                view = CallView(exists=False)
                history = ""
                revision_count = 0
            else:
                view = CallView(
                    exists=True,
                    started_at=format_time(call.started_at),
                    duration=format_duration(call.duration_s),
                    caller_phone=call.caller_phone,
                    caller_name=call.caller_name,
                    unit=call.unit_name,
                    site=_name(session, "site_id", call.site_id),
                    system=_name(session, "system_id", call.system_id),
                    module=_name(session, "module_id", call.module_id),
                    category=_name(session, "category_id", call.category_id),
                    outcome=outcome_label(call.outcome, call.transferred_to),
                    engineer=call.engineer,
                    revision=call.revision,
                    question=call.question,
                    answer=call.answer,
                    callback=callbacks.callback_of(session, call.id),
                    articles=tuple(
                        (article.id, article.title)
                        for article in kb.linked_articles(session, call_id=call.id)
                    ),
                )
                self._call_input = calls.input_from_call(call)
                self._original_org = (call.unit_name, call.org_id)
                revisions = calls.call_revisions(session, self.call_id)
                revision_count = len(revisions)
                first_engineer = revisions[-1][1].get("engineer", "") if revisions else call.engineer
                history = history_html(
                    history_entries(session, revisions, calls.snapshot(call)), str(first_engineer)
                )
        self._show(view, history, revision_count)

    def _show_callback(self, *_now: Any) -> None:
        """The call-back line: its countdown (each second, from the window's ticker) or when it was
        done; the contract's explanation as its tooltip."""
        task = self._callback
        if task is None:
            return
        now = self.mw.ticker.now()
        state = task.state
        if task.called_back_at is not None:
            text = _("Called back {when}").format(when=format_time(task.called_back_at))
            if state is not None:
                text += " · " + countdown(state, now).text()
        elif state is not None:
            shown = countdown(state, now)
            text = shown.text()
            self.callback_label.setStyleSheet(f"QLabel {{ color: {colour_of(shown).name()}; }}")
        else:
            text = _("To call back (the contract sets no time for this call)")
        if task.called_back_at is not None or state is None:
            self.callback_label.setStyleSheet("")
        self.callback_label.setText(text)
        reason = state.explanation() if state is not None else ""
        if self.callback_reason.text() != reason:
            self.callback_reason.setText(reason)
        self.callback_button.setVisible(task.called_back_at is None)

    def mark_called_back(self) -> None:
        """已回电: the caller was called back now (the time of the window's clock)."""
        call_id, mw = self.call_id, self.mw
        now = mw.ticker.now()

        def work(_ctx: Any) -> None:
            with mw.ctx.uow() as uow:
                callbacks.mark_called_back(uow, call_id, now, now)

        self.callback_button.setEnabled(False)
        mw.op(work).success(self._called_back).failure(self._call_back_failed).changes(
            OpChanges(calls=True)
        ).run()

    def _called_back(self, _result: None) -> None:
        self.callback_button.setEnabled(True)
        self.load()
        self.mw.status_message(_("Call back recorded."))

    def _call_back_failed(self, error: BaseException) -> None:
        self.callback_button.setEnabled(True)
        if isinstance(error, UserFacingError):
            dialogs.warn(self, error.message)
        else:
            show_error(self, error)

    def _show(self, view: CallView, history: str, revision_count: int) -> None:
        self.exists = view.exists
        if not view.exists:
            self._callback = None
            self.callback_row.hide()
            self.title_label.setText(_("This call no longer exists."))
            self.edit_button.setEnabled(False)
            self.ticket_button.setEnabled(False)
            self.article_button.setEnabled(False)
            self.articles_label.hide()
            for label in self.value_labels.values():
                label.clear()
            self.question_view.clear()
            self.answer_view.clear()
            self.history_view.clear()
            return
        who = view.caller_name or view.caller_phone
        self.title_label.setText(_("Call of {when} — {who}").format(when=view.started_at, who=who))
        self.setWindowTitle(_("Call — {who}").format(who=who))
        empty = "—"
        values = {
            "started_at": view.started_at,
            "duration": view.duration,
            "caller_phone": view.caller_phone,
            "caller_name": view.caller_name,
            "unit": view.unit,
            "site": view.site,
            "system": view.system,
            "module": view.module,
            "category": view.category,
            "outcome": view.outcome,
            "engineer": view.engineer,
            "revision": _("Version {number}").format(number=view.revision)
            + (" · " + _("Edited") if view.revision > 1 else ""),
        }
        for name, value in values.items():
            self.value_labels[name].setText(value or empty)
        self._callback = view.callback
        self.callback_row.setVisible(view.callback is not None)
        self._show_callback()
        self.question_view.setPlainText(view.question)
        self.answer_view.setPlainText(view.answer)
        if view.articles:
            links = "、".join(
                f'<a href="{html.escape(article_id)}">{html.escape(title)}</a>'
                for article_id, title in view.articles
            )
            self.articles_label.setText(html.escape(_("Knowledge-base articles used:")) + " " + links)
        self.articles_label.setVisible(bool(view.articles))
        if revision_count:
            self.history_view.setHtml(history)
            self.tabs.setTabText(1, _("History ({count})").format(count=revision_count))
        else:
            self.history_view.setHtml(
                "<p style='color:gray'>{}</p>".format(html.escape(_("This call has not been edited.")))
            )
            self.tabs.setTabText(1, _("History"))

    # --- the edit page ----------------------------------------------------------------------------

    def _build_edit_page(self) -> QWidget:
        page = QWidget(self)
        page.setObjectName("editPage")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)

        self.general_error = QLabel(page)
        self.general_error.setStyleSheet("QLabel { color: #d93025; }")
        self.general_error.setWordWrap(True)
        self.general_error.hide()

        self.phone_edit = QLineEdit(page)
        self.phone_edit.setObjectName("phoneEdit")
        self.name_edit = QLineEdit(page)
        self.name_edit.setObjectName("nameEdit")
        caller_row = QHBoxLayout()
        caller_row.addWidget(self.phone_edit, 1)
        name_label = QLabel(_("Caller &name:"), page)
        name_label.setBuddy(self.name_edit)
        caller_row.addWidget(name_label)
        caller_row.addWidget(self.name_edit, 1)
        self._add_row(form, _("&Phone number:"), caller_row, "caller", [self.phone_edit, self.name_edit])

        self.unit_edit = QLineEdit(page)
        self.unit_edit.setObjectName("unitEdit")
        self._unit_names = QStringListModel(self)
        completer = QCompleter(self._unit_names, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.unit_edit.setCompleter(completer)
        self.unit_edit.textEdited.connect(self._unit_typed)
        self._add_row(form, _("&Unit:"), self.unit_edit, "unit", [self.unit_edit])

        self.system_combo = QComboBox(page)
        self.system_combo.setObjectName("systemEdit")
        self.system_combo.currentIndexChanged.connect(self._system_picked)
        self.module_combo = QComboBox(page)
        self.module_combo.setObjectName("moduleEdit")
        system_row = QHBoxLayout()
        system_row.addWidget(self.system_combo, 3)
        module_label = QLabel(_("&Module:"), page)
        module_label.setBuddy(self.module_combo)
        system_row.addWidget(module_label)
        system_row.addWidget(self.module_combo, 2)
        self._add_row(form, _("S&ystem:"), system_row, "module", [self.system_combo, self.module_combo])

        self.category_combo = QComboBox(page)
        self.category_combo.setObjectName("categoryEdit")
        self._add_row(form, _("Cate&gory:"), self.category_combo, "category", [self.category_combo])

        self.question_edit = QPlainTextEdit(page)
        self.question_edit.setObjectName("questionEdit")
        self.question_edit.setTabChangesFocus(True)
        self._add_row(form, _("&Question:"), self.question_edit, "question", [self.question_edit])
        self.answer_edit = QPlainTextEdit(page)
        self.answer_edit.setObjectName("answerEdit")
        self.answer_edit.setTabChangesFocus(True)
        self._add_row(form, _("&Answer:"), self.answer_edit, "answer", [self.answer_edit])

        self.outcome_combo = QComboBox(page)
        self.outcome_combo.setObjectName("outcomeEdit")
        for outcome, label in OUTCOME_LABELS.items():
            self.outcome_combo.addItem(_(label), outcome.value)
        self.outcome_combo.currentIndexChanged.connect(self._outcome_picked)
        self.transferred_edit = QLineEdit(page)
        self.transferred_edit.setObjectName("transferredEdit")
        self.transferred_edit.setPlaceholderText(_("To whom (name or department)"))
        outcome_row = QHBoxLayout()
        outcome_row.addWidget(self.outcome_combo, 1)
        transferred_label = QLabel(_("&Transferred to:"), page)
        transferred_label.setBuddy(self.transferred_edit)
        outcome_row.addWidget(transferred_label)
        outcome_row.addWidget(self.transferred_edit, 1)
        self._add_row(
            form,
            _("&Handling:"),
            outcome_row,
            "outcome",
            [self.outcome_combo],
            extra_errors=("transferred_to",),
        )
        self._error_widgets["transferred_to"] = [self.transferred_edit]

        self.duration_edit = QTimeEdit(page)
        self.duration_edit.setObjectName("durationEdit")
        self.duration_edit.setDisplayFormat("HH:mm:ss")
        duration_row = QHBoxLayout()
        duration_row.addWidget(self.duration_edit)
        duration_row.addStretch(1)
        self._add_row(form, _("Durat&ion:"), duration_row, "duration", [self.duration_edit])

        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.general_error)
        box.addLayout(form, 1)

        QWidget.setTabOrder(self.phone_edit, self.name_edit)
        QWidget.setTabOrder(self.name_edit, self.unit_edit)
        QWidget.setTabOrder(self.unit_edit, self.system_combo)
        QWidget.setTabOrder(self.system_combo, self.module_combo)
        QWidget.setTabOrder(self.module_combo, self.category_combo)
        QWidget.setTabOrder(self.category_combo, self.question_edit)
        QWidget.setTabOrder(self.question_edit, self.answer_edit)
        QWidget.setTabOrder(self.answer_edit, self.outcome_combo)
        QWidget.setTabOrder(self.outcome_combo, self.transferred_edit)
        QWidget.setTabOrder(self.transferred_edit, self.duration_edit)
        return page

    def _add_row(
        self,
        form: QFormLayout,
        label: str,
        field: QWidget | QHBoxLayout,
        error_key: str,
        widgets: list[QWidget],
        extra_errors: tuple[str, ...] = (),
    ) -> None:
        holder = QVBoxLayout()
        holder.setSpacing(2)
        if isinstance(field, QWidget):
            holder.addWidget(field)
        else:
            holder.addLayout(field)
        error = QLabel(self)
        error.setObjectName(f"error_{error_key}")
        error.setStyleSheet("QLabel { color: #d93025; }")
        error.hide()
        holder.addWidget(error)
        row_label = QLabel(label, self)
        row_label.setBuddy(widgets[0])
        form.addRow(row_label, holder)
        self._error_labels[error_key] = error
        self._error_widgets[error_key] = widgets
        for extra in extra_errors:
            self._error_labels[extra] = error

    def _fill_form(self, data: calls.CallInput) -> None:
        with self.mw.ctx.db.session() as session:
            systems = reference.list_systems(session, data.site_id)
            if data.system_id and all(s.id != data.system_id for s in systems):
                kept = session.get(System, data.system_id)  # retired since: still shown for this call
                if kept is not None:
                    systems.append(kept)
            categories = reference.list_categories(session)
            if data.category_id and all(c.id != data.category_id for c in categories):
                kept_category = session.get(Category, data.category_id)
                if kept_category is not None:
                    categories.append(kept_category)
            system_items = [(s.id, s.name) for s in systems]
            category_items = [(c.id, c.name) for c in categories]
        self.phone_edit.setText(data.caller_phone)
        self.name_edit.setText(data.caller_name)
        self.unit_edit.setText(data.unit_name)
        self.system_combo.blockSignals(True)
        self.system_combo.clear()
        self.system_combo.addItem(_("(none)"), "")
        for system_id, name in system_items:
            self.system_combo.addItem(name, system_id)
        self.system_combo.setCurrentIndex(max(self.system_combo.findData(data.system_id or ""), 0))
        self.system_combo.blockSignals(False)
        self._fill_modules(data.module_id)
        self.category_combo.clear()
        if not data.category_id:
            self.category_combo.addItem(_("(choose)"), "")
        for category_id, name in category_items:
            self.category_combo.addItem(name, category_id)
        self.category_combo.setCurrentIndex(max(self.category_combo.findData(data.category_id or ""), 0))
        self.question_edit.setPlainText(data.question)
        self.answer_edit.setPlainText(data.answer)
        self.outcome_combo.setCurrentIndex(max(self.outcome_combo.findData(data.outcome), 0))
        self.transferred_edit.setText(data.transferred_to)
        self._outcome_picked()
        seconds = max(0, min(int(data.duration_s), 24 * 3600 - 1))
        self.duration_edit.setTime(QTime(seconds // 3600, seconds // 60 % 60, seconds % 60))

    def _fill_modules(self, selected: str | None = None) -> None:
        system_id = self.system_combo.currentData()
        items: list[tuple[str, str]] = []
        if system_id:
            with self.mw.ctx.db.session() as session:
                modules = reference.list_modules(session, system_id)
                if selected and all(m.id != selected for m in modules):
                    kept = session.get(Module, selected)
                    if kept is not None and kept.system_id == system_id:
                        modules.append(kept)
                items = [(m.id, m.name) for m in modules]
        self.module_combo.clear()
        self.module_combo.addItem(_("(none)"), "")
        for module_id, name in items:
            self.module_combo.addItem(name, module_id)
        self.module_combo.setCurrentIndex(max(self.module_combo.findData(selected or ""), 0))
        self.module_combo.setEnabled(bool(system_id))

    def _system_picked(self, _index: int) -> None:
        self._fill_modules()

    def _outcome_picked(self, *_args: Any) -> None:
        transferred = self.outcome_combo.currentData() == Outcome.TRANSFERRED.value
        self.transferred_edit.setEnabled(transferred)

    def _unit_typed(self, text: str) -> None:
        site_id = self._call_input.site_id if self._call_input else None
        with self.mw.ctx.db.session() as session:
            orgs = directory.search_organisations(session, text, site_id, limit=50)
        self._org_ids_by_name = {o.name: o.id for o in orgs}
        self._unit_names.setStringList(list(self._org_ids_by_name))

    def form_input(self) -> calls.CallInput:
        """The form as a CallInput; fields the form does not show keep the call's values."""
        assert self._call_input is not None
        unit = " ".join(self.unit_edit.text().split())
        original_unit, original_org = self._original_org
        org_id = original_org if unit == original_unit else self._org_ids_by_name.get(unit)
        time = self.duration_edit.time()
        return replace(
            self._call_input,
            caller_phone=self.phone_edit.text().strip(),
            caller_name=self.name_edit.text().strip(),
            unit_name=unit,
            org_id=org_id,
            system_id=self.system_combo.currentData() or None,
            module_id=self.module_combo.currentData() or None,
            category_id=self.category_combo.currentData() or None,
            question=self.question_edit.toPlainText(),
            answer=self.answer_edit.toPlainText(),
            outcome=str(self.outcome_combo.currentData()),
            transferred_to=self.transferred_edit.text().strip(),
            duration_s=time.hour() * 3600 + time.minute() * 60 + time.second(),
        )

    # --- modes ------------------------------------------------------------------------------------

    @property
    def editing(self) -> bool:
        return self.stack.currentIndex() == 1

    def has_unsaved_edits(self) -> bool:
        return self.editing and self._original_input is not None and self.form_input() != self._original_input

    def _set_mode(self, editing: bool) -> None:
        self.stack.setCurrentIndex(1 if editing else 0)
        self.edit_button.setVisible(not editing)
        self.close_button.setVisible(not editing)
        self.ticket_button.setVisible(not editing)
        self.article_button.setVisible(not editing)
        self.print_button.setVisible(not editing)
        self.save_button.setVisible(editing)
        self.cancel_edit_button.setVisible(editing)
        self.save_button.setDefault(editing)

    def create_ticket(self) -> None:
        """A new ticket from this call (转工单): the ticket window, prefilled and linked on save."""
        if self.exists and not self.editing:
            self.mw.open_ticket(None, from_call=self.call_id)

    def write_article(self) -> None:
        """A new article from this call (写入知识库): the editor, prefilled, linked to the call on save."""
        if self.exists and not self.editing:
            self.mw.new_article(call_id=self.call_id)

    def print_sheet(self) -> None:
        from app.reports.documents import ReportKind, ReportRequest
        from ui.reports.page import show_report

        if self.exists and not self.editing:
            show_report(self.mw, ReportRequest(ReportKind.CALL, record_id=self.call_id), self)

    def _open_article(self, article_id: str) -> None:
        self.mw.open_article(article_id)

    def start_editing(self) -> None:
        if self._call_input is None or not self.exists:
            return
        self._fill_form(self._call_input)
        self._original_input = self.form_input()
        self._clear_errors()
        self._set_mode(editing=True)
        self.answer_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def stop_editing(self) -> None:
        if self.has_unsaved_edits() and not dialogs.ask(
            self, _("Discard the changes you made to this call?")
        ):
            return
        self._original_input = None
        self._set_mode(editing=False)

    # --- saving -----------------------------------------------------------------------------------

    def _save_shortcut(self) -> None:
        if self.editing:
            self.save()

    def save(self) -> None:
        if not self.editing or self._saving:
            return
        data = self.form_input()
        if data == self._original_input:
            self._original_input = None
            self._set_mode(editing=False)
            return
        unit_needs_lookup = bool(data.unit_name) and data.org_id is None
        call_id, mw = self.call_id, self.mw
        editor = mw.ctx.engineer

        def work(_ctx: Any) -> int:
            with mw.ctx.uow() as uow:
                payload = data
                if unit_needs_lookup:
                    org = directory.find_organisation_by_name(uow.session, data.unit_name)
                    payload = replace(data, org_id=org.id if org is not None else None)
                return calls.edit_call(uow, call_id, payload, editor=editor).revision

        self._saving = True
        self.save_button.setEnabled(False)
        self._clear_errors()
        mw.op(work).success(self._saved).failure(self._save_failed).changes(OpChanges(calls=True)).run()

    def _saved(self, revision: int) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        self._original_input = None
        self.load()
        self._set_mode(editing=False)
        self.mw.status_message(_("Call saved (version {number}).").format(number=revision))

    def _save_failed(self, error: BaseException) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        if isinstance(error, ValidationError):
            self.show_errors(error.fields)
        elif isinstance(error, UserFacingError):
            dialogs.warn(self, error.message)
        else:
            show_error(self, error)

    def _clear_errors(self) -> None:
        self.general_error.hide()
        for label in self._error_labels.values():
            label.hide()
        for widgets in self._error_widgets.values():
            for widget in widgets:
                widget.setStyleSheet("")

    def show_errors(self, fields: dict[str, str]) -> None:
        self._clear_errors()
        general: list[str] = []
        first: QWidget | None = None
        for key, message in fields.items():
            label = self._error_labels.get(key)
            if label is None:
                general.append(message)
                continue
            label.setText(message if label.isHidden() else label.text() + " " + message)
            label.show()
            for widget in self._error_widgets.get(key, []):
                widget.setStyleSheet(f"{type(widget).__name__} {{ {ERROR_STYLE} }}")
                first = first or widget
        if general:
            self.general_error.setText("\n".join(general))
            self.general_error.show()
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- closing ----------------------------------------------------------------------------------

    def _may_close(self) -> bool:
        if self._saving:
            return False
        if self.has_unsaved_edits():
            return dialogs.ask(self, _("Close without saving the changes to this call?"))
        return True

    def reject(self) -> None:
        if self._may_close():
            self._original_input = None
            super().reject()
