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
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from app.errors import ValidationError
from app.i18n import N_, _
from app.ids import uuid7
from app.services import calls
from app.services.calls import CallInput, CallQuery
from app.services.reference import list_categories, list_modules, list_sites, list_systems
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

# A list of valid names is added to a "not found" message only when it is short enough to read.
MAX_LISTED_NAMES = 12
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


def name_key(name: str) -> str:
    """How names are compared: full-width folded, case and spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def _listing(names: Iterable[str]) -> str:
    return "、".join(names)


class _Reference:
    """The reference data of every site, looked up by name (inactive entries too: old ledgers use them)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sites = list_sites(session, include_inactive=True)
        self._site_by_key: dict[str, Site] = {}
        for site in self.sites:
            self._site_by_key.setdefault(name_key(site.code), site)
            self._site_by_key.setdefault(name_key(site.name), site)
        self.categories = list_categories(session, include_inactive=True)
        self._category_by_key = {name_key(c.name): c for c in reversed(self.categories)}
        self._systems: dict[str, list[System]] = {}
        self._modules: dict[str, list[Module]] = {}
        self._orgs: dict[tuple[str, str], str | None] = {}

    def site(self, name: str) -> Site | None:
        return self._site_by_key.get(name_key(name))

    def site_by_id(self, site_id: str) -> Site | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def systems(self, site_id: str) -> list[System]:
        if site_id not in self._systems:
            self._systems[site_id] = list_systems(self.session, site_id, include_inactive=True)
        return self._systems[site_id]

    def modules(self, system_id: str) -> list[Module]:
        if system_id not in self._modules:
            self._modules[system_id] = list_modules(self.session, system_id, include_inactive=True)
        return self._modules[system_id]

    def category(self, name: str) -> Category | None:
        return self._category_by_key.get(name_key(name))

    def organisation_id(self, site_id: str, unit_name: str) -> str | None:
        """The unit of that name at this site (or at no particular site), if the directory has one."""
        cleaned = " ".join(unit_name.split())
        if not cleaned:
            return None
        cache_key = (site_id, cleaned)
        if cache_key not in self._orgs:
            self._orgs[cache_key] = self.session.scalar(
                select(Organisation.id)
                .where(
                    Organisation.deleted.is_(False),
                    Organisation.name == cleaned,
                    or_(Organisation.site_id == site_id, Organisation.site_id.is_(None)),
                )
                .order_by(Organisation.site_id.is_(None))  # this site's unit before a shared one
                .limit(1)
            )
        return self._orgs[cache_key]


def _find(rows: Sequence[System] | Sequence[Module], name: str) -> System | Module | None:
    wanted = name_key(name)
    matches = [r for r in rows if name_key(r.name) == wanted]
    matches.sort(key=lambda r: not r.active)  # an active entry wins over a retired one of the same name
    return matches[0] if matches else None


def _not_found(template_with_list: str, template: str, names: list[str], **values: str) -> str:
    if names and len(names) <= MAX_LISTED_NAMES:
        return template_with_list.format(names=_listing(names), **values)
    return template.format(**values)


def resolve_entries(
    session: Session,
    entries: Iterable[LedgerEntry],
    default_site_id: str,
    default_engineer: str = "",
) -> ImportPlan:
    """Match every entry's names and check it as ``record_call`` would. Writes nothing."""
    ref = _Reference(session)
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
    ref: _Reference, entry: LedgerEntry, default_site_id: str, default_engineer: str, problems: list[str]
) -> CallInput | None:
    site: Site | None
    if entry.site.strip():
        site = ref.site(entry.site)
        if site is None:
            problems.append(
                _not_found(
                    _("Unknown service site “{name}”. Valid sites: {names}."),
                    _("Unknown service site “{name}”."),
                    [s.name for s in ref.sites],
                    name=entry.site.strip(),
                )
            )
            return None
    else:
        site = ref.site_by_id(default_site_id) if default_site_id else None
        if site is None:
            problems.append(_("No service site: fill in the 服务站点 column or choose one with --site."))
            return None

    system: System | None = None
    module: Module | None = None
    if entry.system.strip():
        systems = ref.systems(site.id)
        found = _find(systems, entry.system)
        if isinstance(found, System):
            system = found
        else:
            problems.append(
                _not_found(
                    _("Unknown system “{name}” at {site}. Valid systems: {names}."),
                    _("Unknown system “{name}” at {site}."),
                    [s.name for s in systems if s.active],
                    name=entry.system.strip(),
                    site=site.name,
                )
            )
    if entry.module.strip():
        if system is not None:
            modules = ref.modules(system.id)
            found = _find(modules, entry.module)
            if isinstance(found, Module):
                module = found
            else:
                problems.append(
                    _not_found(
                        _("Unknown module “{name}” in {system}. Valid modules: {names}."),
                        _("Unknown module “{name}” in {system}."),
                        [m.name for m in modules if m.active],
                        name=entry.module.strip(),
                        system=system.name,
                    )
                )
        elif not entry.system.strip():
            # No system given: the module's name may still say which system it belongs to.
            candidates = [
                m
                for s in ref.systems(site.id)
                for m in ref.modules(s.id)
                if name_key(m.name) == name_key(entry.module)
            ]
            owners = {m.system_id for m in candidates}
            if len(owners) == 1:
                module = candidates[0]
                system = next(s for s in ref.systems(site.id) if s.id == module.system_id)
            elif owners:
                problems.append(
                    _("The module “{name}” exists in several systems; fill in the system (系统).").format(
                        name=entry.module.strip()
                    )
                )
            else:
                problems.append(
                    _("Unknown module “{name}” at {site}.").format(name=entry.module.strip(), site=site.name)
                )

    category: Category | None = None
    if not entry.category.strip():
        problems.append(_("The category (类别) is empty."))
    else:
        category = ref.category(entry.category)
        if category is None:
            problems.append(
                _not_found(
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
