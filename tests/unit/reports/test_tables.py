"""A report's figures as a spreadsheet and as CSV, read back as a user's Excel would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.errors import UserFacingError
from app.reports.tables import Sheet, display_width, write_csv, write_xlsx

LEDGER = Sheet(
    "来电登记台账",
    ["来电时间", "单位", "问题描述", "通话时长(秒)"],
    [
        [dt.datetime(2026, 11, 2, 9, 30), "常州市第一中学", "票据核销失败", 125],
        [dt.datetime(2026, 11, 3, 14, 5), "常州市财政局", "长问题" * 40, 60.5],
    ],
)
TOTALS = Sheet("按系统统计", ["系统", "来电数"], [["财政电子票据", 2]])


def test_the_workbook_has_a_sheet_per_table_a_bold_frozen_header_and_readable_widths(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    write_xlsx([LEDGER, TOTALS], path)
    book = load_workbook(path)
    assert book.sheetnames == ["来电登记台账", "按系统统计"]
    ws = book["来电登记台账"]
    assert [c.value for c in ws[1]] == LEDGER.headers
    assert ws["A1"].font.bold and ws.freeze_panes == "A2"
    assert ws["A2"].value == dt.datetime(2026, 11, 2, 9, 30) and ws["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["D3"].value == 60.5
    assert ws.column_dimensions["B"].width == display_width("常州市第一中学") + 2  # 7 hanzi: 16
    assert ws.column_dimensions["C"].width == 60 and ws["C3"].alignment.wrap_text  # long text wraps


def test_csv_opens_in_excel_with_chinese_intact(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    write_csv([LEDGER, TOTALS], path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[:3] == [
        "来电登记台账",
        "来电时间,单位,问题描述,通话时长(秒)",
        "2026-11-02 09:30,常州市第一中学,票据核销失败,125",
    ]
    assert lines[-4:] == ["", "按系统统计", "系统,来电数", "财政电子票据,2"]


def test_a_refused_write_is_a_clear_message_and_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(UserFacingError):
        write_xlsx([LEDGER], blocker / "report.xlsx")
    assert list(tmp_path.iterdir()) == [blocker]
