"""Writing the full-text rows a large first sync left for later.

A first sync of a million calls would spend most of its time tokenising question and answer into
bigrams and inserting them into ``calls_fts`` (about 90 µs a call, 1.5 minutes on a 2-core desktop).
It stores the calls and queues their keys in ``calls_unindexed`` instead; the calls are listed and
opened at once, and ``index_backlog`` writes their full-text rows afterwards in short transactions,
newest calls first (the ones people search for), so saves from the window interleave with it.

Until the queue is empty a word or filter search can miss the queued calls: the call list says so
(``calls.unindexed_count``). A queued call that is edited meanwhile is indexed as it is when the
indexer reaches it (``calls.edit_call`` and the sync's apply step leave its index row alone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

from app.services.calls import call_index_body
from app.storage.db import Database
from app.storage.models import Call

log = logging.getLogger("hotline.search")

BATCH = 2000  # calls per transaction: about 0.2 s, so a save waits at most that long

ProgressFn = Callable[[int, int], None]

_COLUMNS = (
    "key", "caller_name", "caller_phone", "unit_name", "question", "answer", "transferred_to",
    "site_id", "system_id", "module_id", "category_id", "outcome", "org_id", "engineer", "deleted",
)  # fmt: skip


def backlog_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM calls_unindexed").scalar() or 0)


def index_backlog(
    db: Database,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    batch: int = BATCH,
) -> int:
    """Write the full-text rows of the queued calls, newest first; the number written.

    Stops early when ``cancelled()`` says so; what was written stays, the rest waits for the next
    call. ``progress(done, total)`` follows each batch.
    """
    stop = cancelled or (lambda: False)
    total = backlog_count(db)
    done = 0
    select_sql = (
        f"SELECT {', '.join('c.' + name for name in _COLUMNS)} FROM calls_unindexed u "
        "JOIN calls c ON c.key = u.key ORDER BY u.key DESC LIMIT ?"
    )
    while not stop():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                # the newest queued calls, written in ascending key order: FTS5 flushes its buffer
                # whenever a rowid is smaller than the one before, so descending order would write a
                # segment per row
                rows = sorted(conn.exec_driver_sql(select_sql, (batch,)).fetchall())
                bodies = [
                    (
                        row[0],
                        call_index_body(cast(Call, SimpleNamespace(**dict(zip(_COLUMNS, row, strict=True))))),
                    )
                    for row in rows
                    if not row[-1]  # the index holds live calls only
                ]
                if bodies:
                    conn.exec_driver_sql("INSERT INTO calls_fts(rowid, body) VALUES (?, ?)", bodies)
                if rows:
                    conn.exec_driver_sql(
                        "DELETE FROM calls_unindexed WHERE key = ?", [(row[0],) for row in rows]
                    )
                else:  # queued keys without a call, if any, are nothing to index
                    conn.exec_driver_sql("DELETE FROM calls_unindexed")
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        if not rows:
            break
        done += len(rows)
        if progress is not None:
            progress(done, max(total, done))
    log.info("full-text index: %d queued call(s) written, %d left", done, max(total - done, 0))
    return done
