"""Tests for ``hotline import tickets`` and ``hotline export tickets`` (app.cli, app.services.ticket_import).

Commands run through ``app.cli.main([...])`` against a data folder in ``tmp_path``, with the command
line's clock fixed at Monday 2026-11-30 12:00 Beijing time; what they saved is read back through the
ticket service, so the deadlines and outcomes checked are the service's own.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from app import cli
from app.context import AppContext, open_context
from app.services import reference, tickets
from app.services.ticket_import import Step, TicketEntry, import_tickets
from app.services.tickets import TargetResult, TicketStatus, TicketView
from app.sla.policy import TargetKind
from app.storage.models import OutboxOp, Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=SHANGHAI)

HEADER = [
    "站点",
    "标题",
    "单位",
    "来电人",
    "电话",
    "系统",
    "模块",
    "类别",
    "严重程度",
    "处理方式",
    "处理人",
    "报告时间",
    "状态",
    "响应时间",
    "转现场时间",
    "到场时间",
    "挂起时间",
    "恢复时间",
    "解决时间",
    "关闭时间",
]


def at(day: int, hour: int, minute: int) -> dt.datetime:
    """A moment in November 2026, Beijing time."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def row(**cells: object) -> list[object]:
    """A tickets-file row in HEADER order from the cells given by column name."""
    unknown = set(cells) - set(HEADER)
    assert not unknown, unknown
    return [cells.get(name, "") for name in HEADER]


GOOD_ROWS: list[list[object]] = [
    row(站点="常州市财政局", 标题="电子票据无法开具", 单位="常州市第一中学", 来电人="王会计",
        电话="0519-86661234", 系统="财政电子票据", 模块="票据开具", 类别="故障报修", 严重程度="一般",
        处理方式="远程", 处理人="张工", 报告时间="2026-11-28 09:30", 状态="已响应",
        响应时间="2026-11-28 09:50"),
    row(站点="changzhou", 标题="工资统发审核报错", 单位="常州市教育局", 系统="工资统发系统", 严重程度="重大",
        报告时间=dt.datetime(2026, 11, 28, 10, 0), 状态="挂起", 响应时间=dt.datetime(2026, 11, 28, 10, 10),
        挂起时间="2026/11/28 10:40"),
    row(站点="湛江市财政局", 标题="票据核销失败", 单位="湛江市第二中学", 系统="财政票据管理系统",
        模块="核销销毁", 严重程度="一般", 处理方式="现场", 处理人="刘工", 报告时间="2026-11-27 20:00",
        状态="待现场", 响应时间="2026-11-27 21:00"),
    row(站点="常州市财政局", 标题="年度结转咨询", 类别="咨询", 报告时间="2026-11-28 08:00", 状态="已关闭",
        响应时间="2026-11-28 08:10", 解决时间="2026-11-28 08:40", 关闭时间="2026-11-28 09:00"),
    row(站点="zhanjiang", 标题="库存管理无法登录", 报告时间="2026-11-30 09:00", 状态="处理中",
        响应时间="2026-11-30 09:20", 转现场时间="2026-11-30 10:00", 到场时间="2026-11-30 11:00",
        处理人="刘工"),
    row(站点="常州市财政局", 标题="支付渠道对账不平", 严重程度="一般",
        报告时间="2026年11月30日 11时45分", 状态="新建"),
]  # fmt: skip

BAD_ROWS: list[list[object]] = [
    row(站点="南京市财政局", 标题="站点不对", 报告时间="2026-11-28 09:30", 状态="新建"),
    row(站点="常州市财政局", 标题="系统不对", 系统="财务软件", 报告时间="2026-11-28 09:30", 状态="新建"),
    row(站点="常州市财政局", 标题="时间不对", 报告时间="昨天上午", 状态="新建"),
    row(站点="常州市财政局", 标题="状态到不了", 报告时间="2026-11-28 09:30", 状态="已解决",
        响应时间="2026-11-28 09:50"),
    row(站点="常州市财政局", 标题="顺序颠倒", 报告时间="2026-11-28 09:30", 状态="现场处理", 处理方式="现场",
        响应时间="2026-11-28 10:30", 到场时间="2026-11-28 10:00"),
    row(站点="常州市财政局", 标题="严重程度不对", 严重程度="紧急", 报告时间="2026-11-28 09:30", 状态="新建"),
]  # fmt: skip


def run(*args: object) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_now", lambda: NOW)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for values in rows:
        sheet.append(values)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for values in rows:
            writer.writerow([f"{v:%Y-%m-%d %H:%M}" if isinstance(v, dt.datetime) else v for v in values])
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def opened(data: Path) -> Iterator[AppContext]:
    """The data folder, opened after the commands ran (the language is the settings', Chinese)."""
    ctx = open_context(str(data))
    yield ctx
    ctx.close()


def views(ctx: AppContext) -> dict[str, TicketView]:
    """Every ticket of the folder by title, as the service derives it."""
    with ctx.db.session() as session:
        found = {}
        for ticket_id in session.scalars(select(Ticket.id)):
            view = tickets.get_ticket(session, ticket_id)
            assert view is not None
            found[view.ticket.title] = view
        return found


def outcomes(ctx: AppContext, ticket_id: str) -> dict[TargetKind, tickets.TargetOutcome]:
    with ctx.db.session() as session:
        return {o.target: o for o in tickets.ticket_outcomes(session, ticket_id, NOW)}


def due(view: TicketView, kind: TargetKind) -> dt.datetime | None:
    assert view.deadlines is not None
    target = view.deadlines.target(kind)
    assert target is not None
    return target.due


def ticket_count(data: Path) -> int:
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(Ticket)) or 0)
    finally:
        ctx.close()


# --- import ---------------------------------------------------------------------------------------


def test_a_good_file_imports_with_the_right_statuses_and_deadlines(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_xlsx(tmp_path / "tickets.xlsx", GOOD_ROWS)
    assert run("import", "tickets", path, "--data-dir", data) == 0
    assert "已导入 6 张工单" in capsys.readouterr().out
    ctx = open_context(str(data))
    try:
        found = views(ctx)
        assert {title: v.status for title, v in found.items()} == {
            "电子票据无法开具": TicketStatus.RESPONDED,
            "工资统发审核报错": TicketStatus.PAUSED,
            "票据核销失败": TicketStatus.ON_SITE_PENDING,
            "年度结转咨询": TicketStatus.CLOSED,
            "库存管理无法登录": TicketStatus.IN_PROGRESS,
            "支付渠道对账不平": TicketStatus.NEW,
        }
        # Changzhou, general, reported 09:30, responded 09:50: response due 10:00, met.
        first = found["电子票据无法开具"]
        assert first.reported_at == at(28, 9, 30)
        assert (due(first, TargetKind.RESPONSE), due(first, TargetKind.RESOLUTION)) == (
            at(28, 10, 0),
            at(28, 10, 30),
        )
        result = outcomes(ctx, first.ticket.id)
        assert result[TargetKind.RESPONSE].result is TargetResult.MET
        assert result[TargetKind.RESPONSE].margin == dt.timedelta(minutes=10)
        assert result[TargetKind.RESOLUTION].result is TargetResult.BREACHED  # still open at NOW
        ticket = first.ticket
        assert (
            ticket.unit_name,
            ticket.caller_name,
            ticket.caller_phone,
            ticket.assignee,
            ticket.handling,
        ) == (
            "常州市第一中学",
            "王会计",
            "0519-86661234",
            "张工",
            "remote",
        )
        assert (
            ticket.system_id is not None and ticket.module_id is not None and ticket.category_id is not None
        )
        assert first.severity_name == "一般"
        # Major, on hold since 10:40 with 1 h 20 min of its 2 h left: no resolution due time while paused.
        paused = found["工资统发审核报错"]
        assert paused.severity_name == "重大" and due(paused, TargetKind.RESOLUTION) is None
        assert paused.deadlines is not None
        resolution = paused.deadlines.target(TargetKind.RESOLUTION)
        assert resolution is not None and resolution.remaining_while_paused == dt.timedelta(minutes=80)
        # Zhanjiang, on site from the report (Friday 20:00, outside working hours): 3 h to respond,
        # 8 h to be on site, both from the report.
        on_site = found["票据核销失败"]
        assert on_site.ticket.handling == "on_site"
        assert (due(on_site, TargetKind.RESPONSE), due(on_site, TargetKind.ON_SITE)) == (
            at(27, 23, 0),
            at(28, 4, 0),
        )
        # Closed: resolved 08:40 against 09:00.
        closed = outcomes(ctx, found["年度结转咨询"].ticket.id)
        assert closed[TargetKind.RESOLUTION].result is TargetResult.MET
        assert closed[TargetKind.RESOLUTION].margin == dt.timedelta(minutes=20)
        # Remote until the stated decision at 10:00; on site within 8 h of it, met at 11:00.
        decided = found["库存管理无法登录"]
        assert due(decided, TargetKind.RESPONSE) == at(30, 10, 0)
        assert due(decided, TargetKind.ON_SITE) == at(30, 18, 0)
        assert outcomes(ctx, decided.ticket.id)[TargetKind.ON_SITE].result is TargetResult.MET
        new = found["支付渠道对账不平"]
        assert outcomes(ctx, new.ticket.id)[TargetKind.RESPONSE].result is TargetResult.OPEN
        # Each replayed step is in the history with the stated moment.
        assert [(e.kind, e.at) for e in first.timeline] == [("created", NOW), ("responded", at(28, 9, 50))]
        with ctx.db.session() as session:
            queued = session.scalar(
                select(func.count()).where(OutboxOp.table_name == "tickets", OutboxOp.op == "insert")
            )
            assert queued == 6  # synced like tickets made in the app
    finally:
        ctx.close()


def test_csv_files_import_too(data: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tickets.csv", GOOD_ROWS)
    assert run("import", "tickets", path, "--data-dir", data) == 0
    assert ticket_count(data) == len(GOOD_ROWS)


def test_several_bad_rows_are_each_reported_and_nothing_is_imported(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_xlsx(tmp_path / "tickets.xlsx", GOOD_ROWS + BAD_ROWS)
    assert run("import", "tickets", path, "--data-dir", data) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()

    def line(number: int) -> str:
        found = [text for text in lines if text.startswith(f"第 {number} 行：")]
        assert found, f"row {number} not reported in:\n{err}"
        return " ".join(found)

    first_bad = len(GOOD_ROWS) + 2
    assert "南京市财政局" in line(first_bad) and "常州市财政局" in line(first_bad)  # the valid sites
    assert "财务软件" in line(first_bad + 1) and "财政电子票据" in line(first_bad + 1)
    assert "昨天上午" in line(first_bad + 2) and "2026-11-28 09:30" in line(first_bad + 2)
    assert "已解决" in line(first_bad + 3) and "解决时间" in line(first_bad + 3)
    assert "到场时间（2026-11-28 10:00）早于响应时间（2026-11-28 10:30）" in line(first_bad + 4)
    assert "紧急" in line(first_bad + 5) and "一般、重大" in line(first_bad + 5)
    assert not any(text.startswith(tuple(f"第 {n} 行" for n in range(2, first_bad))) for text in lines)
    assert f"{len(GOOD_ROWS) + len(BAD_ROWS)} 行中有 {len(BAD_ROWS)} 行有问题" in err
    assert "Traceback" not in err
    assert ticket_count(data) == 0
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            ticket_tables = OutboxOp.table_name.in_(["tickets", "ticket_events"])
            assert session.scalar(select(func.count()).where(ticket_tables)) == 0
    finally:
        ctx.close()


def test_a_row_the_service_refuses_undoes_the_rows_before_it(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = open_context(str(data))
    try:
        with ctx.uow() as uow:
            reference.add_site(uow, "南通市财政局", "0513")  # a site without a service-level policy
    finally:
        ctx.close()
    rows = [
        *GOOD_ROWS,
        row(站点="南通市财政局", 标题="没有时限政策", 报告时间="2026-11-28 09:30", 状态="新建"),
    ]
    path = write_xlsx(tmp_path / "tickets.xlsx", rows)
    assert run("import", "tickets", path, "--data-dir", data) == 1
    err = capsys.readouterr().err
    assert f"第 {len(rows) + 1} 行：该站点没有可用的服务规则" in err
    assert ticket_count(data) == 0


def test_dry_run_checks_but_imports_nothing(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_xlsx(tmp_path / "tickets.xlsx", GOOD_ROWS)
    assert run("import", "tickets", path, "--dry-run", "--data-dir", data) == 0
    assert "--dry-run" in capsys.readouterr().out
    assert ticket_count(data) == 0
    bad = write_xlsx(tmp_path / "bad.xlsx", GOOD_ROWS + BAD_ROWS)
    assert run("import", "tickets", bad, "--dry-run", "--data-dir", data) == 1
    assert ticket_count(data) == 0


def test_rows_without_a_site_take_the_site_option(data: Path, tmp_path: Path) -> None:
    rows = [row(标题="没有站点", 报告时间="2026-11-28 09:30", 状态="新建")]
    path = write_xlsx(tmp_path / "tickets.xlsx", rows)
    assert run("import", "tickets", path, "--site", "湛江市财政局", "--data-dir", data) == 0
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            site = next(s for s in reference.list_sites(session) if s.code == "zhanjiang")
        assert views(ctx)["没有站点"].ticket.site_id == site.id
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.xlsx", b"", "是空的"),
        ("renamed.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "不是 Excel 工作簿"),
        ("broken.xlsx", b"PK\x03\x04" + bytes(300), "不是 Excel 工作簿"),
        ("wrong.csv", "日期,问题描述\r\n2026-11-28,问题\r\n".encode(), "找不到表头"),
        ("no_time.csv", "标题,状态\r\n甲,新建\r\n".encode(), "报告时间"),
        ("header_only.csv", "标题,报告时间,状态\r\n".encode(), "没有工单"),
    ],
)
def test_hostile_input_exits_2_with_a_clear_message(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert run("import", "tickets", path, "--data-dir", data) == 2
    err = capsys.readouterr().err
    assert words in err and name in err and "Traceback" not in err


def test_messages_follow_lang(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_xlsx(tmp_path / "tickets.xlsx", BAD_ROWS[3:4])
    assert run("import", "tickets", path, "--data-dir", data, "--lang", "en") == 1
    err = capsys.readouterr().err
    assert "Row 2: The status “Resolved” needs 解决时间 filled in." in err


# --- export ---------------------------------------------------------------------------------------


def test_the_export_columns_read_what_the_service_derives(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("import", "tickets", write_xlsx(tmp_path / "in.xlsx", GOOD_ROWS), "--data-dir", data) == 0
    out = tmp_path / "out.csv"
    assert run("export", "tickets", "--format", "csv", "-o", out, "--data-dir", data) == 0
    assert f"已将 6 张工单导出到 {out}" in capsys.readouterr().out
    rows = {r["标题"]: r for r in read_csv(out)}
    first = rows["电子票据无法开具"]
    assert (first["站点"], first["严重程度"], first["状态"], first["处理人"], first["报告时间"]) == (
        "常州市财政局",
        "一般",
        "已响应",
        "张工",
        "2026-11-28 09:30",
    )
    assert (first["响应截止时间"], first["响应结果"]) == ("2026-11-28 10:00", "达标，提前10分钟")
    assert first["响应时限说明"] == "11月28日 周六 09:30 报告，严重程度：一般 → 30分钟 → 10:00"
    assert (first["解决截止时间"], first["解决结果"]) == ("2026-11-28 10:30", "超时2天1小时30分钟")
    assert first["到场截止时间"] == first["到场时限说明"] == first["到场结果"] == ""  # no such target
    ctx = open_context(str(data))
    try:
        for title, view in views(ctx).items():
            exported = rows[title]
            assert exported["编号"] == view.ticket.number
            assert view.deadlines is not None
            found = outcomes(ctx, view.ticket.id)
            for kind, word in (
                (TargetKind.RESPONSE, "响应"),
                (TargetKind.ON_SITE, "到场"),
                (TargetKind.RESOLUTION, "解决"),
            ):
                target = view.deadlines.target(kind)
                if target is None:
                    assert exported[f"{word}结果"] == ""
                    continue
                assert exported[f"{word}时限说明"] == target.explanation()
                assert exported[f"{word}结果"] == found[kind].text()
                shown = f"{target.due.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if target.due else ""
                assert exported[f"{word}截止时间"] == shown
    finally:
        ctx.close()
    assert rows["工资统发审核报错"]["解决结果"] == "计时中"
    assert "挂起" in rows["工资统发审核报错"]["解决时限说明"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_open_tickets_round_trip_through_export_and_import(
    tmp_path: Path, file_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source, copy = tmp_path / "source", tmp_path / "copy"
    assert run("import", "tickets", write_xlsx(tmp_path / "in.xlsx", GOOD_ROWS), "--data-dir", source) == 0
    out = tmp_path / f"open.{file_format}"
    assert run("export", "tickets", "--open", "-o", out, "--data-dir", source) == 0
    assert "已将 5 张工单" in capsys.readouterr().out  # the closed one stays behind
    assert run("import", "tickets", out, "--data-dir", copy) == 0
    assert "已导入 5 张工单" in capsys.readouterr().out

    def derived(folder: Path) -> dict[str, tuple[object, ...]]:
        ctx = open_context(str(folder))
        try:
            result = {}
            for title, view in views(ctx).items():
                if not view.status.is_open:
                    continue
                assert view.deadlines is not None
                ticket = view.ticket
                result[title] = (
                    view.status,
                    view.severity,
                    view.reported_at,
                    ticket.handling,
                    ticket.unit_name,
                    ticket.assignee,
                    ticket.system_id,
                    ticket.module_id,
                    ticket.category_id,
                    tuple(
                        (t.kind, t.due, t.met_at, t.paused_since, t.explanation())
                        for t in view.deadlines.targets
                    ),
                    tuple(sorted((o.target, o.text()) for o in outcomes(ctx, ticket.id).values())),
                )
            return result
        finally:
            ctx.close()

    assert derived(copy) == derived(source)
    again = tmp_path / "again.csv"
    original = tmp_path / "original.csv"
    assert run("export", "tickets", "--open", "-o", again, "--data-dir", copy) == 0
    assert run("export", "tickets", "--open", "-o", original, "--data-dir", source) == 0

    def without_numbers(path: Path) -> list[dict[str, str]]:
        return sorted(
            ({k: v for k, v in r.items() if k != "编号"} for r in read_csv(path)), key=lambda r: r["标题"]
        )

    assert without_numbers(again) == without_numbers(original)
    ctx = open_context(str(copy))
    try:
        numbers = {r["标题"]: r["编号"] for r in read_csv(original)}
        for title, view in views(ctx).items():
            assert numbers[title] in view.ticket.notes  # the number it had, for people looking for it
    finally:
        ctx.close()


def test_export_keeps_to_the_site_the_period_and_open_tickets(data: Path, tmp_path: Path) -> None:
    assert run("import", "tickets", write_xlsx(tmp_path / "in.xlsx", GOOD_ROWS), "--data-dir", data) == 0

    def titles(*options: object) -> set[str]:
        out = tmp_path / "out.csv"
        assert run("export", "tickets", "-o", out, *options, "--data-dir", data) == 0
        return {r["标题"] for r in read_csv(out)}

    everything = {str(r[1]) for r in GOOD_ROWS}
    assert titles() == everything
    assert titles("--all") == everything
    assert titles("--open") == everything - {"年度结转咨询"}
    assert titles("--site", "zhanjiang") == {"票据核销失败", "库存管理无法登录"}
    assert titles("--from", "2026-11-30", "--to", "2026-11-30") == {"库存管理无法登录", "支付渠道对账不平"}
    assert titles("--to", "2026-11-27") == {"票据核销失败"}
    assert titles("--from", "2026-12-01") == set()


def test_xlsx_export_has_a_frozen_header_and_readable_widths(data: Path, tmp_path: Path) -> None:
    assert run("import", "tickets", write_xlsx(tmp_path / "in.xlsx", GOOD_ROWS), "--data-dir", data) == 0
    out = tmp_path / "tickets.xlsx"
    assert run("export", "tickets", "-o", out, "--data-dir", data) == 0  # the format from the name
    sheet = openpyxl.load_workbook(out).active
    assert sheet.max_row == len(GOOD_ROWS) + 1
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    headers = [c.value for c in sheet[1]]
    letters = {header: cell.column_letter for header, cell in zip(headers, sheet[1], strict=True)}
    assert sheet.column_dimensions[letters["响应时限说明"]].width >= 40
    assert sheet.column_dimensions[letters["报告时间"]].width >= 16


def test_export_without_a_file_name_writes_into_the_current_folder(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("export", "tickets", "--format", "xlsx", "--data-dir", data) == 0
    assert (tmp_path / "tickets-2026-11-30.xlsx").read_bytes().startswith(b"PK")


def test_export_refuses_a_reversed_period_and_a_missing_folder(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.csv"
    assert (
        run("export", "tickets", "-o", out, "--from", "2026-11-30", "--to", "2026-11-01", "--data-dir", data)
        == 2
    )
    assert not out.exists()
    assert run("export", "tickets", "-o", tmp_path / "nowhere" / "t.csv", "--data-dir", data) == 2
    err = capsys.readouterr().err
    assert "t.csv" in err and "Traceback" not in err
    assert run("export", "tickets", "--all", "--open", "-o", out, "--data-dir", data) == 2  # one or the other


# --- replaying the history (app.services.ticket_import) -------------------------------------------


def entry(number: int, **values: object) -> TicketEntry:
    fields: dict[str, object] = {
        "row": number,
        "reported_at": at(28, 9, 30),
        "status": TicketStatus.NEW,
        "site": "changzhou",
        "title": f"工单{number}",
        "severity": "一般",
    }
    fields.update(values)
    return TicketEntry(**fields)  # type: ignore[arg-type]


def replay(ctx: AppContext, entries: list[TicketEntry], commit: bool = True) -> dict[str, TicketView]:
    progress: list[tuple[int, int]] = []
    with ctx.uow() as uow:
        result = import_tickets(
            uow, entries, "", "导入", NOW, lambda d, t: progress.append((d, t)), commit=commit
        )
    assert result.problems == [], result.problems
    assert progress == [(n, len(entries)) for n in range(1, len(entries) + 1)]
    return views(ctx)


def test_a_pause_moves_the_resolution_deadline(ctx: AppContext) -> None:
    times = {Step.RESPONDED: at(28, 9, 40), Step.PAUSED: at(28, 9, 50), Step.RESUMED: at(28, 10, 20)}
    found = replay(ctx, [entry(2, status=TicketStatus.RESPONDED, times=times)])["工单2"]
    assert found.status is TicketStatus.RESPONDED
    assert due(found, TargetKind.RESOLUTION) == at(28, 11, 0)  # 10:30 + the 30 min on hold


def test_an_arrival_counts_as_the_response_and_a_closing_as_the_resolution(ctx: AppContext) -> None:
    entries = [
        entry(
            2,
            site="zhanjiang",
            handling="on_site",
            status=TicketStatus.ON_SITE,
            times={Step.ARRIVED: at(28, 10, 0)},
        ),
        entry(3, status=TicketStatus.CLOSED, times={Step.CLOSED: at(28, 10, 20)}),
    ]
    found = replay(ctx, entries)
    arrived = outcomes(ctx, found["工单2"].ticket.id)
    assert arrived[TargetKind.RESPONSE].met_at == at(28, 10, 0)
    assert arrived[TargetKind.ON_SITE].met_at == at(28, 10, 0)
    closed = outcomes(ctx, found["工单3"].ticket.id)
    assert closed[TargetKind.RESOLUTION].met_at == at(28, 10, 20)
    assert closed[TargetKind.RESOLUTION].result is TargetResult.MET


def test_an_on_site_visit_after_a_hold(ctx: AppContext) -> None:
    times = {
        Step.RESPONDED: at(28, 9, 40),
        Step.ON_SITE_DECIDED: at(28, 9, 45),
        Step.PAUSED: at(28, 9, 50),
        Step.RESUMED: at(28, 14, 0),
        Step.ARRIVED: at(28, 14, 30),
    }
    found = replay(ctx, [entry(2, site="zhanjiang", status=TicketStatus.IN_PROGRESS, times=times)])["工单2"]
    assert found.status is TicketStatus.IN_PROGRESS
    assert [e.kind for e in found.timeline] == [
        "created",
        "responded",
        "on_site_required",
        "paused",
        "resumed",
        "arrived_on_site",
        "status_changed",
    ]


def test_without_commit_nothing_is_saved(ctx: AppContext) -> None:
    assert replay(ctx, [entry(2), entry(3)], commit=False) == {}
