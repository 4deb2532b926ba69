"""The SQLAlchemy models (2.x typed style).

Every synced table carries what ../shared/design/sync.md asks for: a UUIDv7 ``id`` made on the desktop,
``origin`` (node id), ``hlc`` (hybrid logical clock of the last change), ``server_version`` (set by the
server on sync) and ``deleted`` (tombstone: synced rows are never physically removed). The
``SyncedMixin`` marks them; the unit of work stamps them and writes the outbox in the same transaction.

Calls are facts with an edit history: the ``calls`` row is the current version and every earlier
version is kept in ``call_revisions``. A call's local integer key is its time order (see
``call_key``), so "newest first", period filters and the full-text index all walk one B-tree.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.i18n import N_
from app.storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SyncedMixin:
    """Columns every synced row carries (see module docstring)."""

    origin: Mapped[str] = mapped_column(String(40), default="")
    hlc: Mapped[str] = mapped_column(String(64), default="", index=True)
    server_version: Mapped[int | None] = mapped_column(Integer, default=None)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class LocalMeta(Base):
    """Per-desktop facts (node id, index versions). Never synced."""

    __tablename__ = "local_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


# --- reference data -------------------------------------------------------------------------------


class Site(SyncedMixin, Base):
    """A service site: the bureau an engineer serves (常州市财政局, 湛江市财政局)."""

    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    area_code: Mapped[str] = mapped_column(String(8), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SiteLetterhead(SyncedMixin, Base):
    """How a site's printouts are headed and signed (``app.reports.letterhead``), the same on every
    desktop: the heading line ("" for the site's name and 运维服务), the signature labels (a JSON list;
    empty for each document's own) and the logo (PNG or JPEG, base64; "" for none). The id is derived
    from the site, so two desktops editing one site's letterhead edit one row, merged by field."""

    __tablename__ = "site_letterheads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    text: Mapped[str] = mapped_column(String(200), default="")
    signatures: Mapped[str] = mapped_column(Text, default="[]")
    logo: Mapped[str] = mapped_column(Text, default="")


class System(SyncedMixin, Base):
    """A software system a site's hotline supports (财政票据管理系统 ...)."""

    __tablename__ = "systems"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Module(SyncedMixin, Base):
    __tablename__ = "modules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Category(SyncedMixin, Base):
    """A call category (咨询, 故障报修, 需求建议, 投诉, 其他)."""

    __tablename__ = "categories"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OrgKind(enum.StrEnum):
    BUDGET_UNIT = "budget_unit"
    BILL_UNIT = "bill_unit"
    BUREAU_DEPT = "bureau_dept"
    OTHER = "other"


ORG_KIND_LABELS: dict[OrgKind, str] = {
    OrgKind.BUDGET_UNIT: N_("Budget unit"),
    OrgKind.BILL_UNIT: N_("Bill-using unit"),
    OrgKind.BUREAU_DEPT: N_("Bureau department"),
    OrgKind.OTHER: N_("Other"),
}


class Organisation(SyncedMixin, Base):
    """A unit that calls the hotline (预算单位, 用票单位, 财政局科室)."""

    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"), index=True, default=None)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=OrgKind.OTHER.value)
    notes: Mapped[str] = mapped_column(Text, default="")
    merged_into: Mapped[str | None] = mapped_column(String(36), default=None, index=True)


class Contact(SyncedMixin, Base):
    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True, default=None)
    name: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    merged_into: Mapped[str | None] = mapped_column(String(36), default=None, index=True)


class ContactPhone(SyncedMixin, Base):
    """One of a contact's numbers. ``key`` is ``app.phone.PhoneInfo.key`` — what a caller is matched on."""

    __tablename__ = "contact_phones"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    raw: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64), index=True)
    extension: Mapped[str] = mapped_column(String(16), default="")
    label: Mapped[str] = mapped_column(String(40), default="")


# --- calls ----------------------------------------------------------------------------------------


class Outcome(enum.StrEnum):
    ANSWERED = "answered"
    TRANSFERRED = "transferred"
    TICKET = "ticket"
    CALLBACK = "callback"


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.ANSWERED: N_("Answered on the call"),
    Outcome.TRANSFERRED: N_("Transferred"),
    Outcome.TICKET: N_("Needs a ticket"),
    Outcome.CALLBACK: N_("Needs a call back"),
}

# A call's local key is (started_at in ms) * CALL_KEY_SLOTS + a slot, so key order is time order.
CALL_KEY_SLOTS = 1024


def call_key_floor(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000) * CALL_KEY_SLOTS


class Call(SyncedMixin, Base):
    """One hotline call (来电记录). The current version; earlier versions are in ``call_revisions``."""

    __tablename__ = "calls"
    # Local to this desktop (``info["local"]``: never written to the outbox); ``id`` identifies the call.
    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, info={"local": True})
    id: Mapped[str] = mapped_column(String(36), unique=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    engineer: Mapped[str] = mapped_column(String(100), default="")
    caller_name: Mapped[str] = mapped_column(String(100), default="")
    caller_phone: Mapped[str] = mapped_column(String(64), default="")
    caller_key: Mapped[str] = mapped_column(String(64), default="")
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True, default=None)
    unit_name: Mapped[str] = mapped_column(String(200), default="")
    system_id: Mapped[str | None] = mapped_column(ForeignKey("systems.id"), default=None)
    module_id: Mapped[str | None] = mapped_column(ForeignKey("modules.id"), default=None)
    category_id: Mapped[str | None] = mapped_column(ForeignKey("categories.id"), default=None)
    question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(20), default=Outcome.ANSWERED.value)
    transferred_to: Mapped[str] = mapped_column(String(100), default="")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # When a call that needed a call back (outcome ``callback``) was returned; None: not yet.
    called_back_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # No index on the stamp here (the other synced tables have one): nothing looks calls up by it.
    hlc: Mapped[str] = mapped_column(String(64), default="")


class CallRevision(SyncedMixin, Base):
    """An earlier version of a call, kept when the call is edited (insert-only)."""

    __tablename__ = "call_revisions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[str] = mapped_column(Text)  # JSON of the call's fields as they were
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    replaced_by: Mapped[str] = mapped_column(String(100), default="")


# --- tickets and service levels ------------------------------------------------------------------
#
# A ticket (工单) is a document for what people type (title, description, unit, assignee ...) and an
# append-only history of events for everything the service-level clock depends on (status, severity,
# policy, pauses, hand deadlines): two desktops that changed one ticket offline never conflict on
# those, they both add events, and every desktop derives the same state from the events in
# (hlc, origin, id) order (app.services.tickets). ``ticket_state`` is that derived state, kept locally
# so lists of open tickets are one indexed query.


class Ticket(SyncedMixin, Base):
    """A ticket (工单). ``number`` is for people (GD-2026-030123); ``id`` is its identity."""

    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True, default=None)
    unit_name: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    caller_name: Mapped[str] = mapped_column(String(100), default="")
    caller_phone: Mapped[str] = mapped_column(String(64), default="")
    system_id: Mapped[str | None] = mapped_column(ForeignKey("systems.id"), default=None)
    module_id: Mapped[str | None] = mapped_column(ForeignKey("modules.id"), default=None)
    category_id: Mapped[str | None] = mapped_column(ForeignKey("categories.id"), default=None)
    handling: Mapped[str] = mapped_column(String(20), default="remote")
    assignee: Mapped[str] = mapped_column(String(100), default="", index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), index=True, default=None)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TicketEventRow(SyncedMixin, Base):
    """One event of a ticket's history (insert-only). ``at`` is the moment the engineer states;
    ``recorded_at`` when it was written; ``data`` is JSON text (see app.sla.events)."""

    __tablename__ = "ticket_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    data: Mapped[str] = mapped_column(Text, default="{}")
    author: Mapped[str] = mapped_column(String(100), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TicketCall(SyncedMixin, Base):
    """A call linked to a ticket (insert-only). The id is derived from the pair, so two desktops that
    link the same call make one row."""

    __tablename__ = "ticket_calls"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    linked_by: Mapped[str] = mapped_column(String(100), default="")
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SlaPolicy(SyncedMixin, Base):
    """A site's service-level policy; ``body`` is ``app.sla.policy.Policy.to_json()``. The defaults of
    the two contracts get ids derived from their site, so every desktop seeds the same rows."""

    __tablename__ = "sla_policies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    body: Mapped[str] = mapped_column(Text, default="{}")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CalendarDay(SyncedMixin, Base):
    """A date a supervisor set apart from the holidays library (``app.sla.calendar.OverrideKind``). The
    id is derived from the date, so two desktops editing one date edit one row (merged by field)."""

    __tablename__ = "calendar_days"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), unique=True)  # ISO date, 2027-10-01
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100), default="")


class CalendarYear(SyncedMixin, Base):
    """A year whose holiday notice a supervisor confirmed (entered or imported); id derived from the
    year. Years the library ships are confirmed without a row."""

    __tablename__ = "calendar_years"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")


# --- knowledge base (运维知识库) ---------------------------------------------------------------------
#
# Articles and canned answers are documents (merged field by field like the directory); every saved
# version of an article, its pasted images and its links to calls and tickets are facts (insert-only).
# The search index over articles and tickets is local (``kb_search`` maps them to FTS5 rowids).


class KbArticle(SyncedMixin, Base):
    """A knowledge-base article: only what people write, so a merge conflicts on words, never on
    counters. ``tags`` are one text (comma-separated, in the order typed). When and by whom it was
    last saved, and its version number, come from ``kb_article_versions``."""

    __tablename__ = "kb_articles"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"), index=True, default=None)
    title: Mapped[str] = mapped_column(String(200), default="")
    symptom: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    system_id: Mapped[str | None] = mapped_column(ForeignKey("systems.id"), default=None)
    module_id: Mapped[str | None] = mapped_column(ForeignKey("modules.id"), default=None)
    tags: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="faq")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    author: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class KbArticleVersion(SyncedMixin, Base):
    """A saved version of an article (insert-only): ``snapshot`` is JSON of its fields after the save;
    ``revision`` is the version number the saving desktop gave it (two desktops offline may both make
    version 3: the history lists versions by time)."""

    __tablename__ = "kb_article_versions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    saved_by: Mapped[str] = mapped_column(String(100), default="")


class KbImage(SyncedMixin, Base):
    """An image pasted into an article (insert-only), referenced from its Markdown as ``kbimg:<id>``;
    ``data`` is the file base64-encoded, so it travels through the server's JSON rows."""

    __tablename__ = "kb_images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    mime: Mapped[str] = mapped_column(String(40), default="image/png")
    data: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class KbLink(SyncedMixin, Base):
    """An article used in a call (its answer inserted) or linked to a ticket (insert-only). The id is
    derived from the pair, so two desktops making the same link make one row."""

    __tablename__ = "kb_links"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), index=True, default=None)
    ticket_id: Mapped[str | None] = mapped_column(ForeignKey("tickets.id"), index=True, default=None)
    linked_by: Mapped[str] = mapped_column(String(100), default="")
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CannedAnswer(SyncedMixin, Base):
    """A canned answer (常用答复): a short text inserted into a call's answer; ``abbreviation`` is what
    the engineer types before the shortcut to insert it."""

    __tablename__ = "kb_canned"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"), index=True, default=None)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    abbreviation: Mapped[str] = mapped_column(String(40), default="")


class KbSynonym(SyncedMixin, Base):
    """A group of words a search treats as one (优盘 = U盘 = UKey), words separated by spaces or =."""

    __tablename__ = "kb_synonyms"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    words: Mapped[str] = mapped_column(Text, default="")


class KbSearchDoc(Base):
    """The local search index's rowid of an article or a ticket (``kind`` 'a' or 't'): the rows of
    the FTS5 table ``kb_fts`` are keyed by ``key``; ``site`` ("" for every site) and ``status``
    ("ticket" for a ticket) are filtered on after the match. Never synced; rebuilt from the documents."""

    __tablename__ = "kb_search"
    key: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(1))
    doc_id: Mapped[str] = mapped_column(String(36), unique=True)
    site: Mapped[str] = mapped_column(String(36), default="", server_default="")
    status: Mapped[str] = mapped_column(String(20), default="", server_default="")


class TicketState(Base):
    """A ticket's state derived from its events (status, severity, deadlines, outcomes): a local cache,
    never synced, recomputed whenever the ticket's events, its policy or the calendar change."""

    __tablename__ = "ticket_state"
    ticket_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(36), default="")
    status: Mapped[str] = mapped_column(String(20), default="new")
    severity: Mapped[str] = mapped_column(String(40), default="")
    phase: Mapped[str] = mapped_column(String(20), default="open")
    policy_id: Mapped[str | None] = mapped_column(String(36), default=None)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcomes: Mapped[str] = mapped_column(Text, default="[]")  # JSON: one object per target
    flagged: Mapped[str] = mapped_column(Text, default="[]")  # JSON: ids of events that did not apply
    problem: Mapped[str] = mapped_column(Text, default="")  # why no deadlines could be derived
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The first and last date whose kind (working day, holiday …) the derivation asked the calendar
    # (ISO dates; None: it asked about none): a calendar edit recomputes only the tickets it concerns.
    calendar_from: Mapped[str | None] = mapped_column(String(10), default=None)
    calendar_to: Mapped[str | None] = mapped_column(String(10), default=None)


Index("ix_ticket_state_open_due", TicketState.is_open, TicketState.next_due_at)


class TicketAlert(Base):
    """A countdown warning already shown for a ticket's target, or for a call's call-back (under the
    call's id), so it is shown once per threshold. Local."""

    __tablename__ = "ticket_alerts"
    ticket_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    target: Mapped[str] = mapped_column(String(20), primary_key=True)
    threshold: Mapped[str] = mapped_column(String(40), primary_key=True)
    notified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# --- sync -----------------------------------------------------------------------------------------


class OutboxOp(Base):
    """A local change waiting to be pushed, written in the same transaction as the change itself."""

    __tablename__ = "outbox"
    op_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_op_id: Mapped[str] = mapped_column(String(36), unique=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(10))  # insert | update | delete
    fields: Mapped[str] = mapped_column(Text)  # JSON of the changed fields and their new values
    base_version: Mapped[int | None] = mapped_column(Integer, default=None)
    hlc: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


Index("ix_outbox_row", OutboxOp.table_name, OutboxOp.row_id)


class SyncConflict(SyncedMixin, Base):
    """The losing value of a field two desktops changed at once, made by the server's merge.

    Synced like a document: a person resolves it by keeping the current value or putting the lost one
    back, and the conflict is then tombstoned. Values are JSON text as the server held them.
    """

    __tablename__ = "sync_conflicts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40), default="")
    row_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    field: Mapped[str] = mapped_column(String(40), default="")
    kept_value: Mapped[str] = mapped_column(Text, default="null")
    lost_value: Mapped[str] = mapped_column(Text, default="null")
    kept_origin: Mapped[str] = mapped_column(String(40), default="")
    lost_origin: Mapped[str] = mapped_column(String(40), default="")
    kept_hlc: Mapped[str] = mapped_column(String(64), default="")
    lost_hlc: Mapped[str] = mapped_column(String(64), default="")
    detected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class ParkedOp(Base):
    """A local change the server refused: kept here, out of the outbox's way, until retried or dropped."""

    __tablename__ = "sync_parked"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_op_id: Mapped[str] = mapped_column(String(36))
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(10))
    fields: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int | None] = mapped_column(Integer, default=None)
    hlc: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    parked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SyncLogEntry(Base):
    """What a sync did, in words: the English message and its parameters, translated when shown."""

    __tablename__ = "sync_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    level: Mapped[str] = mapped_column(String(10), default="info")
    message: Mapped[str] = mapped_column(Text)
    params: Mapped[str] = mapped_column(Text, default="{}")


class UnindexedCall(Base):
    """A call whose full-text row is not written yet. A large first sync stores the calls first and
    leaves their words to be indexed in the background (``app.services.call_index``); until this
    table is empty, a search may miss some calls and says so. Never synced."""

    __tablename__ = "calls_unindexed"
    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


# Site, system, module, category, outcome and engineer have no index of their own (revision 0005):
# searches and filters by them go through the full-text index (facet tokens), calls still queued for it
# are found through ``calls_unindexed``, and reports read a period as a key range. Each index costs a
# random B-tree write per saved or pulled call, and its build after a large first sync.
# The calls-table path of a search reads only these indexes, never the wide rows (question, answer):
# ``deleted`` is in each, and ``key`` (the rowid) ends every index. Word and filter searches go
# through the full-text index instead (app.services.calls.facet_token).
Index("ix_calls_live", Call.deleted)
Index("ix_calls_caller_key_live", Call.caller_key, Call.deleted)
Index("ix_calls_contact_id_live", Call.contact_id, Call.deleted)
# Calls this desktop has not had back from a server: the sync check counts the rest cheaply.
Index("ix_calls_unsynced", Call.key, sqlite_where=Call.server_version.is_(None))
# Calls still to be called back: a handful among a million, read at every reload of the due-soon panel.
Index(
    "ix_calls_callback_open",
    Call.key,
    sqlite_where=(Call.outcome == "callback") & Call.called_back_at.is_(None) & Call.deleted.is_(False),
)

# No composite (x, key) indexes are needed: ``key`` is the rowid, and SQLite ends every index with it,
# so an index on ``caller_key`` already serves "this caller's calls, newest first".

SYNCED_TABLES: tuple[str, ...] = (
    "sites",
    "systems",
    "modules",
    "categories",
    "organisations",
    "contacts",
    "contact_phones",
    "calls",
    "call_revisions",
    "sync_conflicts",
    "sla_policies",
    "calendar_years",
    "calendar_days",
    "tickets",
    "ticket_events",
    "ticket_calls",
    "kb_articles",
    "kb_article_versions",
    "kb_images",
    "kb_links",
    "kb_canned",
    "kb_synonyms",
    "site_letterheads",
)
