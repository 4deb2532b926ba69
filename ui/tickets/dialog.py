"""One ticket (工单) in a window the engineer keeps open beside the list.

A new ticket (``ticket_id`` None) is a form — prefilled from a call when ``from_call`` is given, and
linked to it on save. Once saved, or for an existing ticket, the window shows the header (number,
status, severity, policy), the deadlines with live countdowns and why each is due when it is, the
actions the status allows, the details (editable) and the history.

Everything the window reads or writes runs on the database lane; "now" always comes from the window's
one ticker (``mw.ticker.now()``), so tests can set the clock. An action that the service refuses
(``TicketActionError``) says why inside the window and keeps whatever was typed; the window reloads
when tickets change anywhere (``OpChanges.tickets``: an action here or elsewhere, a sync).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, Qt, QUrl
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.errors import UserFacingError, ValidationError
from app.i18n import N_, _
from app.services import calls, directory, kb, tickets
from app.services.tickets import TicketActionError, TicketInput, TicketStatus, TicketView
from app.sla.deadlines import DeadlineMode, TargetState
from app.sla.policy import TargetKind
from app.sla.wall_time import SHANGHAI
from app.storage.models import Ticket
from app.storage.uow import UnitOfWork
from ui import dialogs
from ui.changes import OpChanges
from ui.operations import show_error
from ui.tickets.countdown import CountdownLabel, widest_countdown
from ui.tickets.fields import (
    HANDLING_LABELS,
    Choices,
    TicketFields,
    load_choices,
    set_wall_time,
    wall_editor,
    wall_time,
)
from ui.tickets.flow import FlowLayout
from ui.tickets.prompts import ActionPrompt
from ui.widgets.field_errors import error_label

if TYPE_CHECKING:
    from ui.main_window import MainWindow

log = logging.getLogger("hotline.ui.tickets")

TIMELINE_TEXT_CHARS = 3000  # a 1 MB note is shown cut, not rendered whole
# The details edit_ticket changes (the rest change through actions).
DETAILS = (
    "title",
    "description",
    "org_id",
    "unit_name",
    "contact_id",
    "caller_name",
    "caller_phone",
    "system_id",
    "module_id",
    "category_id",
    "notes",
)

TARGET_LABELS: dict[TargetKind, str] = {
    TargetKind.RESPONSE: N_("Response"),
    TargetKind.ON_SITE: N_("On site"),
    TargetKind.RESOLUTION: N_("Resolution"),
}

STATUS_COLOURS: dict[TicketStatus, str] = {
    TicketStatus.NEW: "#1565c0",
    TicketStatus.RESPONDED: "#00838f",
    TicketStatus.IN_PROGRESS: "#2e7d32",
    TicketStatus.ON_SITE_PENDING: "#e65100",
    TicketStatus.ON_SITE: "#6a1b9a",
    TicketStatus.PAUSED: "#607d8b",
    TicketStatus.RESOLVED: "#455a64",
    TicketStatus.CLOSED: "#9e9e9e",
}

_ALL = frozenset(TicketStatus)
_DISMISS_SCHEME = "dismiss"  # the history's link on an entry that did not apply after a merge
_OPEN = frozenset(s for s in TicketStatus if s.is_open)
_WORKING = frozenset(
    {TicketStatus.RESPONDED, TicketStatus.IN_PROGRESS, TicketStatus.ON_SITE_PENDING, TicketStatus.ON_SITE}
)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A button of the window: shown while the ticket's status is one of ``statuses`` (the service
    checks again, so a status changed elsewhere meanwhile is refused with a reason)."""

    key: str
    label: str
    statuses: frozenset[TicketStatus]
    tip: str


STATUS_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "respond",
        N_("Respond"),
        frozenset({TicketStatus.NEW}),
        N_("The caller has been answered: the response deadline is met"),
    ),
    ActionSpec(
        "start_work",
        N_("Start work"),
        frozenset({TicketStatus.RESPONDED, TicketStatus.ON_SITE_PENDING, TicketStatus.ON_SITE}),
        N_("Work on the ticket starts (or goes on remotely)"),
    ),
    ActionSpec(
        "require_on_site",
        N_("Needs on-site visit"),
        frozenset({TicketStatus.RESPONDED, TicketStatus.IN_PROGRESS}),
        N_("Remote handling cannot solve it: someone must go on site (the on-site clock starts)"),
    ),
    ActionSpec(
        "arrive_on_site",
        N_("On site now"),
        frozenset({TicketStatus.RESPONDED, TicketStatus.IN_PROGRESS, TicketStatus.ON_SITE_PENDING}),
        N_("An engineer has arrived on site"),
    ),
    ActionSpec(
        "pause",
        N_("Put on hold…"),
        _WORKING,
        N_("Waiting for the user or a third party: the resolution clock stops"),
    ),
    ActionSpec("resume", N_("Resume"), frozenset({TicketStatus.PAUSED}), N_("End the hold")),
    ActionSpec("resolve", N_("Resolved…"), _OPEN, N_("The problem is solved")),
    ActionSpec(
        "close",
        N_("Close ticket"),
        frozenset({TicketStatus.RESOLVED}),
        N_("Close the resolved ticket (e.g. the user confirmed)"),
    ),
    ActionSpec(
        "reopen",
        N_("Reopen…"),
        frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED}),
        N_("The problem came back: the resolution clock goes on where it stopped"),
    ),
)
OTHER_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "severity",
        N_("Change severity…"),
        _ALL - {TicketStatus.CLOSED},
        N_("The deadlines are worked out again; time already on hold is kept"),
    ),
    ActionSpec(
        "deadline",
        N_("Set deadline…"),
        _ALL - {TicketStatus.CLOSED},
        N_("Enter the deadline agreed with the user (only for a deadline by agreement)"),
    ),
    ActionSpec("note", N_("Add note…"), _ALL, N_("A note in the ticket's history")),
)


def format_time(moment: dt.datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment is not None else "—"


def _cut(text: str, limit: int = TIMELINE_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the window shows, read in the background in one go."""

    details: TicketInput | None  # None: the ticket does not exist (any more)
    choices: Choices | None  # read with the first load only
    view: TicketView | None = None  # an existing ticket
    number: str = ""
    site_name: str = ""
    handling: str = ""
    calls: tuple[tuple[str, str], ...] = ()  # (call id, label) of the linked calls
    articles: tuple[tuple[str, str], ...] = ()  # (id, title) of the linked knowledge-base articles
    source_call: str = ""  # a new ticket from a call: the call as people name it
    problem: str = ""  # a new ticket: why it cannot be prefilled


def _call_label(session: Session, call_id: str) -> str:
    call = calls.get_call(session, call_id)
    if call is None or call.deleted:
        return _("(removed call)")
    who = call.caller_name or call.caller_phone or call.unit_name or "—"
    return f"{format_time(call.started_at)} {who}"


def read_new(
    session: Session, site_id: str, from_call: str | None, engineer: str, now: dt.datetime
) -> Loaded:
    """A new ticket's starting values: from the call, or blank for the site; reported now."""
    problem = ""
    source = ""
    data = TicketInput(site_id=site_id, title="")
    if from_call is not None:
        try:
            data = tickets.input_from_call(session, from_call)
            source = _call_label(session, from_call)
        except ValidationError as exc:
            problem = "; ".join(exc.fields.values())
    data.assignee = engineer
    if data.reported_at is None:
        data.reported_at = now
    choices = load_choices(session, data.site_id, data)
    keys = [key for key, _name in choices.severities]
    if keys and data.severity not in keys:
        data.severity = keys[0]
    return Loaded(data, choices, site_name=choices.site_name, source_call=source, problem=problem)


def read_ticket(session: Session, ticket_id: str, with_choices: bool) -> Loaded:
    view = tickets.get_ticket(session, ticket_id)
    if view is None or view.ticket.deleted:
        return Loaded(None, None)
    ticket = view.ticket
    details = tickets.input_from_ticket(ticket)
    choices = load_choices(session, ticket.site_id, details) if with_choices else None
    site_name = choices.site_name if choices is not None else ""
    return Loaded(
        details,
        choices,
        view=view,
        number=ticket.number,
        site_name=site_name,
        handling=ticket.handling,
        calls=tuple((call_id, _call_label(session, call_id)) for call_id in view.call_ids),
        articles=tuple((a.id, a.title) for a in kb.linked_articles(session, ticket_id=ticket_id)),
    )


def _message_of(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return "\n".join(error.fields.values()) or error.message
    assert isinstance(error, UserFacingError)
    return error.message


@dataclass(slots=True)
class _TargetRow:
    name: QLabel
    countdown: CountdownLabel
    explanation: QLabel
    widgets: list[QWidget] = field(default_factory=list)


class TicketDialog(QDialog):
    def __init__(self, mw: MainWindow, ticket_id: str | None, from_call: str | None = None) -> None:
        super().__init__(mw)
        self.mw = mw
        self.ticket_id = ticket_id
        self.from_call = from_call if ticket_id is None else None
        self.setObjectName("ticketDialog")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.loaded: Loaded | None = None
        self._closed = False
        self._loading = False
        self._load_again = False
        self._saving = False
        self._acting = False
        self._own_change = False  # the change just announced is ours, already being reloaded
        self._refill = False  # the next load replaces the details shown (after a save)
        self.prompt: ActionPrompt | None = None

        self._build()
        self._show_mode()
        self.mw.taskman.operation_did_execute.connect(self._on_changes)
        self._restore_geometry()
        self.reload()

    # --- construction -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.number_label = QLabel(self)
        self.number_label.setObjectName("ticketNumber")
        self.number_label.setStyleSheet("QLabel { font-size: 17px; font-weight: bold; }")
        self.number_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("ticketStatus")
        self.status_label.hide()
        self.facts_label = QLabel(self)
        self.facts_label.setObjectName("ticketFacts")
        self.facts_label.setWordWrap(True)
        self.facts_label.setStyleSheet("QLabel { color: #5f6368; }")
        self.facts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.calls_label = QLabel(self)
        self.calls_label.setObjectName("ticketCalls")
        self.calls_label.setWordWrap(True)
        self.calls_label.linkActivated.connect(self._open_link)
        self.calls_label.hide()
        self.articles_label = QLabel(self)
        self.articles_label.setObjectName("ticketArticles")
        self.articles_label.setWordWrap(True)
        self.articles_label.linkActivated.connect(self._open_link)
        self.articles_label.hide()
        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(self.number_label)
        top.addWidget(self.status_label)
        top.addStretch(1)

        self.warning_label = QLabel(self)
        self.warning_label.setObjectName("ticketWarning")
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(
            "QLabel { background: #fff4e5; color: #8a4b00; border: 1px solid #f0c36d; padding: 4px 6px; }"
        )
        self.warning_label.hide()
        self.general_error = error_label(self)
        self.general_error.setObjectName("ticketError")

        # deadlines: one row per target
        self.deadlines_box = QGroupBox(_("Deadlines"), self)
        self.deadlines_box.setObjectName("ticketDeadlines")
        grid = QGridLayout(self.deadlines_box)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(2, 1)
        self.target_rows: dict[TargetKind, _TargetRow] = {}
        bold = "QLabel { font-weight: bold; }"
        for row, kind in enumerate(TargetKind):
            name = QLabel(_(TARGET_LABELS[kind]), self.deadlines_box)
            name.setStyleSheet(bold)
            countdown = CountdownLabel(self.mw.ticker, self.deadlines_box)
            countdown.setObjectName(f"countdown_{kind.value}")
            countdown.setMinimumWidth(widest_countdown(countdown.fontMetrics()) + 12)
            explanation = QLabel(self.deadlines_box)
            explanation.setObjectName(f"explanation_{kind.value}")
            explanation.setWordWrap(True)
            explanation.setStyleSheet("QLabel { color: #5f6368; }")
            explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            explanation.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            top_left = Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft
            grid.addWidget(name, row, 0, top_left)
            grid.addWidget(countdown, row, 1, top_left)
            grid.addWidget(explanation, row, 2)
            self.target_rows[kind] = _TargetRow(name, countdown, explanation, [name, countdown, explanation])
        self.no_deadlines_label = QLabel(self.deadlines_box)
        self.no_deadlines_label.setObjectName("noDeadlines")
        self.no_deadlines_label.setWordWrap(True)
        self.no_deadlines_label.setStyleSheet("QLabel { color: #5f6368; }")
        grid.addWidget(self.no_deadlines_label, len(TargetKind), 0, 1, 3)

        # actions
        self.action_buttons: dict[str, QPushButton] = {}
        self.actions_widget = QWidget(self)
        self.actions_widget.setObjectName("ticketActions")
        actions = FlowLayout(self.actions_widget)  # wraps in a narrow window
        for spec in STATUS_ACTIONS:
            actions.addWidget(self._action_button(spec))
        separator = QFrame(self.actions_widget)
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setFrameShadow(QFrame.Shadow.Sunken)
        separator.setFixedHeight(self.action_buttons["respond"].sizeHint().height())
        actions.addWidget(separator)
        for spec in OTHER_ACTIONS:
            actions.addWidget(self._action_button(spec))
        self.action_error = error_label(self)
        self.action_error.setObjectName("actionError")

        # details and history
        self.fields = TicketFields(new=self.ticket_id is None, parent=self)
        self.changed_elsewhere = QLabel(
            _("Someone else changed these details meanwhile; saving writes only the fields you changed."),
            self,
        )
        self.changed_elsewhere.setObjectName("changedElsewhere")
        self.changed_elsewhere.setWordWrap(True)
        self.changed_elsewhere.setStyleSheet("QLabel { color: #8a4b00; }")
        self.changed_elsewhere.hide()
        details = QWidget(self)
        details_box = QVBoxLayout(details)
        details_box.addWidget(self.changed_elsewhere)
        details_box.addWidget(self.fields, 1)
        self.timeline_view = QTextBrowser(self)
        self.timeline_view.setObjectName("ticketTimeline")
        self.timeline_view.setOpenLinks(False)
        self.timeline_view.anchorClicked.connect(self._timeline_link)
        self.timeline_view.hide()  # a tab once the ticket exists
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("ticketTabs")
        self.tabs.setTabBarAutoHide(True)
        self.tabs.addTab(details, _("Ticket details"))
        self.tabs.currentChanged.connect(self._tab_changed)

        # bottom row
        self.legend = QLabel(_("* required"), self)
        self.legend.setStyleSheet("QLabel { color: #5f6368; }")
        self.save_button = QPushButton(self)
        self.save_button.setObjectName("saveTicket")
        self.save_button.setToolTip(_("Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        self.close_button = QPushButton(self)
        self.close_button.setObjectName("closeTicketWindow")
        self.close_button.clicked.connect(self.reject)
        self.article_button = QPushButton(_("&Write to the knowledge base"), self)
        self.article_button.setObjectName("writeArticleButton")
        self.article_button.setToolTip(
            _("A new knowledge-base article from this ticket's description and notes, linked to it")
        )
        self.article_button.clicked.connect(self.write_article)
        self.print_button = QPushButton(_("&Print…"), self)
        self.print_button.setObjectName("printTicketButton")
        self.print_button.setToolTip(_("The ticket sheet (工单处理单) in the print preview"))
        self.print_button.clicked.connect(self.print_sheet)
        for button in (self.save_button, self.close_button, self.article_button, self.print_button):
            button.setAutoDefault(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.legend)
        bottom.addStretch(1)
        bottom.addWidget(self.article_button)
        bottom.addWidget(self.print_button)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.facts_label)
        layout.addWidget(self.calls_label)
        layout.addWidget(self.articles_label)
        layout.addWidget(self.warning_label)
        layout.addWidget(self.general_error)
        layout.addWidget(self.deadlines_box)
        layout.addWidget(self.actions_widget)
        layout.addWidget(self.action_error)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)

        for sequence in (
            QKeySequence.StandardKey.Save,
            QKeySequence("Ctrl+Return"),
            QKeySequence("Ctrl+Enter"),
        ):
            QShortcut(sequence, self, self.save)

    def _tab_changed(self, index: int) -> None:
        # Save belongs to the details; the history has nothing to save
        on_details = index == 0
        self.save_button.setVisible(on_details)
        self.legend.setVisible(on_details)

    def _action_button(self, spec: ActionSpec) -> QPushButton:
        button = QPushButton(_(spec.label), self.actions_widget)
        button.setObjectName(f"action_{spec.key}")
        button.setToolTip(_(spec.tip))
        button.setAutoDefault(False)
        button.clicked.connect(lambda _checked=False, key=spec.key: self.run_action(key))
        button.hide()  # shown when the status allows it (all at once would widen the window)
        self.action_buttons[spec.key] = button
        return button

    def _show_mode(self) -> None:
        """New-ticket form, or an existing ticket."""
        new = self.ticket_id is None
        self.deadlines_box.setVisible(not new)
        self.actions_widget.setVisible(not new)
        self.status_label.setVisible(not new)
        self.save_button.setText(_("Create ticket") if new else _("Save changes"))
        self.close_button.setText(_("Cancel") if new else _("Close"))
        self.article_button.setVisible(not new)
        self.print_button.setVisible(not new)
        if new:
            self.number_label.setText(_("New ticket"))
            self.setWindowTitle(_("New ticket"))
        elif self.tabs.count() == 1:
            self.tabs.addTab(self.timeline_view, _("Ticket history"))
        self.fields.set_new(new)

    # --- loading ------------------------------------------------------------------------------------

    def reload(self) -> None:
        if self._closed:
            return
        if self._loading:
            self._load_again = True
            return
        self._loading = True
        db = self.mw.ctx.db
        ticket_id, from_call = self.ticket_id, self.from_call
        site_id, engineer, now = self.mw.site_id, self.mw.ctx.engineer, self.mw.ticker.now()
        with_choices = self.fields.choices is None

        def work(_ctx: object) -> Loaded:
            with db.session() as session:
                if ticket_id is None:
                    return read_new(session, site_id, from_call, engineer, now)
                return read_ticket(session, ticket_id, with_choices)

        if self.loaded is None:
            self.fields.setEnabled(False)
        self.mw.op(work).success(self._loaded).failure(self._load_failed).run()

    def _load_failed(self, error: BaseException) -> None:
        self._loading = False
        if self._closed:
            return
        self.fields.setEnabled(True)
        show_error(self, error)

    def _loaded(self, loaded: Loaded) -> None:
        self._loading = False
        if self._closed:
            return
        if self._load_again:
            self._load_again = False
            self.reload()  # something changed while this was read: a fresher read follows
        first = self.loaded is None
        self.loaded = loaded
        self.fields.setEnabled(not self._saving)
        if loaded.choices is not None:
            self.fields.set_choices(loaded.choices)
        if self.ticket_id is None:
            if first:
                self._show_new(loaded)
            return
        self._show_ticket(loaded, first)

    def _show_new(self, loaded: Loaded) -> None:
        assert loaded.details is not None
        self.fields.fill(loaded.details)
        site = loaded.site_name or "—"
        if loaded.source_call:
            self.setWindowTitle(_("New ticket from a call — {site}").format(site=site))
            self.facts_label.setText(
                _("Service site: {site} · from the call of {call}; the call is linked when you save.").format(
                    site=site, call=loaded.source_call
                )
            )
        else:
            self.setWindowTitle(_("New ticket — {site}").format(site=site))
            self.facts_label.setText(_("Service site: {site}").format(site=site))
        messages = [loaded.problem] if loaded.problem else []
        if loaded.choices is not None and not loaded.choices.has_policy:
            messages.append(
                _("The site has no usable service-level policy; a supervisor can set one in the settings.")
            )
        self._show_general(messages)
        self.fields.title_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_general(self, messages: list[str]) -> None:
        self.general_error.setText("\n".join(messages))
        self.general_error.setVisible(bool(messages))

    def _show_ticket(self, loaded: Loaded, first: bool) -> None:
        view = loaded.view
        if view is None or loaded.details is None:
            self.number_label.setText(_("This ticket no longer exists."))
            self.status_label.hide()
            self.facts_label.clear()
            self.deadlines_box.hide()
            self.actions_widget.hide()
            self.fields.setEnabled(False)
            self.save_button.setEnabled(False)
            return
        if first or self._refill or not self.fields.is_dirty():
            self._refill = False
            self.fields.fill(loaded.details)
            self.changed_elsewhere.hide()
        else:
            original = self.fields.original
            elsewhere = original is not None and any(
                getattr(original, name) != getattr(loaded.details, name) for name in DETAILS
            )
            self.changed_elsewhere.setVisible(elsewhere)
        self._show_header(loaded, view)
        self._show_deadlines(view)
        self._show_actions(view)
        self._show_timeline(view)

    def _show_header(self, loaded: Loaded, view: TicketView) -> None:
        self.number_label.setText(loaded.number)
        self.setWindowTitle(
            _("Ticket {number} — {title}").format(
                number=loaded.number, title=loaded.details.title if loaded.details else ""
            )
        )
        colour = STATUS_COLOURS.get(view.status, "#607d8b")
        self.status_label.setText(view.status_label)
        self.status_label.setStyleSheet(
            f"QLabel {{ background: {colour}; color: white; border-radius: 3px; padding: 2px 10px; "
            "font-weight: bold; }"
        )
        self.status_label.show()
        facts = [
            _("Severity: {severity}").format(severity=view.severity_name or "—"),
            _("Policy: {policy}").format(policy=view.policy_name or "—"),
        ]
        site = loaded.site_name or (self.fields.choices.site_name if self.fields.choices else "")
        if site:
            facts.append(_("Site: {site}").format(site=site))
        facts.append(_("Reported: {time}").format(time=format_time(view.reported_at)))
        handling = HANDLING_LABELS.get(loaded.handling)
        if handling:
            facts.append(_(handling))
        assignee = loaded.details.assignee if loaded.details is not None else ""
        facts.append(_("Assignee: {name}").format(name=assignee or "—"))
        self.facts_label.setText(" · ".join(facts))
        if loaded.calls:
            links = "、".join(
                f'<a href="call:{html.escape(call_id)}">{html.escape(label)}</a>'
                for call_id, label in loaded.calls
            )
            self.calls_label.setText(html.escape(_("Linked calls:")) + " " + links)
            self.calls_label.show()
        else:
            self.calls_label.hide()
        if loaded.articles:
            links = "、".join(
                f'<a href="kb:{html.escape(article_id)}">{html.escape(title)}</a>'
                for article_id, title in loaded.articles
            )
            self.articles_label.setText(html.escape(_("Knowledge-base articles:")) + " " + links)
        self.articles_label.setVisible(bool(loaded.articles))
        warnings: list[str] = []
        if view.problem:
            warnings.append(
                _("No deadlines can be worked out for this ticket ({problem}).").format(problem=view.problem)
            )
        if view.deadlines is not None and view.deadlines.unconfirmed_years:
            years = "、".join(str(year) for year in view.deadlines.unconfirmed_years)
            warnings.append(
                _(
                    "The holiday arrangements for {years} are not confirmed yet (unconfirmed calendar year): "
                    "these deadlines may still change."
                ).format(years=years)
            )
        if view.flagged:
            warnings.append(
                _("{count} change(s) did not apply after a merge; they are marked in the history.").format(
                    count=view.flagged
                )
            )
        self.warning_label.setText("\n".join(warnings))
        self.warning_label.setVisible(bool(warnings))

    def _show_deadlines(self, view: TicketView) -> None:
        deadlines = view.deadlines
        states = {t.kind: t for t in deadlines.targets} if deadlines is not None else {}
        for kind, row in self.target_rows.items():
            state = states.get(kind)
            for widget in row.widgets:
                widget.setVisible(state is not None)
            row.countdown.set_state(state)
            row.explanation.setText(state.explanation() if state is not None else "")
        if deadlines is None:
            note = _("No deadlines.")
        elif deadlines.rule is None:
            note = deadlines.explanation()
        elif not states:
            note = _("The policy sets no deadline for this ticket.")
        else:
            note = ""
        self.no_deadlines_label.setText(note)
        self.no_deadlines_label.setVisible(bool(note))

    def _agreement_targets(self) -> list[TargetState]:
        """The targets whose deadline is by agreement and still open: those can be set by hand."""
        view = self.loaded.view if self.loaded is not None else None
        if view is None or view.deadlines is None:
            return []
        return [
            t
            for t in view.deadlines.targets
            if t.mode in (DeadlineMode.BY_AGREEMENT, DeadlineMode.MANUAL) and t.met_at is None
        ]

    def _severities(self) -> list[tuple[str, str]]:
        view = self.loaded.view if self.loaded is not None else None
        if view is not None and view.deadlines is not None:
            return [(s.key, s.name) for s in view.deadlines.policy.severities]
        return list(self.fields.choices.severities) if self.fields.choices is not None else []

    def _show_actions(self, view: TicketView) -> None:
        for spec in (*STATUS_ACTIONS, *OTHER_ACTIONS):
            visible = view.status in spec.statuses
            if spec.key == "deadline":
                visible = visible and bool(self._agreement_targets())
            elif spec.key == "severity":
                visible = visible and len(self._severities()) > 1
            self.action_buttons[spec.key].setVisible(visible)
        self._enable_actions()

    def _enable_actions(self) -> None:
        for button in self.action_buttons.values():
            button.setEnabled(not self._acting)

    def _show_timeline(self, view: TicketView) -> None:
        head = "".join(
            f"<th align='left' style='background:#eef1f4'>{html.escape(text)}</th>"
            for text in (_("Time"), _("By"), _("What"))
        )
        rows = [f"<tr>{head}</tr>"]
        for entry in view.timeline:
            when = format_time(entry.at)
            if abs(entry.recorded_at - entry.at) > dt.timedelta(minutes=5):
                when += "<br><span style='color:#80868b'>{}</span>".format(
                    html.escape(_("recorded {time}").format(time=format_time(entry.recorded_at)))
                )
            what = html.escape(_cut(entry.text)).replace("\n", "<br>")
            style = ""
            if entry.flagged:
                style = " style='background:#fff4e5'"
                what += f"<br><span style='color:#b35c00'>⚠ {html.escape(entry.flag_text)}</span>"
                what += " <a href='{}:{}'>{}</a>".format(
                    _DISMISS_SCHEME, html.escape(entry.id), html.escape(_("Checked: set the mark aside"))
                )
            rows.append(
                f"<tr{style}><td valign='top' width='22%'>{when}</td>"
                f"<td valign='top' width='14%'>{html.escape(entry.author or '—')}</td>"
                f"<td valign='top'>{what}</td></tr>"
            )
        scroll = self.timeline_view.verticalScrollBar()
        reading = scroll.value() < scroll.maximum() - 4  # scrolled up to read: stay there
        kept = scroll.value()
        self.timeline_view.setHtml(
            "<table width='100%' cellspacing='0' cellpadding='4'>" + "".join(rows) + "</table>"
        )
        scroll.setValue(kept if reading else scroll.maximum())
        index = self.tabs.indexOf(self.timeline_view)
        if index >= 0:
            self.tabs.setTabText(index, _("Ticket history ({count})").format(count=len(view.timeline)))

    def _open_link(self, link: str) -> None:
        kind, _sep, target = link.partition(":")
        if kind == "call" and target:
            self.mw.open_call(target)
        elif kind == "kb" and target:
            self.mw.open_article(target)

    def print_sheet(self) -> None:
        from app.reports.documents import ReportKind, ReportRequest
        from ui.reports.page import show_report

        if self.ticket_id is not None and not self._closed:
            show_report(self.mw, ReportRequest(ReportKind.TICKET, record_id=self.ticket_id), self)

    def write_article(self) -> None:
        """A new article from this ticket (写入知识库): the editor, prefilled, linked to it on save."""
        if self.ticket_id is not None and not self._closed:
            self.mw.new_article(ticket_id=self.ticket_id)

    def _on_changes(self, changes: OpChanges) -> None:
        if self._own_change:
            self._own_change = False
            return
        if (changes.tickets or changes.kb) and self.ticket_id is not None and not self._closed:
            self.reload()

    # --- saving the details -------------------------------------------------------------------------

    def save(self) -> None:
        if self._saving or self._closed or self.loaded is None:
            return
        if self.ticket_id is None:
            self._create()
        elif self.loaded.view is not None:
            self._save_details()

    def _check_title(self, data: TicketInput) -> bool:
        self.fields.clear_errors()
        self.general_error.hide()
        if data.title:
            return True
        self.fields.show_errors({"title": _("Give the ticket a subject.")})
        return False

    def _start_saving(self) -> None:
        self._saving = True
        self.save_button.setEnabled(False)
        self.fields.setEnabled(False)

    def _end_saving(self) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        self.fields.setEnabled(True)

    def _create(self) -> None:
        data = self.fields.value()
        if not self._check_title(data):
            return
        mw, call_id = self.mw, self.from_call
        author, now = mw.ctx.engineer, mw.ticker.now()

        def work(_ctx: object) -> tuple[str, str]:
            with mw.ctx.uow() as uow:
                ticket = tickets.create_ticket(uow, _with_unit(uow, data), author, now, call_id=call_id)
                return ticket.id, ticket.number

        self._start_saving()
        mw.op(work).success(self._created).failure(self._save_failed).changes(OpChanges(tickets=True)).run()

    def _created(self, result: tuple[str, str]) -> None:
        ticket_id, number = result
        self._end_saving()
        self.mw.status_message(_("Ticket {number} created").format(number=number))
        if self._closed:
            return
        self.ticket_id = ticket_id
        self.from_call = None
        self._refill = True
        self._show_mode()
        self._own_change = True
        self.reload()

    def _save_details(self) -> None:
        typed = self.fields.value()
        original = self.fields.original
        if not self._check_title(typed) or original is None:
            return
        changed = {
            name: getattr(typed, name) for name in DETAILS if getattr(typed, name) != getattr(original, name)
        }
        assignee = typed.assignee if typed.assignee != original.assignee else None
        if not changed and assignee is None:
            self.mw.status_message(_("Nothing was changed."))
            return
        mw, ticket_id = self.mw, self.ticket_id
        assert ticket_id is not None
        author, now = mw.ctx.engineer, mw.ticker.now()

        def work(_ctx: object) -> None:
            if changed:
                with mw.ctx.uow() as uow:
                    # onto the ticket as it is now: what someone else changed meanwhile stays
                    ticket = uow.session.get(Ticket, ticket_id)
                    current = tickets.input_from_ticket(ticket) if ticket is not None else typed
                    tickets.edit_ticket(
                        uow, ticket_id, _with_unit(uow, replace(current, **changed)), author, now
                    )
            if assignee is not None:
                with mw.ctx.uow() as uow:
                    ticket = uow.session.get(Ticket, ticket_id)
                    if ticket is None or ticket.assignee != assignee:
                        tickets.assign(uow, ticket_id, assignee, author, now)

        self._start_saving()
        mw.op(work).success(self._details_saved).failure(self._save_failed).changes(
            OpChanges(tickets=True)
        ).run()

    def _details_saved(self, _result: None) -> None:
        self._end_saving()
        self.mw.status_message(_("Ticket saved"))
        if self._closed:
            return
        self._refill = True
        self._own_change = True
        self.reload()

    def _save_failed(self, error: BaseException) -> None:
        self._end_saving()
        if self._closed:
            return
        if isinstance(error, ValidationError):
            rest = self.fields.show_errors(error.fields)
            self._show_general(list(rest.values()))
        elif isinstance(error, TicketActionError):
            self._show_general([error.message])
            self.reload()
        else:
            show_error(self, error)  # environment problems as a message; bugs to the crash handler

    # --- actions ------------------------------------------------------------------------------------

    def run_action(self, key: str) -> None:
        """What a button does: at once, or after asking (a reason, a summary, a severity …)."""
        if self._acting or self.ticket_id is None or self._closed:
            return
        self.action_error.hide()
        direct: dict[str, Callable[..., Any]] = {
            "respond": tickets.respond,
            "start_work": tickets.start_work,
            "require_on_site": tickets.require_on_site,
            "arrive_on_site": tickets.arrive_on_site,
            "resume": tickets.resume,
            "close": tickets.close,
        }
        if key in direct:
            service = direct[key]
            self._perform(lambda uow, ticket_id, author, now: service(uow, ticket_id, author, now))
            return
        asks: dict[str, Callable[[], None]] = {
            "pause": self._ask_pause,
            "resolve": self._ask_resolve,
            "reopen": self._ask_reopen,
            "severity": self._ask_severity,
            "deadline": self._ask_deadline,
            "note": self._ask_note,
        }
        asks[key]()

    def _timeline_link(self, url: QUrl) -> None:
        """A link in the history: "checked" on an entry that did not apply after a merge."""
        if url.scheme() != _DISMISS_SCHEME or self.ticket_id is None or self._acting:
            return
        event_id = url.path()
        self._perform(lambda uow, tid, author, now: tickets.dismiss_flag(uow, tid, event_id, author, now))

    def _perform(
        self,
        change: Callable[[UnitOfWork, str, str, dt.datetime], object],
        prompt: ActionPrompt | None = None,
    ) -> None:
        ticket_id = self.ticket_id
        assert ticket_id is not None
        mw = self.mw
        author, now = mw.ctx.engineer, mw.ticker.now()

        def work(_ctx: object) -> None:
            with mw.ctx.uow() as uow:
                change(uow, ticket_id, author, now)

        self._acting = True
        self._enable_actions()
        if prompt is not None:
            prompt.set_busy(True)
        mw.op(work).success(lambda _result: self._performed(prompt)).failure(
            lambda error: self._refused(error, prompt)
        ).changes(OpChanges(tickets=True)).run()

    def _performed(self, prompt: ActionPrompt | None) -> None:
        self._acting = False
        if prompt is not None and self.prompt is prompt:
            self.prompt = None
            prompt.finish()
        if self._closed:
            return
        self._enable_actions()
        self._own_change = True
        self.reload()

    def _refused(self, error: BaseException, prompt: ActionPrompt | None) -> None:
        self._acting = False
        if self._closed:
            return
        self._enable_actions()
        open_prompt = prompt if prompt is not None and self.prompt is prompt else None  # not cancelled
        if not isinstance(error, TicketActionError | ValidationError):
            if open_prompt is not None:
                open_prompt.set_busy(False)
            show_error(
                open_prompt or self, error
            )  # a storage problem as a message; a bug to the crash handler
            return
        message = _message_of(error)
        if open_prompt is not None:
            open_prompt.show_error(message)  # what was typed stays in the prompt
        else:
            self.action_error.setText(message)
            self.action_error.show()
        self.reload()  # refused because the ticket changed elsewhere: show it as it is

    def _prompt(self, title: str, message: str, ok_text: str) -> ActionPrompt:
        if self.prompt is not None:
            self.prompt.close()
        prompt = ActionPrompt(self, title, message, ok_text)
        prompt.finished.connect(lambda _result: self._prompt_closed(prompt))
        self.prompt = prompt
        return prompt

    def _prompt_closed(self, prompt: ActionPrompt) -> None:
        if self.prompt is prompt:
            self.prompt = None

    def _ask_pause(self) -> None:
        prompt = self._prompt(
            _("Put on hold"),
            _("While the ticket is on hold the resolution clock stops. What is it waiting for?"),
            _("Put on hold"),
        )
        reason = prompt.add_text(_("Reason *"), _("e.g. waiting for the user to send the error screenshot"))

        def submit() -> None:
            text = reason.toPlainText()  # read here: the work runs on another thread
            self._perform(lambda uow, tid, author, now: tickets.pause(uow, tid, text, author, now), prompt)

        prompt.submitted.connect(submit)
        prompt.open()

    def _ask_resolve(self) -> None:
        prompt = self._prompt(_("Resolved"), _("Mark the ticket as resolved."), _("Resolved"))
        summary = prompt.add_text(_("How (optional)"), _("What solved the problem"))

        def submit() -> None:
            text = summary.toPlainText()
            self._perform(
                lambda uow, tid, author, now: tickets.resolve(uow, tid, author, now, summary=text), prompt
            )

        prompt.submitted.connect(submit)
        prompt.open()

    def _ask_reopen(self) -> None:
        prompt = self._prompt(
            _("Reopen"),
            _("The resolution clock goes on where it stopped. Why is the ticket reopened?"),
            _("Reopen"),
        )
        reason = prompt.add_text(_("Reason *"), _("e.g. the error came back after the update"))

        def submit() -> None:
            text = reason.toPlainText()
            self._perform(lambda uow, tid, author, now: tickets.reopen(uow, tid, text, author, now), prompt)

        prompt.submitted.connect(submit)
        prompt.open()

    def _ask_severity(self) -> None:
        view = self.loaded.view if self.loaded is not None else None
        prompt = self._prompt(
            _("Change severity"),
            _("The deadlines are worked out again from the ticket's history; time on hold is kept."),
            _("Change"),
        )
        combo = prompt.add_combo(_("Severity"), self._severities(), "promptSeverity")
        if view is not None:
            combo.setCurrentIndex(max(combo.findData(view.severity), 0))

        def submit() -> None:
            severity = str(combo.currentData())
            self._perform(
                lambda uow, tid, author, now: tickets.change_severity(uow, tid, severity, author, now), prompt
            )

        prompt.submitted.connect(submit)
        prompt.open()

    def _ask_deadline(self) -> None:
        targets = self._agreement_targets()
        if not targets:
            return
        prompt = self._prompt(
            _("Set deadline"),
            _("This deadline is by agreement: enter the one agreed with the user."),
            _("Set"),
        )
        combo = prompt.add_combo(
            _("Deadline"), [(t.kind.value, _(TARGET_LABELS[t.kind])) for t in targets], "promptTarget"
        )
        editor = wall_editor(prompt)
        editor.setObjectName("promptDue")
        manual = next((t.due for t in targets if t.due is not None), None)
        now = self.mw.ticker.now().astimezone(SHANGHAI).replace(second=0, microsecond=0)
        set_wall_time(editor, manual or now + dt.timedelta(hours=1))
        prompt.add_widget(_("Due"), editor)
        clear = QCheckBox(_("No deadline (clear the one set by hand)"), prompt)
        clear.setObjectName("promptClear")
        clear.setVisible(any(t.mode is DeadlineMode.MANUAL for t in targets))
        clear.toggled.connect(lambda checked: editor.setEnabled(not checked))
        prompt.add_widget("", clear)

        def submit() -> None:
            target = TargetKind(str(combo.currentData()))
            due = None if clear.isChecked() else wall_time(editor)
            self._perform(
                lambda uow, tid, author, now: tickets.set_deadline(uow, tid, target, due, author, now), prompt
            )

        prompt.submitted.connect(submit)
        prompt.open()

    def _ask_note(self) -> None:
        prompt = self._prompt(_("Add note"), _("The note is added to the ticket's history."), _("Add"))
        note = prompt.add_text(_("Note *"), "", "promptNote")

        def submit() -> None:
            text = note.toPlainText()
            self._perform(lambda uow, tid, author, now: tickets.add_note(uow, tid, text, author, now), prompt)

        prompt.submitted.connect(submit)
        prompt.open()

    # --- closing ------------------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed

    def has_unsaved_input(self) -> bool:
        return self.loaded is not None and self.loaded.details is not None and self.fields.is_dirty()

    def reject(self) -> None:
        if self._saving and self.ticket_id is None:
            return  # the ticket being created decides
        if self.has_unsaved_input():
            question = (
                _("Discard this new ticket? What you typed will be lost.")
                if self.ticket_id is None
                else _("Close without saving the changes to this ticket?")
            )
            if not dialogs.ask(self, question):
                return
        super().reject()

    def done(self, result: int) -> None:
        if not self._closed:
            self._closed = True
            if self.prompt is not None:
                self.prompt.close()
            self.mw.taskman.operation_did_execute.disconnect(self._on_changes)
            self.mw.qsettings.setValue("ticket_dialog/geometry", self.saveGeometry())
        super().done(result)
        self.deleteLater()

    def _restore_geometry(self) -> None:
        geometry = self.mw.qsettings.value("ticket_dialog/geometry")
        if not (isinstance(geometry, QByteArray | bytes) and self.restoreGeometry(geometry)):
            self.resize(980, 780)


def _with_unit(uow: UnitOfWork, data: TicketInput) -> TicketInput:
    """A typed unit name that is in the directory gets linked to it (on the worker thread)."""
    if data.unit_name and data.org_id is None:
        org = directory.find_organisation_by_name(uow.session, data.unit_name)
        if org is not None:
            return replace(data, org_id=org.id)
    return data
