"""Calls (来电记录): record, edit (keeping the earlier version), find.

A call's local ``key`` is its start time in ms times ``CALL_KEY_SLOTS`` plus a free slot, so the
primary-key B-tree *is* the newest-first order, a period filter is a key range, and the full-text
index (whose rowid is the key) returns hits already in time order. Search returns keys only; the list
fetches the visible rows on demand (see ``fetch_rows``).
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session, aliased

from app.errors import ValidationError
from app.i18n import _
from app.ids import uuid7
from app.phone import parse_phone
from app.search.text import MAX_INDEX_PART_CHARS, build_match, index_text
from app.services import directory
from app.storage.models import (
    CALL_KEY_SLOTS,
    Call,
    CallRevision,
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

MAX_TEXT = 1_000_000  # a pasted 1 MB answer is fine; beyond that we refuse rather than bloat the file
HISTORY_LIMIT = 50


@dataclass(slots=True)
class CallInput:
    """What the new-call form (or an import) hands over."""

    site_id: str
    started_at: dt.datetime
    engineer: str
    caller_phone: str = ""
    caller_name: str = ""
    contact_id: str | None = None
    org_id: str | None = None
    unit_name: str = ""
    system_id: str | None = None
    module_id: str | None = None
    category_id: str | None = None
    question: str = ""
    answer: str = ""
    outcome: str = Outcome.ANSWERED.value
    transferred_to: str = ""
    duration_s: int = 0


@dataclass(frozen=True, slots=True)
class CallRow:
    """One call as the list shows it (names resolved)."""

    key: int
    id: str
    started_at: dt.datetime
    duration_s: int
    engineer: str
    caller_name: str
    caller_phone: str
    unit_name: str
    site_name: str
    system_name: str
    module_name: str
    category_name: str
    question: str
    answer: str
    outcome: str
    transferred_to: str
    revision: int


@dataclass(slots=True)
class CallQuery:
    """Filters of the call list. Every field is optional; ``text`` is full-text search."""

    text: str = ""
    site_id: str | None = None
    date_from: dt.datetime | None = None  # inclusive
    date_to: dt.datetime | None = None  # exclusive
    org_id: str | None = None
    system_id: str | None = None
    module_id: str | None = None
    category_id: str | None = None
    outcome: str | None = None
    engineer: str | None = None
    contact_ids: Sequence[str] = field(default_factory=tuple)
    caller_key: str | None = None


# --- validation -----------------------------------------------------------------------------------


def validate(session: Session, data: CallInput) -> dict[str, str]:
    """Field → message for everything that stops a save. An odd phone number does not: it is kept."""
    errors: dict[str, str] = {}
    if not data.site_id or session.get(Site, data.site_id) is None:
        errors["site"] = _("Choose the service site.")
    if data.started_at.tzinfo is None:
        errors["started_at"] = _("The call time has no time zone.")
    if not data.question.strip():
        errors["question"] = _("Describe the caller's question.")
    if not data.category_id:
        errors["category"] = _("Choose a category.")
    elif session.get(Category, data.category_id) is None:
        errors["category"] = _("The category no longer exists.")
    if data.outcome not in {o.value for o in Outcome}:
        errors["outcome"] = _("Choose how the call ended.")
    elif data.outcome == Outcome.TRANSFERRED.value and not data.transferred_to.strip():
        errors["transferred_to"] = _("Say to whom the call was transferred.")
    if not data.caller_phone.strip() and not data.caller_name.strip() and not data.contact_id:
        errors["caller"] = _("Enter the caller's number or name.")
    # ids that point nowhere (a draft or import from another data folder) are a message, not a crash
    if data.system_id and session.get(System, data.system_id) is None:
        errors["system"] = _("The system no longer exists.")
    if data.module_id:
        module = session.get(Module, data.module_id)
        if module is None:
            errors["module"] = _("The module no longer exists.")
        elif data.system_id and module.system_id != data.system_id:
            errors["module"] = _("The module does not belong to the chosen system.")
    if data.org_id and session.get(Organisation, data.org_id) is None:
        errors["org"] = _("This unit no longer exists.")
    if data.contact_id and session.get(Contact, data.contact_id) is None:
        errors["contact"] = _("This contact no longer exists.")
    for name in ("question", "answer"):
        if len(getattr(data, name)) > MAX_TEXT:
            errors[name] = _("Too long: at most {limit} characters.").format(limit=MAX_TEXT)
    if data.duration_s < 0 or data.duration_s > 24 * 3600:
        errors["duration"] = _("The duration must be between 0 and 24 hours.")
    return errors


# --- writing --------------------------------------------------------------------------------------


def _allocate_key(session: Session, started_at: dt.datetime) -> int:
    base = call_key_floor(started_at)
    while True:
        top = session.scalar(
            select(func.max(Call.key)).where(Call.key >= base, Call.key < base + CALL_KEY_SLOTS)
        )
        if top is None:
            return base
        if top + 1 < base + CALL_KEY_SLOTS:
            return int(top) + 1
        base += CALL_KEY_SLOTS  # a thousand calls in one millisecond: take the next one


def _chunks(value: str) -> list[str]:
    # index_text caps each part; a long pasted answer is handed over in parts so its end is found too
    step = MAX_INDEX_PART_CHARS
    return [value[start : start + step] for start in range(0, len(value), step)]


def call_index_body(call: Call) -> str:
    digits = "".join(ch for ch in call.caller_phone if ch.isdigit())
    return index_text(
        call.caller_name,
        digits,
        call.caller_phone,  # its groups too: "0759-2221234" is found by "2221234"
        call.unit_name,
        *_chunks(call.question),
        *_chunks(call.answer),
        call.transferred_to,
    )


def _index_add(session: Session, call: Call) -> None:
    session.execute(
        text("INSERT INTO calls_fts(rowid, body) VALUES (:key, :body)"),
        {"key": call.key, "body": call_index_body(call)},
    )


def _index_remove(session: Session, key: int, old_body: str) -> None:
    session.execute(
        text("INSERT INTO calls_fts(calls_fts, rowid, body) VALUES ('delete', :key, :body)"),
        {"key": key, "body": old_body},
    )


def _apply_input(session: Session, call: Call, data: CallInput) -> None:
    info = parse_phone(data.caller_phone, _site_area_code(session, data.site_id))
    call.site_id = data.site_id
    call.started_at = data.started_at
    call.engineer = data.engineer.strip()[:100]
    call.caller_phone = data.caller_phone.strip()[:64]
    call.caller_key = info.key[:64]
    call.caller_name = " ".join(data.caller_name.split())[:100]
    call.contact_id = data.contact_id
    call.org_id = data.org_id
    unit_name = " ".join(data.unit_name.split())[:200]
    if not unit_name and data.org_id:
        org = session.get(Organisation, data.org_id)
        unit_name = org.name if org else ""
    call.unit_name = unit_name
    call.system_id = data.system_id
    call.module_id = data.module_id
    call.category_id = data.category_id
    call.question = data.question
    call.answer = data.answer
    call.outcome = data.outcome
    call.transferred_to = (
        data.transferred_to.strip()[:100] if data.outcome == Outcome.TRANSFERRED.value else ""
    )
    call.duration_s = int(data.duration_s)
    call.updated_at = dt.datetime.now(dt.UTC)


def _site_area_code(session: Session, site_id: str) -> str:
    site = session.get(Site, site_id) if site_id else None
    return site.area_code if site and site.area_code else "0519"


def record_call(uow: UnitOfWork, data: CallInput, call_id: str | None = None) -> Call:
    """Save a new call. ``call_id`` lets a recovered draft keep the id it was given when it started."""
    session = uow.session
    errors = validate(session, data)
    if errors:
        raise ValidationError(errors)
    if call_id is not None and session.scalar(select(Call.key).where(Call.id == call_id)) is not None:
        raise ValidationError({"call": _("This call was already saved.")})
    call = Call(id=call_id or uuid7(), key=_allocate_key(session, data.started_at), revision=1)
    _apply_input(session, call, data)
    session.add(call)
    session.flush()
    _index_add(session, call)
    uow.commit()
    return call


_SNAPSHOT_FIELDS = (
    "site_id",
    "started_at",
    "duration_s",
    "engineer",
    "caller_name",
    "caller_phone",
    "contact_id",
    "org_id",
    "unit_name",
    "system_id",
    "module_id",
    "category_id",
    "question",
    "answer",
    "outcome",
    "transferred_to",
)


def snapshot(call: Call) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in _SNAPSHOT_FIELDS:
        value = getattr(call, name)
        # in UTC, as stored: the same moment typed in another zone is no change
        data[name] = value.astimezone(dt.UTC).isoformat() if isinstance(value, dt.datetime) else value
    data["revision"] = call.revision
    return data


def edit_call(uow: UnitOfWork, call_id: str, data: CallInput, editor: str) -> Call:
    """Change a saved call. The version it replaces is kept in ``call_revisions``."""
    session = uow.session
    call = session.scalar(select(Call).where(Call.id == call_id))
    if call is None or call.deleted:
        raise ValidationError({"call": _("This call no longer exists.")})
    errors = validate(session, data)
    if errors:
        raise ValidationError(errors)
    before = snapshot(call)
    old_body = call_index_body(call)
    old_key = call.key
    _apply_input(session, call, data)
    if snapshot(call) | {"revision": call.revision} == before:
        session.rollback()
        session.refresh(call)  # rollback expired it; the caller reads it after the unit of work
        return call  # nothing changed: no new version
    session.add(
        CallRevision(
            id=uuid7(),
            call_id=call.id,
            revision=before["revision"],
            snapshot=json.dumps(before, ensure_ascii=False),
            replaced_at=dt.datetime.now(dt.UTC),
            replaced_by=editor[:100],
        )
    )
    call.revision = before["revision"] + 1
    if call_key_floor(call.started_at) != call_key_floor(dt.datetime.fromisoformat(before["started_at"])):
        call.key = _allocate_key(session, call.started_at)
    _index_remove(session, old_key, old_body)
    session.flush()
    _index_add(session, call)
    uow.commit()
    return call


def call_revisions(session: Session, call_id: str) -> list[tuple[CallRevision, dict[str, Any]]]:
    revisions = session.scalars(
        select(CallRevision).where(CallRevision.call_id == call_id).order_by(CallRevision.revision.desc())
    )
    return [(rev, json.loads(rev.snapshot)) for rev in revisions]


def get_call(session: Session, call_id: str) -> Call | None:
    return session.scalar(select(Call).where(Call.id == call_id))


def input_from_call(call: Call) -> CallInput:
    fields = {name: getattr(call, name) for name in CallInput.__dataclass_fields__}
    return CallInput(**fields)


def input_as_dict(data: CallInput) -> dict[str, Any]:
    raw = asdict(data)
    raw["started_at"] = data.started_at.isoformat()
    return raw


def input_from_dict(raw: dict[str, Any]) -> CallInput:
    fields = {k: v for k, v in raw.items() if k in CallInput.__dataclass_fields__}
    fields["started_at"] = dt.datetime.fromisoformat(str(fields["started_at"]))
    return CallInput(**fields)


# --- finding --------------------------------------------------------------------------------------


def _filtered(query: CallQuery, session: Session) -> Select[int] | None:
    stmt = select(Call.key).where(Call.deleted.is_(False))
    if query.text.strip():
        match = build_match(query.text)
        if match is None:
            return None  # nothing searchable typed (only punctuation): no hits rather than everything
        stmt = stmt.where(
            Call.key.in_(
                select(text("rowid"))
                .select_from(text("calls_fts"))
                .where(text("calls_fts MATCH :match").bindparams(match=match))
            )
        )
    if query.site_id:
        stmt = stmt.where(Call.site_id == query.site_id)
    if query.date_from:
        stmt = stmt.where(Call.key >= call_key_floor(query.date_from))
    if query.date_to:
        stmt = stmt.where(Call.key < call_key_floor(query.date_to))
    if query.org_id:
        # calls stay as recorded when units are merged; the unit kept stands for the merged ones
        stmt = stmt.where(Call.org_id.in_(directory.merged_organisation_ids(session, query.org_id)))
    if query.system_id:
        stmt = stmt.where(Call.system_id == query.system_id)
    if query.module_id:
        stmt = stmt.where(Call.module_id == query.module_id)
    if query.category_id:
        stmt = stmt.where(Call.category_id == query.category_id)
    if query.outcome:
        stmt = stmt.where(Call.outcome == query.outcome)
    if query.engineer:
        stmt = stmt.where(Call.engineer == query.engineer)
    if query.contact_ids:
        stmt = stmt.where(Call.contact_id.in_(list(query.contact_ids)))
    if query.caller_key:
        stmt = stmt.where(Call.caller_key == query.caller_key)
    return stmt


def search_keys(session: Session, query: CallQuery, limit: int | None = None) -> array[int]:
    """Keys of the matching calls, newest first (8 bytes each: a million fit in 8 MB)."""
    stmt = _filtered(query, session)
    if stmt is None:
        return array("q")
    stmt = stmt.order_by(Call.key.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    result = session.execute(stmt)
    keys: array[int] = array("q")
    while chunk := result.scalars().fetchmany(50_000):
        keys.extend(chunk)
    return keys


def count_calls(session: Session, query: CallQuery) -> int:
    stmt = _filtered(query, session)
    if stmt is None:
        return 0
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def fetch_rows(session: Session, keys: Sequence[int]) -> dict[int, CallRow]:
    """The list's view of these calls, by key. Used for the visible rows only."""
    if not keys:
        return {}
    system, module, category, site = aliased(System), aliased(Module), aliased(Category), aliased(Site)
    stmt = (
        select(
            Call.key,
            Call.id,
            Call.started_at,
            Call.duration_s,
            Call.engineer,
            Call.caller_name,
            Call.caller_phone,
            Call.unit_name,
            site.name,
            system.name,
            module.name,
            category.name,
            func.substr(Call.question, 1, 500),
            func.substr(Call.answer, 1, 500),
            Call.outcome,
            Call.transferred_to,
            Call.revision,
        )
        .join(site, site.id == Call.site_id)
        .outerjoin(system, system.id == Call.system_id)
        .outerjoin(module, module.id == Call.module_id)
        .outerjoin(category, category.id == Call.category_id)
        .where(Call.key.in_(list(keys)))
    )
    rows: dict[int, CallRow] = {}
    for r in session.execute(stmt):
        rows[r[0]] = CallRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9] or "",
            r[10] or "",
            r[11] or "",
            r[12] or "",
            r[13] or "",
            r[14],
            r[15],
            r[16],
        )
    return rows


@dataclass(frozen=True, slots=True)
class CallerLookup:
    """Who a number belongs to and what they called about before."""

    phone_key: str
    contacts: list[directory.ContactSummary]
    history: list[CallRow]


def lookup_caller(session: Session, phone_key: str, limit: int = HISTORY_LIMIT) -> CallerLookup:
    """Contacts with this number and the calls from it (or from them), newest first."""
    if not phone_key:
        return CallerLookup(phone_key, [], [])
    contacts = directory.lookup_by_phone(session, phone_key)
    # "from them": their calls from any of their numbers, and calls recorded against them or a
    # contact merged into them
    phone_keys = {phone_key} | {
        phone.key for c in contacts for phone in directory.contact_phones(session, c.id) if phone.key
    }
    keys: list[int] = []
    for key in sorted(phone_keys):
        keys += search_keys(session, CallQuery(caller_key=key), limit=limit)
    contact_ids = [cid for c in contacts for cid in directory.merged_contact_ids(session, c.id)]
    if contact_ids:
        keys += search_keys(session, CallQuery(contact_ids=contact_ids), limit=limit)
    ordered = sorted(set(keys), reverse=True)[:limit]
    rows = fetch_rows(session, ordered)
    return CallerLookup(phone_key, contacts, [rows[k] for k in ordered if k in rows])


def contact_history(session: Session, contact_id: str, limit: int | None = None) -> list[CallRow]:
    ids = directory.merged_contact_ids(session, contact_id)
    keys = set(search_keys(session, CallQuery(contact_ids=ids)))
    for phone in directory.contact_phones(session, contact_id):
        keys.update(search_keys(session, CallQuery(caller_key=phone.key)))
    ordered = sorted(keys, reverse=True)[:limit] if limit else sorted(keys, reverse=True)
    rows: dict[int, CallRow] = {}
    for start in range(0, len(ordered), 500):
        rows.update(fetch_rows(session, ordered[start : start + 500]))
    return [rows[k] for k in ordered if k in rows]


def distinct_engineers(session: Session) -> list[str]:
    return [e for e in session.scalars(select(Call.engineer).distinct().order_by(Call.engineer)) if e]


def contact_for(session: Session, contact_id: str | None) -> Contact | None:
    return session.get(Contact, contact_id) if contact_id else None
