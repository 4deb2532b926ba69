"""Runs the sync engine for the main window: on demand, on a timer and shortly after local changes.

Every sync runs on the network lane (``Op.on_network_lane()``), never on the GUI thread, and never two
at once: a sync asked for while one runs is run once after it. What the sync pulled is announced as
``OpChanges``, so the call list and the directory refresh. The status (online, offline, not set up,
error) and the local counts (changes waiting, parked, conflicts) are published through
``status_changed`` for the status bar and the sync window.

The password comes from the keyring (``PasswordStore``), read in the background. Without a keyring it
is asked once per session, and only when the engineer presses Sync — never from the timer.
``psycopg``, ``keyring`` and the engine are imported on the worker thread when the first sync runs, so
start-up pays for none of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.errors import UserFacingError, as_storage_error
from app.i18n import _
from app.sync.config import ServerConfig
from app.sync.credentials import PasswordStore
from app.sync.protocol import Problem, SyncError
from ui.changes import OpChanges
from ui.operations import Op, OpContext, show_error

if TYPE_CHECKING:
    from app.sync.engine import SyncEngine, SyncReport
    from app.sync.local import LocalSyncStatus

log = logging.getLogger("hotline.ui.sync")

DEBOUNCE_MS = 2000  # after a local change, wait this long for more before syncing
STARTUP_DELAY_MS = 3000  # the first automatic sync, once the window has settled
STATUS_DEBOUNCE_MS = 300  # local changes in a burst read the counts once

# what a pull may have changed: everything a view shows
PULLED_CHANGES = OpChanges(calls=True, directory=True, reference=True, tickets=True, kb=True)


class SyncState(Enum):
    NOT_CONFIGURED = "not_configured"
    WAITING = "waiting"  # a server is set; no sync has run in this session yet
    ONLINE = "online"
    OFFLINE = "offline"
    ERROR = "error"


class Trigger(Enum):
    USER = "user"  # Sync now: may show the first sync's progress and ask for the password
    SETTINGS = "settings"  # the server was just set up in Settings: may show the first sync's progress
    AUTO = "auto"  # the timer or local changes: silent, status bar only


@dataclass(frozen=True)
class SyncStatus:
    state: SyncState
    message: str = ""  # why: the error's message, for OFFLINE and ERROR
    syncing: bool = False
    local: LocalSyncStatus | None = None  # None until read (and while no server is set)
    problem: Problem | None = None  # the SyncError's problem, for OFFLINE and ERROR


class SyncController(QObject):
    status_changed = Signal(object)  # SyncStatus
    sync_finished = Signal(object)  # SyncReport, or None when the sync failed

    def __init__(self, mw: Any) -> None:
        super().__init__(mw)
        self.mw = mw
        self.passwords = PasswordStore()
        self._state = SyncState.WAITING if self.config() is not None else SyncState.NOT_CONFIGURED
        self._message = ""
        self._problem: Problem | None = None
        self._local: LocalSyncStatus | None = None
        self._running: OpContext | None = None
        self._pending_trigger: Trigger | None = None  # asked for while a sync ran
        self._generation = 0  # bumped when the server changes: results of older syncs are dropped
        self._password_dialog: Any = None
        self._keyring_available = False
        self._paused = False  # after a bug of ours: no automatic syncs until Sync now
        self._announcing = False
        self._closed = False
        self._reading_local = False
        self._read_local_again = False
        self._engine_lock = threading.Lock()
        self._engine: SyncEngine | None = None
        self._engine_config: ServerConfig | None = None

        self._interval_timer = QTimer(self)
        self._interval_timer.timeout.connect(self._auto_sync)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.timeout.connect(self._auto_sync)
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(STATUS_DEBOUNCE_MS)
        self._status_timer.timeout.connect(self.refresh_local_status)
        mw.taskman.operation_did_execute.connect(self._on_changes)
        self._apply_interval()
        if self._auto_enabled():
            self._debounce.start(STARTUP_DELAY_MS)
        self.refresh_local_status()

    # --- state ------------------------------------------------------------------------------------

    def config(self) -> ServerConfig | None:
        return ServerConfig.from_settings(self.mw.ctx.settings)

    def interval_s(self) -> int:
        value = int(self.mw.ctx.settings["sync_interval_s"])
        return value if value == 0 or 10 <= value <= 3600 else 60

    @property
    def status(self) -> SyncStatus:
        return SyncStatus(self._state, self._message, self._running is not None, self._local, self._problem)

    @property
    def syncing(self) -> bool:
        return self._running is not None

    def _publish(self) -> None:
        self.status_changed.emit(self.status)

    def _auto_enabled(self) -> bool:
        return not self._closed and not self._paused and self.config() is not None and self.interval_s() > 0

    def _apply_interval(self) -> None:
        if self._auto_enabled():
            self._interval_timer.start(self.interval_s() * 1000)
        else:
            self._interval_timer.stop()

    # --- starting a sync --------------------------------------------------------------------------

    def sync_now(self) -> None:
        """The engineer asked for a sync (F5, the sync window)."""
        self._paused = False
        self._apply_interval()
        self._start(Trigger.USER)

    def _auto_sync(self) -> None:
        if self._auto_enabled():
            self._start(Trigger.AUTO)

    def _start(self, trigger: Trigger, password: str | None = None) -> None:
        if self._closed:
            return
        config = self.config()
        if config is None:
            self._state, self._message, self._problem = SyncState.NOT_CONFIGURED, "", None
            self._publish()
            if trigger is Trigger.USER:
                self.mw.status_message(SyncError(Problem.NOT_CONFIGURED).message, 10_000)
            return
        if self._running is not None:
            if self._pending_trigger is None or trigger is not Trigger.AUTO:
                self._pending_trigger = trigger
            return
        self._debounce.stop()
        generation = self._generation
        client = self.mw.ctx.engineer

        def work(ctx: OpContext) -> SyncReport:
            if password:
                self.passwords.set(config, password)
            engine = self._engine_for(config, client)
            return engine.sync(progress=ctx.progress, cancelled=lambda: ctx.cancelled)

        op = (
            Op(self.mw, self.mw.taskman, work)
            .on_network_lane()
            .success(lambda report: self._succeeded(trigger, generation, report))
            .failure(lambda error: self._failed(config, trigger, generation, error))
        )
        first = self._local is None or self._local.last_success is None
        if trigger is not Trigger.AUTO and first:
            op.with_progress(_("First synchronisation with the shared server…"))
        self._running = op.run()
        self._publish()

    def _engine_for(self, config: ServerConfig, client: str) -> SyncEngine:
        """The engine for this server and password, made on the network lane and kept between syncs."""
        password = config.password or self.passwords.get(config)
        if not password:
            self._keyring_available = self.passwords.available()  # for the password dialog's note
            raise SyncError(Problem.NO_PASSWORD)
        config = config.with_password(password)
        with self._engine_lock:
            if self._engine is not None and self._engine_config == config:
                return self._engine
            old, self._engine, self._engine_config = self._engine, None, None
        if old is not None:
            old.close()
        from app.sync.engine import SyncEngine

        engine = SyncEngine(self.mw.ctx.db, config, client_name=client)
        with self._engine_lock:
            self._engine, self._engine_config = engine, config
        return engine

    def engine_op(self, work: Callable[[SyncEngine], Any]) -> Op[Any]:
        """An operation on the network lane with this desktop's engine (the server's refused changes,
        say). Raises ``SyncError(NOT_CONFIGURED)`` there when no server is set."""
        config = self.config()
        client = self.mw.ctx.engineer

        def run(_ctx: OpContext) -> Any:
            if config is None:
                raise SyncError(Problem.NOT_CONFIGURED)
            return work(self._engine_for(config, client))

        return Op(self.mw, self.mw.taskman, run).on_network_lane()

    def _drop_engine(self) -> None:
        """Close the engine (safe while a sync runs on it: that sync then stops)."""
        with self._engine_lock:
            engine, self._engine, self._engine_config = self._engine, None, None
        if engine is not None:
            engine.close()

    # --- results ----------------------------------------------------------------------------------

    def _succeeded(self, trigger: Trigger, generation: int, report: SyncReport) -> None:
        self._running = None
        if self._closed:
            return
        if generation == self._generation:
            self._state, self._message, self._problem = SyncState.ONLINE, "", None
            if report.pulled or report.resynced or report.full:
                self._announce(PULLED_CHANGES)
            if trigger is not Trigger.AUTO:
                self.mw.status_message(_summary(report), 10_000)
            log.info(
                "sync: %d pushed, %d pulled, %d rejected, %d conflicts%s",
                report.pushed,
                report.pulled,
                report.rejected,
                report.conflicts,
                " (cancelled)" if report.cancelled else "",
            )
            self.sync_finished.emit(report)
        self._finish_run()

    def _failed(self, config: ServerConfig, trigger: Trigger, generation: int, error: BaseException) -> None:
        self._running = None
        if self._closed:
            return
        if generation != self._generation:
            self._finish_run()
            return
        user_error = error if isinstance(error, UserFacingError) else as_storage_error(error)
        if isinstance(user_error, SyncError):
            log.info("sync failed: %s", user_error.problem.value)
            self._state = SyncState.OFFLINE if user_error.offline else SyncState.ERROR
            self._message, self._problem = user_error.message, user_error.problem
            if user_error.problem is Problem.AUTH and self.passwords.in_session(config):
                # the password typed this session was wrong: ask again at the next Sync now
                self.passwords.forget_session(config)
                self._drop_engine()
            if user_error.problem is Problem.NO_PASSWORD and trigger is Trigger.USER:
                self._ask_password(config)
            elif trigger is not Trigger.AUTO:
                self.mw.status_message(user_error.message, 10_000)
        elif user_error is not None:
            log.info("sync stopped by a local problem: %s", type(user_error).__name__)
            self._state, self._message, self._problem = SyncState.ERROR, user_error.message, None
            if trigger is not Trigger.AUTO:
                self.mw.status_message(user_error.message, 10_000)
        else:
            # a bug of ours: one crash report, and no automatic syncs until the engineer asks for one
            self._state, self._problem = SyncState.ERROR, None
            self._message = _("Synchronisation stopped because of an unexpected error; a report was written.")
            self._paused = True
            self._apply_interval()
            self._drop_engine()
            show_error(self.mw, error)
        self.sync_finished.emit(None)
        self._finish_run()

    def _finish_run(self) -> None:
        self._publish()
        self.refresh_local_status()
        trigger, self._pending_trigger = self._pending_trigger, None
        if trigger is not None and not self._closed:
            if trigger is Trigger.AUTO:
                self._auto_sync()
            else:
                self._start(trigger)

    def _announce(self, changes: OpChanges) -> None:
        """Tell the views what the pull changed, without taking it for a local change to sync."""
        self._announcing = True
        try:
            self.mw.taskman.operation_did_execute.emit(changes)
        finally:
            self._announcing = False

    # --- the password -----------------------------------------------------------------------------

    def _ask_password(self, config: ServerConfig) -> None:
        from ui.sync.password import PasswordDialog

        if self._password_dialog is not None:
            return
        dialog = PasswordDialog(self.mw, config, keyring=self._keyring_available)
        self._password_dialog = dialog

        def done(result: int) -> None:
            self._password_dialog = None
            password = dialog.password()
            dialog.deleteLater()
            if result and password and self.config() == config:
                self._start(Trigger.USER, password=password)

        dialog.finished.connect(done)
        dialog.open()

    # --- local changes and the status -------------------------------------------------------------

    def _on_changes(self, changes: OpChanges) -> None:
        if self._announcing or not (changes.calls or changes.directory or changes.reference or changes.kb):
            return
        self.note_local_change()

    def note_local_change(self) -> None:
        """Something was written locally: recount soon, and send it shortly (automatic syncs only)."""
        if self.config() is None:
            return
        self._status_timer.start()
        if self._auto_enabled():
            self._debounce.start(DEBOUNCE_MS)

    def refresh_local_status(self) -> None:
        """Read the counts (waiting, parked, conflicts, last success) on the database lane."""
        if self._closed or self.config() is None:
            if self._local is not None:
                self._local = None
                self._publish()
            return
        if self._reading_local:
            self._read_local_again = True
            return
        self._reading_local = True
        db = self.mw.ctx.db

        def work(_ctx: OpContext) -> LocalSyncStatus:
            from app.sync.local import sync_status

            with db.session() as session:
                return sync_status(session)

        Op(self.mw, self.mw.taskman, work).success(self._local_read).failure(self._local_failed).run()

    def _local_read(self, local: LocalSyncStatus) -> None:
        self._reading_local = False
        if self.config() is not None:
            self._local = local
            self._publish()
        self._reread_local()

    def _local_failed(self, error: BaseException) -> None:
        self._reading_local = False
        if isinstance(error, UserFacingError) or as_storage_error(error) is not None:
            log.info("sync status not read: %s", type(error).__name__)
        else:
            show_error(self.mw, error)
        self._reread_local()

    def _reread_local(self) -> None:
        if self._read_local_again:
            self._read_local_again = False
            self.refresh_local_status()

    # --- settings and shutdown --------------------------------------------------------------------

    def apply_server_settings(self, before: ServerConfig | None, password: str | None) -> None:
        """Settings were saved: store the typed password, follow the new server, sync if it is new.

        ``before`` is the server as it was; ``password`` what was typed in the password field (None
        when left empty: a password already stored stays, and follows a renamed account).
        """
        after = self.config()
        if after != before:
            self._generation += 1
            if self._running is not None:
                self._running.cancel()
            self._drop_engine()
            self._state = SyncState.NOT_CONFIGURED if after is None else SyncState.WAITING
            self._message, self._problem = "", None
            self._local = None
            self._paused = False
        self._apply_interval()
        self._publish()
        if after is None:
            return
        passwords = self.passwords

        def store(_ctx: OpContext) -> None:
            if password:
                passwords.set(after, password)
            elif before is not None and before.keyring_account != after.keyring_account:
                old = passwords.get(before)
                if old is not None and passwords.get(after) is None:
                    passwords.set(after, old)

        server_changed = after != before
        (
            Op(self.mw, self.mw.taskman, store)
            .on_network_lane()
            .success(lambda _none: self._after_settings(server_changed, bool(password)))
            .run()
        )

    def _after_settings(self, server_changed: bool, new_password: bool) -> None:
        if self._closed:
            return
        if new_password:
            self._drop_engine()  # the next sync logs in with the new password
        self.refresh_local_status()
        if (server_changed or new_password) and self._auto_enabled():
            self._start(Trigger.SETTINGS)

    def cancel(self) -> None:
        if self._running is not None:
            self._running.cancel()

    def shutdown(self) -> None:
        """The window closes: no new syncs, the running one stops, the connection is closed."""
        self._closed = True
        for timer in (self._interval_timer, self._debounce, self._status_timer):
            timer.stop()
        self.cancel()
        self._drop_engine()


def _summary(report: SyncReport) -> str:
    if report.cancelled:
        return _("Synchronisation cancelled; what was already exchanged is kept.")
    sent = _("Synchronised: {pushed} sent, {pulled} received.")
    parts = [sent.format(pushed=report.pushed, pulled=report.pulled)]
    if report.conflicts:
        parts.append(_("{count} conflicts to look at in the sync window.").format(count=report.conflicts))
    if report.rejected:
        parts.append(_("{count} changes refused by the server (sync window).").format(count=report.rejected))
    return " ".join(parts)
