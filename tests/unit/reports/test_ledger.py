"""来电登记台账: the calls a filter selects, the PDF read back as a reader would (text, pages, pixels),
and the same data as .xlsx and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from app import i18n
from app.context import AppContext
from app.errors import ValidationError
from app.reports import ledger
from app.reports.fonts import report_fonts
from app.reports.layout import Letterhead
from app.reports.ledger import (
    LedgerCancelled,
    LedgerData,
    LedgerFilter,
    LedgerRow,
    LedgerTotals,
    format_duration,
    ledger_rows,
    ledger_sheets,
    render_ledger,
)
from app.reports.tables import write_csv, write_xlsx
from app.storage.models import Outcome
from tests.helpers.factories import CST, Record, Refs
from tests.helpers.pdf_pixels import first_page_ink

LETTERHEAD = Letterhead("常州市财政局 运维服务")
PRINTED = "2026-04-02 09:30"
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


def _at(day: int, hour: int = 9, minute: int = 30, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CST)


def _data(ctx: AppContext, flt: LedgerFilter, **kwargs: object) -> LedgerData:
    with ctx.db.session() as session:
        return ledger_rows(session, flt, **kwargs)  # type: ignore[arg-type]


def _march(refs: Refs, site: str = "changzhou", **extra: object) -> LedgerFilter:
    return LedgerFilter(MARCH[0], MARCH[1], refs.sites[site], **extra)  # type: ignore[arg-type]


def _pages(pdf: bytes) -> list[str]:
    """Each page's text without spaces and line breaks (the PDF puts them between table cells)."""
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", "", page.extract_text() or "") for page in reader.pages]


def _render(data: LedgerData, **kwargs: object) -> tuple[int, list[str]]:
    out = io.BytesIO()
    pages = render_ledger(data, out, LETTERHEAD, PRINTED, **kwargs)  # type: ignore[arg-type]
    return pages, _pages(out.getvalue())


def _synthetic(count: int) -> LedgerData:
    """A ledger of ``count`` realistic rows without a database (for the layout alone)."""
    start = dt.datetime(2026, 3, 1, 8, 30, tzinfo=CST)
    rows = [
        LedgerRow(
            number=n,
            started_at=start + dt.timedelta(minutes=17 * n),
            time=f"{start + dt.timedelta(minutes=17 * n):%Y-%m-%d %H:%M}",
            caller_name="王会计",
            caller_phone="0519-86661234",
            unit="常州市公安局交通警察支队车辆管理所",
            system="智慧云财平台/统一公共支付平台",
            module="缴费管理",
            category="咨询",
            question=f"第{n}号：缴款人已缴费但单位端查不到缴款记录，缴款码67717430，已重启电脑仍不行。" * 2,
            outcome="当场解答",
            transferred_to="",
            answer="第三方支付回调延迟，已在缴费管理中手动同步状态，刷新后显示已缴费。",
            duration_s=200,
            duration=format_duration(200),
            engineer="张工",
        )
        for n in range(1, count + 1)
    ]
    totals = LedgerTotals(count, 200 * count, 200, (("当场解答", count), ("已转接", 0)))
    flt = LedgerFilter(MARCH[0], MARCH[1], "site")
    return LedgerData(
        "来电登记台账", "统计期间：2026年3月1日 至 2026年3月31日", "常州市财政局", flt, rows, totals
    )


# --- which calls ----------------------------------------------------------------------------------


def test_the_period_is_whole_shanghai_days_both_ends_included(
    ctx: AppContext, refs: Refs, record: Record
) -> None:
    record(started_at=dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=CST), question="二月最后一刻")
    record(started_at=dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.UTC), question="三月第一刻")  # 3/1 00:00 CST
    record(started_at=dt.datetime(2026, 3, 31, 23, 59, tzinfo=CST), question="三月最后一刻")
    record(started_at=dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC), question="四月第一刻")  # 4/1 00:00 CST
    record(started_at=_at(15), question="三月中旬")
    data = _data(ctx, _march(refs))
    assert [r.question for r in data.rows] == ["三月第一刻", "三月中旬", "三月最后一刻"]  # call-time order
    assert [r.number for r in data.rows] == [1, 2, 3]
    assert data.rows[0].time == "2026-03-01 00:00"  # shown in Asia/Shanghai
    assert data.rows[0].started_at.utcoffset() == dt.timedelta(hours=8)
    one_day = _data(ctx, LedgerFilter(dt.date(2026, 3, 31), dt.date(2026, 3, 31), refs.sites["changzhou"]))
    assert [r.question for r in one_day.rows] == ["三月最后一刻"]
    assert "2026年3月31日" in one_day.subtitle and "至" not in one_day.subtitle


def test_the_filter_selects_site_system_outcome_and_words(
    ctx: AppContext, refs: Refs, record: Record
) -> None:
    record(started_at=_at(2), question="开票后无法打印")
    record(
        started_at=_at(3),
        question="工资导入失败",
        answer="已重新导入",
        system_id=refs.systems["工资统发系统"],
        module_id=None,
    )
    record(
        started_at=_at(4),
        question="签章失败",
        answer="转开发组",
        outcome=Outcome.TRANSFERRED.value,
        transferred_to="开发组 吴工",
    )
    record("zhanjiang", started_at=_at(5), question="湛江的核销问题")
    assert [r.question for r in _data(ctx, _march(refs)).rows] == [
        "开票后无法打印",
        "工资导入失败",
        "签章失败",
    ]
    assert [r.question for r in _data(ctx, _march(refs, "zhanjiang")).rows] == ["湛江的核销问题"]
    by_system = _data(ctx, _march(refs, system_id=refs.systems["工资统发系统"]))
    assert [r.question for r in by_system.rows] == ["工资导入失败"]
    assert "系统：工资统发系统" in by_system.subtitle
    transferred = _data(ctx, _march(refs, outcome=Outcome.TRANSFERRED.value))
    assert [(r.question, r.outcome, r.transferred_to) for r in transferred.rows] == [
        ("签章失败", "已转接", "开发组 吴工")
    ]
    assert "处理方式：已转接" in transferred.subtitle
    words = _data(ctx, _march(refs, text="打印"))
    assert [r.question for r in words.rows] == ["开票后无法打印"]
    assert "关键词：打印" in words.subtitle
    assert _data(ctx, _march(refs, text="打印", outcome=Outcome.TICKET.value)).rows == []


def test_totals_count_calls_durations_and_outcomes(ctx: AppContext, refs: Refs, record: Record) -> None:
    record(started_at=_at(2), duration_s=100)
    record(started_at=_at(3), duration_s=3700, outcome=Outcome.CALLBACK.value)
    record(
        started_at=_at(4), duration_s=45, outcome=Outcome.TRANSFERRED.value, transferred_to="信息中心 梁工"
    )
    totals = _data(ctx, _march(refs)).totals
    assert (totals.calls, totals.duration_s, totals.average_s) == (3, 3845, 1282)
    assert dict(totals.by_outcome) == {"当场解答": 1, "已转接": 1, "需建工单": 0, "需回电": 1}
    assert totals.line() == (
        "合计：来电 3 次，通话总时长 1小时4分，平均每次 21分22秒；"
        "当场解答 1 次，已转接 1 次，需建工单 0 次，需回电 1 次。"
    )


def test_a_wrong_period_or_site_is_a_message(ctx: AppContext, refs: Refs) -> None:
    backwards = LedgerFilter(MARCH[1], MARCH[0], refs.sites["changzhou"])
    with pytest.raises(ValidationError) as raised:
        _data(ctx, backwards)
    assert raised.value.fields == {"period": "结束日期早于开始日期。"}
    with pytest.raises(ValidationError):
        _data(ctx, LedgerFilter(MARCH[0], MARCH[1], "no-such-site"))


def test_durations_read_as_people_say_them() -> None:
    assert [format_duration(s) for s in (0, 45, 207, 3600, 3845)] == [
        "0秒",
        "45秒",
        "3分27秒",
        "1小时0分",
        "1小时4分",
    ]
    i18n.set_language("en")
    assert format_duration(207) == "3 min 27 s"


# --- the printout ---------------------------------------------------------------------------------


def test_the_ledger_prints_chinese_values_header_on_every_page_and_totals(
    ctx: AppContext, refs: Refs, record: Record
) -> None:
    for n in range(40):
        record(
            started_at=_at(1 + n % 28, 8 + n % 9),
            question=f"第{n}号来电：电子票据开具后无法打印，提示“打印控件未安装”，比较着急。",
            caller_name="孔勇洁",
            unit_name="常州市文化广电和旅游局",
            duration_s=60 + n,
        )
    data = _data(ctx, _march(refs))
    pages, texts = _render(data)
    assert pages == len(texts) >= 3
    for number, text in enumerate(texts, start=1):
        assert "序号来电时间来电人/电话单位系统/模块问题摘要处理情况时长值班人" in text, number
        assert f"第{number}页/共{pages}页" in text
        assert "常州市财政局运维服务" in text  # the letterhead
        assert "打印时间：2026-04-0209:30" in text
    everything = "".join(texts)
    assert texts[0].count("来电登记台账") == 2  # the title, and the kind of document in the header
    assert "统计期间：2026年3月1日至2026年3月31日" in texts[0]
    for value in (
        "孔勇洁",
        "0519-86661234",
        "常州市文化广电和旅游局",
        "财政电子票据",
        "票据开具",
        "当场解答",
        "张工",
    ):
        assert value in everything, value
    assert "第39号来电" in everything and "1分39秒" in everything
    totals = data.totals
    assert totals.calls == 40
    assert re.sub(r"\s+", "", totals.line()) in texts[-1]
    assert "来电40次" in texts[-1]
    assert "制表人：" in texts[-1] and "审核人：" in texts[-1] and "日期：" in texts[-1]


def test_the_page_count_grows_with_the_rows() -> None:
    few, _texts = _render(_synthetic(30))
    many, texts = _render(_synthetic(300))
    assert 2 <= few < many
    assert many >= 5 * few
    assert f"第{many}页/共{many}页" in texts[-1]
    numbers = [int(n) for text in texts for n in re.findall(r"第(\d+)号", text)]
    assert sorted(set(numbers)) == list(range(1, 301))  # every row printed once, none split away


def test_the_totals_never_stand_alone_on_a_page() -> None:
    for count in range(8, 16):  # around the first page break, wherever it falls
        _pages_count, texts = _render(_synthetic(count))
        last = texts[-1]
        assert "合计：" in last
        assert len(re.findall(r"第(\d+)号", last)) >= 1, count


def test_long_texts_are_shortened_and_wrapped_the_chinese_way() -> None:
    measure = ledger._Measure(report_fonts().regular, ledger.FONT_SIZE)
    text = "单位反映开票时提示签章失败，错误码ORA-12541，已重启电脑仍不行。" * 5
    lines = measure.wrap(text, 120, 3)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(measure.width(line) <= 120 for line in lines)
    assert not any(line[0] in "，。、；：？！）》”" for line in lines)
    assert "ORA-12541" in "".join(lines)  # a code stays whole
    assert measure.wrap("短问题", 120, 3) == ("短问题",)
    assert measure.wrap("", 120, 3) == ()
    assert measure.fit("常州市公安局交通警察支队车辆管理所", 60)[0].endswith("…")


def test_an_empty_ledger_still_prints_its_page(ctx: AppContext, refs: Refs) -> None:
    data = _data(ctx, _march(refs))
    pages, texts = _render(data)
    assert pages == 1
    assert "没有符合条件的来电" in texts[0]
    assert "合计：来电0次" in texts[0]
    assert "第1页/共1页" in texts[0]


def test_hostile_text_renders(ctx: AppContext, refs: Refs, record: Record) -> None:
    record(started_at=_at(2), question="<b>不是粗体</b> & \x07控制字符 🙂 " + "x" * 3000, caller_name="<王>")
    pages, texts = _render(_data(ctx, _march(refs)))
    assert pages == 1
    assert "<b>不是粗体</b>&" in texts[0]


def test_the_site_signature_labels_replace_the_default(ctx: AppContext, refs: Refs) -> None:
    out = io.BytesIO()
    render_ledger(
        _data(ctx, _march(refs)), out, Letterhead("湛江市财政局", signatures=("经办人", "负责人")), PRINTED
    )
    text = _pages(out.getvalue())[0]
    assert "经办人：" in text and "负责人：" in text and "制表人" not in text


# --- cancelling -----------------------------------------------------------------------------------


def test_cancel_stops_reading(
    ctx: AppContext, refs: Refs, record: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger, "CHECK_EVERY", 2)
    for n in range(6):
        record(started_at=_at(2 + n))
    seen: list[tuple[int, int]] = []
    with pytest.raises(LedgerCancelled):
        _data(
            ctx,
            _march(refs),
            progress=lambda done, total: seen.append((done, total)),
            cancelled=lambda: bool(seen),
        )
    assert seen == [(2, 6)]
    with pytest.raises(LedgerCancelled):
        _data(ctx, _march(refs), cancelled=lambda: True)


def test_cancel_stops_the_printout_and_writes_nothing(tmp_path: Path) -> None:
    data = _synthetic(120)
    reports: list[tuple[int, int]] = []
    out = tmp_path / "ledger.pdf"

    def cancelled() -> bool:
        return any(done > len(data.rows) for done, _total in reports)  # once the first page is drawn

    with pytest.raises(LedgerCancelled):
        render_ledger(
            data, out, LETTERHEAD, PRINTED, lambda done, total: reports.append((done, total)), cancelled
        )
    assert not out.exists()
    assert reports and all(total == 2 * len(data.rows) for _done, total in reports)
    assert max(done for done, _total in reports) < 2 * len(data.rows)
    pages = render_ledger(data, out, LETTERHEAD, PRINTED, lambda d, t: reports.append((d, t)), lambda: False)
    assert pages >= 2 and out.read_bytes().startswith(b"%PDF")
    assert reports[-1] == (2 * len(data.rows), 2 * len(data.rows))


# --- spreadsheet ----------------------------------------------------------------------------------


def test_xlsx_and_csv_hold_the_same_full_data(
    ctx: AppContext, refs: Refs, record: Record, tmp_path: Path
) -> None:
    long_question = "电子票据开具后无法打印，" * 40  # longer than the printout shows
    record(started_at=_at(2, 14, 5), question=long_question, duration_s=207)
    record(
        started_at=_at(3),
        question="签章失败",
        outcome=Outcome.TRANSFERRED.value,
        transferred_to="开发组 吴工",
        caller_phone="",
    )
    sheets = ledger_sheets(_data(ctx, _march(refs)))
    assert [s.name for s in sheets] == ["来电登记台账", "合计"]
    calls_sheet = sheets[0]
    assert calls_sheet.headers[:4] == ["序号", "来电时间", "来电人", "来电号码"]
    assert calls_sheet.rows[0][8] == long_question  # full text
    assert calls_sheet.rows[0][1] == dt.datetime(2026, 3, 2, 14, 5, tzinfo=CST)
    write_xlsx(sheets, tmp_path / "ledger.xlsx")
    write_csv(sheets, tmp_path / "ledger.csv")

    book = load_workbook(tmp_path / "ledger.xlsx")
    from_xlsx = [
        [[("" if v is None else v) for v in row] for row in book[sheet.name].iter_rows(values_only=True)]
        for sheet in sheets
    ]
    assert from_xlsx[0][0] == calls_sheet.headers
    assert from_xlsx[0][1][1] == dt.datetime(2026, 3, 2, 14, 5)  # a real date-time cell, Shanghai time
    assert from_xlsx[0][1][8] == long_question
    assert from_xlsx[0][2][10] == "开发组 吴工"

    with (tmp_path / "ledger.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    blank = lines.index([])
    from_csv = [lines[1:blank], lines[blank + 2 :]]  # each sheet under its name
    assert lines[0] == ["来电登记台账"] and lines[blank + 1] == ["合计"]

    def as_text(value: object) -> str:
        if isinstance(value, dt.datetime):
            return f"{value:%Y-%m-%d %H:%M}"
        return "" if value is None else str(value)

    for xlsx_rows, csv_rows in zip(from_xlsx, from_csv, strict=True):
        assert [[as_text(v) for v in row] for row in xlsx_rows] == csv_rows
    assert from_csv[1][0] == ["项目", "数值"]
    assert from_csv[1][2:5] == [["来电次数", "2"], ["通话总时长（秒）", "207"], ["平均时长（秒）", "104"]]
    assert from_csv[1][5:] == [["当场解答", "1"], ["已转接", "1"], ["需建工单", "0"], ["需回电", "0"]]


# --- pixels ---------------------------------------------------------------------------------------


def test_the_first_page_is_not_blank_when_rendered(tmp_path: Path) -> None:
    pdf = tmp_path / "ledger.pdf"
    render_ledger(_synthetic(20), pdf, LETTERHEAD, PRINTED)
    assert 0.01 < first_page_ink(pdf, tmp_path) < 0.5  # a ruled table full of text, not a black page
