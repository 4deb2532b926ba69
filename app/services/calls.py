"""Calls (来电记录): record, edit (keeping the earlier version), find.

A call's local ``key`` is its start time in ms times ``CALL_KEY_SLOTS`` plus a free slot, so the
primary-key B-tree *is* the newest-first order, a period filter is a key range, and the full-text
index (whose rowid is the key) returns hits already in time order. Search returns keys only; the list
fetches the visible rows on demand (see ``fetch_rows``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select, text, update
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
    Outcome,
    Site,
    System,
    UnindexedCall,
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


_REFERENCES_SQL = text(
    "SELECT (SELECT area_code FROM sites WHERE id = :site),"
    " (SELECT 1 FROM categories WHERE id = :category),"
    " (SELECT 1 FROM systems WHERE id = :system),"
    " (SELECT system_id FROM modules WHERE id = :module),"
    " (SELECT name FROM organisations WHERE id = :org),"
    " (SELECT 1 FROM contacts WHERE id = :contact)"
)


@dataclass(frozen=True, slots=True)
class _References:
    """What the rows a call points at say, read in one round trip (None: no such row)."""

    site_area_code: str | None
    category: bool
    system: bool
    module_system_id: str | None
    org_name: str | None
    contact: bool


def _references(session: Session, data: CallInput) -> _References:
    row = session.execute(
        _REFERENCES_SQL,
        {
            "site": data.site_id or None, "category": data.category_id, "system": data.system_id,
            "module": data.module_id, "org": data.org_id, "contact": data.contact_id,
        },
    ).one()  # fmt: skip
    return _References(row[0], row[1] is not None, row[2] is not None, row[3], row[4], row[5] is not None)


def validate(session: Session, data: CallInput, refs: _References | None = None) -> dict[str, str]:
    """Field → message for everything that stops a save. An odd phone number does not: it is kept."""
    refs = refs or _references(session, data)
    errors: dict[str, str] = {}
    if not data.site_id or refs.site_area_code is None:
        errors["site"] = _("Choose the service site.")
    if data.started_at.tzinfo is None:
        errors["started_at"] = _("The call time has no time zone.")
    if not data.question.strip():
        errors["question"] = _("Describe the caller's question.")
    if not data.category_id:
        errors["category"] = _("Choose a category.")
    elif not refs.category:
        errors["category"] = _("The category no longer exists.")
    if data.outcome not in {o.value for o in Outcome}:
        errors["outcome"] = _("Choose how the call ended.")
    elif data.outcome == Outcome.TRANSFERRED.value and not data.transferred_to.strip():
        errors["transferred_to"] = _("Say to whom the call was transferred.")
    if not data.caller_phone.strip() and not data.caller_name.strip() and not data.contact_id:
        errors["caller"] = _("Enter the caller's number or name.")
    # ids that point nowhere (a draft or import from another data folder) are a message, not a crash
    if data.system_id and not refs.system:
        errors["system"] = _("The system no longer exists.")
    if data.module_id:
        if refs.module_system_id is None:
            errors["module"] = _("The module no longer exists.")
        elif data.system_id and refs.module_system_id != data.system_id:
            errors["module"] = _("The module does not belong to the chosen system.")
    if data.org_id and refs.org_name is None:
        errors["org"] = _("This unit no longer exists.")
    if data.contact_id and not refs.contact:
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


@functools.lru_cache(maxsize=8192)  # the same few sites, systems, categories and engineers, over and over
def facet_token(kind: str, value: str) -> str:
    """A filter value as one FTS token ("zfs" + the site id's hex …), so a search with filters is a
    single lookup in the full-text index instead of a check of every hit against the calls table."""
    if kind == "e":  # engineer names are text: hash them into one ASCII token
        return "zfe" + hashlib.blake2b(value.encode("utf-8"), digest_size=10).hexdigest()
    return f"zf{kind}" + "".join(ch for ch in value.lower() if ch.isalnum())


def facet_tokens(
    site_id: str | None,
    system_id: str | None,
    module_id: str | None,
    category_id: str | None,
    outcome: str | None,
    org_id: str | None,
    engineer: str | None,
) -> str:
    """The facet part of a call's full-text row (see ``facet_token``)."""
    pairs = (
        ("s", site_id), ("y", system_id), ("m", module_id), ("c", category_id), ("o", outcome),
        ("u", org_id), ("e", engineer),
    )  # fmt: skip
    return " ".join(facet_token(kind, value) for kind, value in pairs if value)


def call_text_body(call: Call) -> str:
    """The words of a call, as the full-text index holds them."""
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


def call_index_body(call: Call) -> str:
    """A call's full-text row: its words, then its facet tokens. The index holds live calls only."""
    facets = facet_tokens(
        call.site_id,
        call.system_id,
        call.module_id,
        call.category_id,
        call.outcome,
        call.org_id,
        call.engineer,
    )
    return f"{call_text_body(call)} {facets}"


def unindexed_count(session: Session) -> int:
    """Calls whose words are not in the full-text index yet (after a large first sync, until the
    background indexer is through): a search may miss them and should say so."""
    return int(session.scalar(select(func.count()).select_from(UnindexedCall)) or 0)


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


def _apply_input(session: Session, call: Call, data: CallInput, refs: _References | None = None) -> None:
    refs = refs or _references(session, data)
    info = parse_phone(data.caller_phone, refs.site_area_code or "0519")
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
        unit_name = refs.org_name or ""
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


def record_call(
    uow: UnitOfWork, data: CallInput, call_id: str | None = None, articles: Sequence[str] = ()
) -> Call:
    """Save a new call. ``call_id`` lets a recovered draft keep the id it was given when it started;
    ``articles``: knowledge-base articles whose answer was used (linked to the call, counted as uses)."""
    session = uow.session
    refs = _references(session, data)
    errors = validate(session, data, refs)
    if errors:
        raise ValidationError(errors)
    if call_id is not None and session.scalar(select(Call.key).where(Call.id == call_id)) is not None:
        raise ValidationError({"call": _("This call was already saved.")})
    call = Call(id=call_id or uuid7(), key=_allocate_key(session, data.started_at), revision=1)
    _apply_input(session, call, data, refs)
    session.add(call)
    session.flush()
    _index_add(session, call)
    if articles:
        from app.services import kb  # the knowledge base reads calls; calls only link to it

        for article_id in dict.fromkeys(articles):
            kb.link_to_call(session, article_id, call.id, data.engineer, dt.datetime.now(dt.UTC))
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
    if session.get(UnindexedCall, old_key) is not None:
        # its words are not in the index yet (a large first sync): the background indexer reads the
        # call as it is when it gets there; only its place in the queue follows a new key
        if call.key != old_key:
            session.execute(update(UnindexedCall).where(UnindexedCall.key == old_key).values(key=call.key))
    else:
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


def _fts_match(session: Session, query: CallQuery) -> str | None:
    """The FTS expression for the query's words and filters; "" when it has neither."""
    terms: list[str] = []
    if query.text.strip():
        words = build_match(query.text)
        if words is None:
            return None  # nothing searchable typed (only punctuation): no hits rather than everything
        terms.append(words)
    for kind, value in (
        ("s", query.site_id), ("y", query.system_id), ("m", query.module_id), ("c", query.category_id),
        ("o", query.outcome), ("e", query.engineer),
    ):  # fmt: skip
        if value:
            terms.append(f'"{facet_token(kind, value)}"')
    if query.org_id:
        # calls stay as recorded when units are merged; the unit kept stands for the merged ones
        units = directory.merged_organisation_ids(session, query.org_id)
        terms.append("(" + " OR ".join(f'"{facet_token("u", unit)}"' for unit in units) + ")")
    return " AND ".join(terms)  # explicit: FTS5 allows no implicit AND before a bracketed group


def _key_bounds(query: CallQuery) -> tuple[int | None, int | None]:
    low = call_key_floor(query.date_from) if query.date_from else None
    high = call_key_floor(query.date_to) if query.date_to else None
    return low, high


def _fts_statement(match: str, query: CallQuery, what: str) -> tuple[str, dict[str, Any]]:
    sql = f"SELECT {what} FROM calls_fts WHERE calls_fts MATCH :match"
    params: dict[str, Any] = {"match": match}
    low, high = _key_bounds(query)
    if low is not None:
        sql += " AND rowid >= :low"
        params["low"] = low
    if high is not None:
        sql += " AND rowid < :high"
        params["high"] = high
    return sql, params


def _table_statement(query: CallQuery) -> Select[int]:
    """Queries the full-text index cannot answer alone: by caller or contact, or no filter at all."""
    stmt = select(Call.key).where(Call.deleted.is_(False))
    low, high = _key_bounds(query)
    if low is not None:
        stmt = stmt.where(Call.key >= low)
    if high is not None:
        stmt = stmt.where(Call.key < high)
    if query.contact_ids:
        stmt = stmt.where(Call.contact_id.in_(list(query.contact_ids)))
    if query.caller_key:
        stmt = stmt.where(Call.caller_key == query.caller_key)
    return stmt


def _queued_statement(session: Session, query: CallQuery) -> Select[int] | None:
    """Calls queued for the full-text index (after a large first sync) that a query without words
    matches, found in the calls table by their columns; None when none are queued or the query has
    words (those cannot be answered for calls not yet indexed: the list says so)."""
    if query.text.strip() or session.scalar(select(UnindexedCall.key).limit(1)) is None:
        return None
    stmt = _table_statement(query).where(Call.key.in_(select(UnindexedCall.key)))
    for column, value in (
        (Call.site_id, query.site_id), (Call.system_id, query.system_id), (Call.module_id, query.module_id),
        (Call.category_id, query.category_id), (Call.outcome, query.outcome), (Call.engineer, query.engineer),
    ):  # fmt: skip
        if value:
            stmt = stmt.where(column == value)
    if query.org_id:
        stmt = stmt.where(Call.org_id.in_(directory.merged_organisation_ids(session, query.org_id)))
    return stmt


def _uses_table(query: CallQuery) -> bool:
    return bool(query.contact_ids or query.caller_key)


def search_keys(session: Session, query: CallQuery, limit: int | None = None) -> array[int]:
    """Keys of the matching calls, newest first (8 bytes each: a million fit in 8 MB).

    Words and filters are one full-text lookup that walks the index newest first and stops after
    ``limit`` hits; look-ups by caller or contact use the calls table's covering indexes.
    """
    match = _fts_match(session, query)
    if match is None:
        return array("q")
    if match and not _uses_table(query):
        sql, params = _fts_statement(match, query, "rowid")
        sql += " ORDER BY rowid DESC" + (" LIMIT :limit" if limit is not None else "")
        if limit is not None:
            params["limit"] = limit
        result = session.execute(text(sql), params)
    else:
        stmt = _table_statement(query)
        if match:  # words or filters together with a caller: narrow the table hits by the index
            stmt = stmt.where(Call.key.in_(select(text("rowid")).select_from(text("calls_fts")).where(
                text("calls_fts MATCH :match").bindparams(match=match))))  # fmt: skip
        stmt = stmt.order_by(Call.key.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        # Core, not the ORM: an ORM result buffers every row (a million Row objects) before the
        # first one is returned; the cursor streams them into the array below
        result = session.connection().execute(stmt)
    keys: array[int] = array("q")
    while chunk := result.scalars().fetchmany(50_000):
        keys.extend(chunk)
    queued = _queued_statement(session, query) if match else None
    if queued is not None:  # the table path above already sees every call when there is no match
        queued = queued.order_by(Call.key.desc())
        if limit is not None:
            queued = queued.limit(limit)
        more = session.connection().execute(queued).scalars().all()
        if more:  # two disjoint newest-first lists: merged, newest first
            merged = sorted([*keys, *more], reverse=True)
            keys = array("q", merged if limit is None else merged[:limit])
    return keys


def count_calls(session: Session, query: CallQuery) -> int:
    match = _fts_match(session, query)
    if match is None:
        return 0
    stmt = _table_statement(query)
    if not match:
        return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    queued = _queued_statement(session, query)
    extra = (
        0 if queued is None else int(session.scalar(select(func.count()).select_from(queued.subquery())) or 0)
    )
    if not _uses_table(query):
        sql, params = _fts_statement(match, query, "count(*)")
        return int(session.execute(text(sql), params).scalar() or 0) + extra
    stmt = stmt.where(Call.key.in_(select(text("rowid")).select_from(text("calls_fts")).where(
        text("calls_fts MATCH :match").bindparams(match=match))))  # fmt: skip
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0) + extra


@functools.cache
def _fetch_rows_statement() -> Select[*tuple[Any, ...]]:
    """Built once: constructing this join costs more than running it for 50 rows."""
    system, module, category, site = aliased(System), aliased(Module), aliased(Category), aliased(Site)
    return (
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
        .where(Call.key.in_(bindparam("keys", expanding=True)))
    )


def fetch_rows(session: Session, keys: Sequence[int]) -> dict[int, CallRow]:
    """The list's view of these calls, by key. Used for the visible rows only."""
    if not keys:
        return {}
    rows: dict[int, CallRow] = {}
    for r in session.execute(_fetch_rows_statement(), {"keys": list(keys)}):
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


def _history_keys(
    session: Session, phone_keys: Sequence[str], contact_ids: Sequence[str], limit: int | None
) -> list[int]:
    """Newest calls from these numbers or recorded against these contacts: one statement, each half
    answered from its covering index (caller_key, deleted) / (contact_id, deleted)."""
    params: dict[str, Any] = {"phone_keys": list(phone_keys), "contact_ids": list(contact_ids)}
    if limit is None:
        return list(session.scalars(_history_statement(False), params))
    return list(session.scalars(_history_statement(True), {**params, "limit": limit}))


@functools.cache
def _history_statement(limited: bool) -> Select[Any]:
    from_numbers = select(Call.key).where(
        Call.caller_key.in_(bindparam("phone_keys", expanding=True)), Call.deleted.is_(False)
    )
    against_contacts = select(Call.key).where(
        Call.contact_id.in_(bindparam("contact_ids", expanding=True)), Call.deleted.is_(False)
    )
    both = from_numbers.union(against_contacts).subquery()
    stmt = select(both.c.key).order_by(both.c.key.desc())
    return stmt.limit(bindparam("limit", type_=Integer)) if limited else stmt


def lookup_caller(session: Session, phone_key: str, limit: int = HISTORY_LIMIT) -> CallerLookup:
    """Contacts with this number and the calls from it (or from them), newest first."""
    if not phone_key:
        return CallerLookup(phone_key, [], [])
    contacts, their_keys = directory.lookup_owners(session, phone_key)
    # "from them": their calls from any of their numbers, and calls recorded against them or a
    # contact merged into them
    contact_ids = directory.merged_contact_ids_of(session, [c.id for c in contacts])
    ordered = _history_keys(session, sorted(their_keys | {phone_key}), contact_ids, limit)
    rows = fetch_rows(session, ordered)
    return CallerLookup(phone_key, contacts, [rows[k] for k in ordered if k in rows])


def contact_history(session: Session, contact_id: str, limit: int | None = None) -> list[CallRow]:
    ids = directory.merged_contact_ids(session, contact_id)
    phone_keys = [phone.key for phone in directory.contact_phones(session, contact_id) if phone.key]
    ordered = _history_keys(session, phone_keys, ids, limit or None)
    rows: dict[int, CallRow] = {}
    for start in range(0, len(ordered), 500):
        rows.update(fetch_rows(session, ordered[start : start + 500]))
    return [rows[k] for k in ordered if k in rows]


# A loose index scan: each step seeks the next name in ix_calls_engineer, so the cost follows the
# number of engineers (a handful), not of calls (SELECT DISTINCT reads all million index entries).
_ENGINEERS = text(
    "WITH RECURSIVE names(name) AS ("
    " SELECT min(engineer) FROM calls"
    " UNION ALL"
    " SELECT (SELECT min(engineer) FROM calls WHERE engineer > names.name)"
    " FROM names WHERE names.name IS NOT NULL"
    ") SELECT name FROM names WHERE name IS NOT NULL AND name != ''"
)


def distinct_engineers(session: Session) -> list[str]:
    """Every engineer who has recorded a call, in name order."""
    return list(session.scalars(_ENGINEERS))


def contact_for(session: Session, contact_id: str | None) -> Contact | None:
    return session.get(Contact, contact_id) if contact_id else None
