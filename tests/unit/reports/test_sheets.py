"""The 来电记录单 and the 工单处理单, made from saved records and read back as a reader would: the PDF's
text, its pages, and the pixels on them."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.platypus import Spacer
from sqlalchemy import update

from app import i18n
from app.context import AppContext
from app.errors import UserFacingError
from app.reports.call_sheet import (
    PRINT_LIMIT,
    CallSheet,
    Story,
    build_form,
    call_sheet_data,
    render_call_sheet,
    text_lines,
)
from app.reports.layout import (
    CJKParagraph,
    Letterhead,
    PageFurniture,
    build_pdf,
    frame_size,
    report_styles,
    signature_block,
)
from app.reports.ticket_sheet import TicketSheet, render_ticket_sheet, ticket_sheet_data
from app.services import callbacks, kb, tickets
from app.storage.models import Call, Ticket
from tests.helpers.factories import BASE_TIME, CST, Record, Refs
from tests.helpers.pdf_pixels import first_page_ink

LETTERHEAD = Letterhead("常州市财政局 运维服务")
PRINTED = "2026-03-02 12:00"
# A 2×2 PNG (red, green / blue, white), small enough to inline.
PNG_2x2 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73"
    "0000001649444154789c6338c1c0c0308d818181e1c4ffffff011896052441cb5f"
    "f10000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    i18n.set_language("zh_CN")  # labels, outcomes and page furniture are in the reader's language
    yield
    i18n.set_language("en")


def at(hours: int, minutes: int, day: int = 2) -> dt.datetime:
    """A moment on March ``day``, 2026, Beijing time (the 2nd is a Monday)."""
    return dt.datetime(2026, 3, day, hours, minutes, tzinfo=CST)


def _text(pdf: bytes) -> tuple[int, str]:
    """Page count and the text of all pages, spaces and line breaks removed (CJK extraction adds them)."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return len(reader.pages), text.replace(" ", "").replace("\n", "")


def _page_texts(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [(page.extract_text() or "").replace(" ", "").replace("\n", "") for page in reader.pages]


def _call_sheet(ctx: AppContext, call_id: str) -> CallSheet:
    with ctx.db.session() as session:
        return call_sheet_data(session, call_id)


def _ticket_sheet(ctx: AppContext, ticket_id: str, now: dt.datetime) -> TicketSheet:
    with ctx.db.session() as session:
        return ticket_sheet_data(session, ticket_id, now)


def _render_call(sheet: CallSheet, letterhead: Letterhead = LETTERHEAD) -> tuple[int, bytes]:
    out = io.BytesIO()
    pages = render_call_sheet(sheet, out, letterhead, PRINTED)
    return pages, out.getvalue()


def _render_ticket(sheet: TicketSheet, letterhead: Letterhead = LETTERHEAD) -> tuple[int, bytes]:
    out = io.BytesIO()
    pages = render_ticket_sheet(sheet, out, letterhead, PRINTED)
    return pages, out.getvalue()


# --- 来电记录单 --------------------------------------------------------------------------------------


def test_a_saved_call_prints_its_labels_values_links_and_page_numbers(
    ctx: AppContext, record: Record, refs: Refs
) -> None:
    call = record(
        duration_s=200,
        outcome="transferred",
        transferred_to="李工（集成商驻场）",
        question="电子票据开具后无法打印\n打印机型号：得实 DS-1930",
        answer="请卸载旧版打印控件，安装 v3.1.2 后重试",
    )
    with ctx.uow() as uow:
        article = kb.create_article(
            uow,
            kb.ArticleInput(
                title="打印控件升级步骤", solution="下载并安装新版控件", site_id=refs.sites["changzhou"]
            ),
            "张工",
            at(9, 40),
            call_id=call.id,
        )
        ticket = tickets.create_ticket_from_call(uow, call.id, "张工", at(9, 45))
    sheet = _call_sheet(ctx, call.id)
    assert sheet.started_at == "2026-03-02 09:30"
    assert sheet.outcome == "已转接 李工（集成商驻场）"
    assert sheet.duration == "3分钟20秒"
    assert sheet.tickets == (ticket.number,)
    assert sheet.articles == (article.title,)
    assert sheet.number.startswith("20260302-") and len(sheet.number) == len("20260302-") + 6

    pages, pdf = _render_call(sheet)
    count, text = _text(pdf)
    assert pages == count == 1
    for label in (
        "来电记录单", "记录编号", "来电时间", "通话时长", "来电号码", "来电人", "单位", "服务站点", "系统",
        "模块", "类别", "处理方式", "值班工程师", "问题描述", "答复/处理情况", "关联工单", "参考知识库文章",
        "审核人", "日期",
    ):  # fmt: skip
        assert label in text, label
    for value in (
        sheet.number, "2026-03-0209:30", "3分钟20秒", "0519-86661234", "王会计", "常州市第一中学",
        "常州市财政局", "财政电子票据", "票据开具", "咨询", "已转接李工（集成商驻场）", "张工",
        "电子票据开具后无法打印", "打印机型号：得实DS-1930", "请卸载旧版打印控件，安装v3.1.2后重试",
        ticket.number, "打印控件升级步骤",
    ):  # fmt: skip
        assert value in text, value
    assert "第1页/共1页" in text
    assert "打印时间：2026-03-0212:00" in text


def test_a_call_back_prints_when_it_was_returned(ctx: AppContext, record: Record) -> None:
    call = record(outcome="callback")
    assert _call_sheet(ctx, call.id).outcome == "需回电（尚未回电）"
    with ctx.uow() as uow:
        callbacks.mark_called_back(uow, call.id, at(10, 15), at(10, 20))
    sheet = _call_sheet(ctx, call.id)
    assert sheet.outcome == "需回电（已于 2026-03-02 10:15 回电）"
    _pages, pdf = _render_call(sheet)
    assert "需回电（已于2026-03-0210:15回电）" in _text(pdf)[1]


def test_empty_sections_and_links_are_left_out(ctx: AppContext, record: Record) -> None:
    call = record(answer="   ", duration_s=0)
    _pages, pdf = _render_call(_call_sheet(ctx, call.id))
    text = _text(pdf)[1]
    assert "问题描述" in text
    for absent in ("答复/处理情况", "关联工单", "参考知识库文章"):
        assert absent not in text, absent
    assert "通话时长—" in text  # an unknown duration is a dash on the form, not "0分钟"


def test_a_very_long_question_runs_onto_more_pages_numbered_of_the_total(
    ctx: AppContext, record: Record
) -> None:
    step = "第{n}次操作：在【单位信息维护】中核对开票点编码并保存，重新开具后仍无法打印。"
    lines = [step.format(n=n) for n in range(1, 121)]
    tail = "连续的长文字没有换行" * 600  # one 6000-character line, cut for layout after sentences
    call = record(question="\n".join(lines) + "\n" + tail + "。结束标记", answer="已远程处理完毕")
    sheet = _call_sheet(ctx, call.id)
    assert len(sheet.question) > 10_000
    pages, pdf = _render_call(sheet)
    page_texts = _page_texts(pdf)
    count = len(page_texts)
    assert pages == count >= 4
    for number, text in enumerate(page_texts, start=1):
        assert f"第{number}页/共{count}页" in text
        assert "来电记录单" in text  # the page header names the document on every page
    assert page_texts[1].count("问题描述") == 1  # the band repeats where the text continues
    text = "".join(page_texts)
    assert "第1次操作" in page_texts[0]
    for n in (60, 119, 120):
        assert f"第{n}次操作" in text, n
    assert text.count("连续的长文字没有换行") == 600  # nothing lost at page or piece breaks
    assert "结束标记" in text
    # the signatures did not fit under the answer: its last lines went over with them
    assert "已远程处理完毕" in page_texts[-1] and "答复/处理情况" in page_texts[-1]
    assert "审核人" in page_texts[-1]


def test_text_beyond_the_print_limit_is_named_not_printed() -> None:
    lines = text_lines("甲" * (PRINT_LIMIT + 1234))
    assert lines[-1] == "……以下还有 1234 个字未打印，全文见热线工作台。"
    assert sum(len(line) for line in lines[:-1]) == PRINT_LIMIT
    assert text_lines("\n\n  a  \n\n\n\nb\r\n\n") == ["  a", "", "b"]


def test_a_missing_or_deleted_call_is_a_plain_message(ctx: AppContext, record: Record) -> None:
    with ctx.db.session() as session, pytest.raises(UserFacingError) as raised:
        call_sheet_data(session, "01900000-0000-7000-8000-000000000000")
    assert raised.value.message == "该来电记录已不存在。"
    call = record()
    with ctx.uow() as uow:
        uow.session.execute(update(Call).where(Call.id == call.id).values(deleted=True))
        uow.commit()
    with ctx.db.session() as session, pytest.raises(UserFacingError):
        call_sheet_data(session, call.id)


@pytest.mark.parametrize(
    "hostile",
    [
        "<b>not bold</b> & <script>alert(1)</script> &amp; <br/>",
        "\x00\x07\x1b 控制字符 🙂👍🏽 emoji",
        "x" * 5000,
        "行一\r\n行二\r行三\t制表",
    ],
)
def test_any_text_renders(ctx: AppContext, record: Record, hostile: str) -> None:
    call = record(question=hostile, answer=hostile, caller_name=hostile[:100], outcome="transferred",
                  transferred_to=hostile[:100])  # fmt: skip
    pages, pdf = _render_call(_call_sheet(ctx, call.id))
    assert pdf.startswith(b"%PDF") and pages >= 1
    text = _text(pdf)[1]
    if hostile.startswith("<b>"):
        assert "<b>notbold</b>&<script>" in text  # printed as typed, not taken for markup
    if "控制字符" in hostile:
        assert "控制字符" in text


def test_a_letterhead_with_a_logo_and_its_own_signature_labels(ctx: AppContext, record: Record) -> None:
    letterhead = Letterhead("湛江市财政局 信息中心", logo=PNG_2x2, signatures=("经办人", "科室负责人"))
    _pages, pdf = _render_call(_call_sheet(ctx, record().id), letterhead)
    text = _text(pdf)[1]
    assert "湛江市财政局信息中心" in text
    assert "经办人" in text and "科室负责人" in text
    assert "审核人" not in text  # the site's labels replace the form's own
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert len(page.images) == 1  # the logo


# --- 工单处理单 --------------------------------------------------------------------------------------


def _worked_ticket(ctx: AppContext, record: Record) -> tuple[Ticket, Call]:
    """A ticket from a call, responded, worked, put on hold and resumed, noted, a second call linked,
    resolved: each step by the service with an injected clock."""
    call = record(question="电子票据开具后无法打印\n提示“打印控件未安装”")
    with ctx.uow() as uow:
        ticket = tickets.create_ticket_from_call(uow, call.id, "张工", at(9, 35))
    with ctx.uow() as uow:
        tickets.assign(uow, ticket.id, "张工", "张工", at(9, 36))
    with ctx.uow() as uow:
        tickets.respond(uow, ticket.id, "张工", at(9, 42))
    with ctx.uow() as uow:
        tickets.start_work(uow, ticket.id, "张工", at(9, 50))
    with ctx.uow() as uow:
        tickets.pause(uow, ticket.id, "等待用户电脑开机", "张工", at(10, 0))
    with ctx.uow() as uow:
        tickets.resume(uow, ticket.id, "张工", at(10, 40))
    again = record(started_at=at(10, 45), caller_name="李出纳", question="询问进度")
    with ctx.uow() as uow:
        tickets.link_call(uow, ticket.id, again.id, "张工", at(10, 46))
    with ctx.uow() as uow:
        tickets.add_note(uow, ticket.id, "控件版本为 v2.3，需升级", "李娜", at(10, 55))
    with ctx.uow() as uow:
        tickets.resolve(uow, ticket.id, "张工", at(11, 5), summary="安装 v3.1.2 后打印正常")
    return ticket, call


def test_a_worked_ticket_prints_its_facts_deadlines_outcomes_and_history(
    ctx: AppContext, record: Record
) -> None:
    ticket, _call = _worked_ticket(ctx, record)
    sheet = _ticket_sheet(ctx, ticket.id, at(12, 0))
    assert [(d.target, d.due, d.met_at, d.result) for d in sheet.deadlines] == [
        ("首次响应", "2026-03-02 10:00", "2026-03-02 09:42", "达标，提前18分钟"),
        ("解决", "2026-03-02 11:10", "2026-03-02 11:05", "达标，提前5分钟"),  # 1 h + 40 min on hold
    ]
    assert "挂起" in sheet.deadlines[1].explanation  # why it is due when it is
    assert sheet.status == "已解决"
    assert sheet.handling == "远程"
    assert sheet.calls == ("2026-03-02 09:30 王会计", "2026-03-02 10:45 李出纳")

    pages, pdf = _render_ticket(sheet)
    page_texts = _page_texts(pdf)
    count = len(page_texts)
    assert pages == count
    for number, page in enumerate(page_texts, start=1):
        assert f"第{number}页/共{count}页" in page
    text = "".join(page_texts)
    for label in (
        "工单处理单", "工单编号", "标题", "服务站点", "单位", "联系人", "联系电话", "系统", "模块",
        "严重程度", "处理方式", "处理人", "状态", "报告时间", "问题描述", "服务时限", "截止时间",
        "完成时间", "结果", "时限说明", "处理记录", "时间", "操作人", "内容", "关联来电", "处理工程师",
        "用户确认", "日期",
    ):  # fmt: skip
        assert label in text, label
    for value in (
        ticket.number, "电子票据开具后无法打印", "常州市第一中学", "王会计", "0519-86661234", "一般", "远程",
        "已解决", "2026-03-0209:30", "达标，提前18分钟", "达标，提前5分钟", "2026-03-0211:10",
    ):  # fmt: skip
        assert value in text, value
    for event in (
        "创建工单", "指派给张工", "响应工单", "开始处理", "挂起：等待用户电脑开机", "恢复处理",
        "关联来电：", "备注：控件版本为v2.3，需升级", "标记为已解决：安装v3.1.2后打印正常",
    ):  # fmt: skip
        assert event in text, event
    for moment in ("09:35", "09:42", "09:50", "10:00", "10:40", "10:46", "10:55", "11:05"):
        assert f"2026-03-02{moment}" in text, moment
    assert "李娜" in text


def test_an_open_ticket_shows_what_is_running_and_what_is_already_late(
    ctx: AppContext, record: Record
) -> None:
    call = record()
    with ctx.uow() as uow:
        ticket = tickets.create_ticket_from_call(uow, call.id, "张工", at(9, 35))
    sheet = _ticket_sheet(ctx, ticket.id, at(10, 20))
    results = {d.target: d.result for d in sheet.deadlines}
    assert results["首次响应"] == "超时20分钟"  # due 10:00, nobody responded
    assert results["解决"] == "计时中，剩余10分钟"
    assert all(d.met_at == "" for d in sheet.deadlines)
    _pages, pdf = _render_ticket(sheet)
    text = _text(pdf)[1]
    assert "超时20分钟" in text and "计时中，剩余10分钟" in text


def test_a_long_history_repeats_its_heads_on_every_page(ctx: AppContext, record: Record) -> None:
    call = record()
    with ctx.uow() as uow:
        ticket = tickets.create_ticket_from_call(uow, call.id, "张工", at(9, 35))
    for n in range(1, 81):
        with ctx.uow() as uow:
            tickets.add_note(
                uow,
                ticket.id,
                f"第{n}条跟进记录：已电话联系用户确认现象。",
                "张工",
                at(9, 35) + dt.timedelta(minutes=n),
            )
    pages, pdf = _render_ticket(_ticket_sheet(ctx, ticket.id, at(12, 0)))
    page_texts = _page_texts(pdf)
    assert pages == len(page_texts) >= 3
    for page in page_texts[1:]:
        assert "处理记录时间操作人内容" in page  # band and column heads on top of each continued page
    text = "".join(page_texts)
    for n in (1, 40, 80):
        assert f"第{n}条跟进记录" in text, n


def test_a_missing_ticket_is_a_plain_message(ctx: AppContext, record: Record) -> None:
    with ctx.db.session() as session, pytest.raises(UserFacingError) as raised:
        ticket_sheet_data(session, "01900000-0000-7000-8000-000000000000", at(12, 0))
    assert raised.value.message == "该工单已不存在。"
    call = record()
    with ctx.uow() as uow:
        ticket = tickets.create_ticket_from_call(uow, call.id, "张工", at(9, 35))
        uow.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(deleted=True))
        uow.commit()
    with ctx.db.session() as session, pytest.raises(UserFacingError):
        ticket_sheet_data(session, ticket.id, at(12, 0))


def test_hostile_ticket_text_and_custom_signatures_render(ctx: AppContext, record: Record) -> None:
    hostile = "<b>粗体</b> & <i>\x00\x1b 🙂 " + "长" * 3000
    call = record(question=hostile)
    with ctx.uow() as uow:
        ticket = tickets.create_ticket_from_call(uow, call.id, "张工", at(9, 35))
    with ctx.uow() as uow:
        tickets.add_note(uow, ticket.id, hostile, "<script>", at(9, 40))
    letterhead = Letterhead(
        "常州市财政局", logo=PNG_2x2, signatures=("维护单位", "使用单位", "财政局", "日期")
    )
    pages, pdf = _render_ticket(_ticket_sheet(ctx, ticket.id, at(12, 0)), letterhead)
    text = _text(pdf)[1]
    assert pages >= 2
    assert "<b>粗体</b>&<i>" in text
    assert "<script>" in text
    for label in ("维护单位", "使用单位", "财政局", "日期"):
        assert label in text
    assert "处理工程师" not in text


# --- the end of a form ---------------------------------------------------------------------------


@pytest.mark.parametrize("room_left", [40.0, 400.0])
def test_the_signatures_never_stand_alone_on_the_last_page(room_left: float) -> None:
    asked: list[bool] = []

    def content(split: bool) -> Story:
        asked.append(split)
        filler = Spacer(1, frame_size()[1] - room_left)  # 40 pt: room for the last line, not the signatures
        last = CJKParagraph("正文末行", report_styles().body_flush)
        return ([filler], [last]) if split else ([filler, last], [])

    out = io.BytesIO()
    furniture = PageFurniture("常州市财政局", PRINTED)
    pages = build_form(out, content, ("经办人", "日期"), furniture, title="t", author="", subject="")
    page_texts = _page_texts(out.getvalue())
    assert pages == len(page_texts)
    assert "正文末行" in page_texts[-1] and "经办人" in page_texts[-1]
    if room_left < 100:
        assert asked == [False, True] and pages == 2  # laid out again, the last line kept with them
    else:
        assert asked == [False] and pages == 1  # they fit: laid out once


@pytest.mark.parametrize(
    ("labels", "rows"),
    [(("值班工程师", "审核人", "日期"), 1), (("制表人", "审核人", "负责人", "签收人", "日期"), 2)],
)
def test_each_signature_has_a_ruled_line_and_the_date_its_year_month_day(
    labels: tuple[str, ...], rows: int
) -> None:
    out = io.BytesIO()
    build_pdf(out, [signature_block(labels, frame_size()[0])], PageFurniture("常州市财政局", PRINTED))
    page = PdfReader(io.BytesIO(out.getvalue())).pages[0]
    text = "".join((page.extract_text() or "").split())
    for label in labels[:-1]:
        assert f"{label}：" in text
    assert "日期：年月日" in text
    # strokes on the page: the rule under the letterhead, then one line to sign on per label
    operations = ContentStream(page.get_contents(), page.pdf).operations
    strokes = [op for _operands, op in operations if op == b"l"]
    assert len(strokes) == 1 + len(labels)
    # lines of one row at one height, the rows apart
    heights = {round(float(operands[1])) for operands, op in operations if op == b"l"}
    assert len(heights) == 1 + rows


# --- pixels ---------------------------------------------------------------------------------------


def test_both_forms_are_not_blank_when_rendered(ctx: AppContext, record: Record, tmp_path: Path) -> None:
    ticket, call = _worked_ticket(ctx, record)
    call_pdf, ticket_pdf = tmp_path / "call.pdf", tmp_path / "ticket.pdf"
    render_call_sheet(_call_sheet(ctx, call.id), call_pdf, LETTERHEAD, PRINTED)
    render_ticket_sheet(_ticket_sheet(ctx, ticket.id, at(12, 0)), ticket_pdf, LETTERHEAD, PRINTED)
    for pdf in (call_pdf, ticket_pdf):
        share = first_page_ink(pdf, tmp_path)
        assert 0.005 < share < 0.5, pdf.name  # ink on the page, not a black page


def test_the_base_time_of_the_factories_is_a_monday_morning() -> None:
    assert at(9, 30) == BASE_TIME and BASE_TIME.weekday() == 0  # the deadlines above assume it
