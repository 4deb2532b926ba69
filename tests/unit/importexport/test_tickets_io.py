"""Tests for app.importexport.tickets_io: reading tickets files (.xlsx/.csv) and writing them out."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from app.importexport import tickets_io
from app.importexport.calls_io import CellError, LedgerFileError
from app.services.ticket_import import Step, TargetColumns, TicketEntry
from app.services.tickets import TicketStatus
from app.sla.events import Handling
from app.sla.policy import TargetKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = [
    "站点",
    "标题",
    "单位",
    "来电人",
    "电话",
    "严重程度",
    "处理方式",
    "处理人",
    "报告时间",
    "状态",
    "响应时间",
]


def moment(day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


# --- cells ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28 09:30", moment(28, 9, 30)),
        ("2026/11/28 9:30", moment(28, 9, 30)),
        ("2026年11月28日 09时30分", moment(28, 9, 30)),
        ("２０２６－１１－２８　０９：３０", moment(28, 9, 30)),  # full-width
        ("2026-11-28 00:00", moment(28, 0, 0)),  # midnight written out is a time
        ("2026-11-28T01:30:00+00:00", moment(28, 9, 30)),  # an offset is honoured
        (dt.datetime(2026, 11, 28, 9, 30), moment(28, 9, 30)),  # an Excel cell: Shanghai wall time
        (dt.datetime(2026, 11, 28), moment(28, 0, 0)),
        (46354.395833333336, moment(28, 9, 30)),  # an Excel serial date-time
    ],
)
def test_parse_moment(value: object, expected: dt.datetime) -> None:
    assert tickets_io.parse_moment(value, "报告时间") == expected


@pytest.mark.parametrize(
    "value", ["2026-11-28", dt.date(2026, 11, 28), 46354, "昨天", "2026-13-01 09:00", "9:30"]
)
def test_parse_moment_refuses_what_is_not_a_moment(value: object) -> None:
    with pytest.raises(CellError, match="报告时间"):
        tickets_io.parse_moment(value, "报告时间")


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("新建", TicketStatus.NEW),
        (" 已响应 ", TicketStatus.RESPONDED),
        ("处理中", TicketStatus.IN_PROGRESS),
        ("待现场", TicketStatus.ON_SITE_PENDING),
        ("现场处理", TicketStatus.ON_SITE),
        ("挂起", TicketStatus.PAUSED),
        ("已挂起", TicketStatus.PAUSED),
        ("已解决", TicketStatus.RESOLVED),
        ("已关闭", TicketStatus.CLOSED),
        ("In progress", TicketStatus.IN_PROGRESS),
        ("on_site_pending", TicketStatus.ON_SITE_PENDING),
    ],
)
def test_parse_status(value: str, status: TicketStatus) -> None:
    assert tickets_io.parse_status(value) is status


def test_parse_status_refuses_unknown_and_empty() -> None:
    with pytest.raises(CellError, match="待定"):
        tickets_io.parse_status("待定")
    with pytest.raises(CellError):
        tickets_io.parse_status("")


def test_parse_handling() -> None:
    assert tickets_io.parse_handling("") == Handling.REMOTE.value
    assert tickets_io.parse_handling("远程") == Handling.REMOTE.value
    assert tickets_io.parse_handling("现场") == Handling.ON_SITE.value
    assert tickets_io.parse_handling("On-site") == Handling.ON_SITE.value
    with pytest.raises(CellError, match="飞过去"):
        tickets_io.parse_handling("飞过去")


# --- reading --------------------------------------------------------------------------------------


def test_an_xlsx_file_is_read_with_its_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "tickets.xlsx",
        [
            ["遗留工单（2026年11月）"],  # a title row above the header
            HEADER,
            ["常州市财政局", "电子票据无法开具", "常州市第一中学", "王会计", "0519-86661234", "一般", "远程",
             "张工", dt.datetime(2026, 11, 28, 9, 30), "已响应", "2026-11-28 09:50"],
            [None] * len(HEADER),  # an empty row is skipped
            ["changzhou", "工资审核报错", "", "", "", "重大", "现场", "", "2026-11-28 10:00", "新建", ""],
        ],
    )  # fmt: skip
    found = tickets_io.read_tickets(path)
    assert found.problems == [] and found.header_row == 2 and found.ignored_headers == []
    first, second = found.entries
    assert (first.row, first.site, first.title, first.unit_name, first.caller_phone) == (
        3,
        "常州市财政局",
        "电子票据无法开具",
        "常州市第一中学",
        "0519-86661234",
    )
    assert (first.severity, first.handling, first.assignee) == ("一般", "remote", "张工")
    assert first.reported_at == moment(28, 9, 30) and first.status is TicketStatus.RESPONDED
    assert first.times == {Step.RESPONDED: moment(28, 9, 50)}
    assert (second.row, second.site, second.handling, second.status) == (
        5,
        "changzhou",
        "on_site",
        TicketStatus.NEW,
    )


@pytest.mark.parametrize(("encoding", "delimiter"), [("gb18030", ","), ("utf-8-sig", ","), ("utf-16", "\t")])
def test_csv_files_in_excel_encodings(tmp_path: Path, encoding: str, delimiter: str) -> None:
    rows = [
        HEADER,
        ["湛江市财政局", "票据核销失败", "", "", "", "一般", "", "", "2026-11-27 20:00", "新建", ""],
    ]
    found = tickets_io.read_tickets(write_csv(tmp_path / "t.csv", rows, encoding, delimiter))
    assert [(e.site, e.title, e.reported_at) for e in found.entries] == [
        ("湛江市财政局", "票据核销失败", moment(27, 20, 0))
    ]


def test_english_headers_and_unknown_columns(tmp_path: Path) -> None:
    rows = [
        ["Site", "Title", "Reported at", "Status", "Responded at", "备注", "响应结果"],
        ["changzhou", "Printer", "2026-11-28 09:30", "Responded", "2026-11-28 09:40", "随便", "达标"],
    ]
    found = tickets_io.read_tickets(write_csv(tmp_path / "t.csv", rows))
    assert found.ignored_headers == ["备注"]  # an export-only column (响应结果) is skipped quietly
    assert found.entries[0].status is TicketStatus.RESPONDED
    assert found.entries[0].times == {Step.RESPONDED: moment(28, 9, 40)}


def test_bad_cells_are_reported_by_row(tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["常州市财政局", "甲", "", "", "", "一般", "", "", "昨天", "新建", ""],
        ["常州市财政局", "乙", "", "", "", "一般", "飞过去", "", "2026-11-28", "待定", "2026-11-28 晚上"],
        ["常州市财政局", "丙", "", "", "", "一般", "", "", "", "", ""],
    ]
    found = tickets_io.read_tickets(write_csv(tmp_path / "t.csv", rows))
    by_row: dict[int, list[str]] = {}
    for problem in found.problems:
        by_row.setdefault(problem.row, []).append(problem.message)
    assert sorted(by_row) == [2, 3, 4]
    assert any("昨天" in m for m in by_row[2])
    assert len(by_row[3]) == 4  # report time without a time of day, status, handling, response time
    assert len(by_row[4]) == 2  # no report time, no status
    assert found.entries[1].status is None  # not replayed


def test_the_required_columns_must_be_there(tmp_path: Path) -> None:
    with pytest.raises(LedgerFileError, match="报告时间"):
        tickets_io.read_tickets(write_csv(tmp_path / "t.csv", [["标题", "状态"], ["甲", "新建"]]))


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"  \r\n", "empty"),
        ("random.xlsx", bytes(range(256)) * 20, "not an Excel workbook"),
        ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 200, "not an Excel workbook"),
        ("old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 200, "97-2003"),
        ("binary.csv", b"\x00\x01\x02\x03" * 100, "not an Excel workbook"),
        ("calls.csv", "日期,问题描述\r\n2026-11-28,问\r\n".encode(), "No header row"),
    ],
)
def test_hostile_files_raise_a_clear_error(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LedgerFileError) as raised:
        tickets_io.read_tickets(path)
    assert words in raised.value.message and name in raised.value.message


def test_a_missing_file_and_a_folder_raise_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerFileError, match="does not exist"):
        tickets_io.read_tickets(tmp_path / "nowhere.xlsx")
    with pytest.raises(LedgerFileError, match="folder"):
        tickets_io.read_tickets(tmp_path)


# --- writing --------------------------------------------------------------------------------------


def entry(**overrides: object) -> TicketEntry:
    values: dict[str, object] = {
        "row": 0,
        "reported_at": moment(28, 9, 30),
        "status": TicketStatus.PAUSED,
        "site": "常州市财政局",
        "number": "GD-2026-030001",
        "title": '=HYPERLINK("x")',  # looks like a formula
        "unit_name": "常州市第一中学",
        "severity": "一般",
        "handling": Handling.ON_SITE.value,
        "assignee": "张工",
        "times": {Step.RESPONDED: moment(28, 9, 50), Step.PAUSED: moment(28, 10, 0)},
        "targets": {
            TargetKind.RESPONSE: TargetColumns(
                moment(28, 10, 0), "09:30 报告 → 30分钟 → 10:00", "达标，提前10分钟"
            ),
            TargetKind.RESOLUTION: TargetColumns(None, "自 10:00 起挂起，剩余 30分钟", "计时中"),
        },
    }
    values.update(overrides)
    return TicketEntry(**values)  # type: ignore[arg-type]


def test_csv_export_has_a_bom_guards_formulas_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    result = tickets_io.write_tickets(path, [entry()], "csv")
    assert result.rows == 1
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    row = rows[0]
    assert row["标题"] == '\'=HYPERLINK("x")'
    assert (row["编号"], row["状态"], row["处理方式"], row["报告时间"]) == (
        "GD-2026-030001",
        "挂起",
        "现场",
        "2026-11-28 09:30",
    )
    assert (row["响应截止时间"], row["响应结果"], row["解决截止时间"], row["解决结果"]) == (
        "2026-11-28 10:00",
        "达标，提前10分钟",
        "",
        "计时中",
    )
    assert row["到场截止时间"] == row["到场时限说明"] == row["到场结果"] == ""
    back = tickets_io.read_tickets(path)
    assert back.problems == [] and back.ignored_headers == []
    again = back.entries[0]
    assert (again.title, again.status, again.handling, again.number) == (
        '=HYPERLINK("x")',
        TicketStatus.PAUSED,
        Handling.ON_SITE.value,
        "GD-2026-030001",
    )
    assert again.reported_at == moment(28, 9, 30) and again.times == entry().times


def test_xlsx_export_is_readable_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    assert (
        tickets_io.write_tickets(path, [entry(), entry(status=TicketStatus.NEW, times={})], "xlsx").rows == 2
    )
    sheet = openpyxl.load_workbook(path).active
    headers = [c.value for c in sheet[1]]
    assert headers == [c.header for c in tickets_io.COLUMNS]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert sheet.column_dimensions["C"].width >= 20  # 标题
    explanation = headers.index("响应时限说明") + 1
    assert sheet.cell(2, explanation).alignment.wrap_text
    reported = sheet.cell(2, headers.index("报告时间") + 1)
    assert reported.value == dt.datetime(2026, 11, 28, 9, 30) and reported.number_format == "yyyy-mm-dd hh:mm"
    assert sheet.cell(2, headers.index("标题") + 1).data_type == "s"  # text, not a formula
    back = tickets_io.read_tickets(path)
    assert [(e.row, e.status) for e in back.entries] == [(2, TicketStatus.PAUSED), (3, TicketStatus.NEW)]
    assert back.entries[0].times == entry().times


def test_an_unwritable_place_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerFileError, match=r"out\.csv"):
        tickets_io.write_tickets(tmp_path / "missing" / "out.csv", [entry()], "csv")
