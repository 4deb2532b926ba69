"""Stamp every synced change and append it to the outbox, inside the same transaction.

Installed as a ``before_flush`` hook on the session factory, so no service can write a synced row
without its outbox entry: new rows get ``origin`` and ``hlc`` and an ``insert`` op with every column;
changed rows get a fresh ``hlc`` and an ``update`` op with just the changed columns and the
``server_version`` they were based on; setting ``deleted`` is a ``delete`` op (a tombstone). Physical
deletes of synced rows are refused. A session whose ``info["applying_remote"]`` is true (the sync
engine applying pulled rows) is not recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.ids import HybridLogicalClock, uuid7
from app.storage.models import OutboxOp, SyncedMixin

_NOT_RECORDED = frozenset({"hlc", "origin", "server_version"})


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def _row_id(obj: SyncedMixin) -> str:
    return str(obj.id)  # type: ignore[attr-defined]


def install_outbox_recorder(session_factory: Any, node_id: str, clock: HybridLogicalClock) -> None:
    from sqlalchemy import event

    @event.listens_for(session_factory, "before_flush")
    def _record(session: Session, _flush_context: Any, _instances: Any) -> None:
        if session.info.get("applying_remote"):
            return
        now = dt.datetime.now(dt.UTC)
        for obj in list(session.deleted):
            if isinstance(obj, SyncedMixin):
                raise RuntimeError(f"synced row {obj!r} must be tombstoned (deleted=True), not deleted")
        for obj in list(session.new):
            if not isinstance(obj, SyncedMixin):
                continue
            stamp = clock.now()
            obj.origin = node_id
            obj.hlc = stamp
            if obj.deleted is None:
                obj.deleted = False
            mapper = inspect(obj).mapper
            fields = {
                attr.key: _json_value(getattr(obj, attr.key))
                for attr in mapper.column_attrs
                if attr.key not in _NOT_RECORDED
            }
            session.add(_op(obj, "insert", fields, None, stamp, now))
        for obj in list(session.dirty):
            if not isinstance(obj, SyncedMixin) or not session.is_modified(obj, include_collections=False):
                continue
            state = inspect(obj)
            changed: dict[str, Any] = {}
            for attr in state.mapper.column_attrs:
                if attr.key in _NOT_RECORDED:
                    continue
                history = state.attrs[attr.key].history
                if history.has_changes():
                    changed[attr.key] = _json_value(getattr(obj, attr.key))
            if not changed:
                continue
            stamp = clock.now()
            obj.hlc = stamp
            op = "delete" if changed.get("deleted") is True else "update"
            session.add(_op(obj, op, changed, obj.server_version, stamp, now))


def _op(
    obj: SyncedMixin, op: str, fields: dict[str, Any], base_version: int | None, stamp: str, now: dt.datetime
) -> OutboxOp:
    return OutboxOp(
        client_op_id=uuid7(),
        table_name=str(obj.__tablename__),  # type: ignore[attr-defined]
        row_id=_row_id(obj),
        op=op,
        fields=json.dumps(fields, ensure_ascii=False, sort_keys=True),
        base_version=base_version,
        hlc=stamp,
        created_at=now,
    )
