"""The directory of units (organisations) and their contacts, each with several phone numbers.

Merging duplicates never rewrites calls (they are facts): the duplicate is tombstoned with
``merged_into`` pointing at the survivor, its phone numbers move to the survivor, and look-ups follow
``merged_into`` so the survivor's history includes the duplicate's calls.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, literal, or_, select
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.i18n import _
from app.ids import uuid7
from app.phone import parse_phone
from app.storage.models import Contact, ContactPhone, Organisation, OrgKind
from app.storage.uow import UnitOfWork

SEARCH_LIMIT = 500


@dataclass(frozen=True, slots=True)
class PhoneEntry:
    raw: str
    label: str = ""


@dataclass(slots=True)
class ContactInput:
    name: str
    org_id: str | None = None
    title: str = ""
    notes: str = ""
    phones: list[PhoneEntry] = field(default_factory=list)


@dataclass(slots=True)
class OrganisationInput:
    name: str
    kind: str = OrgKind.OTHER.value
    site_id: str | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ContactSummary:
    id: str
    name: str
    title: str
    org_id: str | None
    org_name: str
    phones: tuple[str, ...]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _clean(text: str, limit: int, field_name: str, required: bool = False) -> str:
    cleaned = " ".join(text.split())
    if required and not cleaned:
        raise ValidationError({field_name: _("This field is required.")})
    if len(cleaned) > limit:
        raise ValidationError({field_name: _("Too long: at most {limit} characters.").format(limit=limit)})
    return cleaned


# --- organisations --------------------------------------------------------------------------------


def search_organisations(
    session: Session, text: str = "", site_id: str | None = None, limit: int = SEARCH_LIMIT
) -> list[Organisation]:
    query = select(Organisation).where(Organisation.deleted.is_(False))
    if text.strip():
        query = query.where(Organisation.name.like(_like_pattern(text.strip()), escape="\\"))
    if site_id is not None:
        query = query.where(or_(Organisation.site_id == site_id, Organisation.site_id.is_(None)))
    return list(session.scalars(query.order_by(Organisation.name).limit(limit)))


def find_organisation_by_name(session: Session, name: str) -> Organisation | None:
    cleaned = " ".join(name.split())
    if not cleaned:
        return None
    return session.scalar(
        select(Organisation).where(Organisation.deleted.is_(False), Organisation.name == cleaned).limit(1)
    )


def save_organisation(uow: UnitOfWork, data: OrganisationInput, org_id: str | None = None) -> Organisation:
    name = _clean(data.name, 200, "name", required=True)
    kind = data.kind if data.kind in {k.value for k in OrgKind} else OrgKind.OTHER.value
    if org_id is None:
        org = Organisation(id=uuid7(), name=name, kind=kind, site_id=data.site_id, notes=data.notes)
        uow.session.add(org)
    else:
        found = uow.session.get(Organisation, org_id)
        if found is None or found.deleted:
            raise ValidationError({"name": _("This unit no longer exists.")})
        org = found
        org.name, org.kind, org.site_id, org.notes = name, kind, data.site_id, data.notes
    uow.commit()
    return org


def merge_organisations(uow: UnitOfWork, survivor_id: str, duplicate_ids: Sequence[str]) -> int:
    """Merge duplicate units into one; their contacts move to the survivor. Returns how many merged."""
    session = uow.session
    survivor = session.get(Organisation, survivor_id)
    if survivor is None or survivor.deleted:
        raise ValidationError({"survivor": _("The unit to keep no longer exists.")})
    merged = 0
    for dup_id in duplicate_ids:
        dup = session.get(Organisation, dup_id)
        if dup is None or dup.deleted or dup.id == survivor.id:
            continue
        for contact in session.scalars(select(Contact).where(Contact.org_id == dup.id)):
            contact.org_id = survivor.id
        if dup.notes and dup.notes not in survivor.notes:
            survivor.notes = "\n".join(filter(None, [survivor.notes, dup.notes]))
        dup.merged_into = survivor.id
        dup.deleted = True
        merged += 1
    uow.commit()
    return merged


# --- contacts -------------------------------------------------------------------------------------


def _summaries(session: Session, contacts: Iterable[Contact]) -> list[ContactSummary]:
    ids = [c.id for c in contacts]
    return _summaries_by_id(session, ids)[0] if ids else []


@functools.cache
def _summary_statements() -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]]]:
    """Built once (the caller look-up runs them as a number is typed)."""
    ids: BindParameter[Any] = bindparam("ids", expanding=True)
    phones = (
        select(ContactPhone.contact_id, ContactPhone.raw, ContactPhone.key)
        .where(ContactPhone.contact_id.in_(ids), ContactPhone.deleted.is_(False))
        .order_by(ContactPhone.label, ContactPhone.raw)
    )
    contacts = (
        select(Contact.id, Contact.name, Contact.title, Contact.org_id, Organisation.name.label("org_name"))
        .outerjoin(Organisation, Organisation.id == Contact.org_id)
        .where(Contact.id.in_(ids))
    )
    return phones, contacts


def _summaries_by_id(session: Session, ids: Sequence[str]) -> tuple[list[ContactSummary], set[str]]:
    """Summaries of these contacts, in the given order, and the keys of their numbers: two
    statements (contact with unit, then numbers), whatever the count."""
    if not ids:
        return [], set()
    phones: dict[str, list[str]] = {}
    keys: set[str] = set()
    phones_stmt, contacts_stmt = _summary_statements()
    for contact_id, raw, key in session.execute(phones_stmt, {"ids": list(ids)}):
        phones.setdefault(contact_id, []).append(raw)
        if key:
            keys.add(key)
    rows = {r.id: r for r in session.execute(contacts_stmt, {"ids": list(ids)})}
    summaries = [
        ContactSummary(r.id, r.name, r.title, r.org_id, r.org_name or "", tuple(phones.get(r.id, ())))
        for r in (rows.get(i) for i in ids)
        if r is not None
    ]
    return summaries, keys


def search_contacts(
    session: Session, text: str = "", org_id: str | None = None, limit: int = SEARCH_LIMIT
) -> list[ContactSummary]:
    """Contacts whose name, unit or phone number contains ``text``."""
    query = select(Contact).where(Contact.deleted.is_(False))
    needle = text.strip()
    if needle:
        pattern = _like_pattern(needle)
        digits = "".join(ch for ch in needle if ch.isdigit())
        conditions = [
            Contact.name.like(pattern, escape="\\"),
            Contact.org_id.in_(select(Organisation.id).where(Organisation.name.like(pattern, escape="\\"))),
        ]
        if len(digits) >= 3:
            # the key is E.164 ("+8651986661234"): a number typed with its trunk 0 ("0519-8666 1234")
            # is found in it without that 0
            national = digits.lstrip("0") or digits
            conditions.append(
                Contact.id.in_(
                    select(ContactPhone.contact_id).where(
                        ContactPhone.deleted.is_(False),
                        or_(
                            ContactPhone.raw.like(f"%{digits}%"),
                            ContactPhone.key.like(f"%{digits}%"),
                            ContactPhone.key.like(f"%{national}%"),
                        ),
                    )
                )
            )
        query = query.where(or_(*conditions))
    if org_id is not None:
        query = query.where(Contact.org_id == org_id)
    return _summaries(session, session.scalars(query.order_by(Contact.name).limit(limit)))


def get_contact(session: Session, contact_id: str) -> ContactSummary | None:
    contact = session.get(Contact, contact_id)
    if contact is None:
        return None
    return _summaries(session, [contact])[0]


def contact_phones(session: Session, contact_id: str) -> list[ContactPhone]:
    return list(
        session.scalars(
            select(ContactPhone).where(ContactPhone.contact_id == contact_id, ContactPhone.deleted.is_(False))
        )
    )


def lookup_by_phone(session: Session, phone_key: str) -> list[ContactSummary]:
    """Contacts who own the number with this key (``PhoneInfo.key``), merged ones resolved."""
    return lookup_owners(session, phone_key)[0]


def lookup_owners(session: Session, phone_key: str) -> tuple[list[ContactSummary], set[str]]:
    """The live contacts owning this number, by name, and the keys of all their numbers.

    A number may still point at a contact that was merged away (a desktop that had not synced the
    merge yet added it): the merge chain is followed to its survivor in the same statement."""
    if not phone_key:
        return [], set()
    ids = session.scalars(_owners_statement(), {"phone_key": phone_key}).all()
    return _summaries_by_id(session, ids)


@functools.cache
def _owners_statement() -> Select[Any]:
    chain = (
        select(ContactPhone.contact_id.label("id"))
        .where(ContactPhone.key == bindparam("phone_key"), ContactPhone.deleted.is_(False))
        .cte("chain", recursive=True)
    )
    chain = chain.union(  # UNION, not UNION ALL: a merge cycle ends instead of looping
        select(Contact.merged_into)
        .join(chain, Contact.id == chain.c.id)
        .where(Contact.merged_into.is_not(None))
    )
    return (
        select(Contact.id)  # from the chain into contacts by id: a few rows, never an index scan
        .select_from(chain)
        .join(Contact, Contact.id == chain.c.id)
        .where(Contact.deleted.is_(False), Contact.merged_into.is_(None))
        .order_by(Contact.name, Contact.id)
    )


def merged_contact_ids(session: Session, contact_id: str) -> list[str]:
    """The contact and every contact merged into it (directly or through a chain)."""
    return _merged_ids(session, Contact, [contact_id])


def merged_contact_ids_of(session: Session, contact_ids: Sequence[str]) -> list[str]:
    """These contacts and every contact merged into any of them, in one statement."""
    return _merged_ids(session, Contact, contact_ids)


def merged_organisation_ids(session: Session, org_id: str) -> list[str]:
    """The unit and every unit merged into it (directly or through a chain)."""
    return _merged_ids(session, Organisation, [org_id])


def _merged_ids(
    session: Session, model: type[Contact] | type[Organisation], row_ids: Sequence[str]
) -> list[str]:
    """``row_ids`` first, then the rows merged into them, nearest first: one recursive statement."""
    if not row_ids:
        return []
    found = session.scalars(_merged_statement(model), {"ids": list(row_ids)})
    result = list(dict.fromkeys(row_ids))
    seen = set(result)
    for row_id in found:
        if row_id not in seen:
            seen.add(row_id)
            result.append(row_id)
    return result


@functools.cache
def _merged_statement(model: type[Contact] | type[Organisation]) -> Select[Any]:
    tree = (
        select(model.id.label("id"), literal(0).label("depth"))
        .where(model.id.in_(bindparam("ids", expanding=True)))
        .cte("tree", recursive=True)
    )
    tree = tree.union(  # UNION: a cycle (two offline merges crossing) ends
        select(model.id, tree.c.depth + 1).join(tree, model.merged_into == tree.c.id).where(tree.c.depth < 64)
    )
    return select(tree.c.id).order_by(tree.c.depth, tree.c.id)


def _phone_rows(contact_id: str, phones: Sequence[PhoneEntry], area_code: str) -> list[ContactPhone]:
    rows = []
    for entry in phones:
        raw = entry.raw.strip()
        if not raw:
            continue
        info = parse_phone(raw, area_code)
        rows.append(
            ContactPhone(
                id=uuid7(),
                contact_id=contact_id,
                raw=raw[:64],
                key=info.key[:64],
                extension=(info.extension or "")[:16],
                label=entry.label[:40],
            )
        )
    return rows


def save_contact(
    uow: UnitOfWork, data: ContactInput, contact_id: str | None = None, area_code: str = "0519"
) -> Contact:
    """Create or update a contact and its phone numbers (numbers are matched by what was typed)."""
    session = uow.session
    name = _clean(data.name, 100, "name", required=True)
    title = _clean(data.title, 100, "title")
    if data.org_id is not None:
        org = session.get(Organisation, data.org_id)
        if org is None or org.deleted:
            raise ValidationError({"org": _("The selected unit no longer exists.")})
    if contact_id is None:
        contact = Contact(id=uuid7(), name=name, title=title, org_id=data.org_id, notes=data.notes)
        session.add(contact)
        session.flush()  # the contact row must exist before its phone rows reference it
        session.add_all(_phone_rows(contact.id, data.phones, area_code))
    else:
        found = session.get(Contact, contact_id)
        if found is None or found.deleted:
            raise ValidationError({"name": _("This contact no longer exists.")})
        contact = found
        contact.name, contact.title, contact.org_id, contact.notes = name, title, data.org_id, data.notes
        existing = {p.raw: p for p in contact_phones(session, contact.id)}
        wanted = {e.raw.strip(): e for e in data.phones if e.raw.strip()}
        for raw, phone in existing.items():
            if raw not in wanted:
                phone.deleted = True
            elif phone.label != wanted[raw].label[:40]:
                phone.label = wanted[raw].label[:40]
        session.add_all(
            _phone_rows(contact.id, [e for raw, e in wanted.items() if raw not in existing], area_code)
        )
    uow.commit()
    return contact


def merge_contacts(uow: UnitOfWork, survivor_id: str, duplicate_ids: Sequence[str]) -> int:
    """Merge duplicate contacts into one. Phone numbers move over; calls stay as they were recorded."""
    session = uow.session
    survivor = session.get(Contact, survivor_id)
    if survivor is None or survivor.deleted:
        raise ValidationError({"survivor": _("The contact to keep no longer exists.")})
    known = {p.key for p in contact_phones(session, survivor.id)}
    merged = 0
    for dup_id in duplicate_ids:
        dup = session.get(Contact, dup_id)
        if dup is None or dup.deleted or dup.id == survivor.id:
            continue
        for phone in contact_phones(session, dup.id):
            if phone.key in known:
                phone.deleted = True
            else:
                phone.contact_id = survivor.id
                known.add(phone.key)
        if survivor.org_id is None and dup.org_id is not None:
            survivor.org_id = dup.org_id
        if dup.notes and dup.notes not in survivor.notes:
            survivor.notes = "\n".join(filter(None, [survivor.notes, dup.notes]))
        dup.merged_into = survivor.id
        dup.deleted = True
        merged += 1
    uow.commit()
    return merged


def delete_contact(uow: UnitOfWork, contact_id: str) -> None:
    contact = uow.session.get(Contact, contact_id)
    if contact is None:
        return
    contact.deleted = True
    for phone in contact_phones(uow.session, contact_id):
        phone.deleted = True
    uow.commit()
