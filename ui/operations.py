"""Running work off the GUI thread through one small operation object (Anki's CollectionOp/QueryOp).

    Op(parent, lambda ctx: services.do_something(...))
        .success(lambda result: ...)        # runs on the GUI thread
        .failure(lambda error: ...)         # optional; default shows the message or the crash dialog
        .with_progress(_("Importing…"))     # optional: a progress dialog with Cancel after 300 ms
        .changes(OpChanges(calls=True))     # announced to every view after success
        .run()

The background part receives an ``OpContext`` (progress reporting, cancellation) and must never touch
widgets. Local database work runs on one worker thread, so writes are serialised; network work (sync,
later) gets its own lane so a slow server never holds up a save.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.errors import UserFacingError, as_storage_error
from app.i18n import _
from ui.changes import NO_CHANGES, OpChanges

log = logging.getLogger("hotline.ui.operations")
T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside background work when the user pressed Cancel."""


class OpContext:
    """Handed to the background part: report progress, check for cancellation."""

    def __init__(self, relay: _Relay) -> None:
        self._relay = relay
        self._cancel = threading.Event()

    def progress(self, done: int, total: int, label: str = "") -> None:
        self._relay.progressed.emit(done, total, label)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled

    def cancel(self) -> None:
        self._cancel.set()


class _Relay(QObject):
    """Lives on the GUI thread; signals emitted from the worker arrive queued on the GUI thread."""

    finished = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int, str)


class _Runnable(QRunnable):
    def __init__(self, work: Callable[[OpContext], Any], ctx: OpContext, relay: _Relay) -> None:
        super().__init__()
        self._work, self._ctx, self._relay = work, ctx, relay
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self._work(self._ctx)
        except BaseException as exc:  # handed to the GUI thread, which decides what the user sees
            self._report("failed", exc)
        else:
            self._report("finished", result)

    def _report(self, signal: str, value: object) -> None:
        try:
            getattr(self._relay, signal).emit(value)
        except RuntimeError:
            if shiboken6.isValid(self._relay):
                raise
            # the application is shutting down and took the relay with it: nobody is left to tell
            log.info("a background operation finished after the application closed its windows")


class TaskManager(QObject):
    """Owns the worker lanes; counts running operations so tests and shutdown can wait for idle."""

    operation_did_execute = Signal(object)  # OpChanges
    idle_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # db: local reads and writes, one at a time; net: the shared server; background: long local
        # upkeep (the search index after a large first sync) in short transactions, so that a save on
        # the db lane waits a fraction of a second at most; reports: building printouts (reads only,
        # which WAL lets run beside the writes) and rendering or printing their pages (pdfium, which
        # must not run on two threads at once)
        self._lanes = {
            "db": QThreadPool(self),
            "net": QThreadPool(self),
            "background": QThreadPool(self),
            "reports": QThreadPool(self),
        }
        for pool in self._lanes.values():
            pool.setMaxThreadCount(1)
        self._running = 0
        self._relays: set[_Relay] = set()

    @property
    def running(self) -> int:
        return self._running

    def start(self, work: Callable[[OpContext], Any], relay: _Relay, lane: str) -> OpContext:
        ctx = OpContext(relay)
        self._relays.add(relay)  # keep the relay alive until it reports
        self._running += 1
        if self._running == 1:
            self.idle_changed.emit(False)
        self._lanes[lane].start(_Runnable(work, ctx, relay))
        return ctx

    def done(self, relay: _Relay) -> None:
        self._relays.discard(relay)
        self._running -= 1
        if self._running == 0:
            self.idle_changed.emit(True)

    def wait_for_idle(self, msecs: int = 30_000) -> bool:
        return all(pool.waitForDone(msecs) for pool in self._lanes.values())


class Op(Generic[T]):
    def __init__(self, parent: QObject | None, taskman: TaskManager, work: Callable[[OpContext], T]) -> None:
        self._parent, self._taskman, self._work = parent, taskman, work
        self._on_success: Callable[[T], None] | None = None
        self._on_failure: Callable[[BaseException], None] | None = None
        self._progress_label: str | None = None
        self._on_progress: Callable[[int, int, str], None] | None = None
        self._changes: OpChanges = NO_CHANGES
        self._lane = "db"

    def success(self, callback: Callable[[T], None]) -> Op[T]:
        self._on_success = callback
        return self

    def failure(self, callback: Callable[[BaseException], None]) -> Op[T]:
        self._on_failure = callback
        return self

    def with_progress(self, label: str) -> Op[T]:
        self._progress_label = label
        return self

    def progress_to(self, callback: Callable[[int, int, str], None]) -> Op[T]:
        """Progress reports go to ``callback`` on the GUI thread (without a dialog)."""
        self._on_progress = callback
        return self

    def changes(self, changes: OpChanges) -> Op[T]:
        self._changes = changes
        return self

    def on_network_lane(self) -> Op[T]:
        self._lane = "net"
        return self

    def on_background_lane(self) -> Op[T]:
        self._lane = "background"
        return self

    def on_reports_lane(self) -> Op[T]:
        self._lane = "reports"
        return self

    def _parent_gone(self) -> bool:
        """The parent widget was deleted while the work ran (a closed window's panel)."""
        return self._parent is not None and not shiboken6.isValid(self._parent)

    def _taskman_gone(self) -> bool:
        """The whole window was deleted (its task manager with it) before the queued result arrived."""
        return not shiboken6.isValid(self._taskman)

    def run(self) -> OpContext:
        relay = _Relay()
        dialog: QProgressDialog | None = None
        ctx_holder: list[OpContext] = []

        if self._progress_label is not None:
            owner = self._parent if isinstance(self._parent, QWidget) else None
            dialog = QProgressDialog(self._progress_label, _("Cancel"), 0, 0, owner)
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(300)
            dialog.setAutoClose(False)
            dialog.setAutoReset(False)
            dialog.canceled.connect(lambda: ctx_holder[0].cancel() if ctx_holder else None)

            def on_progress(done: int, total: int, label: str) -> None:
                assert dialog is not None
                dialog.setMaximum(max(total, 0))
                dialog.setValue(min(done, total) if total else 0)
                if label:
                    dialog.setLabelText(label)

            relay.progressed.connect(on_progress)

        def finish() -> bool:
            """Close the progress dialog; False when the window that started the work is gone."""
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.reset()
                dialog.hide()
                dialog.deleteLater()
            if self._taskman_gone():
                return False
            self._taskman.done(relay)
            return True

        def on_finished(result: Any) -> None:
            if not finish():  # saved work is on disk; the other windows refresh from it when shown
                return
            if self._parent_gone():  # its window was closed meanwhile: nobody to show the result to
                if self._changes.any():
                    self._taskman.operation_did_execute.emit(self._changes)
                return
            if self._on_success is not None:
                try:
                    self._on_success(result)
                except Exception:
                    report_bug(*sys.exc_info())
            if self._changes.any():
                self._taskman.operation_did_execute.emit(self._changes)

        def on_failed(error: BaseException) -> None:
            window_alive = finish()
            if isinstance(error, Cancelled):
                return
            if not window_alive or self._parent_gone():
                if not isinstance(error, UserFacingError):
                    report_bug(type(error), error, error.__traceback__)
                return
            if self._on_failure is not None:
                self._on_failure(error)
            else:
                show_error(self._parent if isinstance(self._parent, QWidget) else None, error)

        if self._on_progress is not None:
            relay.progressed.connect(self._on_progress)
        relay.finished.connect(on_finished)
        relay.failed.connect(on_failed)
        ctx = self._taskman.start(self._work, relay, self._lane)
        ctx_holder.append(ctx)
        return ctx


def show_error(parent: QWidget | None, error: BaseException) -> None:
    """The one place errors reach the user: environment problems as a message, bugs as a crash report."""
    user_error = error if isinstance(error, UserFacingError) else as_storage_error(error)
    if user_error is not None:
        from ui.dialogs import warn

        warn(parent, user_error.message)
        return
    report_bug(type(error), error, error.__traceback__)


def report_bug(exc_type: Any, exc_value: Any, exc_tb: Any) -> None:
    from ui.crash import crash_handler

    crash_handler.handle(exc_type, exc_value, exc_tb)


def call_later(msecs: int, callback: Callable[[], None]) -> None:
    QTimer.singleShot(msecs, callback)
