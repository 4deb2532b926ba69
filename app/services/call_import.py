"""Bringing an existing call ledger in, and reading calls back out in the ledger's shape.

A ledger row is a ``LedgerEntry``: a call's fields with the reference data *by name*, as a person
types them into a spreadsheet. ``resolve_entries`` matches those names against the site's reference
data and turns every entry into a ``CallInput`` or into ``RowProblem``s; ``import_calls`` saves the
inputs with what ``calls.record_call`` does for one call (validation, full-text index, outbox entries
through the unit of work), all in one transaction. ``iter_ledger_entries`` streams saved calls back as
entries (full texts, names resolved), which is what an export writes, so an export re-imports cleanly.

The file formats themselves live in ``app.importexport.calls_io``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.errors import ValidationError
from app.i18n import N_, _
from app.ids import uuid7
from app.services import calls
from app.services.calls import CallInput, CallQuery
from app.services.reference_names import ReferenceNames, not_found
from app.storage.models import (
    CALL_KEY_SLOTS,
    Call,
    Category,
    Contact,
    Module,
    Organisation,
    Outcome,
    Site,
    System,
    call_key_floor,
)
from app.storage.uow import UnitOfWork

EXPORT_CHUNK = 2000
FLUSH_EVERY = 1000


@dataclass(slots=True)
class LedgerEntry:
    """One row of a ledger: reference data by name, the outcome as an ``Outcome`` value.

    ``started_at`` is None only when the file reader could not read the date and has reported that
    already; such a row is still checked for its other problems but never imported.
    """

    row: int
    started_at: dt.datetime | None
    caller_phone: str = ""
    caller_name: str = ""
    unit_name: str = ""
    system: str = ""
    module: str = ""
    category: str = ""
    question: str = ""
    answer: str = ""
    outcome: str = Outcome.ANSWERED.value
    transferred_to: str = ""
    duration_s: int = 0
    engineer: str = ""
    site: str = ""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one row cannot be imported; ``row`` is the row number as the spreadsheet shows it."""

    row: int
    message: str

    def __str__(self) -> str:
        return _("Row {row}: {reason}").format(row=self.row, reason=self.message)


@dataclass(slots=True)
class ImportPlan:
    """What ``resolve_entries`` made of the rows: inputs ready to save, or the problems."""

    inputs: list[CallInput] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # rows[i] is the file row of inputs[i]
    problems: list[RowProblem] = field(default_factory=list)


def resolve_entries(
    session: Session,
    entries: Iterable[LedgerEntry],
    default_site_id: str,
    default_engineer: str = "",
) -> ImportPlan:
    """Match every entry's names and check it as ``record_call`` would. Writes nothing."""
    ref = ReferenceNames(session)
    plan = ImportPlan()
    for entry in entries:
        problems: list[str] = []
        data = _resolve_one(ref, entry, default_site_id, default_engineer, problems)
        if data is not None and not problems:
            problems.extend(_validation_messages(session, data))
        if problems:
            plan.problems.extend(RowProblem(entry.row, message) for message in problems)
        elif data is not None:
            plan.inputs.append(data)
            plan.rows.append(entry.row)
    return plan


def _resolve_one(
    ref: ReferenceNames, entry: LedgerEntry, default_site_id: str, default_engineer: str, problems: list[str]
) -> CallInput | None:
    site = ref.resolve_site(
        entry.site,
        default_site_id,
        _("No service site: fill in the 服务站点 column or choose one with --site."),
        problems,
    )
    if site is None:
        return None
    system, module = ref.resolve_system_module(site, entry.system, entry.module, problems)

    category: Category | None = None
    if not entry.category.strip():
        problems.append(_("The category (类别) is empty."))
    else:
        category = ref.category(entry.category)
        if category is None:
            problems.append(
                not_found(
                    _("Unknown category “{name}”. Valid categories: {names}."),
                    _("Unknown category “{name}”."),
                    [c.name for c in ref.categories if c.active],
                    name=entry.category.strip(),
                )
            )
    if entry.started_at is None or problems:
        return None
    return CallInput(
        site_id=site.id,
        started_at=entry.started_at,
        engineer=entry.engineer.strip() or default_engineer,
        caller_phone=entry.caller_phone.strip(),
        caller_name=entry.caller_name.strip(),
        org_id=ref.organisation_id(site.id, entry.unit_name),
        unit_name=entry.unit_name.strip(),
        system_id=system.id if system else None,
        module_id=module.id if module else None,
        category_id=category.id if category else None,
        question=entry.question.strip(),
        answer=entry.answer.strip(),
        outcome=entry.outcome,
        transferred_to=entry.transferred_to.strip(),
        duration_s=entry.duration_s,
    )


# ``calls.validate`` speaks to the person filling in the form; in a ledger the column names help more.
_LEDGER_MESSAGES: dict[str, str] = {
    "question": N_("The question (问题描述) is empty."),
    "caller": N_("Neither the phone number (来电号码) nor the caller (来电人) is filled in."),
    "transferred_to": N_("The call was transferred but the transferred-to column (转交对象) is empty."),
    "duration": N_("The duration (通话时长) must be between 0 and 24 hours."),
}


def _validation_messages(session: Session, data: CallInput) -> list[str]:
    errors = calls.validate(session, data)
    return [_(_LEDGER_MESSAGES[name]) if name in _LEDGER_MESSAGES else text for name, text in errors.items()]


def import_calls(
    uow: UnitOfWork, inputs: Sequence[CallInput], progress: Callable[[int, int], None] | None = None
) -> int:
    """Save all ``inputs`` as new calls in one transaction: all of them or, on any error, none.

    Each call gets what ``calls.record_call`` gives one: validation, a time-ordered key, its full-text
    row, and (through the unit of work's flush hook) an outbox entry. Unlike one ``record_call`` per
    row, the calls are flushed ``FLUSH_EVERY`` at a time (then ``progress(done, total)`` is called);
    the keys in use are read once and the keys given out are remembered here, so that the key
    allocation needs neither a flush nor a query per call.
    """
    session = uow.session
    held = _hold_rows_looked_up(session, inputs)
    buckets = {call_key_floor(data.started_at) for data in inputs}
    given = _keys_in_use(session, buckets)  # key bucket -> highest key in use there
    for number, data in enumerate(inputs, start=1):
        errors = calls.validate(session, data)
        if errors:
            raise ValidationError(errors)
        call = Call(id=uuid7(), key=_next_key(session, data.started_at, given), revision=1)
        calls._apply_input(session, call, data)
        session.add(call)
        with session.no_autoflush:  # executing the index insert would flush every call on its own
            calls._index_add(session, call)
        if number % FLUSH_EVERY == 0:
            session.flush()
            if progress is not None:
                progress(number, len(inputs))
    uow.commit()
    del held  # referenced until here on purpose (see _hold_rows_looked_up)
    return len(inputs)


def _keys_in_use(session: Session, buckets: set[int]) -> dict[int, int | None]:
    """Bucket -> highest key the database has in it (None: empty), for these key buckets."""
    found: dict[int, int | None] = dict.fromkeys(buckets)
    if not buckets:
        return found
    with session.no_autoflush:
        keys = session.execute(
            select(Call.key).where(Call.key >= min(buckets), Call.key < max(buckets) + CALL_KEY_SLOTS)
        ).scalars()
        for key in keys:
            bucket = key - key % CALL_KEY_SLOTS
            if bucket in found:
                top = found[bucket]
                found[bucket] = key if top is None else max(top, key)
    return found


def _next_key(session: Session, started_at: dt.datetime, given: dict[int, int | None]) -> int:
    """What ``calls._allocate_key`` gives, counting the keys this import gave out but has not flushed.

    ``given`` maps a key bucket to the highest key in use there (None: none) and is updated. A ledger
    without times puts a whole day's calls into one millisecond: past ``CALL_KEY_SLOTS`` calls the
    key moves on to the next millisecond, as ``_allocate_key`` does.
    """
    base = call_key_floor(started_at)
    while True:
        if base in given:
            top = given[base]
        else:
            with session.no_autoflush:
                top = session.scalar(
                    select(func.max(Call.key)).where(Call.key >= base, Call.key < base + CALL_KEY_SLOTS)
                )
        key = base if top is None else int(top) + 1
        if key < base + CALL_KEY_SLOTS:
            given[base] = key
            return key
        given[base] = base + CALL_KEY_SLOTS - 1  # full
        base += CALL_KEY_SLOTS


def _hold_rows_looked_up(session: Session, inputs: Sequence[CallInput]) -> list[object]:
    """Load the rows that validation and ``_apply_input`` look up by id, and keep them referenced.

    The session's identity map holds rows only weakly: without this, every imported call would read
    its site, system, module, category and unit from the database again.
    """
    held: list[object] = [*session.scalars(select(Site)), *session.scalars(select(Category))]
    held.extend(session.scalars(select(System)))
    for model, ids in (
        (Module, {d.module_id for d in inputs if d.module_id}),
        (Organisation, {d.org_id for d in inputs if d.org_id}),
        (Contact, {d.contact_id for d in inputs if d.contact_id}),
    ):
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            held.extend(session.scalars(select(model).where(model.id.in_(wanted[start : start + 500]))))
    return held


# --- export ---------------------------------------------------------------------------------------


def iter_ledger_entries(
    session: Session, query: CallQuery, chunk_size: int = EXPORT_CHUNK
) -> Iterator[LedgerEntry]:
    """The calls matching ``query`` as ledger entries, oldest first, read ``chunk_size`` at a time."""
    keys = calls.search_keys(session, query)  # newest first, 8 bytes a call
    keys.reverse()
    system, module, category, site = aliased(System), aliased(Module), aliased(Category), aliased(Site)
    base = (
        select(
            Call.started_at,
            Call.caller_phone,
            Call.caller_name,
            Call.unit_name,
            system.name,
            module.name,
            category.name,
            Call.question,
            Call.answer,
            Call.outcome,
            Call.transferred_to,
            Call.duration_s,
            Call.engineer,
            site.name,
        )
        .join(site, site.id == Call.site_id)
        .outerjoin(system, system.id == Call.system_id)
        .outerjoin(module, module.id == Call.module_id)
        .outerjoin(category, category.id == Call.category_id)
        .order_by(Call.key)
    )
    for start in range(0, len(keys), chunk_size):
        chunk = keys[start : start + chunk_size]
        for r in session.execute(base.where(Call.key.in_(list(chunk)))):
            yield LedgerEntry(
                row=0,
                started_at=r[0],
                caller_phone=r[1],
                caller_name=r[2],
                unit_name=r[3],
                system=r[4] or "",
                module=r[5] or "",
                category=r[6] or "",
                question=r[7],
                answer=r[8],
                outcome=r[9],
                transferred_to=r[10],
                duration_s=r[11],
                engineer=r[12],
                site=r[13],
            )
