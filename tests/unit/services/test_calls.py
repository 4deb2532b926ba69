"""Calls (app.services.calls): recording, editing with history, finding — on a real SQLite file."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import func, select, text

from app.context import AppContext
from app.errors import ValidationError
from app.phone import parse_phone
from app.services import calls, directory
from app.services.calls import CallQuery
from app.storage.models import CALL_KEY_SLOTS, Call, CallRevision, Outcome
from tests.helpers.factories import BASE_TIME, CST, MakeInput, Record, Refs


def keys(ctx: AppContext, **query: object) -> list[int]:
    with ctx.db.session() as session:
        return list(calls.search_keys(session, CallQuery(**query)))  # type: ignore[arg-type]


def keys_of(*saved: Call) -> list[int]:
    return sorted((c.key for c in saved), reverse=True)


def call_count(ctx: AppContext) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Call)) or 0)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"question": "   "}, "question"),
        ({"category_id": None}, "category"),
        ({"category_id": "no-such-category"}, "category"),
        ({"caller_phone": "", "caller_name": " ", "contact_id": None}, "caller"),
        ({"outcome": Outcome.TRANSFERRED.value, "transferred_to": "  "}, "transferred_to"),
        ({"outcome": "hung up"}, "outcome"),
        ({"site_id": ""}, "site"),
        ({"site_id": "no-such-site"}, "site"),
        ({"system_id": "no-such-system"}, "system"),
        ({"system_id": None, "module_id": "no-such-module"}, "module"),
        ({"org_id": "no-such-unit"}, "org"),
        ({"contact_id": "no-such-contact"}, "contact"),
        ({"started_at": dt.datetime(2026, 3, 2, 9, 30)}, "started_at"),
        ({"duration_s": -1}, "duration"),
        ({"duration_s": 24 * 3600 + 1}, "duration"),
        ({"question": "问" * (calls.MAX_TEXT + 1)}, "question"),
        ({"answer": "答" * (calls.MAX_TEXT + 1)}, "answer"),
    ],
)
def test_record_call_refuses_invalid_input_and_names_the_field(
    ctx: AppContext, make_input: MakeInput, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        calls.record_call(uow, make_input(**overrides))
    assert field in info.value.fields
    assert info.value.fields[field]  # a message for the user next to the field
    assert info.value.message
    assert call_count(ctx) == 0


def test_module_of_another_system_is_refused(ctx: AppContext, make_input: MakeInput, refs: Refs) -> None:
    other_module = refs.modules[(Refs.ZJ_BILLS, "库存管理")]
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        calls.record_call(uow, make_input(module_id=other_module))
    assert set(info.value.fields) == {"module"}
    assert call_count(ctx) == 0


def test_several_problems_are_reported_together(ctx: AppContext, make_input: MakeInput) -> None:
    data = make_input(question="", category_id=None, caller_phone="", caller_name="")
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        calls.record_call(uow, data)
    assert set(info.value.fields) == {"question", "category", "caller"}


def test_a_transferred_call_keeps_its_target(ctx: AppContext, record: Record) -> None:
    call = record(outcome=Outcome.TRANSFERRED.value, transferred_to=" 国库科 刘科长 ")
    assert call.transferred_to == "国库科 刘科长"
    answered = record(outcome=Outcome.ANSWERED.value, transferred_to="ignored")
    assert answered.transferred_to == ""


def test_a_caller_known_only_by_name_is_fine(ctx: AppContext, record: Record) -> None:
    call = record(caller_phone="", caller_name="财政局办公室")
    assert call.caller_key == ""
    assert keys(ctx) == [call.key]


@pytest.mark.parametrize("typed", ["0519-8666", "12", "call me: 139x", "１３９１２３４５６７８９９９"])
def test_an_invalid_phone_number_is_saved_as_typed(ctx: AppContext, record: Record, typed: str) -> None:
    call = record(caller_phone=typed)
    with ctx.db.session() as session:
        stored = session.scalar(select(Call).where(Call.id == call.id))
        assert stored is not None
        assert stored.caller_phone == typed
        assert stored.caller_key == parse_phone(typed, "0519").key


def test_a_1mb_answer_is_saved_and_searchable(ctx: AppContext, record: Record) -> None:
    filler = "单位反映票据打印异常，已检查打印机驱动和控件版本。" * 40_000
    answer = ("开头标记 alphaword " + filler)[: calls.MAX_TEXT - 30] + " 结尾标记 omegaword"
    assert len(answer) <= calls.MAX_TEXT
    assert len(answer.encode("utf-8")) > 1_000_000
    call = record(answer=answer)
    with ctx.db.session() as session:
        assert session.scalar(select(Call.answer).where(Call.id == call.id)) == answer
    for word in ("alphaword", "开头标记", "omegaword", "结尾标记"):
        assert keys(ctx, text=word) == [call.key], word


# --- editing --------------------------------------------------------------------------------------


def test_edit_keeps_the_earlier_version(ctx: AppContext, record: Record, make_input: MakeInput) -> None:
    call = record(answer="先重启浏览器")
    with ctx.uow() as uow:
        edited = calls.edit_call(uow, call.id, make_input(answer="更新打印控件后解决"), editor="李工")
    assert edited.revision == 2
    assert edited.answer == "更新打印控件后解决"
    with ctx.uow() as uow:
        calls.edit_call(uow, call.id, make_input(answer="第三版", question="补充问题描述"), editor="王工")
    with ctx.db.session() as session:
        history = calls.call_revisions(session, call.id)
        current = calls.get_call(session, call.id)
    assert current is not None
    assert current.revision == 3
    assert [rev.revision for rev, _snap in history] == [2, 1]
    assert [snap["answer"] for _rev, snap in history] == ["更新打印控件后解决", "先重启浏览器"]
    assert [rev.replaced_by for rev, _snap in history] == ["王工", "李工"]
    assert history[1][1]["question"] == call.question


def test_an_edit_without_changes_makes_no_revision(
    ctx: AppContext, record: Record, make_input: MakeInput
) -> None:
    call = record()
    with ctx.uow() as uow:
        same = calls.edit_call(uow, call.id, make_input(), editor="李工")
    # the returned call is still readable after the unit of work
    assert same.revision == 1
    assert same.question == call.question
    # the same moment written in another zone, and extra spaces the form would trim, are no change
    same_moment = make_input(started_at=BASE_TIME.astimezone(dt.UTC), engineer=" 张工 ")
    with ctx.uow() as uow:
        calls.edit_call(uow, call.id, same_moment, editor="李工")
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(CallRevision)) == 0
        stored = calls.get_call(session, call.id)
        assert stored is not None
        assert stored.revision == 1
        assert stored.updated_at == call.updated_at


def test_editing_a_missing_call_is_a_validation_error(ctx: AppContext, make_input: MakeInput) -> None:
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        calls.edit_call(uow, "01900000-0000-7000-8000-00000000dead", make_input(), editor="李工")
    assert "call" in info.value.fields


def test_an_invalid_edit_changes_nothing(ctx: AppContext, record: Record, make_input: MakeInput) -> None:
    call = record()
    with pytest.raises(ValidationError), ctx.uow() as uow:
        calls.edit_call(uow, call.id, make_input(question=""), editor="李工")
    with ctx.db.session() as session:
        stored = calls.get_call(session, call.id)
        assert stored is not None
        assert stored.question == call.question
        assert stored.revision == 1


def test_edited_text_is_what_search_finds(ctx: AppContext, record: Record, make_input: MakeInput) -> None:
    call = record(answer="建议清理浏览器缓存")
    with ctx.uow() as uow:
        calls.edit_call(uow, call.id, make_input(answer="需要重新安装证书"), editor="李工")
    assert keys(ctx, text="证书") == [call.key]
    assert keys(ctx, text="缓存") == []


def test_a_call_whose_start_is_edited_moves_and_stays_searchable(
    ctx: AppContext, record: Record, make_input: MakeInput
) -> None:
    first = record(started_at=BASE_TIME, question="核销时报错 E100")
    second = record(started_at=BASE_TIME + dt.timedelta(hours=1), question="库存盘点问题")
    assert keys(ctx) == [second.key, first.key]

    later = BASE_TIME + dt.timedelta(hours=2)
    with ctx.uow() as uow:
        moved = calls.edit_call(
            uow, first.id, make_input(started_at=later, question="核销时报错 E100"), "李工"
        )
    assert moved.key != first.key
    assert keys(ctx) == [moved.key, second.key]
    assert keys(ctx, text="核销") == [moved.key]
    assert keys(ctx, text="E100") == [moved.key]
    assert keys(ctx, date_from=later, date_to=later + dt.timedelta(minutes=1)) == [moved.key]
    assert keys(ctx, date_from=BASE_TIME, date_to=BASE_TIME + dt.timedelta(minutes=1)) == []
    with ctx.db.session() as session:
        rows = calls.fetch_rows(session, [moved.key])
        assert rows[moved.key].id == first.id
        assert calls.call_revisions(session, first.id)[0][1]["started_at"].startswith("2026-03-02T01:30")


# --- keys -----------------------------------------------------------------------------------------


def test_calls_in_the_same_millisecond_get_distinct_keys(ctx: AppContext, record: Record) -> None:
    saved = [record(started_at=BASE_TIME, question=f"同一时刻的来电 {i}") for i in range(5)]
    assert len({c.key for c in saved}) == 5
    assert keys(ctx) == keys_of(*saved)
    assert {k // CALL_KEY_SLOTS for k in keys(ctx)} == {int(BASE_TIME.timestamp() * 1000)}


def test_key_order_is_time_order_whatever_the_order_of_entry(ctx: AppContext, record: Record) -> None:
    times = [BASE_TIME + dt.timedelta(minutes=m) for m in (30, 0, 45, 10, 59)]
    saved = {t: record(started_at=t) for t in times}
    newest_first = [saved[t].key for t in sorted(times, reverse=True)]
    assert keys(ctx) == newest_first


def test_a_recovered_draft_keeps_its_call_id_once(ctx: AppContext, make_input: MakeInput) -> None:
    call_id = "01900000-0000-7000-8000-0000000000aa"
    with ctx.uow() as uow:
        saved = calls.record_call(uow, make_input(), call_id=call_id)
    assert saved.id == call_id
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        calls.record_call(uow, make_input(), call_id=call_id)
    assert "call" in info.value.fields
    assert call_count(ctx) == 1


# --- filters --------------------------------------------------------------------------------------


def test_every_filter_returns_its_calls_newest_first(ctx: AppContext, record: Record, refs: Refs) -> None:
    with ctx.uow() as uow:
        school = directory.save_organisation(uow, directory.OrganisationInput("常州市第一中学"))
    with ctx.uow() as uow:
        hospital = directory.save_organisation(uow, directory.OrganisationInput("常州市人民医院"))
    zj_system = refs.systems[Refs.ZJ_BILLS]
    a = record(started_at=BASE_TIME, org_id=school.id, engineer="张工")
    b = record(
        started_at=BASE_TIME + dt.timedelta(days=1),
        org_id=hospital.id,
        engineer="李工",
        category_id=refs.categories["故障报修"],
        outcome=Outcome.TICKET.value,
    )
    c = record(
        "zhanjiang",
        started_at=BASE_TIME + dt.timedelta(days=2),
        engineer="张工",
        outcome=Outcome.CALLBACK.value,
    )
    d = record(
        started_at=BASE_TIME + dt.timedelta(days=3),
        org_id=school.id,
        engineer="李工",
        system_id=refs.systems[Refs.CZ_EBILLS],
        module_id=refs.modules[(Refs.CZ_EBILLS, "票据查验")],
    )
    assert keys(ctx) == keys_of(a, b, c, d)

    day = dt.timedelta(days=1)
    assert keys(ctx, date_from=BASE_TIME + day) == keys_of(b, c, d)
    assert keys(ctx, date_to=BASE_TIME + day) == keys_of(a)  # the end is exclusive
    assert keys(ctx, date_from=BASE_TIME + day, date_to=BASE_TIME + 3 * day) == keys_of(b, c)
    assert keys(ctx, date_from=BASE_TIME, date_to=BASE_TIME + dt.timedelta(milliseconds=1)) == keys_of(a)
    assert keys(ctx, site_id=refs.sites["zhanjiang"]) == keys_of(c)
    assert keys(ctx, site_id=refs.sites["changzhou"]) == keys_of(a, b, d)
    assert keys(ctx, org_id=school.id) == keys_of(a, d)
    assert keys(ctx, system_id=zj_system) == keys_of(c)
    assert keys(ctx, system_id=refs.systems[Refs.CZ_EBILLS]) == keys_of(a, b, d)
    assert keys(ctx, module_id=refs.modules[(Refs.CZ_EBILLS, "票据查验")]) == keys_of(d)
    assert keys(ctx, module_id=refs.modules[(Refs.ZJ_BILLS, "核销销毁")]) == keys_of(c)
    assert keys(ctx, category_id=refs.categories["故障报修"]) == keys_of(b)
    assert keys(ctx, outcome=Outcome.ANSWERED.value) == keys_of(a, d)
    assert keys(ctx, outcome=Outcome.CALLBACK.value) == keys_of(c)
    assert keys(ctx, engineer="张工") == keys_of(a, c)
    assert keys(ctx, engineer="李工", org_id=school.id) == keys_of(d)
    assert keys(ctx, engineer="王工") == []
    with ctx.db.session() as session:
        assert calls.count_calls(session, CallQuery(engineer="李工")) == 2
        assert calls.search_keys(session, CallQuery(), limit=2).tolist() == keys_of(c, d)
        assert calls.distinct_engineers(session) == sorted(["张工", "李工"])


def test_unit_name_comes_from_the_organisation_when_left_empty(ctx: AppContext, record: Record) -> None:
    with ctx.uow() as uow:
        org = directory.save_organisation(uow, directory.OrganisationInput("湛江市税务局"))
    call = record(org_id=org.id, unit_name="")
    assert call.unit_name == "湛江市税务局"
    assert keys(ctx, text="税务局") == [call.key]


# --- full text ------------------------------------------------------------------------------------


@pytest.fixture
def texts(record: Record) -> dict[str, Call]:
    start = BASE_TIME
    return {
        "writeoff": record(started_at=start, question="票据核销销毁流程怎么走"),
        "oracle": record(
            started_at=start + dt.timedelta(minutes=1), question="Database connection failed ORA-12541"
        ),
        "printer": record(
            started_at=start + dt.timedelta(minutes=2),
            question="打印机E100报错",
            answer="Printer driver 重装",
            caller_phone="0759-2221234",
        ),
        "stock": record(started_at=start + dt.timedelta(minutes=3), question="库存管理里票据数量不对"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("核销", ["writeoff"]),
        ("销毁", ["writeoff"]),
        ("票据", ["stock", "writeoff"]),
        ("核", ["writeoff"]),  # one character: a prefix search
        ("connection", ["oracle"]),
        ("CONNECTION", ["oracle"]),
        ("ORA-12541", ["oracle"]),
        ("12541", ["oracle"]),
        ("printer", ["printer"]),
        ("E100", ["printer"]),
        ("e100 打印", ["printer"]),
        ("打印机 driver", ["printer"]),
        ("2221234", ["printer"]),  # the caller's number, by its digits
        ("0759", ["printer"]),
        ("王会计", ["stock", "printer", "oracle", "writeoff"]),  # the caller's name
        ("核销 ORA", []),  # all words must match
        ("不存在的词", []),
    ],
)
def test_full_text_search(ctx: AppContext, texts: dict[str, Call], query: str, expected: list[str]) -> None:
    assert keys(ctx, text=query) == [texts[name].key for name in expected]


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '""',
        "'",
        "核销\"'",
        "*",
        "核*",
        "-",
        "-核销",
        "NOT 核销",
        "AND",
        "OR",
        "核销 AND OR NOT",
        "NEAR(核销 票据)",
        "(",
        ")",
        "[核销]",
        "{body}: 核销",
        "body:核销",
        "^核销",
        "'; DROP TABLE calls; --",
        '"; DROP TABLE calls_fts; --',
        "%",
        "_",
        "\\",
        "\x00",
        "　",  # a full-width space only
        "😀",
        "核" * 5000,
    ],
)
def test_hostile_search_text_never_raises_and_harms_nothing(
    ctx: AppContext, texts: dict[str, Call], hostile: str
) -> None:
    found = keys(ctx, text=hostile)
    assert set(found) <= {c.key for c in texts.values()}
    with ctx.db.session() as session:
        assert calls.count_calls(session, CallQuery(text=hostile)) == len(found)
        assert session.scalar(select(func.count()).select_from(Call)) == len(texts)
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert keys(ctx, text="核销") == [texts["writeoff"].key]  # the index still works


def test_text_and_filters_combine(ctx: AppContext, texts: dict[str, Call], refs: Refs) -> None:
    assert keys(ctx, text="票据", date_from=BASE_TIME + dt.timedelta(minutes=1)) == [texts["stock"].key]
    assert keys(ctx, text="票据", site_id=refs.sites["zhanjiang"]) == []


# --- rows and callers -----------------------------------------------------------------------------


def test_fetch_rows_returns_resolved_names(ctx: AppContext, record: Record, refs: Refs) -> None:
    call = record(
        "zhanjiang",
        category_id=refs.categories["故障报修"],
        question="核销时提示票号不连续",
        answer="重新导入票号段",
        duration_s=125,
    )
    bare = record(system_id=None, module_id=None, question="其他问题")
    with ctx.db.session() as session:
        rows = calls.fetch_rows(session, [call.key, bare.key, 12345])
    assert set(rows) == {call.key, bare.key}
    row = rows[call.key]
    assert row.id == call.id
    assert row.site_name == "湛江市财政局"
    assert row.system_name == "财政票据管理系统"
    assert row.module_name == "核销销毁"
    assert row.category_name == "故障报修"
    assert row.question == "核销时提示票号不连续"
    assert row.answer == "重新导入票号段"
    assert row.caller_name == "王会计"
    assert row.caller_phone == "0759-2221234"
    assert row.unit_name == "湛江市第二中学"
    assert row.duration_s == 125
    assert row.engineer == "张工"
    assert row.started_at == BASE_TIME
    assert row.started_at.tzinfo is not None
    assert (rows[bare.key].system_name, rows[bare.key].module_name) == ("", "")
    with ctx.db.session() as session:
        assert calls.fetch_rows(session, []) == {}


def test_lookup_caller_finds_a_number_typed_differently(ctx: AppContext, record: Record) -> None:
    with ctx.uow() as uow:
        org = directory.save_organisation(uow, directory.OrganisationInput("常州市第一中学"))
    with ctx.uow() as uow:
        contact = directory.save_contact(
            uow,
            directory.ContactInput(
                "王会计", org_id=org.id, phones=[directory.PhoneEntry("0519-86661234", "办公室")]
            ),
        )
    older = record(started_at=BASE_TIME, caller_phone="(0519) 8666 1234")
    newer = record(started_at=BASE_TIME + dt.timedelta(days=2), caller_phone="86661234")
    by_contact = record(started_at=BASE_TIME + dt.timedelta(days=1), caller_phone="", contact_id=contact.id)
    record(started_at=BASE_TIME + dt.timedelta(days=3), caller_phone="13912345678")  # someone else

    key = parse_phone("86661234", "0519").key
    with ctx.db.session() as session:
        found = calls.lookup_caller(session, key)
    assert [c.id for c in found.contacts] == [contact.id]
    assert found.contacts[0].org_name == "常州市第一中学"
    assert found.contacts[0].phones == ("0519-86661234",)
    assert [row.id for row in found.history] == [newer.id, by_contact.id, older.id]

    with ctx.db.session() as session:
        assert calls.lookup_caller(session, "").history == []
        unknown = calls.lookup_caller(session, parse_phone("0519-88889999", "0519").key)
    assert unknown.contacts == []
    assert unknown.history == []


def test_lookup_caller_history_is_limited_to_the_newest(ctx: AppContext, record: Record) -> None:
    saved = [record(started_at=BASE_TIME + dt.timedelta(minutes=m)) for m in range(6)]
    with ctx.db.session() as session:
        found = calls.lookup_caller(session, saved[0].caller_key, limit=4)
    assert [row.id for row in found.history] == [c.id for c in reversed(saved)][:4]


def test_a_merged_contacts_calls_show_in_the_survivors_history(ctx: AppContext, record: Record) -> None:
    with ctx.uow() as uow:
        survivor = directory.save_contact(
            uow, directory.ContactInput("王会计", phones=[directory.PhoneEntry("0519-86661234")])
        )
    with ctx.uow() as uow:
        duplicate = directory.save_contact(
            uow, directory.ContactInput("王 会计", phones=[directory.PhoneEntry("13912345678")])
        )
    own = record(started_at=BASE_TIME, caller_phone="0519-86661234", contact_id=survivor.id)
    dup_call = record(started_at=BASE_TIME + dt.timedelta(hours=1), caller_phone="", contact_id=duplicate.id)
    dup_phone_call = record(started_at=BASE_TIME + dt.timedelta(hours=2), caller_phone="139 1234 5678")
    with ctx.uow() as uow:
        assert directory.merge_contacts(uow, survivor.id, [duplicate.id]) == 1

    expected = [dup_phone_call.id, dup_call.id, own.id]
    with ctx.db.session() as session:
        history = calls.contact_history(session, survivor.id)
        assert [row.id for row in history] == expected
        by_old_number = calls.lookup_caller(session, parse_phone("13912345678").key)
        by_main_number = calls.lookup_caller(session, parse_phone("0519-86661234").key)
    assert [c.id for c in by_old_number.contacts] == [survivor.id]
    assert [row.id for row in by_old_number.history] == expected
    assert [row.id for row in by_main_number.history] == expected


def test_input_round_trips_through_a_dict(make_input: MakeInput) -> None:
    data = make_input(started_at=dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=CST))
    assert calls.input_from_dict(calls.input_as_dict(data)) == data
    assert calls.input_from_dict({**calls.input_as_dict(data), "unknown": 1}) == data


def test_input_from_a_saved_call_saves_again_unchanged(
    ctx: AppContext, record: Record, make_input: MakeInput
) -> None:
    call = record()
    again = calls.input_from_call(call)
    assert replace(again, started_at=again.started_at.astimezone(CST)) == make_input()
