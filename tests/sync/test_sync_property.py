"""Sync with several desktops against a real PostgreSQL server: a Hypothesis state machine, a
deterministic three-way conflict, and reproductions of what the machine found
(../shared/design/sync.md, "What convinces a sceptical database engineer", item 3).

The state machine runs three desktops — each its own SQLite file, node id, sync engine and clock (up to
an hour off, changed as it runs) — against one fresh server database per example. desk0 starts with a
unit, two contacts and a call; the others may or may not have synced them yet. The rules save through
the services, as the GUI does: a new unit, contact or call; one field of a unit, contact or call changed
(often the example's "hot" field, so that desktops change the same field of the same entry); two
desktops changing the same field one after the other; a contact tombstoned. And the network: a desktop
syncs (sometimes with a save landing between its push and its pull, as a save on the GUI thread does
while the worker thread syncs), polls (sometimes right after a save), is cut off from the server (its
engine pointed at a closed port) and healed; a desktop's clock moves.

A small model follows every field value a desktop wrote (read from its outbox, so nothing a service
writes is missed) and which values each desktop has seen: its own, and what was on the server when it
last pulled — except fields its outbox still sets, which a pull leaves as they are. Checked:

- after every sync: every value a desktop sent is the server's value, or was overwritten by a write
  (sent too) whose desktop had seen it, or is kept as a lost value in ``sync_conflicts`` (checked at
  once, as later writes could hide a loss); the desktop has nothing parked, and if it has nothing left
  to send its replica equals the server, row by row;
- a desktop that is cut off fails to sync with "unreachable" and keeps its outbox;
- no WARNING from a ``hotline`` logger (the engine warns when a table's check differs from the server);
- at quiescence (everyone healed, then syncing in turn until a round moves nothing): every replica
  equals the server table by table (every synced column and the server version; row counts), so every
  row a desktop created is everywhere; the value check above over every write; no outbox op is left;
  the server applied every op exactly once (``hotline.applied_ops`` holds exactly the op ids the
  desktops made, none refused) and the engines reported each as sent once; each desktop's search index
  finds every call by its question and answer as they are, and no longer by earlier ones.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from app.errors import ValidationError
from app.services import call_index, calls, directory
from app.services.directory import ContactInput, OrganisationInput, PhoneEntry
from app.storage.models import SYNCED_TABLES, Contact, Organisation
from app.storage.uow import UnitOfWork
from app.sync import engine as engine_module
from app.sync import snapshot
from app.sync.config import ServerConfig
from app.sync.engine import SyncEngine, SyncReport
from app.sync.protocol import Problem, SyncError
from tests.helpers.pgserver import PgDatabase, PgServer
from tests.sync.conftest import database_name
from tests.sync.helpers_sync import (
    Desktop,
    clone_database,
    count_rows,
    local_state,
    migrated_template,
    normalise,
    open_desktop,
    outbox_ops,
    prepare_server,
    server_state,
    state_differences,
    synced_columns,
)

APP_USER = "desk_sync_property"
N_DESKTOPS = 3
# Fields the server merges by taking the larger value, never as a conflict (see apply_op).
COUNTERS = frozenset({("calls", "revision"), ("calls", "updated_at")})
HOUR_MS = 3_600_000
OFFSETS_MS = (0, -HOUR_MS, HOUR_MS, -HOUR_MS // 2, HOUR_MS // 2, -60_000, 60_000, -1_000, 1_000)
offsets = st.sampled_from(OFFSETS_MS)
desks = st.integers(min_value=0, max_value=N_DESKTOPS - 1)
picks = st.integers(min_value=0, max_value=999)
# the fields the rules change, by table
FIELDS: dict[str, tuple[str, ...]] = {
    "contacts": ("title", "name", "notes"),
    "organisations": ("name", "notes"),
    "calls": ("question", "answer", "caller_name", "duration_s"),
}
kinds = st.sampled_from(list(FIELDS))
# Which field an edit changes: (table, which entry, which field), or HOT — the example's hot field, the
# first one edited (so that desktops often change the same field of the same entry, as the merge must
# handle, however many other edits come between).
HOT = "hot"
Target = tuple[str, int, int] | str
fields_to_edit = st.one_of(st.just(HOT), st.just(HOT), st.tuples(kinds, picks, picks))  # HOT 2 times in 3
# a sync with a save landing between its push and its pull, or not
saves_during_sync = st.none() | fields_to_edit
BASE_TIME = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
QUIESCENCE_ROUNDS = 8
MAX_TOMBSTONES = 2
FEW = 3  # units, contacts and calls made at most: the desktops then keep changing the same few
# A deeper run: HOTLINE_SYNC_EXAMPLES=300 pytest -s tests/sync/test_sync_property.py (-s: what it did)
MAX_EXAMPLES = int(os.environ.get("HOTLINE_SYNC_EXAMPLES", "40"))
STEPS = int(os.environ.get("HOTLINE_SYNC_STEPS", "40"))
# No shrinking: HLC stamps come from the real clock (skewed), so a replayed example does not always take
# the same path, and shrinking a failure took minutes to remove a few steps. A failure is reported as
# found, every step listed; the example database (.hypothesis/) replays it first on the next run.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]


class HookedEngine(SyncEngine):
    """A sync engine that runs ``between_push_and_pull`` (once) after it pushed and before it pulls.

    The GUI syncs on a worker thread while the user goes on saving: a save can land after the outbox
    was sent and before the pull, and is still in the outbox while the pulled rows are applied.
    """

    between_push_and_pull: Callable[[], None] | None = None

    def _pull(self, *args: Any, **kwargs: Any) -> Any:
        hook, self.between_push_and_pull = self.between_push_and_pull, None
        if hook is not None:
            hook()
        return super()._pull(*args, **kwargs)


class _WarningCatcher(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass(frozen=True)
class Write:
    """One field value a desktop saved (one field of one outbox op)."""

    wid: int
    desk: int
    table: str
    row_id: str
    field: str
    value: Any  # as JSON, as the op carries it
    hlc: str
    op: str
    seen: frozenset[int]  # the writes this desktop had seen when it saved this one

    def __str__(self) -> str:
        where = f"{self.table}.{self.field} of {self.row_id}"
        return f"desk{self.desk} {self.op} {where} = {self.value!r} (hlc {self.hlc})"


@dataclass
class _Environment:
    """What the pytest test hands to the state machine (Hypothesis makes the machines itself)."""

    server: PgServer
    folder: Path
    template: str  # a server database with the sync schema, cloned for every example
    config: ServerConfig  # the desktop login, on the template
    sqlite_template: Path  # an empty desktop database at the newest schema
    examples: Iterator[int] = field(default_factory=itertools.count)


_ENV: _Environment | None = None
STATS: Counter[str] = Counter()  # what the examples did, printed at the end of the run (pytest -s)


def event(what: str) -> None:
    STATS[what] += 1


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ready = False
        self.desks: list[Desktop] = []
        self.database: str | None = None
        self.admin: psycopg.Connection[Any] | None = None
        self.catcher = _WarningCatcher()
        logging.getLogger("hotline").addHandler(self.catcher)

    # --- set-up and tear-down ---------------------------------------------------------------------

    @initialize(
        skews=st.lists(offsets, min_size=N_DESKTOPS, max_size=N_DESKTOPS),
        synced=st.lists(st.booleans(), min_size=N_DESKTOPS - 1, max_size=N_DESKTOPS - 1),
        read_whole=st.booleans(),
    )
    def set_up(self, skews: list[int], synced: list[bool], read_whole: bool) -> None:
        """Three desktops on a fresh server database, their clocks ``skews`` ms off. desk0 has saved a
        unit, two contacts and a call and synced; ``synced`` says which of the others have synced once
        since (an office that has been working a while, or a new colleague's first day). With
        ``read_whole``, every first sync reads the tables whole (``app.sync.snapshot``), two rows a
        page, as a large one does."""
        assert _ENV is not None, "run through test_sync_state_machine"
        env = _ENV
        self.undo = [
            (engine_module, "BULK_FIRST_SYNC_ROWS", engine_module.BULK_FIRST_SYNC_ROWS),
            (snapshot, "PAGE_ROWS", snapshot.PAGE_ROWS),
        ]
        if read_whole:
            engine_module.BULK_FIRST_SYNC_ROWS = 0
            snapshot.PAGE_ROWS = 2
        event(f"first syncs read the tables whole: {read_whole}")
        self.server = env.server
        example = next(env.examples)
        self.database = database_name(f"sync_property_{example}")
        clone_database(self.server, env.template, self.database)
        config = replace(env.config, database=self.database)
        self.admin = psycopg.connect(**self.server.admin_kwargs(self.database), autocommit=True)
        self.columns = synced_columns(self.admin)
        assert set(self.columns) == set(SYNCED_TABLES)
        assert all(columns[0] == "id" for columns in self.columns.values())
        folder = env.folder / f"example{example}"
        for i in range(N_DESKTOPS):
            self.desks.append(
                open_desktop(
                    folder,
                    f"desk{i}",
                    config,
                    skews[i],
                    engine_class=HookedEngine,
                    template=env.sqlite_template,
                )
            )
        with self.desks[0].db.engine.connect() as conn:
            self.sites = [str(r[0]) for r in conn.execute(text("SELECT id FROM sites ORDER BY id"))]
            self.categories = [str(r[0]) for r in conn.execute(text("SELECT id FROM categories ORDER BY id"))]
        self.counter = itertools.count(1)
        self.writes: list[Write] = []
        self.seen: list[set[int]] = [set() for _ in self.desks]
        self.pending: list[set[int]] = [set() for _ in self.desks]  # saved here, not pushed yet
        self.on_server: set[int] = set()
        self.op_ids: list[set[str]] = [set() for _ in self.desks]
        self.created: dict[str, set[str]] = {table: set() for table in SYNCED_TABLES}
        self.pushed = [0] * N_DESKTOPS
        self.tombstones = 0
        self.hot: tuple[str, str, str] | None = None  # (table, row id, field) of the first edit
        self.ready = True
        for i in range(N_DESKTOPS):
            self._note_writes(i)  # the seeded reference data
        self._create(0, "organisations", 0)
        self._create(0, "contacts", 1)
        self._create(0, "contacts", 0)
        self._create(0, "calls", 1)
        self._sync(0)
        for i, done in enumerate(synced, start=1):
            if done:
                self._sync(i)
        event(f"examples (synced at the start: {sum(synced)} of {N_DESKTOPS - 1})")

    def teardown(self) -> None:
        try:
            # In a ``finally`` (which is where Hypothesis calls this) sys.exc_info() is the exception of
            # a failed step: then only clean up, so that the step's failure is the one reported.
            if self.ready and sys.exc_info()[0] is None:
                self._check_quiescence()
        finally:
            for module, name, value in getattr(self, "undo", []):
                setattr(module, name, value)
            logging.getLogger("hotline").removeHandler(self.catcher)
            for desk in self.desks:
                desk.close()
            if self.admin is not None:
                self.admin.close()
            if self.database is not None:
                self.server.drop_database(self.database)

    # --- the model --------------------------------------------------------------------------------

    def _value(self, i: int, what: str) -> str:
        """A value no one wrote before: one word, so that a search for it finds exactly its row."""
        return f"{what}{i}n{next(self.counter):05d}"

    def _note_writes(self, i: int) -> None:
        """Every op desktop ``i`` added to its outbox since the last look, as writes of field values."""
        for op in outbox_ops(self.desks[i].db):
            if op["client_op_id"] in self.op_ids[i]:
                continue
            self.op_ids[i].add(op["client_op_id"])
            if op["op"] == "insert":
                self.created[op["table"]].add(op["row_id"])
            seen = frozenset(self.seen[i])
            for name, value in op["fields"].items():
                if name == "id":
                    continue
                write = Write(
                    len(self.writes), i, op["table"], op["row_id"], name, value, op["hlc"], op["op"], seen
                )
                self.writes.append(write)
                self.seen[i].add(write.wid)
                self.pending[i].add(write.wid)

    def _pulled(self, i: int) -> int:
        """Desktop ``i`` pulled: it has now seen what is on the server, except the fields its outbox still
        sets (a pull leaves those as they are here, so their new values never showed on this desktop)."""
        kept = {
            (op["table"], op["row_id"], name) for op in outbox_ops(self.desks[i].db) for name in op["fields"]
        }
        for wid in self.on_server - self.seen[i]:
            write = self.writes[wid]
            if (write.table, write.row_id, write.field) not in kept:
                self.seen[i].add(wid)
            else:
                event("a pull left a field with a change still to send, where another desktop's is new")
        return len(kept)

    def _live_ids(self, i: int, table: str) -> list[str]:
        with self.desks[i].db.engine.connect() as conn:
            return [
                str(r[0]) for r in conn.execute(text(f"SELECT id FROM {table} WHERE deleted = 0 ORDER BY id"))
            ]

    # --- saving, as the GUI does --------------------------------------------------------------------

    def _create(self, i: int, kind: str, pick: int) -> None:
        """A new unit, contact (in a unit when ``pick`` is odd and the desktop has one, with a phone
        number) or call (for a contact when ``pick`` is odd and the desktop has one)."""
        with UnitOfWork(self.desks[i].db) as uow:
            if kind == "organisations":
                data = OrganisationInput(name=self._value(i, "单位"), notes=self._value(i, "notes"))
                directory.save_organisation(uow, data)
            elif kind == "contacts":
                units = self._live_ids(i, "organisations") if pick % 2 else []
                person = ContactInput(
                    name=self._value(i, "联系人"),
                    org_id=units[pick % len(units)] if units else None,
                    title=self._value(i, "title"),
                    phones=[PhoneEntry(f"0519-8{next(self.counter):07d}", "office")],
                )
                directory.save_contact(uow, person)
            else:
                contacts = self._live_ids(i, "contacts") if pick % 2 else []
                call = calls.CallInput(
                    site_id=self.sites[pick % len(self.sites)],
                    started_at=BASE_TIME + dt.timedelta(minutes=next(self.counter)),
                    engineer=f"desk{i}",
                    caller_name=self._value(i, "来电人"),
                    contact_id=contacts[pick % len(contacts)] if contacts else None,
                    category_id=self.categories[pick % len(self.categories)],
                    question=self._value(i, "question"),
                )
                calls.record_call(uow, call)
        self._note_writes(i)

    @precondition(lambda self: any(len(self.created[kind]) < FEW for kind in FIELDS))
    @rule(i=desks, kind=kinds, pick=picks)
    def create(self, i: int, kind: str, pick: int) -> None:
        """Save a new unit, contact or call (a few of each at most: then the desktops change those)."""
        if len(self.created[kind]) >= FEW:
            kind = next(other for other in FIELDS if len(self.created[other]) < FEW)
        event(f"rule create {kind}")
        self._create(i, kind, pick)

    def _edit(self, i: int, kind: str, entry_id: str, name: str) -> bool:
        """Change one field of a unit, contact or call on desktop ``i``, as its form does (every other
        field as it is here); False when the form refuses."""
        value: Any = next(self.counter) if name == "duration_s" else self._value(i, name)
        with UnitOfWork(self.desks[i].db) as uow:
            session = uow.session
            if kind == "organisations":
                unit = session.get(Organisation, entry_id)
                assert unit is not None
                data = OrganisationInput(unit.name, unit.kind, unit.site_id, unit.notes)
                setattr(data, name, value)
                directory.save_organisation(uow, data, entry_id)
            elif kind == "contacts":
                contact = session.get(Contact, entry_id)
                assert contact is not None
                phones = [PhoneEntry(p.raw, p.label) for p in directory.contact_phones(session, entry_id)]
                person = ContactInput(contact.name, contact.org_id, contact.title, contact.notes, phones)
                setattr(person, name, value)
                try:
                    directory.save_contact(uow, person, entry_id)
                except ValidationError:
                    return False  # its unit was tombstoned meanwhile: the form says so and saves nothing
            else:
                call = calls.get_call(session, entry_id)
                assert call is not None
                calls.edit_call(
                    uow, entry_id, replace(calls.input_from_call(call), **{name: value}), f"desk{i}"
                )
        self._note_writes(i)
        self.hot = self.hot or (kind, entry_id, name)
        event(f"edit {kind}")
        return True

    def _edit_target(self, i: int, target: Target) -> bool:
        """Change the field ``target`` names on desktop ``i``, if this desktop has that entry alive."""
        if isinstance(target, str):  # HOT
            if self.hot is None:
                return False
            kind, entry_id, name = self.hot
            if entry_id not in self._live_ids(i, kind):
                return False
            event("edit of the hot field")
        else:
            kind, pick, field_pick = target
            entries = self._live_ids(i, kind)
            if not entries:
                return False
            entry_id, name = entries[pick % len(entries)], FIELDS[kind][field_pick % len(FIELDS[kind])]
        return self._edit(i, kind, entry_id, name)

    @rule(i=desks, what=fields_to_edit)
    def edit_entry(self, i: int, what: Target) -> None:
        """Change one field of a unit, contact or call."""
        self._edit_target(i, what)

    @rule(i=desks, j=desks, what=fields_to_edit)
    def rival_edits(self, i: int, j: int, what: Target) -> None:
        """Two desktops change the same field of the same entry, each as it has it."""
        if self._edit_target(i, what):
            self._edit_target(j, HOT)

    @precondition(lambda self: self.tombstones < MAX_TOMBSTONES)
    @rule(i=desks, pick=picks)
    def tombstone_contact(self, i: int, pick: int) -> None:
        event("rule tombstone_contact")
        contacts = self._live_ids(i, "contacts")
        if contacts:
            with UnitOfWork(self.desks[i].db) as uow:
                directory.delete_contact(uow, contacts[pick % len(contacts)])
            self._note_writes(i)
            self.tombstones += 1

    # --- the network --------------------------------------------------------------------------------

    def _sync(self, i: int, save_midway: Target | None = None) -> SyncReport | None:
        """Sync desktop ``i`` and check what that must give; its report (None when it is cut off)."""
        desk = self.desks[i]
        engine = desk.engine
        assert isinstance(engine, HookedEngine)
        before = outbox_ops(desk.db)
        if not desk.online:
            with pytest.raises(SyncError) as failure:
                engine.sync()
            assert failure.value.problem is Problem.UNREACHABLE, failure.value
            assert outbox_ops(desk.db) == before, "a failed sync changed the outbox"
            return None
        sent = set(self.pending[i])
        saved_midway = False

        def midway() -> None:
            nonlocal saved_midway
            self.on_server |= sent  # the push is done
            self.pending[i] -= sent
            assert save_midway is not None
            saved_midway = self._edit_target(i, save_midway)

        engine.between_push_and_pull = midway if save_midway else None
        report = engine.sync()
        engine.between_push_and_pull = None
        assert report.rejected == 0, report
        assert not report.cancelled, report
        self.pushed[i] += report.pushed
        self.on_server |= sent
        self.pending[i] -= sent
        self._pulled(i)
        with desk.db.engine.connect() as conn:
            parked = conn.execute(text("SELECT count(*) FROM sync_parked")).scalar()
        assert parked == 0, f"{parked} op(s) parked"
        server = server_state(self.admin_conn, self.columns)
        self._check_writes(server)  # now, before later writes that saw the server's values hide a loss
        left = outbox_ops(desk.db)
        if saved_midway:
            assert left, "the save made during the sync is not in the outbox"
            return report
        assert not left, f"the outbox still holds {left}"
        differences = state_differences(server, self._local(i))
        assert not differences, f"after a complete sync, desk{i} differs from the server:\n" + "\n".join(
            differences
        )
        return report

    @property
    def admin_conn(self) -> psycopg.Connection[Any]:
        assert self.admin is not None
        return self.admin

    def _local(self, i: int) -> dict[str, Any]:
        return local_state(self.desks[i].db, self.columns)

    @rule(i=desks, saving=saves_during_sync)
    def sync(self, i: int, saving: Target | None) -> None:
        """Sync one desktop; with ``saving``, a save of that field lands between its push and its pull
        (the GUI saves on its thread while the worker thread syncs)."""
        event(f"rule sync (saving: {saving is not None})")
        self._sync(i, saving)

    @rule(i=desks, saving=saves_during_sync)
    def poll(self, i: int, saving: Target | None) -> None:
        """The light poll: pull one batch, push nothing (a desktop that never synced is told to sync);
        with ``saving``, a save of that field comes first (and is still to send when the poll pulls)."""
        event("rule poll")
        if saving is not None:
            self._edit_target(i, saving)
        desk = self.desks[i]
        never_synced = desk.engine._read_cursor().epoch is None
        if desk.online or never_synced:
            assert desk.engine.poll() or not never_synced
        else:
            with pytest.raises(SyncError):
                desk.engine.poll()
            return
        if not never_synced:
            kept = self._pulled(i)
            event(f"poll kept local fields: {kept > 0}")

    @precondition(lambda self: any(desk.online for desk in self.desks))
    @rule(pick=picks)
    def partition(self, pick: int) -> None:
        """Cut a desktop off from the server (its engine is pointed at a closed port)."""
        event("rule partition")
        online = [desk for desk in self.desks if desk.online]
        online[pick % len(online)].partition()

    @precondition(lambda self: any(not desk.online for desk in self.desks))
    @rule(pick=picks)
    def heal(self, pick: int) -> None:
        event("rule heal")
        offline = [desk for desk in self.desks if not desk.online]
        offline[pick % len(offline)].heal()

    @rule(i=desks, offset=offsets)
    def skew_clock(self, i: int, offset: int) -> None:
        event("rule skew_clock")
        self.desks[i].wall.offset_ms = offset

    # --- checks -------------------------------------------------------------------------------------

    @invariant()
    def no_warnings(self) -> None:
        event("steps")
        if self.catcher.records:
            lines = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in self.catcher.records]
            raise AssertionError("hotline logged warnings:\n" + "\n".join(lines))

    def _check_quiescence(self) -> None:
        for desk in self.desks:
            desk.heal()
        rounds = 0
        while True:
            rounds += 1
            reports = [self._sync(i) for i in range(N_DESKTOPS)]
            if rounds >= 2 and not any(report and report.moved for report in reports):
                break
            assert rounds < QUIESCENCE_ROUNDS, f"still moving after {rounds} rounds of syncs"
        self.no_warnings()

        server = server_state(self.admin_conn, self.columns)
        for i, desk in enumerate(self.desks):
            assert not outbox_ops(desk.db), f"desk{i}'s outbox is not empty"
            differences = state_differences(server, self._local(i))
            assert not differences, f"desk{i} differs from the server at quiescence:\n" + "\n".join(
                differences
            )
            for table, rows in server.items():
                assert count_rows(desk.db, table) == len(rows), f"desk{i}: {table} row count"

        for table, ids in self.created.items():
            missing = sorted(ids - server[table].keys())
            assert not missing, f"{table}: rows created on a desktop are not on the server: {missing}"

        assert not any(self.pending) and len(self.on_server) == len(self.writes), "the model lost track"
        self._check_writes(server)
        self._check_ops()
        self._check_search()
        event(f"conflicts at quiescence: {min(len(server['sync_conflicts']), 3)}+")
        event(f"writes overwritten by a concurrent one: {min(self._concurrent_overwrites, 3)}+")

    def _check_writes(self, server: dict[str, Any]) -> None:
        """Every value a desktop wrote and sent is the server's value, was overwritten by a write (sent
        too) whose desktop had seen it, or is kept as a lost value in sync_conflicts.

        Checked after every sync, not only at quiescence: a value overwritten without a conflict may later
        be overwritten again by a desktop that did see the overwriting value, which would hide the loss.
        Writes of one field with equal values are one value: two desktops that both set a call's revision
        to 3 made no conflict, and a later write that saw either one has seen that value.
        """
        lost: set[tuple[str, str, str, str]] = set()
        for values, _version in server["sync_conflicts"].values():
            lost.add(
                (
                    values["table_name"],
                    values["row_id"],
                    values["field"],
                    _canonical(json.loads(values["lost_value"])),
                )
            )
        by_field: dict[tuple[str, str, str], list[Write]] = {}
        for write in (self.writes[wid] for wid in sorted(self.on_server)):
            by_field.setdefault((write.table, write.row_id, write.field), []).append(write)
        dropped: list[str] = []
        self._concurrent_overwrites = 0
        for (table, row_id, name), writes in by_field.items():
            row = server[table].get(row_id)
            assert row is not None, f"{table} {row_id} is not on the server"
            final = row[0][name]
            if (table, name) in COUNTERS:
                # a call's revision counter and last-change time: the largest value written stands
                assert _same(table, name, max(w.value for w in writes), final), (table, row_id, name)
                continue
            for write in writes:
                if _same(table, name, write.value, final):
                    continue
                same = {other.wid for other in writes if _canonical(other.value) == _canonical(write.value)}
                if any(later.seen & same for later in writes if later.wid not in same):
                    continue
                if (table, row_id, name, _canonical(write.value)) in lost:
                    self._concurrent_overwrites += 1
                    continue
                others = "; ".join(str(w) for w in writes if w is not write)
                dropped.append(f"{write} — final {final!r}; other writes of the field: {others}")
        assert not dropped, "values lost without a conflict:\n" + "\n".join(dropped)

    def _check_search(self) -> None:
        """Every desktop's search index finds each call by the question and answer it has now, and no
        longer by those it had before (pulled rows update the index as a local save does). Calls a
        large first sync stored without their words are indexed first, as the window's background
        indexer does."""
        for desk in self.desks:
            call_index.index_backlog(desk.db)
        texts: dict[str, set[str]] = {}
        for write in self.writes:
            if write.table == "calls" and write.field in ("question", "answer") and write.value:
                texts.setdefault(write.row_id, set()).add(write.value)
        for i, desk in enumerate(self.desks):
            with desk.db.session() as session:
                for call_id, values in texts.items():
                    call = calls.get_call(session, call_id)
                    assert call is not None and not call.deleted
                    for value in values:
                        found = call.key in calls.search_keys(session, calls.CallQuery(text=value))
                        current = value in (call.question, call.answer)
                        assert found == current, (
                            f"desk{i}: a search for {value!r} {'misses' if current else 'still finds'} call "
                            f"{call_id} (question {call.question!r}, answer {call.answer!r})"
                        )

    def _check_ops(self) -> None:
        rows = self.admin_conn.execute(
            "SELECT client_id, client_op_id, status FROM hotline.applied_ops"
        ).fetchall()
        by_client: dict[str, set[str]] = {}
        for client_id, op_id, status in rows:
            assert status in ("applied", "unchanged"), (client_id, op_id, status)
            by_client.setdefault(client_id, set()).add(op_id)
        assert len(rows) == sum(len(ids) for ids in self.op_ids), "applied_ops has ops no desktop made"
        for i, desk in enumerate(self.desks):
            assert by_client.get(desk.node_id, set()) == self.op_ids[i], f"desk{i}: ops applied vs ops made"
            assert self.pushed[i] == len(self.op_ids[i]), f"desk{i}: reported sent {self.pushed[i]} ops"
        refused = self.admin_conn.execute("SELECT count(*) FROM hotline.rejected_ops").fetchone()
        assert refused is not None and refused[0] == 0


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _same(table: str, name: str, written: Any, final: Any) -> bool:
    return bool(normalise(table, name, written) == final)


@pytest.mark.slow
def test_sync_state_machine(pg_server: PgServer, tmp_path: Path) -> None:
    global _ENV
    template = database_name("sync_property_template")
    database = pg_server.create_database(template)
    try:
        config = prepare_server(database.url, APP_USER)
        sqlite_template = migrated_template(tmp_path / "template.sqlite3")
        _ENV = _Environment(pg_server, tmp_path, template, config, sqlite_template)
        run_state_machine_as_test(
            SyncMachine,
            settings=settings(
                max_examples=MAX_EXAMPLES,
                phases=PHASES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            ),
        )
    finally:
        print("\n".join(f"{count:5d}  {what}" for what, count in sorted(STATS.items())))
        _ENV = None
        STATS.clear()
        pg_server.drop_database(template)


# --- one deterministic three-way conflict --------------------------------------------------------


def _title(desk: Desktop, contact_id: str) -> str:
    with desk.db.engine.connect() as conn:
        return str(
            conn.execute(text("SELECT title FROM contacts WHERE id = :id"), {"id": contact_id}).scalar()
        )


def test_same_field_edited_on_three_offline_desktops(pg_database: PgDatabase, tmp_path: Path) -> None:
    """Three desktops change one contact's title while offline, then sync one after the other: all end
    with the value of the highest HLC, and the two others are lost values in sync_conflicts everywhere."""
    config = prepare_server(pg_database.url, APP_USER)
    # within the server's one-minute clamp, so the HLC the desktops stamp is the one the server compares
    offsets = {"a": -10 * 60_000, "b": 30_000, "c": -5 * 60_000}
    desks = {name: open_desktop(tmp_path, name, config, offset) for name, offset in offsets.items()}
    try:
        a, b, c = desks["a"], desks["b"], desks["c"]
        with UnitOfWork(a.db) as uow:
            contact_id = directory.save_contact(uow, ContactInput(name="王会计", title="会计")).id
        for desk in (a, b, c, a):
            desk.engine.sync()
        assert {_title(desk, contact_id) for desk in desks.values()} == {"会计"}

        titles: dict[str, tuple[str, str]] = {}  # desk -> (value, the HLC its op carries)
        for name in ("b", "c", "a"):  # b saves first, with the clock furthest ahead
            desk = desks[name]
            with UnitOfWork(desk.db) as uow:
                directory.save_contact(
                    uow, ContactInput(name="王会计", title=f"title from {name}"), contact_id
                )
            (op,) = [op for op in outbox_ops(desk.db) if op["row_id"] == contact_id]
            assert op["fields"] == {"title": f"title from {name}"}
            titles[name] = (f"title from {name}", op["hlc"])
        winner = max(titles, key=lambda name: titles[name][1])
        assert winner == "b", titles  # neither the first nor the last to sync

        for desk in (a, b, c, a, b, c):
            desk.engine.sync()

        with psycopg.connect(pg_database.url, autocommit=True) as conn:
            columns = synced_columns(conn)
            server = server_state(conn, columns)
        assert server["contacts"][contact_id][0]["title"] == titles[winner][0]
        losers = {titles[name][0] for name in titles if name != winner}
        for name, desk in desks.items():
            assert _title(desk, contact_id) == titles[winner][0], name
            assert not state_differences(server, local_state(desk.db, columns)), name
            with desk.db.engine.connect() as conn:
                conflicts = conn.execute(
                    text(
                        "SELECT kept_value, lost_value, lost_origin FROM sync_conflicts "
                        "WHERE table_name = 'contacts' AND row_id = :id AND field = 'title' AND deleted = 0"
                    ),
                    {"id": contact_id},
                ).fetchall()
            assert {json.loads(row.lost_value) for row in conflicts} == losers, name
            assert {json.loads(row.kept_value) for row in conflicts} == {titles[winner][0]}, name
            # the server names a desktop by the name it gave at hello (its node id if it gave none)
            assert {row.lost_origin for row in conflicts} == {"a", "c"}, name
            assert len(conflicts) == 2, name
    finally:
        for desk in desks.values():
            desk.close()


# --- a pulled change to a field this desktop changed too (its change still to send) ----------------


def _set_title(desk: Desktop, contact_id: str, title: str) -> None:
    with UnitOfWork(desk.db) as uow:
        directory.save_contact(uow, ContactInput(name="王会计", title=title), contact_id)


def _save_then_pull(desk: Desktop, route: str, contact_id: str, title: str) -> None:
    """``desk`` saves ``title`` and then pulls while that save still waits in its outbox: by a poll, or
    because the save landed between the push and the pull of a sync (the GUI saving while the worker
    thread syncs)."""
    if route == "poll":
        _set_title(desk, contact_id, title)
        desk.engine.poll()
    else:
        engine = desk.engine
        assert isinstance(engine, HookedEngine)
        engine.between_push_and_pull = lambda: _set_title(desk, contact_id, title)
        engine.sync()
        assert outbox_ops(desk.db), "the save should still be waiting"


def _behind_and_ahead(pg_database: PgDatabase, tmp_path: Path) -> tuple[Desktop, Desktop, str]:
    """Desktop a (clock ten minutes behind: its edits lose against b's) and b, both with one contact."""
    config = prepare_server(pg_database.url, APP_USER)
    a = open_desktop(tmp_path, "a", config, -10 * 60_000, engine_class=HookedEngine)
    b = open_desktop(tmp_path, "b", config, engine_class=HookedEngine)
    with UnitOfWork(a.db) as uow:
        contact_id = directory.save_contact(uow, ContactInput(name="王会计", title="会计")).id
    for desk in (a, b, a):
        desk.engine.sync()
    return a, b, contact_id


def _server_title_and_lost(pg_database: PgDatabase, contact_id: str) -> tuple[str, set[str]]:
    with psycopg.connect(pg_database.url, autocommit=True) as conn:
        server = server_state(conn, synced_columns(conn))
    lost = {
        json.loads(values["lost_value"])
        for values, _version in server["sync_conflicts"].values()
        if (values["row_id"], values["field"]) == (contact_id, "title")
    }
    return server["contacts"][contact_id][0]["title"], lost


@pytest.mark.parametrize("route", ["poll", "save during sync"])
def test_edit_that_loses_after_a_pull_kept_it_converges(
    pg_database: PgDatabase, tmp_path: Path, route: str
) -> None:
    a, b, contact_id = _behind_and_ahead(pg_database, tmp_path)
    try:
        _set_title(b, contact_id, "from b")
        b.engine.sync()
        _save_then_pull(a, route, contact_id, "from a")  # the pull leaves "from a" (still to send)
        a.engine.sync()  # "from a" loses to "from b" (higher HLC): a conflict, the row unchanged
        b.engine.sync()
        title, lost = _server_title_and_lost(pg_database, contact_id)
        assert (title, lost) == ("from b", {"from a"})
        assert _title(b, contact_id) == "from b"
        assert _title(a, contact_id) == "from b"  # the row got a new version although nothing in it changed
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("route", ["poll", "save during sync"])
def test_value_pulled_under_a_waiting_edit_is_not_dropped_silently(
    pg_database: PgDatabase, tmp_path: Path, route: str
) -> None:
    a, b, contact_id = _behind_and_ahead(pg_database, tmp_path)
    try:
        _set_title(b, contact_id, "from b")
        b.engine.sync()
        _save_then_pull(a, route, contact_id, "from a (1)")  # a's screen still shows its own title
        _set_title(a, contact_id, "from a (2)")
        for desk in (a, b, a):
            desk.engine.sync()
        title, lost = _server_title_and_lost(pg_database, contact_id)
        # b's words are the title, or kept as a conflict — never silently gone
        assert title == "from b" or "from b" in lost, (title, lost)  # fails: ("from a (2)", {"from a (1)"})
    finally:
        a.close()
        b.close()
