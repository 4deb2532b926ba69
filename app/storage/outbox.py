"""Stamp every synced change and append it to the outbox, inside the same transaction.

Installed as a ``before_flush`` hook on the session factory, so no service can write a synced row
without its outbox entry: new rows get ``origin`` and ``hlc`` and an ``insert`` op with every column
(except those marked ``info={"local": True}``, such as a call's local ``key``);
changed rows get a fresh ``hlc`` and an ``update`` op with just the changed columns and the
``server_version`` they were based on; setting ``deleted`` is a ``delete`` op (a tombstone). Physical
deletes of synced rows are refused. A session whose ``info["applying_remote"]`` is true (the sync
engine applying pulled rows) is not recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnDefault, inspect
from sqlalchemy.orm import ColumnProperty, Session

from app.ids import HybridLogicalClock, uuid7
from app.storage.models import OutboxOp, SyncedMixin

_NOT_RECORDED = frozenset({"hlc", "origin", "server_version"})


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def _recorded(attr: ColumnProperty[Any]) -> bool:
    """Columns that sync: not the stamps the op carries itself, not columns marked local to a desktop."""
    return attr.key not in _NOT_RECORDED and not any(col.info.get("local") for col in attr.columns)


def _apply_column_defaults(obj: object, attrs: Iterable[ColumnProperty[Any]]) -> None:
    """Fill unset columns with their scalar defaults now, as the INSERT would.

    Column defaults are applied by the INSERT statement, after this hook; without this the op would
    record ``None`` for, say, an ``active`` that is stored as true.
    """
    for attr in attrs:
        default = attr.columns[0].default
        if getattr(obj, attr.key) is None and isinstance(default, ColumnDefault) and default.is_scalar:
            setattr(obj, attr.key, default.arg)


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
            mapper = inspect(obj).mapper
            _apply_column_defaults(obj, mapper.column_attrs)
            fields = {
                attr.key: _json_value(getattr(obj, attr.key))
                for attr in mapper.column_attrs
                if _recorded(attr)
            }
            session.add(_op(obj, "insert", fields, None, stamp, now))
        for obj in list(session.dirty):
            if not isinstance(obj, SyncedMixin) or not session.is_modified(obj, include_collections=False):
                continue
            state = inspect(obj)
            changed: dict[str, Any] = {}
            for attr in state.mapper.column_attrs:
                if not _recorded(attr):
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
