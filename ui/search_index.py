"""Writes the calls' full-text rows a large first sync left for later (``app.services.call_index``),
and rebuilds the knowledge-base search index when a new version of the app indexes differently
(``app.services.kb_index``).

Runs on the background lane in short transactions, so saves and syncs go on meanwhile; it starts at
start-up when calls are still queued (the window was closed or the power went during an earlier run)
and after every sync that pulled something. ``remaining_changed`` tells the status bar and the call
list how many calls a word search cannot find yet; when it reaches 0 the views search again.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from app.i18n import _
from app.services import call_index, kb_index
from ui.changes import OpChanges
from ui.operations import Op, OpContext

log = logging.getLogger("hotline.ui.search")

STARTUP_DELAY_MS = 5000  # after the window and the first sync have settled


KB_LABEL = "kb"  # the progress label of the knowledge-base rebuild


class SearchIndexer(QObject):
    remaining_changed = Signal(int)  # calls still to index; 0 when the index is complete
    kb_progress = Signal(int, int)  # knowledge-base rebuild: (done, total); (0, 0) when finished

    def __init__(self, mw: Any) -> None:
        super().__init__(mw)
        self.mw = mw
        self._running: OpContext | None = None
        self._again = False
        self._closed = False
        self.remaining = 0
        mw.sync.sync_finished.connect(self._after_sync)
        QTimer.singleShot(STARTUP_DELAY_MS, self, self.start)

    @property
    def running(self) -> bool:
        return self._running is not None

    def _after_sync(self, report: Any) -> None:
        if report is not None and (report.pulled or report.full):
            self.start()

    def start(self) -> None:
        """Index the queued calls, if any (a no-op costing one count when none are queued)."""
        if self._closed:
            return
        if self._running is not None:
            self._again = True  # a sync queued more while we ran: look again when done
            return
        db = self.mw.ctx.db

        def work(ctx: OpContext) -> int:
            with db.session() as session:
                stale = kb_index.needs_rebuild(session)
            if stale:
                kb_index.rebuild_database(
                    db, lambda done, total: ctx.progress(done, total, KB_LABEL), lambda: ctx.cancelled
                )
                ctx.progress(0, 0, KB_LABEL)
            remaining = call_index.backlog_count(db)
            if remaining:
                ctx.progress(0, remaining, "")

                def progress(done: int, total: int) -> None:
                    ctx.progress(done, total, "")

                call_index.index_backlog(db, progress, lambda: ctx.cancelled, call_index.BATCH)
                remaining = call_index.backlog_count(db)
            return remaining

        self._running = (
            Op(self.mw, self.mw.taskman, work)
            .on_background_lane()
            .progress_to(self._progressed)
            .success(self._finished)
            .failure(self._failed)
            .run()
        )

    def _progressed(self, done: int, total: int, label: str) -> None:
        if label == KB_LABEL:
            self.kb_progress.emit(done, total)
            if total == 0:  # rebuilt: searches show what the new index finds
                self.mw.taskman.operation_did_execute.emit(OpChanges(kb=True))
            return
        self._publish(max(total - done, 0))

    def _publish(self, remaining: int) -> None:
        if remaining != self.remaining:
            was_incomplete = self.remaining > 0
            self.remaining = remaining
            self.remaining_changed.emit(remaining)
            if was_incomplete and remaining == 0:  # searches are complete now: show them again
                self.mw.taskman.operation_did_execute.emit(OpChanges(calls=True))

    def _finished(self, remaining: int) -> None:
        self._running = None
        if self._closed:
            return
        self._publish(remaining)
        if self._again or remaining:  # a sync queued more calls while this ran
            self._again = False
            QTimer.singleShot(1000, self, self.start)

    def _failed(self, error: BaseException) -> None:
        # a full disk or a locked file: the calls stay queued and are indexed at the next start or
        # sync; a search meanwhile says it may miss them
        self._running = None
        log.warning("the search index could not be completed: %s", error)

    def shutdown(self) -> None:
        self._closed = True
        if self._running is not None:
            self._running.cancel()


class SearchIndexStatus(QLabel):
    """The status-bar note while calls are being indexed ("搜索索引：还有 12,345 条来电")."""

    def __init__(self, indexer: SearchIndexer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchIndexStatus")
        self.setToolTip(
            _(
                "After the first synchronisation the calls are indexed for search in the background. "
                "Until this is done a search by words may miss some of them."
            )
        )
        indexer.remaining_changed.connect(self.show_remaining)
        indexer.kb_progress.connect(self.show_kb_progress)
        self.show_remaining(indexer.remaining)

    def show_remaining(self, remaining: int) -> None:
        self.setVisible(remaining > 0)
        self.setText(_("Indexing for search: {count} calls to go").format(count=f"{remaining:,}"))

    def show_kb_progress(self, done: int, total: int) -> None:
        self.setVisible(total > 0)
        self.setText(
            _("Rebuilding the knowledge-base search index: {done} of {total}").format(
                done=f"{done:,}", total=f"{total:,}"
            )
        )
