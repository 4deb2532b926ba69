"""The service report (服务月报 / 年度服务总结报告) and the fault analysis (故障记录分析): figures counted
by hand from real calls and tickets in a real database, the PDFs read back as a reader would, the
spreadsheets read back as Excel would."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, text, update

from app import i18n
from app.context import AppContext
from app.reports import stats as report_stats
from app.reports.faults import fault_sheets, render_faults
from app.reports.layout import Letterhead
from app.reports.stats import (
    ReportCancelled,
    SummaryPeriod,
    SummaryStats,
    cause_key,
    fault_stats,
    plain_text,
    summary_stats,
)
from app.reports.summary import render_summary, summary_sheets
from app.reports.tables import write_csv, write_xlsx
from app.services import callbacks, calls, kb, tickets
from app.services.tickets import TargetResult, TicketInput
from app.sla.policy import TargetKind
from app.storage.models import Call, Outcome, UnindexedCall
from tests.helpers.factories import CST, MakeInput, Refs
from tests.helpers.pdf_pixels import first_page_ink

LETTERHEAD = Letterhead("常州市财政局 运维服务")
PRINTED = "2026-04-01 09:30"
MARCH = SummaryPeriod.month(2026, 3)
NOW = dt.datetime(2026, 4, 1, 0, 10, tzinfo=CST)  # the report is made ten minutes into April


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


def at(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=CST)


# --- the data, counted by hand --------------------------------------------------------------------


@dataclass
class World:
    """What ``world`` saved: the ids the tests look for."""

    article_a: str
    article_b: str
    t1: str  # met both deadlines, went on site, linked to article A
    t2: str  # responded late, still open past its resolution due time; cause in its notes
    t3: str  # reported a few minutes before April: both deadlines running


def _call(
    ctx: AppContext,
    make_input: MakeInput,
    site: str = "changzhou",
    articles: tuple[str, ...] = (),
    **overrides: Any,
) -> Call:
    with ctx.uow() as uow:
        return calls.record_call(uow, make_input(site, **overrides), articles=articles)


@pytest.fixture
def world(ctx: AppContext, refs: Refs, make_input: MakeInput) -> World:
    ebills, module = refs.systems[Refs.CZ_EBILLS], refs.modules[(Refs.CZ_EBILLS, "票据开具")]
    payroll = refs.systems["工资统发系统"]
    consult, fault = refs.categories["咨询"], refs.categories["故障报修"]
    with ctx.uow() as uow:
        article_a = kb.create_article(
            uow,
            kb.ArticleInput(
                title="开票提示 UKey 证书已过期",
                symptom="开票时提示证书过期",
                cause="UKey 证书**已过期**。到期未续期。",
                solution="1. 办理证书续期",
                status="published",
            ),
            "张工",
            at(1, 5, 9),
        ).id
        article_b = kb.create_article(
            uow,
            kb.ArticleInput(title="工资数据导入模板说明", symptom="导入失败", status="published"),
            "张工",
            at(1, 5, 9),
        ).id
    first, second = "常州市第一中学", "常州市第二中学"

    def cz(**overrides: Any) -> Call:
        values: dict[str, Any] = {"system_id": ebills, "module_id": module, "category_id": consult}
        values.update(overrides)
        return _call(ctx, make_input, **values)

    # March, Changzhou: 8 calls, 760 s
    cz(started_at=at(3, 1, 0, 0, 0), duration_s=100, unit_name=first, question="三月第一通：开票怎么操作")
    cz(
        started_at=at(3, 2, 10),
        duration_s=200,
        unit_name=first,
        category_id=fault,
        question="开票提示证书过期",
        articles=(article_a,),
    )
    cz(
        started_at=at(3, 2, 11), duration_s=60, unit_name=second, system_id=payroll, module_id=None,
        outcome=Outcome.TRANSFERRED.value, transferred_to="二线支持", question="工资导入",
        articles=(article_b,),
    )  # fmt: skip
    cz(
        started_at=at(3, 15, 13),
        duration_s=300,
        unit_name=first,
        category_id=fault,
        outcome=Outcome.TICKET.value,
        question="开票失败",
        articles=(article_a,),
    )
    backs = [
        cz(
            started_at=at(3, 20, 9 + n),
            duration_s=30,
            unit_name=second,
            outcome=Outcome.CALLBACK.value,
            question=f"请回电{n}",
        )
        for n in range(3)
    ]
    cz(started_at=at(3, 31, 23, 59, 59), duration_s=10, unit_name="", question="三月最后一通\n第二行")
    # outside March, another site, deleted
    cz(started_at=at(2, 28, 23, 59, 59), duration_s=7, unit_name=first, question="二月最后一通")
    cz(started_at=at(4, 1, 0, 0, 0), duration_s=7, unit_name=first, question="四月第一通")
    _call(ctx, make_input, "zhanjiang", started_at=at(3, 5, 10), duration_s=999, question="湛江的来电")
    gone = cz(started_at=at(3, 6, 10), duration_s=999, unit_name=first, question="已删除")
    with ctx.uow() as uow:
        uow.session.execute(update(Call).where(Call.id == gone.id).values(deleted=True))
        uow.commit()
    with ctx.uow() as uow:
        callbacks.mark_called_back(uow, backs[0].id, at(3, 20, 9, 20), NOW)  # within 30 min
    with ctx.uow() as uow:
        callbacks.mark_called_back(uow, backs[1].id, at(3, 20, 10, 45), NOW)  # 45 min: late

    def ticket(reported: dt.datetime, created: dt.datetime, **overrides: Any) -> str:
        values: dict[str, Any] = {
            "site_id": refs.sites["changzhou"], "title": "电子票据无法开具", "unit_name": first,
            "reported_at": reported,
        }  # fmt: skip
        values.update(overrides)
        with ctx.uow() as uow:
            return tickets.create_ticket(uow, TicketInput(**values), "张工", created).id

    t1 = ticket(
        at(3, 2, 9, 30), at(3, 2, 9, 35), system_id=ebills, module_id=module, title="开票提示证书过期"
    )
    with ctx.uow() as uow:
        tickets.respond(uow, t1, "张工", at(3, 2, 9, 45))
    with ctx.uow() as uow:
        tickets.require_on_site(uow, t1, "张工", at(3, 2, 9, 50))
    with ctx.uow() as uow:
        tickets.arrive_on_site(uow, t1, "张工", at(3, 2, 10, 10))
    with ctx.uow() as uow:
        tickets.resolve(
            uow, t1, "张工", at(3, 2, 10, 20), summary="原因：打印控件过旧。处理：续期证书后恢复。"
        )
    with ctx.uow() as uow:
        kb.link_to_ticket(uow, article_a, t1, "张工", at(3, 2, 10, 20))
    t2 = ticket(at(3, 10, 14), at(3, 10, 14, 5), system_id=payroll, notes="原因：网络中断；已联系电信")
    with ctx.uow() as uow:
        tickets.respond(uow, t2, "张工", at(3, 10, 14, 50))  # due 14:30
    t3 = ticket(at(3, 31, 23, 50), NOW, title="三月底报修")
    ticket(at(2, 28, 23, 50), at(2, 28, 23, 55), title="二月报修")  # February: not counted
    ticket(at(3, 10, 9), at(3, 10, 9, 5), site_id=refs.sites["zhanjiang"], unit_name="湛江市第二中学")
    return World(article_a, article_b, t1, t2, t3)


def _summary(
    ctx: AppContext, refs: Refs, period: SummaryPeriod = MARCH, site: str | None = "changzhou", **kw: Any
) -> SummaryStats:
    with ctx.db.session() as session:
        return summary_stats(session, refs.sites[site] if site else None, period, now=NOW, **kw)


# --- the figures ----------------------------------------------------------------------------------


def test_a_month_counts_the_calls_of_its_shanghai_days_at_the_site(
    ctx: AppContext, refs: Refs, world: World
) -> None:
    stats = _summary(ctx, refs)
    assert stats.site_name == "常州市财政局"
    assert stats.calls == 8  # 00:00:00 on the 1st and 23:59:59 on the 31st are in; the deleted one is not
    assert stats.duration_s == 760
    assert stats.average_duration_s == 95
    assert {c.key: c.count for c in stats.outcomes} == {
        "answered": 3,
        "transferred": 1,
        "ticket": 1,
        "callback": 3,
    }
    assert stats.transferred == 1
    assert [(c.label, c.count) for c in stats.categories.rows] == [("咨询", 6), ("故障报修", 2)]
    assert [(c.label, c.count) for c in stats.systems.rows] == [("财政电子票据", 7), ("工资统发系统", 1)]
    assert [(c.label, c.parent, c.count) for c in stats.modules.rows] == [
        ("票据开具", "财政电子票据", 7), ("未选择模块", "工资统发系统", 1),
    ]  # fmt: skip
    assert [(c.label, c.count) for c in stats.units.rows] == [
        ("常州市第二中学", 4), ("常州市第一中学", 3), ("未填写单位", 1),
    ]  # fmt: skip
    assert stats.categories.share(6) == 0.75
    days = {p.start.day: p.calls for p in stats.trend if p.calls}
    assert days == {1: 1, 2: 2, 15: 1, 20: 3, 31: 1}
    assert len(stats.trend) == 31 and stats.trend[0].label == "1"
    assert stats.previous_calls == 1  # February 28, 23:59:59
    assert stats.trend[27].previous == 1 and stats.trend[28].previous is None  # February has 28 days
    assert stats.change == 7.0


def test_the_site_filter_and_all_sites(ctx: AppContext, refs: Refs, world: World) -> None:
    assert _summary(ctx, refs, site="zhanjiang").calls == 1
    everything = _summary(ctx, refs, site=None)
    assert everything.site_name == "全部站点"
    assert everything.calls == 9
    assert everything.tickets.opened == 4


def test_a_year_is_counted_per_month_against_the_year_before(
    ctx: AppContext, refs: Refs, world: World
) -> None:
    stats = _summary(ctx, refs, SummaryPeriod.year(2026))
    assert stats.calls == 10
    assert [p.label for p in stats.trend][:3] == ["1月", "2月", "3月"]
    assert [p.calls for p in stats.trend][:5] == [0, 1, 8, 1, 0]
    assert stats.previous_calls == 0 and stats.change is None
    assert all(p.previous == 0 for p in stats.trend)
    assert stats.period.label() == "2026年"


def test_a_long_range_is_per_month_and_a_short_one_per_day() -> None:
    long = SummaryPeriod.days(dt.date(2026, 1, 15), dt.date(2026, 4, 30))
    assert long.monthly and [b.isoformat() for b in long.buckets()] == [
        "2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01",
    ]  # fmt: skip
    assert long.previous() == SummaryPeriod.days(dt.date(2025, 10, 1), dt.date(2026, 1, 14))
    short = SummaryPeriod.days(dt.date(2026, 3, 1), dt.date(2026, 3, 10))
    assert not short.monthly and len(short.buckets()) == 10
    assert SummaryPeriod.month(2026, 1).previous() == SummaryPeriod.month(2025, 12)
    assert SummaryPeriod.month(2024, 2).last == dt.date(2024, 2, 29)
    assert SummaryPeriod.year(2026).previous() == SummaryPeriod.year(2025)
    assert MARCH.start == dt.datetime(2026, 3, 1, tzinfo=CST) and MARCH.end == dt.datetime(
        2026, 4, 1, tzinfo=CST
    )
    with pytest.raises(ValueError):
        SummaryPeriod.days(dt.date(2026, 3, 2), dt.date(2026, 3, 1))


def test_call_backs_deadlines_tickets_and_visits(ctx: AppContext, refs: Refs, world: World) -> None:
    stats = _summary(ctx, refs)
    cb = stats.callbacks
    assert (cb.due, cb.done, cb.within, cb.open, cb.minutes) == (3, 2, 1, 1, 30)
    assert stats.tickets.opened == 3  # reported in March at Changzhou: not February's, not Zhanjiang's
    assert stats.tickets.resolved == 1 and stats.tickets.still_open == 2
    assert stats.tickets.on_site == 1 and stats.tickets.visits == 1
    (visit,) = stats.visits
    assert visit.arrived_at == at(3, 2, 10, 10) and visit.unit == "常州市第一中学"
    assert visit.result == ""  # Changzhou's contract sets no on-site time
    by_target = {c.target: c for c in stats.compliance}
    response = by_target[TargetKind.RESPONSE]
    assert (response.met, response.breached, response.running) == (1, 1, 1)
    resolution = by_target[TargetKind.RESOLUTION]
    assert (resolution.met, resolution.breached, resolution.running) == (1, 1, 1)  # t2: open past due
    assert resolution.rate == 0.5
    on_site = by_target[TargetKind.ON_SITE]
    assert on_site.judged == on_site.running == 0 and on_site.rate is None


def test_the_most_frequent_problems_and_articles(ctx: AppContext, refs: Refs, world: World) -> None:
    stats = _summary(ctx, refs)
    top = stats.problems[0]
    assert (top.system, top.module, top.category, top.count, top.answered) == (
        "财政电子票据",
        "票据开具",
        "咨询",
        5,
        2,
    )
    assert top.example == "三月最后一通"  # the latest question's first line
    assert top.label == "财政电子票据 / 票据开具"
    assert [(p.category, p.count) for p in stats.problems[1:]] == [("故障报修", 2), ("咨询", 1)]
    assert [(a.title, a.calls, a.tickets, a.total) for a in stats.articles] == [
        ("开票提示 UKey 证书已过期", 2, 1, 3), ("工资数据导入模板说明", 1, 0, 1),
    ]  # fmt: skip


def test_the_fault_analysis_groups_records_by_module_and_cause(
    ctx: AppContext, refs: Refs, world: World
) -> None:
    with ctx.db.session() as session:
        faults = fault_stats(session, refs.sites["changzhou"], MARCH, now=NOW)
    assert faults.fault_categories == ("故障报修",)
    assert faults.fault_calls == 2
    assert [r.ticket_id for r in faults.records] == [world.t1, world.t2, world.t3]  # by report time
    t1, t2, t3 = faults.records
    assert t1.cause == "UKey 证书已过期"  # the linked article's cause, Markdown removed, first sentence
    assert t1.resolution == "原因：打印控件过旧。处理：续期证书后恢复。"
    assert t1.duration == dt.timedelta(minutes=50) and t1.resolution_result is TargetResult.MET
    assert t1.on_site and t1.status == "已解决" and t1.severity == "一般"
    assert t1.reported_at == at(3, 2, 9, 30)
    assert t2.cause == "网络中断"  # "原因：…" in the notes
    assert t2.resolved_at is None and t2.duration is None and t2.resolution == ""
    assert t2.resolution_result is TargetResult.BREACHED
    assert t3.cause == "未记录原因" and t3.system == "未选择系统"
    groups = {(g.system, g.module): g for g in faults.by_module}
    assert (groups[("财政电子票据", "票据开具")].calls, groups[("财政电子票据", "票据开具")].tickets) == (
        2,
        1,
    )
    assert groups[("财政电子票据", "票据开具")].average_resolve == dt.timedelta(minutes=50)
    assert groups[("工资统发系统", "")].breached == 1
    causes = [(c.cause, c.tickets, c.calls) for c in faults.by_cause]
    assert causes == [("UKey 证书已过期", 1, 2), ("网络中断", 1, 0), ("未记录原因", 1, 0)]  # unknown last
    assert faults.resolved == 1


def test_causes_are_grouped_by_a_normalised_text() -> None:
    assert (
        cause_key("数据库监听未启动。")
        == cause_key(" 数据库监听 未启动 ")
        == cause_key("数据库监听未启动；已重启")
    )
    assert cause_key("ORA-12541 监听") == cause_key("ora-12541 监听")
    assert (
        plain_text("1. **加粗** 和 `代码`\n> 引用 [链接](http://x) ![图](kbimg:1)")
        == "加粗 和 代码\n引用 链接 "
    )


def test_progress_runs_to_the_end_and_cancel_stops(ctx: AppContext, refs: Refs, world: World) -> None:
    seen: list[tuple[int, int]] = []
    _summary(ctx, refs, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] == 31 + 4
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)
    asked = 0

    def cancelled() -> bool:
        nonlocal asked
        asked += 1
        return asked > 5  # after five days

    with pytest.raises(ReportCancelled):
        _summary(ctx, refs, cancelled=cancelled)
    assert asked == 6
    with ctx.db.session() as session, pytest.raises(ReportCancelled):
        fault_stats(session, refs.sites["changzhou"], MARCH, cancelled=lambda: True, now=NOW)


def _plan(ctx: AppContext, sql: str, params: dict[str, Any]) -> str:
    with ctx.db.session() as session:
        rows = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
        return " | ".join(str(row[-1]) for row in rows)


def test_the_calls_are_read_as_key_ranges_and_through_indexes(ctx: AppContext) -> None:
    params: dict[str, Any] = {
        "low": 0,
        "high": 1,
        "site": "x",
        "system": None,
        "module": None,
        "category": None,
    }
    for sql in (report_stats.CALLS_BY_DAY, report_stats.UNITS_BY_DAY, report_stats.LATEST_QUESTION):
        plan = _plan(ctx, sql.format(site="AND site_id = :site"), params)
        assert "SEARCH calls USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan, plan
    plan = _plan(ctx, report_stats.CALLS_PER_DAY, params)
    assert "COVERING INDEX ix_calls_live" in plan, plan  # all sites: the index alone
    keys, index_params = report_stats._index_keys("x", "callback", 0, 1)
    plan = _plan(ctx, report_stats.SITE_CALLS_PER_DAY, index_params)
    queued = (
        "SEARCH u USING INTEGER PRIMARY KEY (rowid>? AND rowid<?) | "
        "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"
    )
    assert "SCAN calls_fts VIRTUAL TABLE INDEX" in plan and queued in plan, plan  # the site's index keys
    sql = report_stats.CALLBACKS.format(keys=keys, site="AND site_id = :site")
    plan = _plan(ctx, sql, {**index_params, "callback_s": 1800})
    assert "SEARCH calls USING INTEGER PRIMARY KEY (rowid=?)" in plan and queued in plan, plan
    assert "SCAN calls " not in f"{plan} ", plan


def test_calls_not_yet_in_the_full_text_index_are_counted_too(
    ctx: AppContext, refs: Refs, world: World
) -> None:
    """A large first sync leaves calls queued for the index (``calls_unindexed``): the counts that go
    through the index find them in the table."""
    with ctx.uow() as uow:
        session = uow.session
        queued = session.scalars(
            select(Call).where(Call.outcome == Outcome.CALLBACK.value, Call.called_back_at.is_not(None))
        ).all()
        february = session.scalars(select(Call).where(Call.question == "二月最后一通")).one()
        for call in [*queued, february]:
            session.execute(
                text("INSERT INTO calls_fts(calls_fts, rowid, body) VALUES ('delete', :key, :body)"),
                {"key": call.key, "body": calls.call_index_body(call)},
            )
            session.add(UnindexedCall(key=call.key))
        uow.commit()
    stats = _summary(ctx, refs)
    assert (stats.callbacks.done, stats.callbacks.within) == (2, 1)
    assert stats.previous_calls == 1


# --- the PDFs -------------------------------------------------------------------------------------


def _read(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return reader, text.replace(" ", "").replace("\n", "")


def _images(reader: PdfReader) -> int:
    found = 0
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject") if "/Resources" in page else None
        if xobjects is None:
            continue
        for ref in xobjects.get_object().values():
            if ref.get_object().get("/Subtype") == "/Image":
                found += 1
    return found


def test_the_monthly_report_prints_its_figures_in_chinese(ctx: AppContext, refs: Refs, world: World) -> None:
    stats = _summary(ctx, refs)
    out = io.BytesIO()
    pages = render_summary(stats, out, LETTERHEAD, PRINTED)
    reader, text = _read(out.getvalue())
    assert pages == len(reader.pages) >= 2
    for expected in (
        "服务月报",
        "2026年3月·常州市财政局",
        "一、总体情况",
        "二、来电趋势",
        "三、问题分类",
        "五、服务时限达标情况",
        "六、回电与现场服务",
        "七、常见问题",
        "八、知识库使用",
        "本期共受理来电8次",
        "来电总数8",
        "通话总时长0.2小时",
        "平均通话时长1分钟35秒",
        "上期来电1次（+700.0%）",
        "故障报修",
        "常州市第二中学",
        "首次响应",
        "50.0%",
        "30分钟内回电1",
        "开票提示UKey证书已过期",
        "三月最后一通",
        "编制人：",
        "审核人：",
        "常州市财政局运维服务",
        f"第1页/共{pages}页",
        f"第{pages}页/共{pages}页",
        "打印时间：2026-04-0109:30",
    ):
        assert expected in text, expected
    assert _images(reader) == 0  # the charts are drawn as vectors, no picture embedded
    assert "本期" in text and "上期" in text  # the chart's legend is text in the page


def test_the_year_report_and_its_title(ctx: AppContext, refs: Refs, world: World) -> None:
    stats = _summary(ctx, refs, SummaryPeriod.year(2026))
    out = io.BytesIO()
    render_summary(stats, out, replace(LETTERHEAD, signatures=("经办人", "科长")), PRINTED, title_kind="year")
    _reader, text = _read(out.getvalue())
    assert "年度服务总结报告" in text and "2026年·常州市财政局" in text
    assert "上年同期" in text and "3月" in text and "合计" in text  # the months as a table too
    assert "经办人：" in text and "科长：" in text and "编制人" not in text  # the site's own signatures


def test_an_empty_period_prints_a_sensible_report(ctx: AppContext, refs: Refs) -> None:
    stats = _summary(ctx, refs, SummaryPeriod.month(2027, 1))
    assert stats.calls == 0 and stats.problems == () and stats.units.rows == ()
    out = io.BytesIO()
    pages = render_summary(stats, out, LETTERHEAD, PRINTED)
    _reader, text = _read(out.getvalue())
    assert pages >= 1
    for expected in (
        "本期无来电。",
        "本期无工单。",
        "本期无需要回电的来电。",
        "本期无现场服务。",
        "本期未使用知识库文章。",
    ):
        assert expected in text, expected
    faults = io.BytesIO()
    with ctx.db.session() as session:
        empty = fault_stats(session, refs.sites["changzhou"], SummaryPeriod.month(2027, 1), now=NOW)
    render_faults(empty, faults, LETTERHEAD, PRINTED)
    assert "本期无工单。" in _read(faults.getvalue())[1]


def test_the_fault_analysis_prints_counts_chart_and_records(
    ctx: AppContext, refs: Refs, world: World
) -> None:
    with ctx.db.session() as session:
        faults = fault_stats(session, refs.sites["changzhou"], MARCH, now=NOW)
    out = io.BytesIO()
    pages = render_faults(faults, out, LETTERHEAD, PRINTED)
    reader, text = _read(out.getvalue())
    assert pages == len(reader.pages)
    for expected in (
        "故障记录分析",
        "一、总体情况",
        "二、按系统和模块",
        "三、按故障原因",
        "四、故障记录明细",
        "UKey证书已过期",
        "网络中断",
        "未记录原因",
        "50分钟",
        "已解决",
        "本期故障类来电（故障报修）2次",
        f"第1页/共{pages}页",
    ):
        assert expected in text, expected
    assert _images(reader) == 0
    assert float(reader.pages[0].mediabox.width) > float(reader.pages[0].mediabox.height)  # landscape


def test_cancelling_the_fault_analysis_while_it_is_laid_out(
    ctx: AppContext, refs: Refs, world: World
) -> None:
    with ctx.db.session() as session:
        faults = fault_stats(session, refs.sites["changzhou"], MARCH, now=NOW)
    many = replace(faults, records=faults.records * 60)  # 180 records: several pages
    seen: list[int] = []
    pages = render_faults(many, io.BytesIO(), LETTERHEAD, PRINTED, progress=lambda d, t: seen.append(d))
    assert pages > 3 and seen[0] == 0 and seen[-1] == 180 and seen == sorted(seen)
    assert len(set(seen)) > 3  # a report per page laid out
    asked = 0

    def cancelled() -> bool:
        nonlocal asked
        asked += 1
        return asked > 3  # on the third page of records

    out = io.BytesIO()
    with pytest.raises(ReportCancelled):
        render_faults(many, out, LETTERHEAD, PRINTED, cancelled=cancelled)
    assert asked == 4
    assert out.getvalue() == b""  # nothing was written


def test_the_first_page_is_not_blank_when_rendered(
    ctx: AppContext, refs: Refs, world: World, tmp_path: Path
) -> None:
    pdf = tmp_path / "summary.pdf"
    render_summary(_summary(ctx, refs), pdf, LETTERHEAD, PRINTED)
    assert first_page_ink(pdf, tmp_path) > 0.03  # title, tables, the trend chart's bars


# --- the spreadsheets -----------------------------------------------------------------------------


def test_the_figures_round_trip_through_xlsx_and_csv(
    ctx: AppContext, refs: Refs, world: World, tmp_path: Path
) -> None:
    stats = _summary(ctx, refs)
    sheets = summary_sheets(stats)
    write_xlsx(sheets, tmp_path / "summary.xlsx")
    book = load_workbook(tmp_path / "summary.xlsx")
    assert book.sheetnames[:6] == ["总体情况", "来电趋势", "按分类", "按系统", "按模块", "按单位"]
    overview = {row[0]: row[1] for row in book["总体情况"].iter_rows(min_row=2, values_only=True)}
    assert overview["来电总数"] == 8 and overview["通话总时长（秒）"] == 760 and overview["已回电"] == 2
    units = list(book["按单位"].iter_rows(min_row=2, values_only=True))
    assert units[0] == ("常州市第二中学", 4, 50)
    trend = list(book["来电趋势"].iter_rows(min_row=2, values_only=True))
    assert len(trend) == 31 and trend[1][:2] == (dt.datetime(2026, 3, 2), 2)
    assert book["按单位"].column_dimensions["A"].width >= 16  # readable: 7 hanzi
    write_csv(sheets, tmp_path / "summary.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "summary.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["总体情况"] and ["来电总数", "8"] in rows
    with ctx.db.session() as session:
        faults = fault_stats(session, refs.sites["changzhou"], MARCH, now=NOW)
    write_xlsx(fault_sheets(faults), tmp_path / "faults.xlsx")
    book = load_workbook(tmp_path / "faults.xlsx")
    assert book.sheetnames == ["按系统和模块", "按原因", "故障记录"]
    records = list(book["故障记录"].iter_rows(min_row=2, values_only=True))
    assert len(records) == 3
    assert records[0][1] == dt.datetime(2026, 3, 2, 9, 30) and records[0][8] == "UKey 证书已过期"
    assert records[0][11] == 0.83  # hours to resolve
