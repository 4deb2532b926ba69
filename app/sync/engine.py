"""The sync engine: push the outbox, pull what changed, check, and say what happened.

One ``sync()`` is: connect (the connection is kept between syncs, so an idle poll is one round trip),
``hello`` once per connection (protocol, epoch), push the outbox in batches, pull in batches until
nothing is left, then compare per-table counts and hashes for the tables that moved. Every step is
safe to cut at any point (see ../shared/design/sync.md and docs/architecture.md):

- push: the server applies each op once, keyed by (desktop, op id), and the outbox rows are deleted
  only after the server committed them; a push cut anywhere is simply sent again;
- pull: a batch and the cursor after it are committed locally in one transaction; the server's pull
  never passes a transaction that is still to commit;
- a new server epoch (restored or replaced server) resets the cursor and queues every local row to be
  sent again, so nothing the restored server lost is lost.

Network and server problems come out as ``SyncError`` with a plain message; the local database is
never left half-written by them. Runs on a worker thread; nothing here touches Qt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from app.i18n import N_, _
from app.services import ticket_numbers
from app.storage.bulk import drop_secondary_indexes, restore_deferred_indexes
from app.storage.db import Database
from app.storage.models import SYNCED_TABLES
from app.sync import local, snapshot
from app.sync.apply import PulledRow, apply_batch, apply_rows, remote_transaction
from app.sync.config import ServerConfig
from app.sync.protocol import PROTOCOL_VERSION, SERVER_SCHEMA_HEAD, Problem, SyncError

log = logging.getLogger("hotline.sync")

PUSH_BATCH = 1000
PULL_BATCH = 5000
# a first sync of at least this many rows loads the calls in bulk (see SyncEngine._pull)
BULK_FIRST_SYNC_ROWS = 20_000
PUSH_STATUSES = frozenset({"applied", "unchanged", "duplicate", "rejected"})
# Server-side limits for a desktop's session: a stuck statement or transaction never holds locks long.
SESSION_OPTIONS = "-c statement_timeout=120000 -c idle_in_transaction_session_timeout=60000"

ProgressFn = Callable[[int, int, str], None]
# close() waits at most this long for a running sync to stop (cancelling its statement meanwhile).
CLOSE_WAIT_S = 3.0
# Counts are compared after every sync that moved data; content hashes (which read every row's id and
# version on both sides) after a full sync and then at most this often.
HASH_EVERY = dt.timedelta(hours=1)
# A table fetched again because it differed is not fetched again before this, whatever the check says.
RESYNC_AT_MOST_EVERY = dt.timedelta(hours=24)


@dataclass(frozen=True)
class ServerInfo:
    epoch: str
    schema_revision: str
    server_version: str
    rows_estimate: int = 0
    station: int | None = None  # this desktop's station number for ticket numbers (schema s0002)
    supervisor: bool | None = None  # the login may change policies and the calendar (schema s0003)


@dataclass(frozen=True)
class ServerRejection:
    """A change some desktop made that the server refused, not yet dealt with."""

    id: int
    client_id: str
    client_name: str
    table_name: str
    row_id: str
    op: str
    fields: dict[str, Any]
    reason: str
    rejected_at: dt.datetime


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    rejected: int = 0
    conflicts: int = 0
    resynced: list[str] = field(default_factory=list)
    full: bool = False
    cancelled: bool = False

    @property
    def moved(self) -> bool:
        return bool(self.pushed or self.pulled or self.rejected)


def classify(error: BaseException) -> SyncError:
    """A psycopg error as the problem the user is told about."""
    if isinstance(error, SyncError):
        return error
    detail = str(error).strip()
    lowered = detail.lower()
    sqlstate = getattr(error, "sqlstate", None) or ""
    if sqlstate == "HL001":
        return SyncError(Problem.UPGRADE_APP, detail)
    if sqlstate in ("28P01", "28000") or "password authentication failed" in lowered:
        return SyncError(Problem.AUTH, detail)
    if "no password supplied" in lowered or "password is required" in lowered:
        return SyncError(Problem.NO_PASSWORD, detail)
    if "ssl" in lowered or "certificate" in lowered:
        return SyncError(Problem.TLS, detail)
    if sqlstate == "42501" or isinstance(error, pg_errors.InsufficientPrivilege):
        return SyncError(Problem.PERMISSION, detail)
    if sqlstate in ("3F000", "42883", "42P01") or isinstance(
        error, pg_errors.InvalidSchemaName | pg_errors.UndefinedFunction | pg_errors.UndefinedTable
    ):
        return SyncError(Problem.NO_SCHEMA, detail)
    if sqlstate == "3D000":  # the database itself does not exist
        return SyncError(Problem.NO_SCHEMA, detail)
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError | OSError):
        return SyncError(Problem.UNREACHABLE, detail)
    if isinstance(error, psycopg.Error):
        return SyncError(Problem.ANSWER, detail)
    return SyncError(Problem.ANSWER, detail)


class _NewEpoch(Exception):
    """The server's epoch is not the one our cursor belongs to."""


class SyncEngine:
    def __init__(self, db: Database, config: ServerConfig, client_name: str = "") -> None:
        self.db = db
        self.config = config
        self.client_name = client_name
        self._conn: psycopg.Connection[Any] | None = None
        self._info: ServerInfo | None = None
        self._run_lock = threading.Lock()  # one sync at a time
        self._closing = False  # close() was called from another thread: stop at the next step
        self._success_written = -1e9  # monotonic time the last success was written to the database
        self._conn_lock = threading.Lock()
        self._station: int | None = None  # the station last handed to take_station

    # --- connection -------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        with self._conn_lock:
            conn = self._conn
            if conn is not None and not conn.closed and not conn.broken:
                return conn
            self._info = None
            try:
                conn = psycopg.connect(
                    **self.config.connect_kwargs(), autocommit=True, options=SESSION_OPTIONS
                )
            except psycopg.Error as exc:
                raise classify(exc) from exc
            self._conn = conn
            return conn

    def close(self) -> None:
        """Close the connection; safe from another thread. A sync running on it stops: its statement
        is cancelled on the server (again until the sync has ended, for a statement that was about to
        start) and its next step fails as offline. The socket is closed only once no thread waits on
        it — closing it under a waiting thread can leave that thread waiting on a reused descriptor."""
        self._closing = True
        try:
            deadline = time.monotonic() + CLOSE_WAIT_S
            while time.monotonic() < deadline:
                if self._run_lock.acquire(timeout=0.05):
                    self._run_lock.release()
                    break
                conn = self._conn
                if conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        conn.cancel_safe(timeout=1)
            self._drop_connection()
        finally:
            self._closing = False

    def _drop_connection(self) -> None:
        with self._conn_lock:
            conn, self._conn, self._info = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):  # closing a broken connection
                conn.close()

    def _hello(self, conn: psycopg.Connection[Any]) -> ServerInfo:
        if self._info is not None:
            return self._info
        row = conn.execute(
            "SELECT hotline.hello(%s, %s, %s)", (PROTOCOL_VERSION, self.db.node_id, self.client_name)
        ).fetchone()
        answer = row[0] if row else None
        if not isinstance(answer, dict) or not {"epoch", "min_protocol", "max_protocol"} <= answer.keys():
            raise SyncError(Problem.ANSWER, f"hello answered {answer!r}")
        try:
            low, high = int(answer["min_protocol"]), int(answer["max_protocol"])
            info = ServerInfo(
                epoch=str(answer["epoch"]),
                schema_revision=str(answer.get("schema") or ""),
                server_version=str(answer.get("server_version") or ""),
                rows_estimate=max(0, int(answer.get("rows") or 0)),
                station=None if answer.get("station") is None else int(answer["station"]),
                supervisor=None if answer.get("supervisor") is None else bool(answer["supervisor"]),
            )
        except (TypeError, ValueError) as exc:
            raise SyncError(Problem.ANSWER, f"hello answered {answer!r}") from exc
        if high < PROTOCOL_VERSION:
            raise SyncError(Problem.OLD_SCHEMA, f"server accepts protocol {low}..{high}")
        if low > PROTOCOL_VERSION:
            raise SyncError(Problem.UPGRADE_APP, f"server accepts protocol {low}..{high}")
        if info.schema_revision < SERVER_SCHEMA_HEAD:
            raise SyncError(Problem.OLD_SCHEMA, f"server schema {info.schema_revision}")
        self._info = info
        self._remember_role(info)
        return info

    def _remember_role(self, info: ServerInfo) -> None:
        """Keep what the server says of this login's role, for the settings pages (also offline)."""
        if info.supervisor is None:
            return
        value = "1" if info.supervisor else "0"
        with self.db.session() as session:
            if local.read_meta(session, local.SUPERVISOR) == value:
                return
        with remote_transaction(self.db) as conn:
            local.write_meta(conn, local.SUPERVISOR, value)

    def _guarded(self, work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        """Run ``work`` on the connection; a psycopg error becomes a SyncError (and a lost connection
        is dropped, so the next sync reconnects)."""
        if self._closing:
            raise SyncError(Problem.UNREACHABLE, "the connection is being closed")
        conn = self._connect()
        try:
            return work(conn)
        except SyncError:
            raise
        except psycopg.Error as exc:
            if conn.closed or conn.broken or isinstance(exc, psycopg.OperationalError):
                self._drop_connection()
            raise classify(exc) from exc

    # --- public API -------------------------------------------------------------------------------

    def test_connection(self) -> ServerInfo:
        info: ServerInfo = self._guarded(self._hello)
        return info

    def poll(self) -> bool:
        """One round trip: pull a batch (and apply it). True when the server had something new."""
        with self._run_lock:
            cursor = self._read_cursor()
            if cursor.epoch is None or self._snapshot_progress() is not None:
                return True  # never synced, or a first sync to finish: a full sync is due
            try:
                rows = self._guarded(lambda conn: self._pull_page(conn, cursor))
            except _NewEpoch:
                return True
            if rows:
                apply_batch(self.db, rows, local.Cursor(cursor.epoch, rows[-1].xid, rows[-1].version))
            return bool(rows)

    def server_rejections(self, limit: int = 500) -> list[ServerRejection]:
        """Every desktop's refused changes that nobody has dealt with yet (the supervisor's view)."""

        def fetch(conn: psycopg.Connection[Any]) -> list[Any]:
            return conn.execute(
                "SELECT id, client_id, client_name, table_name, row_id, op, fields, reason, rejected_at "
                "FROM hotline.rejected(%s, %s)",
                (PROTOCOL_VERSION, limit),
            ).fetchall()

        with self._run_lock:
            rows: list[Any] = self._guarded(fetch)
        return [
            ServerRejection(
                int(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3] or ""),
                str(r[4] or ""),
                str(r[5] or ""),
                r[6] if isinstance(r[6], dict) else {},
                str(r[7]),
                r[8],
            )
            for r in rows
        ]

    def resolve_server_rejection(self, rejection_id: int, retry: bool, by: str) -> str:
        """Apply a refused change again on the server, or dismiss it. Returns the server's status
        ('applied', 'unchanged', 'rejected' again, 'dismissed', or 'gone' when already dealt with)."""

        def resolve(conn: psycopg.Connection[Any]) -> Any:
            return conn.execute(
                "SELECT hotline.resolve_rejected(%s, %s, %s, %s)", (PROTOCOL_VERSION, rejection_id, retry, by)
            ).fetchone()

        with self._run_lock:
            row = self._guarded(resolve)
        answer = row[0] if row else None
        if not isinstance(answer, dict) or "status" not in answer:
            raise SyncError(Problem.ANSWER, f"resolve_rejected answered {answer!r}")
        return str(answer["status"])

    def sync(
        self, progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None
    ) -> SyncReport:
        report = SyncReport()
        say = progress or (lambda _done, _total, _label: None)
        stop = cancelled or (lambda: False)
        with self._run_lock:
            try:
                for _attempt in range(2):
                    try:
                        self._sync_once(report, say, stop)
                        break
                    except _NewEpoch:
                        self._info = None  # the server changed under us: hello again, then resync
                else:
                    raise SyncError(Problem.ANSWER, "the server's epoch keeps changing")
            except SyncError as exc:
                self._record_failure(exc)
                raise
            self._record_success(report)
        return report

    # --- one sync ---------------------------------------------------------------------------------

    def _read_cursor(self) -> local.Cursor:
        with self.db.session() as session:
            return local.read_cursor(session)

    def _sync_once(self, report: SyncReport, say: ProgressFn, stop: Callable[[], bool]) -> None:
        info: ServerInfo = self._guarded(self._hello)
        self._take_station(info)
        cursor = self._read_cursor()
        if cursor.epoch != info.epoch:
            report.full = True
            self._start_epoch(cursor, info)
        if not self._push(report, say, stop):
            return  # cancelled
        touched = self._pull(info, report, say, stop)
        if touched is None:
            return  # cancelled
        if report.moved:
            self._check(touched | self._pushed_tables, report, say)

    def _start_epoch(self, cursor: local.Cursor, info: ServerInfo) -> None:
        """A first sync, or a server with a new epoch: start the cursor from zero; after a restore,
        queue every local row to be sent again."""
        with remote_transaction(self.db) as conn:
            queued = 0
            if cursor.epoch:  # we synced with an earlier epoch: the server was restored or replaced
                queued = local.reannounce_all(conn, SYNCED_TABLES)
                local.add_log(
                    conn,
                    "info",
                    N_(
                        "The shared server was restored or replaced: all {count} local record(s) are sent "
                        "again and everything is fetched anew."
                    ),
                    count=queued,
                )
            else:
                local.add_log(conn, "info", N_("First sync with this server: fetching all data."))
            local.write_cursor(conn, local.Cursor(info.epoch, 0, 0))
            snapshot.clear_progress(conn)
        log.info("sync epoch %s (was %s), %d rows queued again", info.epoch, cursor.epoch, queued)

    def _take_station(self, info: ServerInfo) -> None:
        """Keep the station the server gave this desktop; tickets made before it had one get their final
        numbers now — before the push below (or a re-announce after a new epoch) sends them."""
        if info.station is None or info.station == self._station:
            return
        renumbered = ticket_numbers.take_station(self.db, info.station)
        self._station = info.station
        if renumbered:
            with remote_transaction(self.db) as conn:
                local.add_log(
                    conn,
                    "info",
                    N_("Tickets made before the first sync got their final numbers: {numbers}."),
                    numbers=", ".join(f"{old} → {new}" for old, new in renumbered),
                )

    # push

    _pushed_tables: set[str]

    def _push(self, report: SyncReport, say: ProgressFn, stop: Callable[[], bool]) -> bool:
        """Send the outbox in batches; False when cancelled."""
        self._pushed_tables = set()
        total: int | None = None
        while not stop():
            with self.db.session() as session:
                ops = local.read_outbox(session, PUSH_BATCH)
                if ops and total is None:
                    total = local.outbox_count(session)
            if not ops:
                self._forget_resolved_parked()
                return True
            payload = [local.op_payload(op) for op in ops]

            def send(conn: psycopg.Connection[Any], payload: list[dict[str, Any]] = payload) -> Any:
                return conn.execute(
                    "SELECT hotline.push(%s, %s, %s)", (PROTOCOL_VERSION, self.db.node_id, Jsonb(payload))
                ).fetchone()

            answer = self._guarded(send)
            done, rejected = self._read_push_answer(payload, answer[0] if answer else None)
            local.acknowledge(self.db, done, rejected)
            self._pushed_tables.update(op.table_name for op in ops)
            report.pushed += len(done)
            report.rejected += len(rejected)
            say(report.pushed + report.rejected, max(total or 0, report.pushed), _("Sending local changes…"))
        report.cancelled = True
        return False

    def _forget_resolved_parked(self) -> None:
        """Drop parked changes that were since accepted or dismissed on the server."""
        with self.db.session() as session:
            parked = local.parked_op_ids(session)
        if not parked:
            return

        def status(conn: psycopg.Connection[Any]) -> list[Any]:
            return conn.execute(
                "SELECT client_op_id, status FROM hotline.op_status(%s, %s, %s)",
                (PROTOCOL_VERSION, self.db.node_id, parked),
            ).fetchall()

        rows: list[Any] = self._guarded(status)
        local.drop_parked_resolved(self.db, [str(op_id) for op_id, state in rows if state != "rejected"])

    @staticmethod
    def _read_push_answer(payload: list[dict[str, Any]], answer: Any) -> tuple[list[str], dict[str, str]]:
        sent = {op["op_id"] for op in payload}
        if not isinstance(answer, list) or len(answer) != len(payload):
            raise SyncError(Problem.ANSWER, f"push answered {str(answer)[:200]}")
        done: list[str] = []
        rejected: dict[str, str] = {}
        for item in answer:
            if (
                not isinstance(item, dict)
                or item.get("op_id") not in sent
                or item.get("status") not in PUSH_STATUSES
            ):
                raise SyncError(Problem.ANSWER, f"push answered {str(item)[:200]}")
            if item["status"] == "rejected":
                rejected[item["op_id"]] = str(item.get("reason") or "")
            else:
                done.append(item["op_id"])
        return done, rejected

    # pull

    def _pull_page(self, conn: psycopg.Connection[Any], cursor: local.Cursor) -> list[PulledRow]:
        try:
            result = conn.execute(
                "SELECT table_name, row_id, data, hlc, origin, deleted, version, xid::text::bigint "
                "FROM hotline.pull(%s, %s, %s::text::xid8, %s, %s)",
                (PROTOCOL_VERSION, cursor.epoch, str(cursor.xid), cursor.version, PULL_BATCH),
            ).fetchall()
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) == "HL002":
                raise _NewEpoch(str(exc)) from exc
            raise
        return [_pulled(row) for row in result]

    def _pull(
        self, info: ServerInfo, report: SyncReport, say: ProgressFn, stop: Callable[[], bool]
    ) -> set[str] | None:
        """Fetch and apply batches until none is left; the tables touched, or None when cancelled.

        A large first sync (or one cut short, resumed) reads the tables whole first
        (``app.sync.snapshot``), loads the calls without their secondary indexes and builds those once
        at the end, and leaves the calls' full-text rows to the background indexer
        (``app.services.call_index``); then it pulls what changed meanwhile."""
        resumed = self._snapshot_progress()
        bulk = resumed is not None or (report.full and info.rows_estimate >= BULK_FIRST_SYNC_ROWS)
        if bulk:
            drop_secondary_indexes(self.db.engine, "calls")
        try:
            touched: set[str] = set()
            if bulk:
                read = self._snapshot(info, resumed, report, say, stop)
                if read is None:
                    return None
                touched |= read
            pulled = self._pull_pages(info, report, say, stop, bulk)
            return None if pulled is None else touched | pulled
        finally:
            if bulk:
                say(0, 0, _("Building the indexes of the calls…"))
                restore_deferred_indexes(self.db.engine)

    # snapshot

    def _snapshot_progress(self) -> snapshot.Progress | None:
        with self.db.session() as session:
            return snapshot.read_progress(session)

    def _snapshot(
        self,
        info: ServerInfo,
        progress: snapshot.Progress | None,
        report: SyncReport,
        say: ProgressFn,
        stop: Callable[[], bool],
    ) -> set[str] | None:
        """Read every table whole, page by page (the next page fetched while this one is stored), each
        page stored with the place it reached; then start the pull cursor where the snapshot began.
        The tables read, or None when cancelled (the next sync goes on from the last page stored)."""
        names = snapshot.tables()
        if progress is None or progress.epoch != info.epoch or progress.table not in names:
            start = self._guarded(
                lambda conn: self._server_call(
                    conn, "SELECT hotline.snapshot_start(%s, %s)", (PROTOCOL_VERSION, info.epoch)
                )
            )
            progress = snapshot.Progress(info.epoch, int(start[0][0]), names[0], "")
            with remote_transaction(self.db) as conn:
                snapshot.write_progress(conn, progress)
            done = 0
        else:
            with self.db.session() as session:
                done = snapshot.stored_rows(session, progress.table)
            log.info("resuming the first sync at %s after %r", progress.table, progress.after)
        total = max(info.rows_estimate, done)
        touched: set[str] = set()

        def fetch(table: str, after: str) -> list[Any]:
            plan = snapshot.plan(table)
            params = (PROTOCOL_VERSION, info.epoch, table, list(plan.columns), after, snapshot.PAGE_ROWS)
            rows: list[Any] = self._guarded(
                lambda conn: self._server_call(conn, plan.sql, params, binary=True)
            )
            return rows

        if stop():
            report.cancelled = True
            return None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-snapshot") as ahead:
            table, after = progress.table, progress.after
            with self.db.session() as session:
                look_up = bool(after) or snapshot.holds_rows(session, table)
            page = ahead.submit(fetch, table, after)
            while True:
                rows = page.result()
                full_page = len(rows) >= snapshot.PAGE_ROWS
                position = names.index(table)
                # where the next page comes from: this table's rest, or the next table's start
                if full_page:
                    following: tuple[str, str] | None = (table, str(rows[-1][0]))
                elif position + 1 < len(names):
                    following = (names[position + 1], "")
                else:
                    following = None
                cancel = following is not None and stop()  # then no page is fetched ahead
                if following is not None and not cancel:
                    page = ahead.submit(fetch, *following)
                with remote_transaction(self.db) as conn:
                    if rows:
                        snapshot.apply_page(conn, table, rows, look_up, defer_index=True)
                    if following is None:
                        local.write_cursor(conn, progress.cursor())
                        snapshot.clear_progress(conn)
                    else:
                        snapshot.write_progress(
                            conn, snapshot.Progress(info.epoch, progress.start, *following)
                        )
                if rows:
                    self.db.clock.observe(max(str(row[1]) for row in rows))
                    touched.add(table)
                    report.pulled += len(rows)
                    done += len(rows)
                    if table == "sync_conflicts":
                        report.conflicts += sum(1 for row in rows if not row[3])
                    say(done, max(total, done), _("Fetching all data…"))
                if following is None:
                    return touched
                if cancel or stop():  # never goes on without the page fetched ahead
                    report.cancelled = True
                    return None
                if following[0] != table:
                    table = following[0]
                    with self.db.session() as session:
                        look_up = snapshot.holds_rows(session, table)

    def _server_call(
        self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...], binary: bool = False
    ) -> list[Any]:
        """A snapshot statement; a new server epoch comes out as _NewEpoch."""
        try:
            with conn.cursor(binary=binary) as cur:
                return cur.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) == "HL002":
                raise _NewEpoch(str(exc)) from exc
            raise

    def _pull_pages(
        self, info: ServerInfo, report: SyncReport, say: ProgressFn, stop: Callable[[], bool], bulk: bool
    ) -> set[str] | None:
        """The pull loop. The next page is fetched while this one is written to SQLite (the server's
        work and the network overlap the local work); each page is applied with the cursor after it,
        so a page fetched ahead and never applied (cancel, error) is simply fetched again."""
        touched: set[str] = set()
        total = info.rows_estimate if report.full else 0

        def fetch(cursor: local.Cursor) -> list[PulledRow]:
            rows: list[PulledRow] = self._guarded(lambda conn: self._pull_page(conn, cursor))
            return rows

        if stop():
            report.cancelled = True
            return None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pull") as ahead:
            cursor = self._read_cursor()
            page = ahead.submit(fetch, cursor)
            while True:
                rows = page.result()
                if not rows:
                    return touched
                cursor = local.Cursor(cursor.epoch, rows[-1].xid, rows[-1].version)
                more = len(rows) >= PULL_BATCH
                if more and not stop():
                    page = ahead.submit(fetch, cursor)
                apply_batch(self.db, rows, cursor, bulk)
                touched.update(row.table_name for row in rows)
                report.pulled += len(rows)
                report.conflicts += sum(
                    1 for row in rows if row.table_name == "sync_conflicts" and not row.deleted
                )
                say(report.pulled, max(total, report.pulled) if total else 0, _("Fetching changes…"))
                if not more:
                    return touched
                if stop():
                    report.cancelled = True
                    return None

    # check

    def _check(self, tables: set[str], report: SyncReport, say: ProgressFn) -> None:
        """Compare per-table counts (every sync that moved data) and content hashes (after a full sync,
        else at most hourly) with the server; fetch a table again where they differ — once a day at
        most, so a copy that cannot be mended is reported instead of fetched over and over."""
        now = dt.datetime.now(dt.UTC)
        with self.db.session() as session:
            busy = local.outbox_tables(session)
            cursor = local.read_cursor(session)
            hashed_at = local.read_meta(session, local.HASHED_AT)
        with_hash = report.full or not hashed_at or now - dt.datetime.fromisoformat(hashed_at) > HASH_EVERY
        names = sorted(t for t in (SYNCED_TABLES if with_hash else tables) if t not in busy)
        if not names:
            return

        def server_digest(conn: psycopg.Connection[Any]) -> list[Any]:
            return conn.execute(
                "SELECT table_name, row_count, hash, settled "
                "FROM hotline.digest(%s, %s, %s::text::xid8, %s, %s)",
                (PROTOCOL_VERSION, names, str(cursor.xid), cursor.version, with_hash),
            ).fetchall()

        # the server works out its digest while this desktop works out its own
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-check") as there:
            asked = there.submit(self._guarded, server_digest)
            here: dict[str, tuple[int, str | None]] = {}
            with self.db.session() as session:
                for table_name in names:
                    if with_hash:
                        here[table_name] = local.local_digest(session, table_name)
                    else:
                        here[table_name] = (local.local_count(session, table_name), None)
            answer: list[Any] = asked.result()
        if not answer or not all(settled for *_rest, settled in answer):
            return  # others wrote meanwhile: compare at a quieter moment
        for table_name, row_count, server_hash, _settled in answer:
            count, digest = here.get(table_name, (-1, None))
            same = count == int(row_count) and (not with_hash or digest == str(server_hash))
            with self.db.session() as session:
                resynced_at = local.read_meta(session, local.RESYNCED_AT + table_name)
            if same:
                continue
            if resynced_at and now - dt.datetime.fromisoformat(resynced_at) < RESYNC_AT_MOST_EVERY:
                log.info("table %s still differs (%d rows here, %d there)", table_name, count, row_count)
                continue
            log.warning(
                "table %s differs from the server (%d rows here, %d there): fetching it again",
                table_name, count, row_count,
            )  # fmt: skip
            say(0, 0, _("Checking {table}…").format(table=local.table_label(table_name)))
            self._resync_table(table_name)
            report.resynced.append(table_name)
        if with_hash:
            with remote_transaction(self.db) as conn:
                local.write_meta(conn, local.HASHED_AT, now.isoformat())

    def _resync_table(self, table_name: str) -> None:
        after = ""
        fetched = 0
        while True:

            def page(conn: psycopg.Connection[Any], after: str = after) -> list[PulledRow]:
                result = conn.execute(
                    "SELECT table_name, row_id, data, hlc, origin, deleted, version, xid::text::bigint "
                    "FROM hotline.pull_table(%s, %s, %s, %s)",
                    (PROTOCOL_VERSION, table_name, after, PULL_BATCH),
                )
                return [_pulled(row) for row in result.fetchall()]

            rows: list[PulledRow] = self._guarded(page)
            if not rows:
                break
            with remote_transaction(self.db) as conn:
                apply_rows(conn, rows)
            fetched += len(rows)
            after = rows[-1].row_id
        with remote_transaction(self.db) as conn:
            local.write_meta(conn, local.RESYNCED_AT + table_name, dt.datetime.now(dt.UTC).isoformat())
            local.add_log(
                conn,
                "error",
                N_(
                    "{table}: this computer's copy differed from the server's; fetched all {count} "
                    "record(s) again."
                ),
                table=local.table_label(table_name),
                count=fetched,
            )

    # bookkeeping

    def _record_success(self, report: SyncReport) -> None:
        now = time.monotonic()
        if not (report.moved or report.cancelled or report.full) and now - self._success_written < 30:
            return  # an idle poll: the time of the last success was written less than half a minute ago
        self._success_written = now
        with remote_transaction(self.db) as conn:
            if not report.cancelled:  # a cancelled first sync is not a sync that succeeded
                local.write_meta(conn, local.LAST_SUCCESS, dt.datetime.now(dt.UTC).isoformat())
            local.write_meta(conn, local.LAST_ERROR, "")
            if report.moved or report.cancelled:
                local.add_log(
                    conn,
                    "info",
                    N_("Sent {pushed}, received {pulled}, refused {rejected}.")
                    if not report.cancelled
                    else N_(
                        "Cancelled after sending {pushed} and receiving {pulled}; the rest follows at the "
                        "next sync."
                    ),
                    pushed=report.pushed,
                    pulled=report.pulled,
                    rejected=report.rejected,
                )
        log.info(
            "sync done: pushed %d, pulled %d, rejected %d, resynced %s%s",
            report.pushed, report.pulled, report.rejected, report.resynced or "-",
            " (cancelled)" if report.cancelled else "",
        )  # fmt: skip

    def _record_failure(self, error: SyncError) -> None:
        self._success_written = -1e9  # the next success is written at once, clearing the error
        log.info("sync failed: %s (%s)", error.problem.value, error.detail)
        try:
            with remote_transaction(self.db) as conn:
                last = local.read_meta(conn, local.LAST_ERROR)
                local.write_meta(conn, local.LAST_ERROR, error.source_message)
                if last != error.source_message:  # an outage is logged once, not at every poll
                    local.add_log(conn, "error", error.source_message)
                    if error.problem is Problem.ANSWER and error.detail:
                        local.add_log(conn, "error", N_("Details: {detail}"), detail=error.detail[:2000])
        except Exception:  # the failure itself is what the user must hear about
            log.exception("could not record the sync failure")


def _pulled(row: Any) -> PulledRow:
    table_name, row_id, data, hlc, origin, deleted, version, xid = row
    if not isinstance(data, dict) or not isinstance(row_id, str) or not isinstance(hlc, str):
        raise SyncError(Problem.ANSWER, f"pull answered {str(row)[:200]}")
    return PulledRow(str(table_name), row_id, data, hlc, str(origin), bool(deleted), int(version), int(xid))
