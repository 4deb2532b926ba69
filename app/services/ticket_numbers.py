"""Ticket numbers for people: ``GD-<year>-<station><sequence>``, e.g. GD-2026-030123.

The station (2 digits) is given to each desktop once by the shared server (``hello``); the sequence
counts this desktop's tickets of that year in Beijing time (4 digits, more past 9999, never wrapping),
so two desktops that were offline never make the same number. A station past 99 is written
``GD-2026-123-0001``: no two-digit station can produce that form.

A desktop that has never reached the server has no station yet: its tickets get a provisional number
(``GD-2026-临0001``). ``take_station`` gives them their final numbers at the first sync, before they
are first sent — no other desktop has seen them, so their row and the insert waiting in the outbox
are simply rewritten.

The counters live in ``local_meta``; a counter lost with a rebuilt file cannot repeat a number, as the
numbers already here are consulted too.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.sla.wall_time import to_shanghai
from app.storage.db import Database, get_meta, set_meta
from app.storage.models import OutboxOp, ParkedOp, Ticket
from app.storage.uow import UnitOfWork

log = logging.getLogger("hotline.tickets")

# local_meta keys
STATION = "tickets.station"
SEQUENCE = "tickets.seq."  # + year + "." + station: this desktop's last ticket number of that year
PROVISIONAL_SEQUENCE = "tickets.provisional_seq."  # + year
PROVISIONAL_PENDING = "tickets.provisional_pending"  # "1" while tickets with provisional numbers exist
PROVISIONAL_MARK = "临"

_FINAL_NUMBER = re.compile(r"^GD-(\d{4})-(\d{2})(\d{4,})$")
_WIDE_NUMBER = re.compile(r"^GD-(\d{4})-(\d{3,})-(\d{4,})$")
_PROVISIONAL_NUMBER = re.compile(rf"^GD-(\d{{4}})-{PROVISIONAL_MARK}(\d{{4,}})$")


def format_number(year: int, station: int, sequence: int) -> str:
    """A ticket's final number: GD-2026-030123 (station 3, 123rd ticket of 2026 on that desktop)."""
    if station < 100:
        return f"GD-{year:04d}-{station:02d}{sequence:04d}"
    return f"GD-{year:04d}-{station}-{sequence:04d}"  # a form no two-digit station can produce


def provisional_number(year: int, sequence: int) -> str:
    return f"GD-{year:04d}-{PROVISIONAL_MARK}{sequence:04d}"


def is_provisional(number: str) -> bool:
    return PROVISIONAL_MARK in number


def _parse_final(number: str) -> tuple[int, int, int] | None:
    """(year, station, sequence) of a final number, or None."""
    match = _FINAL_NUMBER.match(number) or _WIDE_NUMBER.match(number)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _numbers_from(session: Session, prefix: str) -> list[str]:
    # a range on ix_tickets_number ("~" sorts after every digit and "-")
    return list(
        session.scalars(select(Ticket.number).where(Ticket.number >= prefix, Ticket.number < prefix + "~"))
    )


def _next_sequence(session: Session, year: int, station: int) -> int:
    """This desktop's next ticket of ``year`` under ``station``: one past the counter and past any
    number of that station already here (a counter lost with a rebuilt local_meta cannot repeat)."""
    key = f"{SEQUENCE}{year}.{station}"
    last = int(get_meta(session, key) or 0)
    prefix = f"GD-{year:04d}-{station:02d}" if station < 100 else f"GD-{year:04d}-{station}-"
    for number in _numbers_from(session, prefix):
        parsed = _parse_final(number)
        if parsed is not None and parsed[0] == year and parsed[1] == station:
            last = max(last, parsed[2])
    set_meta(session, key, str(last + 1))
    return last + 1


def _next_provisional(session: Session, year: int) -> int:
    key = f"{PROVISIONAL_SEQUENCE}{year}"
    last = int(get_meta(session, key) or 0)
    for number in _numbers_from(session, f"GD-{year:04d}-{PROVISIONAL_MARK}"):
        match = _PROVISIONAL_NUMBER.match(number)
        if match is not None:
            last = max(last, int(match.group(2)))
    set_meta(session, key, str(last + 1))
    return last + 1


def station(session: Session) -> int | None:
    """The station number the shared server gave this desktop, or None before its first sync."""
    value = get_meta(session, STATION)
    return int(value) if value else None


def new_number(session: Session, now: dt.datetime) -> str:
    """The number of a ticket made ``now``: final if this desktop has a station, else provisional."""
    year = to_shanghai(now).year
    own = station(session)
    if own is not None:
        return format_number(year, own, _next_sequence(session, year, own))
    set_meta(session, PROVISIONAL_PENDING, "1")
    return provisional_number(year, _next_provisional(session, year))


def take_station(db: Database, new_station: int) -> list[tuple[str, str]]:
    """Keep the station the server gave this desktop (at ``hello``) and give tickets that still carry a
    provisional number their final one. Called by the sync engine before it pushes anything, so those
    tickets have never left this desktop: their row and the insert waiting in the outbox are rewritten,
    and the server only ever sees the final number. Returns (old, new) numbers."""
    with UnitOfWork(db) as uow:
        session = uow.session
        pending = get_meta(session, PROVISIONAL_PENDING) == "1"
        if station(session) == new_station and not pending:
            return []
        set_meta(session, STATION, str(new_station))
        renumbered = _finalize_numbers(session, new_station) if pending else []
        set_meta(session, PROVISIONAL_PENDING, "0")
        uow.commit()
    if renumbered:
        log.info("station %d: %d ticket(s) renumbered", new_station, len(renumbered))
    return renumbered


def _finalize_numbers(session: Session, own_station: int) -> list[tuple[str, str]]:
    renumbered: list[tuple[str, str]] = []
    rows = session.execute(
        select(Ticket.id, Ticket.number)
        .where(Ticket.number.contains(PROVISIONAL_MARK))
        .order_by(Ticket.created_at, Ticket.number)
    ).all()
    for ticket_id, number in rows:
        match = _PROVISIONAL_NUMBER.match(number)
        waiting: list[OutboxOp | ParkedOp] = [
            *session.scalars(
                select(OutboxOp).where(OutboxOp.table_name == "tickets", OutboxOp.row_id == ticket_id)
            ),
            *session.scalars(
                select(ParkedOp).where(ParkedOp.table_name == "tickets", ParkedOp.row_id == ticket_id)
            ),
        ]
        if match is None or not any(op.op in ("insert", "restore") for op in waiting):
            # sent before this desktop had a station (it cannot be, as the engine calls this before a
            # push): other desktops may know the number, so it stays
            log.info("ticket %s keeps its number %s: it was sent already", ticket_id, number)
            continue
        year = int(match.group(1))
        final = format_number(year, own_station, _next_sequence(session, year, own_station))
        session.execute(update(Ticket).where(Ticket.id == ticket_id).values(number=final))
        for op in waiting:
            values = json.loads(op.fields)
            if "number" in values:
                values["number"] = final
                op.fields = json.dumps(values, ensure_ascii=False, sort_keys=True)
        renumbered.append((number, final))
    if renumbered:
        from app.services import kb_index  # the search finds a ticket by its number

        kb_index.index_tickets(session, [ticket_id for ticket_id, _number in rows])
    return renumbered
