"""``hotline report`` for scheduled month-end printouts: the document written where asked, in
Chinese, with its pages counted; the figures to .xlsx/.csv; a missing period or a wrong suffix told
plainly (exit 2), nothing written."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from pypdf import PdfReader

from app import cli
from app.context import open_context
from app.services import calls, reference

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 1, 8, 30, tzinfo=SHANGHAI)


def run(*args: object) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_now", lambda: NOW)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with 3 calls in November 2026 and one on 1 December, at the first site."""
    folder = tmp_path / "data"
    ctx = open_context(str(folder))
    try:
        with ctx.db.session() as session:
            site = reference.list_sites(session)[0]
            category = reference.list_categories(session)[1]
        with ctx.uow() as uow:
            for n, day in enumerate(
                (dt.date(2026, 11, 3), dt.date(2026, 11, 30), dt.date(2026, 11, 30), NOW.date())
            ):
                calls.record_call(
                    uow,
                    calls.CallInput(
                        site_id=site.id,
                        started_at=dt.datetime.combine(day, dt.time(23, 50 - n), SHANGHAI),
                        engineer="张工",
                        caller_phone="0519-86661234",
                        unit_name=f"单位{n + 1}号",
                        category_id=category.id,
                        question="票据核销失败",
                        answer="重启监听",
                    ),
                )
    finally:
        ctx.close()
    return folder


def pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return len(reader.pages), "".join(page.extract_text() for page in reader.pages).replace(" ", "")


def test_the_months_ledger_is_written_as_a_pdf(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "台账.pdf"
    assert run("--data-dir", data, "report", "ledger", "--month", "2026-11", "-o", out) == 0
    pages, text = pdf_text(out)
    assert capsys.readouterr().out.strip() == f"已将来电登记台账写入 {out}：共 {pages} 页。"
    assert "来电登记台账" in text and "2026年11月1日至2026年11月30日" in text
    assert all(f"单位{n}号" in text for n in (1, 2, 3)) and "单位4号" not in text  # 1 December is out
    assert f"第1页/共{pages}页" in text and "打印时间：2026-12-0108:30" in text


def test_the_figures_go_to_a_spreadsheet(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "台账.xlsx"
    assert (
        run("--data-dir", data, "report", "ledger", "--from", "2026-11-30", "--to", "2026-12-01", "-o", out)
        == 0
    )
    rows = list(openpyxl.load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 1 + 3  # the header and the calls of 30 November and 1 December


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["report", "ledger", "-o", "x.pdf"],
            "请给出期间：--month YYYY-MM、--year YYYY，或 --from 和 --to。",
        ),
        (
            ["report", "ledger", "--month", "2026-11", "-o", "x.docx"],
            "输出文件必须以 .pdf、.xlsx 或 .csv 结尾。",
        ),
        (
            ["report", "ledger", "--month", "2026-11", "--year", "2026", "-o", "x.pdf"],
            "期间只能用一种方式给出：--month、--year，或 --from 和 --to。",
        ),
        (
            ["report", "ledger", "--from", "2026-11-30", "--to", "2026-11-01", "-o", "x.pdf"],
            "结束日期早于开始日期。",
        ),
    ],
)
def test_a_wrong_request_is_told_and_writes_nothing(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    assert run("--data-dir", data, *args) == 2
    assert capsys.readouterr().err.strip().endswith(message)
    assert not any(tmp_path.glob("x.*"))


@pytest.mark.parametrize(
    ("kind", "period", "heading"),
    [
        ("summary", ["--month", "2026-11"], "服务月报"),
        ("summary", ["--year", "2026"], "年度服务总结报告"),
        ("faults", ["--month", "2026-11"], "故障记录分析"),
    ],
)
def test_the_service_reports_and_the_fault_analysis(
    data: Path, tmp_path: Path, kind: str, period: list[str], heading: str
) -> None:
    out = tmp_path / "report.pdf"
    assert run("--data-dir", data, "report", kind, *period, "-o", out) == 0
    pages, text = pdf_text(out)
    assert heading in text and f"第1页/共{pages}页" in text


def test_one_calls_record_sheet(data: Path, tmp_path: Path) -> None:
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            from sqlalchemy import select

            from app.storage.models import Call

            call_id = session.scalar(select(Call.id).where(Call.unit_name == "单位2号"))
    finally:
        ctx.close()
    out = tmp_path / "sheet.pdf"
    assert run("--data-dir", data, "report", "call", call_id, "-o", out) == 0
    _pages, text = pdf_text(out)
    assert "来电记录单" in text and "单位2号" in text and "票据核销失败" in text
    assert run("--data-dir", data, "report", "call", "no-such-call", "-o", tmp_path / "x.pdf") == 2
