"""The outbox (app.storage.outbox): every synced change is recorded in the same transaction."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.context import AppContext
from app.ids import parse_hlc, uuid7
from app.services import calls, directory
from app.storage.models import Base, Call, Contact, OutboxOp
from tests.helpers.factories import MakeInput, Record


def ops_after(ctx: AppContext, op_id: int = 0) -> list[OutboxOp]:
    with ctx.db.session() as session:
        return list(session.scalars(select(OutboxOp).where(OutboxOp.op_id > op_id).order_by(OutboxOp.op_id)))


def last_op_id(ctx: AppContext) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.max(OutboxOp.op_id))) or 0)


def count(ctx: AppContext, model: Any) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def fields(op: OutboxOp) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(op.fields)
    return result


def test_seeding_records_the_reference_rows(ctx: AppContext) -> None:
    tables = {op.table_name for op in ops_after(ctx)}
    assert {"sites", "systems", "modules", "categories", "sla_policies"} <= tables
    assert {op.op for op in ops_after(ctx) if op.table_name != "sla_policies"} == {"insert"}
    # the contracts' default policies go as restores: they never win over a supervisor's edit
    assert {op.op for op in ops_after(ctx) if op.table_name == "sla_policies"} == {"restore"}


def test_saving_a_call_writes_an_insert_op(ctx: AppContext, record: Record) -> None:
    before = last_op_id(ctx)
    call = record(question="打印机无法识别票据")
    ops = ops_after(ctx, before)
    assert [(op.table_name, op.op, op.row_id) for op in ops] == [("calls", "insert", call.id)]
    data = fields(ops[0])
    assert data["question"] == "打印机无法识别票据"
    assert data["id"] == call.id
    assert data["deleted"] is False
    assert data["started_at"] == call.started_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    assert "key" not in data  # the local row key is not synced: another desktop has its own keys
    assert ops[0].base_version is None
    assert ops[0].hlc == call.hlc
    assert call.origin == ctx.db.node_id
    uuid_version = int(ops[0].client_op_id[14], 16)
    assert uuid_version == 7


def _as_recorded(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def test_insert_ops_carry_the_values_as_stored(ctx: AppContext, record: Record) -> None:
    """What another desktop would apply equals what this one stored (column defaults included)."""
    record()
    with ctx.uow() as uow:
        directory.save_contact(uow, directory.ContactInput("周会计", phones=[directory.PhoneEntry("8021")]))
    inserts = [op for op in ops_after(ctx) if op.op == "insert"]
    assert {op.table_name for op in inserts} >= {"sites", "modules", "categories", "calls", "contacts"}
    with ctx.db.engine.connect() as conn:
        for op in inserts:
            table = Base.metadata.tables[op.table_name]
            row = conn.execute(select(table).where(table.c.id == op.row_id)).one()._mapping
            for name, value in fields(op).items():
                assert value == _as_recorded(row[name]), (op.table_name, name)


def test_a_failed_transaction_leaves_no_outbox_row_and_no_call(
    ctx: AppContext, make_input: MakeInput
) -> None:
    before_ops, before_calls = last_op_id(ctx), count(ctx, Call)
    with pytest.raises(IntegrityError), ctx.uow() as uow:
        call = Call(id=uuid7(), key=1, revision=1, updated_at=dt.datetime.now(dt.UTC))
        calls._apply_input(uow.session, call, make_input())
        call.site_id = "no-such-site"  # the foreign key check fails at flush time
        uow.session.add(call)
        uow.commit()
    assert ops_after(ctx, before_ops) == []
    assert count(ctx, Call) == before_calls


def test_a_rolled_back_unit_of_work_leaves_nothing(ctx: AppContext, make_input: MakeInput) -> None:
    before_ops, before_calls = last_op_id(ctx), count(ctx, Call)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), ctx.uow() as uow:
        call = Call(id=uuid7(), key=1, revision=1)
        calls._apply_input(uow.session, call, make_input())
        uow.session.add(call)
        uow.session.flush()  # the outbox row is written now, in the same transaction
        pending = select(func.count()).select_from(OutboxOp).where(OutboxOp.row_id == call.id)
        assert uow.session.scalar(pending) == 1
        raise Abort
    assert ops_after(ctx, before_ops) == []
    assert count(ctx, Call) == before_calls


def test_editing_writes_an_update_with_only_the_changed_fields(
    ctx: AppContext, record: Record, make_input: MakeInput
) -> None:
    call = record()
    before = last_op_id(ctx)
    with ctx.uow() as uow:
        calls.edit_call(uow, call.id, make_input(answer="已远程协助重装打印控件"), editor="李工")
    ops = [op for op in ops_after(ctx, before) if op.table_name == "calls"]
    assert len(ops) == 1
    assert ops[0].op == "update"
    assert ops[0].row_id == call.id
    assert set(fields(ops[0])) == {"answer", "revision", "updated_at"}
    assert fields(ops[0])["answer"] == "已远程协助重装打印控件"
    assert ops[0].base_version is None  # never synced yet
    revisions = [op for op in ops_after(ctx, before) if op.table_name == "call_revisions"]
    assert [op.op for op in revisions] == ["insert"]


def test_moving_a_call_in_time_is_one_update(ctx: AppContext, record: Record, make_input: MakeInput) -> None:
    call = record()
    before = last_op_id(ctx)
    later = call.started_at + dt.timedelta(days=1)
    with ctx.uow() as uow:
        calls.edit_call(uow, call.id, make_input(started_at=later), editor="李工")
    ops = [op for op in ops_after(ctx, before) if op.table_name == "calls"]
    assert [op.op for op in ops] == ["update"]
    assert set(fields(ops[0])) == {"started_at", "revision", "updated_at"}


def test_update_carries_the_server_version_it_was_based_on(
    ctx: AppContext, record: Record, make_input: MakeInput
) -> None:
    call = record()
    # what the sync engine does when the server confirms the row: not itself a local change
    with ctx.db.session() as session, session.begin():
        session.info["applying_remote"] = True
        session.execute(update(Call).where(Call.id == call.id).values(server_version=7))
    before = last_op_id(ctx)
    with ctx.uow() as uow:
        calls.edit_call(uow, call.id, make_input(question="改正后的问题描述"), editor="李工")
    ops = [op for op in ops_after(ctx, before) if op.table_name == "calls"]
    assert len(ops) == 1
    assert ops[0].base_version == 7


def test_tombstoning_writes_a_delete_op(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        contact = directory.save_contact(
            uow, directory.ContactInput("周会计", phones=[directory.PhoneEntry("13912345678")])
        )
    before = last_op_id(ctx)
    with ctx.uow() as uow:
        directory.delete_contact(uow, contact.id)
    ops = ops_after(ctx, before)
    assert {(op.table_name, op.op) for op in ops} == {("contacts", "delete"), ("contact_phones", "delete")}
    contact_op = next(op for op in ops if op.table_name == "contacts")
    assert contact_op.row_id == contact.id
    assert fields(contact_op) == {"deleted": True}


def test_physical_delete_of_a_synced_row_is_refused(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        contact = directory.save_contact(uow, directory.ContactInput("吴主任"))
    with ctx.uow() as uow:
        row = uow.session.get(Contact, contact.id)
        uow.session.delete(row)
        with pytest.raises(RuntimeError, match="tombstoned"):
            uow.commit()
    with ctx.db.session() as session:
        assert session.get(Contact, contact.id) is not None


def test_hlc_stamps_increase_with_every_op(ctx: AppContext, record: Record, make_input: MakeInput) -> None:
    first = record()
    for minute in range(5):
        record(started_at=first.started_at + dt.timedelta(minutes=minute + 1))
    with ctx.uow() as uow:
        calls.edit_call(uow, first.id, make_input(answer="补充说明"), editor="张工")
    # the seeded default policies are stamped older than any edit on purpose (app.services.sla_config)
    ops = [op for op in ops_after(ctx) if op.table_name != "sla_policies"]
    stamps = [op.hlc for op in ops]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert all(parse_hlc(s)[2] == ctx.db.node_id for s in stamps)


def test_a_session_applying_remote_changes_writes_no_outbox(ctx: AppContext, make_input: MakeInput) -> None:
    before = last_op_id(ctx)
    remote_id = uuid7()
    with ctx.db.session() as session, session.begin():
        session.info["applying_remote"] = True
        call = Call(id=remote_id, key=1, revision=1, origin="otherdesktop", hlc="x", server_version=3)
        calls._apply_input(session, call, replace(make_input(), question="另一台电脑记录的来电"))
        session.add(call)
    assert ops_after(ctx, before) == []
    with ctx.db.session() as session:
        stored = session.scalar(select(Call).where(Call.id == remote_id))
        assert stored is not None
        assert stored.origin == "otherdesktop"  # not re-stamped as ours
        assert stored.server_version == 3
