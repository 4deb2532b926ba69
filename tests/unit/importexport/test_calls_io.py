"""Tests for app.importexport.calls_io: reading ledgers (.xlsx/.csv) and writing them back."""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from app.importexport import calls_io, export_file
from app.importexport.calls_io import CellError, LedgerFileError
from app.services.call_import import LedgerEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = [
    "日期",
    "时间",
    "来电号码",
    "来电人",
    "单位",
    "系统",
    "模块",
    "类别",
    "问题描述",
    "处理结果",
    "处理方式",
]


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


# --- cells ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "day", "time"),
    [
        ("2024-03-05", dt.date(2024, 3, 5), None),
        ("2024/3/5", dt.date(2024, 3, 5), None),
        ("2024.3.5", dt.date(2024, 3, 5), None),
        ("2024年3月5日", dt.date(2024, 3, 5), None),
        ("２０２４年３月５日", dt.date(2024, 3, 5), None),  # full-width digits
        ("20240305", dt.date(2024, 3, 5), None),
        ("2024-03-05 14:30", dt.date(2024, 3, 5), dt.time(14, 30)),
        ("2024/3/5 9:05:07", dt.date(2024, 3, 5), dt.time(9, 5, 7)),
        ("2024年3月5日 14时30分", dt.date(2024, 3, 5), dt.time(14, 30)),
        (dt.datetime(2024, 3, 5), dt.date(2024, 3, 5), None),
        (dt.datetime(2024, 3, 5, 8, 15), dt.date(2024, 3, 5), dt.time(8, 15)),
        (dt.date(2024, 3, 5), dt.date(2024, 3, 5), None),
        (45356, dt.date(2024, 3, 5), None),  # Excel serial date
        (45356.5, dt.date(2024, 3, 5), dt.time(12)),
    ],
)
def test_parse_date(value: object, day: dt.date, time: dt.time | None) -> None:
    assert calls_io.parse_date(value) == (day, time)


@pytest.mark.parametrize("value", ["", "明天", "2024-13-01", "2024-02-30", "5/3", True, -3])
def test_parse_date_refuses(value: object) -> None:
    with pytest.raises(CellError, match="2024-03-05"):
        calls_io.parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("14:30", dt.time(14, 30)),
        ("14:30:05", dt.time(14, 30, 5)),
        ("9：05", dt.time(9, 5)),
        ("14时30分", dt.time(14, 30)),
        ("14时30分05秒", dt.time(14, 30, 5)),
        ("下午2:30", dt.time(14, 30)),
        ("2:30 PM", dt.time(14, 30)),
        ("上午9:00", dt.time(9)),
        (dt.time(8, 1, 2), dt.time(8, 1, 2)),
        (dt.datetime(2024, 3, 5, 16, 0, 1), dt.time(16, 0, 1)),
        (dt.timedelta(hours=10, minutes=3), dt.time(10, 3)),
        (0.75, dt.time(18)),
    ],
)
def test_parse_time(value: object, expected: dt.time) -> None:
    assert calls_io.parse_time(value) == expected


@pytest.mark.parametrize("value", ["25:00", "14:61", "午饭后", "14"])
def test_parse_time_refuses(value: str) -> None:
    with pytest.raises(CellError, match="14:30"):
        calls_io.parse_time(value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, 0),
        ("", 0),
        (200, 200),
        (200.4, 200),
        ("200", 200),
        ("200秒", 200),
        ("5分钟", 300),
        ("5分", 300),
        ("3分20秒", 200),
        ("1小时2分", 3720),
        ("00:03:20", 200),
        ("03:20", 200),
        ("1:02:03", 3723),
        ("5 min", 300),
        ("3m20s", 200),
        (dt.time(0, 3, 20), 200),
        (dt.timedelta(minutes=4), 240),
        (200 / 86_400, 200),  # an Excel time in a "General" cell
    ],
)
def test_parse_duration(value: object, seconds: int) -> None:
    assert calls_io.parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["很久", "3分半", "-5", True])
def test_parse_duration_refuses(value: object) -> None:
    with pytest.raises(CellError, match="00:03:20"):
        calls_io.parse_duration(value)


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("", "answered"),
        (None, "answered"),
        ("当场解答", "answered"),
        ("已解答", "answered"),
        ("转接", "transferred"),
        ("已转交二线处理", "transferred"),
        ("需派单", "ticket"),
        ("已登记工单", "ticket"),
        ("需回访", "callback"),
        ("需回电", "callback"),
        ("Transferred", "transferred"),
        ("callback", "callback"),
    ],
)
def test_parse_outcome(value: object, outcome: str) -> None:
    assert calls_io.parse_outcome(value) == outcome


def test_parse_outcome_refuses_and_lists_the_choices() -> None:
    with pytest.raises(CellError, match="当场解答"):
        calls_io.parse_outcome("不知道")


def test_every_exported_outcome_label_reads_back() -> None:
    for outcome, label in calls_io.OUTCOME_TEXT.items():
        assert calls_io.parse_outcome(label) == outcome


def test_cell_text_keeps_phone_numbers_whole() -> None:
    assert calls_io.cell_text(13912345678) == "13912345678"
    assert calls_io.cell_text(13912345678.0) == "13912345678"
    assert calls_io.cell_text("  王会计 ") == "王会计"
    assert calls_io.cell_text("'=SUM(A1)") == "=SUM(A1)"  # our CSV formula guard comes off
    assert calls_io.cell_text("'普通文字") == "'普通文字"


# --- reading --------------------------------------------------------------------------------------


def test_reads_xlsx_with_a_title_row_and_numbers_rows_as_excel_does(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "ledger.xlsx",
        [
            ["2024年热线来电登记表"],
            [*HEADER, "备注"],
            [
                dt.datetime(2024, 3, 5),
                dt.time(9, 30),
                "0759-2221234",
                "王会计",
                "湛江市第二中学",
                "财政票据管理系统",
                "核销销毁",
                "故障报修",
                "票据核销时提示号段不连续",
                "补录作废票据后核销成功",
                "当场解答",
                "x",
            ],
            [],
            ["2024-03-06", "14:05", 13912345678, "李出纳", "", "", "", "咨询", "如何冲红", "", "需回访", ""],
        ],
    )
    ledger = calls_io.read_ledger(path)
    assert ledger.header_row == 2
    assert ledger.ignored_headers == ["备注"]
    assert ledger.problems == []
    first, second = ledger.entries
    assert first.row == 3 and second.row == 5  # the empty row 4 is skipped, numbering is Excel's
    assert first.started_at == dt.datetime(2024, 3, 5, 9, 30, tzinfo=SHANGHAI)
    assert (first.caller_phone, first.system, first.module, first.category) == (
        "0759-2221234",
        "财政票据管理系统",
        "核销销毁",
        "故障报修",
    )
    assert second.caller_phone == "13912345678"
    assert second.outcome == "callback"
    assert second.started_at == dt.datetime(2024, 3, 6, 14, 5, tzinfo=SHANGHAI)


def test_reads_english_headers_in_any_order_and_one_datetime_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ledger.csv",
        [
            ["Question", "Call time", "Phone", "Category", "Duration (s)", "Outcome", "Transferred to"],
            ["UKey login fails", "2024-03-05 08:15:00", "0519-86661234", "故障报修", "95", "转接", "李工"],
        ],
    )
    entry = calls_io.read_ledger(path).entries[0]
    assert entry.started_at == dt.datetime(2024, 3, 5, 8, 15, tzinfo=SHANGHAI)
    assert (entry.question, entry.duration_s, entry.outcome, entry.transferred_to) == (
        "UKey login fails",
        95,
        "transferred",
        "李工",
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_reads_csv_in_the_encodings_excel_writes(tmp_path: Path, encoding: str) -> None:
    delimiter = "\t" if encoding == "utf-16" else ","
    path = write_csv(
        tmp_path / "ledger.csv",
        [
            HEADER,
            [
                "2024-03-05",
                "9:30",
                "0759-2221234",
                "王会计",
                "湛江市第二中学",
                "",
                "",
                "咨询",
                "核销号段不连续",
                "",
                "",
            ],
        ],
        encoding,
        delimiter,
    )
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(codecs.BOM_UTF8)
    entry = calls_io.read_ledger(path).entries[0]
    assert (entry.caller_name, entry.unit_name, entry.question) == (
        "王会计",
        "湛江市第二中学",
        "核销号段不连续",
    )


def test_row_problems_are_collected_with_their_row_numbers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ledger.csv",
        [
            [*HEADER, "通话时长"],
            ["2024-03-05", "9:30", "139", "王", "", "", "", "咨询", "问题一", "", "", "5分钟"],
            ["昨天", "9:30", "139", "王", "", "", "", "咨询", "问题二", "", "", ""],
            ["2024-03-05", "25:00", "139", "王", "", "", "", "咨询", "问题三", "", "不知道", "很久"],
            ["", "", "139", "王", "", "", "", "咨询", "问题四", "", "", ""],
        ],
    )
    ledger = calls_io.read_ledger(path)
    by_row: dict[int, list[str]] = {}
    for problem in ledger.problems:
        by_row.setdefault(problem.row, []).append(problem.message)
    assert sorted(by_row) == [3, 4, 5]
    assert len(by_row[3]) == 1 and "昨天" in by_row[3][0]
    assert len(by_row[4]) == 3  # time, outcome and duration
    assert any("25:00" in m for m in by_row[4]) and any("很久" in m for m in by_row[4])
    assert len(by_row[5]) == 1  # no date
    assert len(ledger.entries) == 4  # every row is kept, so its other problems can be reported too
    assert ledger.entries[0].duration_s == 300


def test_random_bytes_named_xlsx_are_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(LedgerFileError) as info:
        calls_io.read_ledger(path)
    assert "ledger.xlsx" in info.value.message


def test_random_bytes_named_csv_are_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(LedgerFileError):
        calls_io.read_ledger(path)


def test_a_zip_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "ledger.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(LedgerFileError):
        calls_io.read_ledger(path)


def test_old_xls_files_get_advice(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(LedgerFileError, match=r"\.xlsx"):
        calls_io.read_ledger(path)


@pytest.mark.parametrize("content", [b"", b"   \r\n"])
def test_an_empty_file_is_reported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ledger.csv"
    path.write_bytes(content)
    with pytest.raises(LedgerFileError, match=r"ledger\.csv"):
        calls_io.read_ledger(path)


def test_a_file_without_a_header_is_reported(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", [["a", "b"], ["1", "2"]])
    with pytest.raises(LedgerFileError, match="问题描述"):
        calls_io.read_ledger(path)


def test_a_header_missing_required_columns_names_them(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", [["来电号码", "来电人", "问题描述"], ["139", "王", "问题"]])
    with pytest.raises(LedgerFileError) as info:
        calls_io.read_ledger(path)
    assert "日期" in info.value.message and "类别" in info.value.message


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(LedgerFileError, match=r"nothing\.xlsx"):
        calls_io.read_ledger(tmp_path / "nothing.xlsx")


def test_a_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(LedgerFileError):
        calls_io.read_ledger(tmp_path)


# --- writing --------------------------------------------------------------------------------------


def entries() -> list[LedgerEntry]:
    return [
        LedgerEntry(
            row=0,
            started_at=dt.datetime(2024, 3, 5, 1, 30, 7, 123456, tzinfo=dt.UTC),  # 09:30:07 in Shanghai
            caller_phone="+86 139 1234 5678",
            caller_name="王会计",
            unit_name="湛江市第二中学",
            system="财政票据管理系统",
            module="核销销毁",
            category="故障报修",
            question="=SUM(A1) 不是公式\n第二行",
            answer="-已处理",
            outcome="transferred",
            transferred_to="李工",
            duration_s=200,
            engineer="张工",
            site="湛江市财政局",
        ),
        LedgerEntry(
            row=0, started_at=dt.datetime(2024, 3, 6, 8, 0, tzinfo=SHANGHAI), question="问题", category="咨询"
        ),
    ]


def as_read(entry: LedgerEntry) -> tuple[object, ...]:
    assert entry.started_at is not None
    return (
        entry.started_at.astimezone(SHANGHAI).replace(microsecond=0),
        entry.caller_phone,
        entry.caller_name,
        entry.unit_name,
        entry.system,
        entry.module,
        entry.category,
        entry.question,
        entry.answer,
        entry.outcome,
        entry.transferred_to,
        entry.duration_s,
        entry.engineer,
        entry.site,
    )


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_written_ledgers_read_back_the_same(tmp_path: Path, file_format: str) -> None:
    path = tmp_path / f"out.{file_format}"
    result = calls_io.write_ledger(path, entries(), file_format)
    assert result.rows == 2
    ledger = calls_io.read_ledger(path)
    assert ledger.problems == [] and ledger.ignored_headers == []
    assert [as_read(e) for e in ledger.entries] == [as_read(e) for e in entries()]
    assert not list(tmp_path.glob(".out*"))  # no temporary file left behind


def test_csv_has_a_bom_chinese_headers_and_a_formula_guard(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    calls_io.write_ledger(path, entries(), "csv")
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].split(",") == [c.header for c in calls_io.EXPORT_COLUMNS]
    assert "2024-03-05,09:30:07," in text
    assert "'=SUM(A1)" in text and "'-已处理" in text and "'+86 139" in text
    assert "00:03:20" in text and "转接" in text


def test_xlsx_is_readable_in_excel(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    calls_io.write_ledger(path, entries(), "xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet.freeze_panes == "A2"
    headers = [c.value for c in sheet[1]]
    assert headers == [c.header for c in calls_io.EXPORT_COLUMNS]
    assert all(c.font.bold for c in sheet[1])
    question_column = headers.index("问题描述") + 1
    question = sheet.cell(row=2, column=question_column)
    assert question.value == "=SUM(A1) 不是公式\n第二行" and question.data_type == "s"  # text, not a formula
    assert question.alignment.wrap_text
    assert sheet.column_dimensions[openpyxl.utils.get_column_letter(question_column)].width >= 40
    assert sheet.cell(row=2, column=1).is_date


def test_xlsx_cuts_texts_longer_than_a_cell_and_says_so(tmp_path: Path) -> None:
    long_entry = entries()[1]
    long_entry.answer = "很长" * 20_000
    result = calls_io.write_ledger(tmp_path / "out.xlsx", [long_entry], "xlsx")
    assert result.truncated_cells == 1
    answer = calls_io.read_ledger(tmp_path / "out.xlsx").entries[0].answer
    assert len(answer) == export_file.XLSX_MAX_CELL_CHARS


def test_writing_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerFileError, match=r"out\.csv"):
        calls_io.write_ledger(tmp_path / "missing" / "out.csv", entries(), "csv")


def test_a_failed_export_leaves_the_old_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old", encoding="utf-8")

    def failing_entries() -> Iterator[LedgerEntry]:
        yield entries()[0]
        raise RuntimeError("the database went away halfway")

    with pytest.raises(RuntimeError):
        calls_io.write_ledger(path, failing_entries(), "csv")
    assert path.read_text(encoding="utf-8") == "old"
    assert not list(tmp_path.glob(".out*"))


def test_a_locked_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_csv(tmp_path / "ledger.csv", [HEADER])

    def locked(self: Path) -> bytes:
        raise PermissionError(13, "The process cannot access the file because it is being used")

    monkeypatch.setattr(Path, "read_bytes", locked)
    with pytest.raises(LedgerFileError) as info:
        calls_io.read_ledger(path)
    assert "ledger.csv" in info.value.message and "being used" in info.value.message
