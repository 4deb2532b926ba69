"""The open tickets of the window, loaded in the background and shared by every view of them.

The ticket list, the "due soon" panel and the warnings all show the same open tickets; ``TicketBoard``
loads them once per change (``tickets.list_open_tickets`` on the database lane — it derives every
deadline from the events), then the views only do countdown arithmetic at each tick. A change saved
here or pulled by a sync (``OpChanges.tickets``) loads them again; so does a change of site.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal
from sqlalchemy import select

from app.i18n import N_, _
from app.services import callbacks, tickets
from app.services.callbacks import CallbackTask
from app.services.tickets import TicketSummary
from app.sla.policy import TargetKind
from app.storage.models import TicketAlert
from ui.changes import OpChanges
from ui.tickets.countdown import Alert, AlertTracker, Ticker

log = logging.getLogger("hotline.ui.tickets")


class TicketAlertStore:
    """Warnings already raised, kept in the local database (not synced: each desktop warns its
    engineer once). The board reads them all with the tickets, in the background; a new one is written
    when it is raised (a single row, on the GUI thread, at most once per warning)."""

    def __init__(self, mw: Any) -> None:
        self.mw = mw
        self._raised: dict[str, set[str]] = {}

    def load(self, raised: dict[str, set[str]]) -> None:
        self._raised = raised

    def raised(self, ticket_id: str) -> set[str]:
        return set(self._raised.get(ticket_id, ()))

    def remember(self, ticket_id: str, key: str) -> None:
        self._raised.setdefault(ticket_id, set()).add(key)
        target, _sep, threshold = key.partition(":")
        try:
            with self.mw.ctx.uow() as uow:
                tickets.mark_alert_shown(uow, ticket_id, TargetKind(target), threshold, self.mw.ticker.now())
        except Exception:  # a warning shown twice is better than a crash over it
            log.exception("could not remember the warning %s of ticket %s", key, ticket_id)


def _raised_alerts(session: Any) -> dict[str, set[str]]:
    raised: dict[str, set[str]] = {}
    for ticket_id, target, threshold in session.execute(
        select(TicketAlert.ticket_id, TicketAlert.target, TicketAlert.threshold)
    ):
        raised.setdefault(ticket_id, set()).add(f"{target}:{threshold}")
    return raised


class TicketBoard(QObject):
    changed = Signal()  # the open tickets were (re)loaded

    def __init__(self, mw: Any, ticker: Ticker) -> None:
        super().__init__(mw)
        self.mw = mw
        self.ticker = ticker
        self.summaries: list[TicketSummary] = []
        self.callbacks: list[CallbackTask] = []  # calls still to be called back (回电)
        self._callback_ids: set[str] = set()
        self._callbacks_loading = False
        self._callbacks_again = False
        self.loaded = False
        self._loading = False
        self._again = False
        self._alert_store = TicketAlertStore(mw)
        self.alerts = AlertTracker(ticker, self._alert_store, self)
        self.alerts.alert.connect(self._warn)
        mw.taskman.operation_did_execute.connect(self._on_changes)
        mw.site_changed.connect(lambda _site: self.reload())

    def _on_changes(self, changes: OpChanges) -> None:
        if changes.tickets or changes.reference:
            self.reload()
        elif changes.calls:
            self.reload_callbacks()  # a call saved or pulled may need, or no longer need, a call back

    def reload_callbacks(self) -> None:
        if self._callbacks_loading:
            self._callbacks_again = True
            return
        self._callbacks_loading = True
        site_id = self.mw.site_id
        db = self.mw.ctx.db

        def load(_ctx: object) -> list[CallbackTask]:
            with db.session() as session:
                return callbacks.open_callbacks(session, site_id)

        self.mw.op(load).success(self._callbacks_loaded).failure(self._callbacks_failed).run()

    def _callbacks_loaded(self, tasks: list[CallbackTask]) -> None:
        self._callbacks_loading = False
        if self._callbacks_again:
            self._callbacks_again = False
            self.reload_callbacks()
        self._take_callbacks(tasks)
        self.changed.emit()
        self.ticker.fire()

    def _callbacks_failed(self, error: BaseException) -> None:
        self._callbacks_loading = False
        self._failed(error)

    def _take_callbacks(self, tasks: list[CallbackTask]) -> None:
        """Watch the call-backs' countdowns as a ticket's (by call id: never a ticket's id)."""
        self.callbacks = tasks
        current = {task.call_id for task in tasks if task.state is not None}
        for gone in self._callback_ids - current:
            self.alerts.untrack(gone)
        self._callback_ids = current
        for task in tasks:
            if task.state is not None:
                self.alerts.track(task.call_id, task.label(), [task.state])

    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        site_id = self.mw.site_id
        db = self.mw.ctx.db

        def load(_ctx: object) -> tuple[list[TicketSummary], list[CallbackTask], dict[str, set[str]]]:
            with db.session() as session:
                return (
                    tickets.list_open_tickets(session, site_id),
                    callbacks.open_callbacks(session, site_id),
                    _raised_alerts(session),
                )

        self.mw.op(load).success(self._loaded).failure(self._failed).run()

    def _loaded(self, loaded: tuple[list[TicketSummary], list[CallbackTask], dict[str, set[str]]]) -> None:
        summaries, tasks, raised = loaded
        self._alert_store.load(raised)
        self._loading = False
        if self._again:
            self._again = False
            self.reload()
        self.summaries = summaries
        self.loaded = True
        shown = {s.id for s in summaries}
        for old in list(self.alerts.tracked()):
            if old not in shown and old not in self._callback_ids:
                self.alerts.untrack(old)
        for summary in summaries:
            if summary.deadlines is not None:
                self.alerts.track(summary.id, f"{summary.number} {summary.title}", summary.deadlines.targets)
        self._take_callbacks(tasks)
        self.changed.emit()
        self.ticker.fire()

    def _failed(self, error: BaseException) -> None:
        self._loading = False
        from ui.operations import show_error

        show_error(self.mw, error)

    def summary(self, ticket_id: str) -> TicketSummary | None:
        return next((s for s in self.summaries if s.id == ticket_id), None)

    def callback(self, call_id: str) -> CallbackTask | None:
        return next((t for t in self.callbacks if t.call_id == call_id), None)

    def _warn(self, alert: Alert) -> None:
        """A warning: a desktop notification where the system has a tray, the status bar always."""
        if alert.ticket_id in self._callback_ids:
            if alert.threshold is None:
                text = _("{caller}: the time to call back has passed.").format(caller=alert.label)
            else:
                text = _("{caller} — {left}.").format(caller=alert.label, left=alert.shown.text())
            self.mw.notify(_("Call back due"), text)
            return
        target = _(TARGET_LABELS[alert.target])
        if alert.threshold is None:
            text = _("{ticket}: the {target} deadline has passed.").format(ticket=alert.label, target=target)
        else:
            text = _("{ticket}: {target} — {left}.").format(
                ticket=alert.label, target=target, left=alert.shown.text()
            )
        self.mw.notify(_("Ticket deadline"), text)


TARGET_LABELS: dict[TargetKind, str] = {
    TargetKind.RESPONSE: N_("response"),
    TargetKind.ON_SITE: N_("on-site arrival"),
    TargetKind.RESOLUTION: N_("resolution"),
}


def due_order(summary: TicketSummary) -> dt.datetime:
    return summary.next_due_at or dt.datetime.max.replace(tzinfo=dt.UTC)
