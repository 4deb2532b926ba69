"""Tests for app.demo: realistic sample data written in bulk, consistent with what the services write.

The ``ctx`` fixture (tests/conftest.py) is a real database in a temporary folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from app import demo
from app.context import AppContext, open_context
from app.phone import parse_phone
from app.search.text import index_text
from app.services import calls
from app.services.calls import CallInput, CallQuery
from app.storage.models import (
    CALL_KEY_SLOTS,
    Call,
    Category,
    Contact,
    ContactPhone,
    Module,
    Organisation,
    OutboxOp,
    Site,
    System,
    call_key_floor,
)
from app.storage.types import UTCDateTime

SHANGHAI = ZoneInfo("Asia/Shanghai")
Demo = tuple[AppContext, demo.DemoSummary]


@pytest.fixture
def demo_ctx(ctx: AppContext) -> tuple[AppContext, demo.DemoSummary]:
    return ctx, demo.generate_demo(ctx, calls=300, contacts=40)


def test_creates_the_requested_calls_and_contacts(demo_ctx: Demo) -> None:
    ctx, summary = demo_ctx
    assert (summary.calls, summary.contacts) == (300, 40)
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 300
        assert session.scalar(select(func.count()).select_from(Contact)) == 40
        assert session.scalar(select(func.count()).select_from(Organisation)) == summary.organisations
        assert session.scalar(select(func.count()).select_from(ContactPhone)) == summary.phones


def test_calls_are_found_by_full_text_search(demo_ctx: Demo) -> None:
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        assert len(calls.search_keys(session, CallQuery(text="核销"))) > 0
        assert len(calls.search_keys(session, CallQuery(text="UKey"))) > 0
        some = session.scalars(select(Call).order_by(Call.key).limit(20)).all()
        for call in some:
            found = calls.search_keys(session, CallQuery(text=call.caller_name + " " + call.question[:12]))
            assert call.key in found


def test_index_rows_equal_what_the_call_service_indexes(
    demo_ctx: Demo,
) -> None:
    ctx, _summary = demo_ctx
    fast = demo._IndexBodies()
    fast.CHECK_FIRST, fast.CHECK_EVERY = 0, 10**9  # the cached path alone, unchecked
    with ctx.db.session() as session:
        for call in session.scalars(select(Call).order_by(Call.key).limit(100)):
            parts = (call.caller_name, call.caller_phone, call.unit_name, call.question, call.answer)
            assert fast.body(*parts, call.transferred_to) == calls.call_text_body(call)
    assert not fast.exact_only


def test_editing_a_demo_call_replaces_its_index_row(demo_ctx: Demo) -> None:
    # A contentless FTS5 row can only be deleted with its exact text: if the demo indexed a call
    # differently from the service, words of the old version would still find the call after an edit.
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        call = session.scalars(
            select(Call).where(Call.caller_name != "", Call.unit_name != "", Call.caller_phone.like("% %"))
        ).first()
        assert call is not None
        old_words = [call.caller_name, call.caller_phone, call.caller_phone.split()[-1], call.unit_name]
        old_words.append(call.question[:8])
        for words in old_words:
            assert call.key in calls.search_keys(session, CallQuery(text=words))
    changed = calls.input_from_call(call)
    changed.caller_name, changed.caller_phone, changed.unit_name = "欧阳测试", "13800000000", "测试单位"
    changed.question, changed.answer, changed.org_id, changed.contact_id = (
        "改过的问题",
        "改过的答复",
        None,
        None,
    )
    with ctx.uow() as uow:
        calls.edit_call(uow, call.id, changed, "张工")
    with ctx.db.session() as session:
        assert call.key in calls.search_keys(session, CallQuery(text="欧阳测试 改过的问题"))
        for words in old_words:
            assert call.key not in calls.search_keys(session, CallQuery(text=words)), words
        session.execute(text("INSERT INTO calls_fts(calls_fts) VALUES ('integrity-check')"))


@pytest.mark.allow_warnings
def test_follows_the_service_when_its_index_rows_change(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Should the service index a call differently one day, the demo must still write what it writes.
    def questions_only(call: Call) -> str:
        return index_text(call.question)

    monkeypatch.setattr(calls, "call_text_body", questions_only)
    demo.generate_demo(ctx, calls=50, contacts=5)
    assert "differ from calls.call_text_body" in caplog.text
    with ctx.db.session() as session:
        call = session.scalars(select(Call).where(Call.caller_name != "").limit(1)).one()
        assert call.key not in calls.search_keys(session, CallQuery(text=call.caller_name))
        assert call.key in calls.search_keys(session, CallQuery(text=call.question))


def test_rows_carry_sync_columns_but_no_outbox(demo_ctx: Demo) -> None:
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        models: tuple[type[Any], ...] = (Call, Contact, ContactPhone, Organisation)
        for model in models:
            rows = session.scalars(select(model)).all()
            assert rows
            assert {r.origin for r in rows} == {ctx.db.node_id}
            assert all(r.hlc and not r.deleted and r.server_version is None for r in rows)
        assert {c.revision for c in session.scalars(select(Call))} == {1}
        outbox_tables = set(session.scalars(select(OutboxOp.table_name)))
        assert not outbox_tables & {"calls", "contacts", "contact_phones", "organisations"}


def test_keys_follow_the_call_service_allocation(demo_ctx: Demo) -> None:
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        rows = session.execute(select(Call.key, Call.started_at).order_by(Call.key)).all()
        assert all(key - call_key_floor(started) in range(CALL_KEY_SLOTS) for key, started in rows)
        assert [r.started_at for r in rows] == sorted(r.started_at for r in rows)
        # A call saved by the service at the very same moment takes the next slot.
        first_key, first_started = rows[0]
        assert calls._allocate_key(session, first_started) == first_key + 1


def test_service_can_record_a_call_next_to_demo_calls(demo_ctx: Demo) -> None:
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        started = session.scalar(select(Call.started_at).order_by(Call.key).limit(1))
        site_id = session.scalar(select(Site.id).where(Site.code == "zhanjiang"))
        category_id = session.scalar(select(Category.id).limit(1))
    assert started is not None and site_id is not None
    with ctx.uow() as uow:
        saved = calls.record_call(
            uow,
            CallInput(
                site_id, started, "张工", caller_phone="13912345678", category_id=category_id, question="测试"
            ),
        )
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 301
        assert saved.key in calls.search_keys(session, CallQuery(text="测试"))


def test_contacts_have_one_to_three_phones_with_service_keys(
    demo_ctx: Demo,
) -> None:
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        areas = {
            org_id: area
            for org_id, area in session.execute(
                select(Organisation.id, Site.area_code).join(Site, Site.id == Organisation.site_id)
            )
        }
        contacts = session.scalars(select(Contact)).all()
        assert all(c.org_id in areas for c in contacts)
        for contact in contacts:
            assert contact.org_id is not None
            phones = session.scalars(select(ContactPhone).where(ContactPhone.contact_id == contact.id)).all()
            assert 1 <= len(phones) <= 3
            for phone in phones:
                info = parse_phone(phone.raw, areas[contact.org_id])
                assert phone.key == info.key
                assert info.kind in ("fixed", "mobile")
                assert phone.extension == (info.extension or "")
        # Calls from known contacts use one of the contact's own numbers and name.
        call = session.scalars(select(Call).where(Call.contact_id.is_not(None)).limit(1)).one()
        own = session.scalars(
            select(ContactPhone.key).where(ContactPhone.contact_id == call.contact_id)
        ).all()
        assert call.caller_key in own
        assert (
            call.caller_key
            == parse_phone(call.caller_phone, "0759" if "0759" in call.caller_phone else "0519").key
        )


def test_reference_data_is_consistent(demo_ctx: Demo) -> None:
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        for call in session.scalars(select(Call)):
            system = session.get(System, call.system_id)
            assert system is not None and system.site_id == call.site_id
            if call.module_id:
                module = session.get(Module, call.module_id)
                assert module is not None and module.system_id == call.system_id
            assert session.get(Category, call.category_id) is not None
            assert not calls.validate(session, calls.input_from_call(call))
        sites = set(session.scalars(select(Call.site_id).distinct()))
        assert len(sites) == 2


def test_outcomes_and_durations_are_realistic(demo_ctx: Demo) -> None:
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        rows = session.scalars(select(Call)).all()
    outcomes = [c.outcome for c in rows]
    assert outcomes.count("answered") > len(rows) / 2
    assert {"transferred", "ticket", "callback"} <= set(outcomes)
    assert all(c.transferred_to for c in rows if c.outcome == "transferred")
    assert all(not c.transferred_to for c in rows if c.outcome != "transferred")
    assert all(30 <= c.duration_s <= 1200 for c in rows)
    assert len({c.engineer for c in rows}) >= 4


def test_calls_lie_in_the_past_months_mostly_in_office_hours(ctx: AppContext) -> None:
    demo.generate_demo(ctx, calls=400, contacts=30, months=3)
    now = dt.datetime.now(dt.UTC)
    with ctx.db.session() as session:
        starts = [s.astimezone(SHANGHAI) for s in session.scalars(select(Call.started_at))]
    assert all(now - dt.timedelta(days=3 * 31 + 1) < s < now for s in starts)
    office = [s for s in starts if s.weekday() < 5 and dt.time(8) <= s.time() <= dt.time(18)]
    assert len(office) > 0.8 * len(starts)


def test_same_seed_same_texts_other_seed_other_texts(tmp_path: Path) -> None:
    def texts(folder: str, seed: int) -> list[tuple[str, str, str]]:
        context = open_context(str(tmp_path / folder))
        try:
            demo.generate_demo(context, calls=50, contacts=10, seed=seed)
            with context.db.session() as session:
                return [
                    (r.caller_name, r.question, r.answer)
                    for r in session.execute(
                        select(Call.caller_name, Call.question, Call.answer).order_by(Call.key)
                    )
                ]
        finally:
            context.close()

    assert texts("a", 7) == texts("b", 7)
    assert texts("c", 8) != texts("a", 7)


def test_running_twice_adds_to_existing_calls(ctx: AppContext) -> None:
    demo.generate_demo(ctx, calls=120, contacts=10)
    demo.generate_demo(ctx, calls=120, contacts=10)  # same seed: the same moments, so the keys need new slots
    with ctx.db.session() as session:
        rows = session.execute(select(Call.key, Call.started_at)).all()
    assert len(rows) == 240
    assert all(key - call_key_floor(started) in range(CALL_KEY_SLOTS) for key, started in rows)
    assert any((key - call_key_floor(started)) == 1 for key, started in rows)


def test_progress_is_reported_up_to_the_total(ctx: AppContext) -> None:
    seen: list[tuple[int, int]] = []
    demo.generate_demo(ctx, calls=60, contacts=5, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (60, 60)
    assert [done for done, _total in seen] == sorted(done for done, _total in seen)


def test_times_are_stored_as_the_orm_stores_them(demo_ctx: Demo) -> None:
    ctx, _summary = demo_ctx
    column = UTCDateTime()
    with ctx.db.session() as session:
        for started, updated, duration in session.execute(
            text("SELECT started_at, updated_at, duration_s FROM calls LIMIT 50")
        ):
            parsed = dt.datetime.fromisoformat(started)
            assert column.process_bind_param(parsed, session.bind.dialect) == started  # type: ignore[union-attr]
            assert dt.datetime.fromisoformat(updated) - parsed == dt.timedelta(seconds=duration)
    utc_text = demo._UtcText().text
    for ms in (0, 999, 86_399_999, 86_400_000, 1_709_620_200_123, 1_767_225_599_999):
        assert utc_text(ms) == (demo.EPOCH + dt.timedelta(milliseconds=ms)).isoformat(timespec="microseconds")


def test_there_are_many_question_templates() -> None:
    assert demo.question_template_count() >= 60


def test_next_key_takes_a_free_slot_like_the_service() -> None:
    base = 1_700_000_000_000 * CALL_KEY_SLOTS
    assert demo._next_key(base, -1, {}) == (base, base)
    assert demo._next_key(base, -1, {base: base + 4}) == (base + 5, base + 5)
    assert demo._next_key(base, base + 7, {base: base + 4}) == (base + 8, base + 8)
    full = base + CALL_KEY_SLOTS - 1
    assert demo._next_key(base, full, {}) == (base + CALL_KEY_SLOTS, base + CALL_KEY_SLOTS)


def test_rejects_nonsense_counts(ctx: AppContext) -> None:
    with pytest.raises(ValueError):
        demo.generate_demo(ctx, calls=10, contacts=0)


def test_demo_calls_are_found_by_every_filter(demo_ctx: Demo) -> None:
    # Filters are facet tokens in the full-text row: the demo must write them as the service does.
    ctx, _summary = demo_ctx
    with ctx.db.session() as session:
        sample = session.scalars(select(Call).where(Call.module_id.is_not(None)).limit(5)).all()
        for call in sample:
            expected = {
                "site_id": call.site_id, "system_id": call.system_id, "module_id": call.module_id,
                "category_id": call.category_id, "outcome": call.outcome, "engineer": call.engineer,
            }  # fmt: skip
            for name, value in expected.items():
                column = getattr(Call, name)
                want = set(session.scalars(select(Call.key).where(column == value)))
                assert set(calls.search_keys(session, CallQuery(**{name: value}))) == want, name
