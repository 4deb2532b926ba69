"""Call-backs (app.services.callbacks): a call marked "needs a call back" is a task until returned;
Changzhou's contract gives a call on a non-working day 30 minutes, counted like a ticket's deadline."""

from __future__ import annotations

import datetime as dt

import pytest

from app import i18n
from app.context import AppContext
from app.errors import UserFacingError
from app.services import callbacks, calls
from app.sla.countdown import CountdownKind, countdown
from app.storage.models import Call, OutboxOp
from tests.helpers.factories import CST, Record

SATURDAY = dt.datetime(2026, 3, 7, 10, 0, tzinfo=CST)  # a plain weekend day
MONDAY = dt.datetime(2026, 3, 9, 10, 0, tzinfo=CST)
NATIONAL_DAY = dt.datetime(2026, 10, 2, 21, 30, tzinfo=CST)


@pytest.fixture(autouse=True)
def _chinese() -> None:
    i18n.set_language("zh_CN")


def open_ids(ctx: AppContext, site: str | None = None) -> list[str]:
    with ctx.db.session() as session:
        return [t.call_id for t in callbacks.open_callbacks(session, site)]


def task_of(ctx: AppContext, call: Call) -> callbacks.CallbackTask:
    with ctx.db.session() as session:
        task = callbacks.callback_of(session, call.id)
    assert task is not None
    return task


def test_a_missed_call_on_a_non_working_day_in_changzhou_counts_down_30_minutes(
    ctx: AppContext, record: Record
) -> None:
    weekend = record(started_at=SATURDAY, outcome="callback", caller_name="李会计")
    holiday = record(started_at=NATIONAL_DAY, outcome="callback")
    weekday = record(started_at=MONDAY, outcome="callback")  # answered live on working days: no time
    record(started_at=SATURDAY, outcome="answered")  # answered: nothing to call back
    zhanjiang = record("zhanjiang", started_at=SATURDAY, outcome="callback")  # no call-back rule there

    listed = open_ids(ctx)
    assert set(listed) == {weekend.id, holiday.id, weekday.id, zhanjiang.id}
    assert listed[:2] == [weekend.id, holiday.id]  # those with a due time first, soonest first
    task = task_of(ctx, weekend)
    assert task.due == SATURDAY + dt.timedelta(minutes=30)
    assert task.label() == "回电 李会计 0519-86661234"
    assert countdown(task.state, SATURDAY + dt.timedelta(minutes=12)).text() == "剩余 00:18:00"  # type: ignore[arg-type]
    assert countdown(task.state, SATURDAY + dt.timedelta(minutes=35)).text() == "已超时 00:05:00"  # type: ignore[arg-type]
    assert task.state is not None and "非工作日" in task.state.explanation()
    assert task_of(ctx, holiday).due == NATIONAL_DAY + dt.timedelta(minutes=30)  # 21:30 → 22:00
    assert task_of(ctx, weekday).state is None
    assert task_of(ctx, zhanjiang).state is None
    assert open_ids(ctx, task.site_id) == [weekend.id, holiday.id, weekday.id]


def test_calling_back_closes_the_task_and_keeps_whether_it_was_in_time(
    ctx: AppContext, record: Record
) -> None:
    in_time = record(started_at=SATURDAY, outcome="callback")
    late = record(started_at=SATURDAY + dt.timedelta(minutes=1), outcome="callback")
    now = SATURDAY + dt.timedelta(hours=1)
    with ctx.uow() as uow:
        callbacks.mark_called_back(uow, in_time.id, SATURDAY + dt.timedelta(minutes=25), now)
    with ctx.uow() as uow:
        callbacks.mark_called_back(uow, late.id, SATURDAY + dt.timedelta(minutes=41), now)
    assert open_ids(ctx) == []
    assert countdown(task_of(ctx, in_time).state, now).kind is CountdownKind.MET  # type: ignore[arg-type]
    shown = countdown(task_of(ctx, late).state, now)  # type: ignore[arg-type]
    assert shown.kind is CountdownKind.MET_LATE and shown.text() == "超时 00:10:00 完成"
    with ctx.db.session() as session:  # the time goes to the other desktops with the call
        ops = session.query(OutboxOp).filter(OutboxOp.row_id == in_time.id).all()
        assert any("called_back_at" in op.fields for op in ops)


@pytest.mark.parametrize(
    ("outcome", "at", "message"),
    [
        ("answered", SATURDAY + dt.timedelta(minutes=5), "该来电未标记为“需回电”。"),
        ("callback", SATURDAY - dt.timedelta(minutes=5), "回电时间不能早于来电时间。"),
        ("callback", SATURDAY + dt.timedelta(hours=3), "回电时间不能晚于现在。"),
    ],
)
def test_a_call_back_that_cannot_be_is_refused_in_words(
    ctx: AppContext, record: Record, outcome: str, at: dt.datetime, message: str
) -> None:
    call = record(started_at=SATURDAY, outcome=outcome)
    with ctx.uow() as uow, pytest.raises(UserFacingError) as refused:
        callbacks.mark_called_back(uow, call.id, at, SATURDAY + dt.timedelta(hours=1))
    assert refused.value.message == message
    with ctx.db.session() as session:
        assert calls.get_call(session, call.id).called_back_at is None  # type: ignore[union-attr]


def test_the_first_call_back_stands(ctx: AppContext, record: Record) -> None:
    call = record(started_at=SATURDAY, outcome="callback")
    now = SATURDAY + dt.timedelta(hours=1)
    with ctx.uow() as uow:
        callbacks.mark_called_back(uow, call.id, SATURDAY + dt.timedelta(minutes=20), now)
    with ctx.uow() as uow, pytest.raises(UserFacingError, match="已经给该来电人回过电"):
        callbacks.mark_called_back(uow, call.id, SATURDAY + dt.timedelta(minutes=50), now)
    assert task_of(ctx, call).called_back_at == SATURDAY + dt.timedelta(minutes=20)
