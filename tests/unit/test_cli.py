"""Tests for the ``hotline`` command (app.cli): window start, demo, ledger import and export.

Commands run through ``app.cli.main([...])`` against a data folder in ``tmp_path``; one test runs the
installed ``hotline`` entry point in a subprocess.
"""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
import types
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from app import cli, i18n
from app.context import AppContext, open_context
from app.errors import StorageError, StorageProblem
from app.services import calls, directory, reference
from app.services.call_import import LedgerEntry, import_calls, resolve_entries
from app.services.calls import CallQuery
from app.storage.models import CALL_KEY_SLOTS, Call, Organisation, OrgKind, OutboxOp, System, call_key_floor
from tests.helpers.factories import Record

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENTRY_POINT = Path(sys.executable).with_name("hotline")

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
    "转交对象",
    "通话时长",
    "值班工程师",
    "服务站点",
]


def row(**cells: object) -> list[object]:
    """A ledger row in HEADER order from the cells given by column name."""
    unknown = set(cells) - set(HEADER)
    assert not unknown, unknown
    return [cells.get(name, "") for name in HEADER]


GOOD_ROWS: list[list[object]] = [
    row(日期="2024-03-05", 时间="09:30", 来电号码="0519-86661234", 来电人="王会计", 单位="常州市教育局",
        系统="财政电子票据", 模块="票据冲红", 类别="咨询", 问题描述="电子票据开具后如何冲红",
        处理结果="在票据冲红中开具红字票据", 处理方式="当场解答", 通话时长="5分钟", 值班工程师="张工"),
    row(日期=dt.datetime(2024, 3, 5), 时间=dt.time(10, 15, 30), 来电号码="0759-2221234", 来电人="李出纳",
        单位="湛江市第二中学", 系统="财政票据管理系统", 模块="核销销毁", 类别="故障报修",
        问题描述="票据核销时提示号段不连续", 处理结果="转二线处理", 处理方式="转接", 转交对象="李工",
        通话时长="3分20秒", 值班工程师="刘工", 服务站点="湛江市财政局"),
    row(日期="2024/3/6", 时间="14:05:09", 来电号码="13912345678", 模块="银行代发", 类别="故障报修",
        问题描述="银行代发文件导出失败提示E1003", 处理方式="需回访", 通话时长="00:03:20", 值班工程师="王工"),
    row(日期="2024年3月7日", 时间="下午2:30", 来电人="赵主任", 类别="需求建议",
        问题描述="希望增加批量打印功能", 处理结果="已记录", 处理方式="需派单",
        通话时长=95, 服务站点="changzhou"),
]  # fmt: skip
BAD_ROWS: list[list[object]] = [
    row(日期="2024-03-08", 来电号码="13912345678", 系统="财务软件", 类别="咨询", 问题描述="UKey登录失败"),
    row(日期="昨天", 来电号码="13912345678", 类别="咨询", 问题描述="ORA-12541"),
    row(日期="2024-03-08", 来电号码="13912345678", 类别="咨询", 问题描述=""),
    row(日期="2024-03-08", 来电号码="13912345678", 类别="咨询", 问题描述="年度结转失败", 处理方式="转接"),
    row(日期="2024-03-08", 来电号码="13912345678", 类别="闲聊", 问题描述="问题"),
]


def run(*args: object) -> int:
    return cli.main([str(a) for a in args])


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[object]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def call_count(data: Path) -> int:
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(Call)) or 0)
    finally:
        ctx.close()


def ledger_of(data: Path) -> list[tuple[object, ...]]:
    """Every call in the folder as the ledger shows it (time to the second, names resolved)."""
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            rows = session.scalars(select(Call)).all()
            names = {
                **{s.id: s.name for s in reference.list_sites(session)},
                **{s.id: s.name for s in reference.list_systems(session, None)},
                **{m.id: m.name for m in reference.list_modules(session, None)},
                **{c.id: c.name for c in reference.list_categories(session)},
            }
            return sorted(
                (
                    c.started_at.astimezone(SHANGHAI).replace(microsecond=0),
                    c.caller_phone,
                    c.caller_key,
                    c.caller_name,
                    c.unit_name,
                    names[c.site_id],
                    names.get(c.system_id or ""),
                    names.get(c.module_id or ""),
                    names.get(c.category_id or ""),
                    c.question,
                    c.answer,
                    c.outcome,
                    c.transferred_to,
                    c.duration_s,
                    c.engineer,
                )
                for c in rows
            )
    finally:
        ctx.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


# --- the window -----------------------------------------------------------------------------------


def test_without_a_command_the_window_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[tuple[str | None, str | None]] = []

    def run_gui(data_dir: str | None, language: str | None) -> int:
        started.append((data_dir, language))
        return 4

    fake = types.ModuleType("ui.app")
    fake.run_gui = run_gui  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ui.app", fake)
    assert run("--data-dir", tmp_path, "--lang", "en") == 4
    assert run() == 4
    assert started == [(str(tmp_path), "en"), (None, None)]


def test_importing_the_command_line_pulls_in_no_qt() -> None:
    probe = "import sys, app.cli; print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'ui'))))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- general behaviour ----------------------------------------------------------------------------


def test_the_installed_entry_point_runs(tmp_path: Path) -> None:
    bogus = tmp_path / "ledger.xlsx"
    bogus.write_bytes(b"\x89PNG not a workbook at all" * 50)
    result = subprocess.run(
        [str(ENTRY_POINT), "import", "calls", str(bogus), "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert result.returncode == 2
    assert "ledger.xlsx" in result.stderr and "不是 Excel 工作簿" in result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run(
        [str(ENTRY_POINT), "demo", "--calls", "25", "--contacts", "5", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "25 条来电记录" in result.stdout


def test_a_reader_that_goes_away_stops_the_output_quietly(tmp_path: Path) -> None:
    """`hotline kb search … | head -1`: the pipe closes before the hits are written."""
    data = tmp_path / "data"
    assert run("--data-dir", data, "demo", "--calls", 60) == 0  # calls about 核销 to find
    process = subprocess.Popen(
        [str(ENTRY_POINT), "--data-dir", str(data), "kb", "search", "核销"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # long before the command has started up and written anything
    stderr = process.stderr.read().decode("utf-8")
    assert process.wait(timeout=120) == 141
    assert stderr == ""  # no traceback, no crash report message
    assert not list((data / "logs" / "crash").glob("*.txt"))


def test_help_is_in_chinese_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--help") == 0
    assert "热线工作台" in capsys.readouterr().out
    assert run("import", "calls", "--help") == 0
    assert "一条也不导入" in capsys.readouterr().out


def test_usage_errors_exit_2(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("demo", "--data-dir", data) == 2  # --calls is required
    assert run("demo", "--calls", "-5", "--data-dir", data) == 2
    assert "-5" in capsys.readouterr().err
    assert run("export", "calls", "-o", data / "x.csv", "--from", "明天") == 2


def test_environment_problems_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x", encoding="utf-8")
    assert run("demo", "--calls", "5", "--data-dir", not_a_folder) == 2
    err = capsys.readouterr().err
    assert StorageError(StorageProblem.CANNOT_OPEN).message in err
    assert "Traceback" not in err


@pytest.mark.allow_warnings  # the crash report is logged as an error
def test_a_bug_writes_a_crash_report_and_exits_3(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app.demo

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(app.demo, "generate_demo", broken)
    assert run("demo", "--calls", "5", "--data-dir", data) == 3
    reports = list((data / "logs" / "crash").glob("crash-*.txt"))
    assert len(reports) == 1
    assert "ZeroDivisionError" in reports[0].read_text(encoding="utf-8")
    err = capsys.readouterr().err
    assert str(reports[0]) in err and "Traceback" not in err


def test_lang_en_prints_english(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "ledger.xlsx"
    bogus.write_bytes(b"nonsense" * 100)
    assert run("import", "calls", bogus, "--data-dir", data, "--lang", "en") == 2
    assert "is not an Excel workbook" in capsys.readouterr().err


def test_hotline_data_dir_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "from-env"
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(folder))
    assert run("demo", "--calls", "12", "--contacts", "3") == 0
    assert call_count(folder) == 12


# --- demo -----------------------------------------------------------------------------------------


def test_demo_creates_searchable_calls_and_reports_progress(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("demo", "--calls", "300", "--contacts", "30", "--data-dir", data) == 0
    captured = capsys.readouterr()
    assert "300 / 300" in captured.err
    assert "300 条来电记录" in captured.out
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Call)) == 300
            assert len(calls.search_keys(session, CallQuery(text="核销"))) > 0
            contact = directory.search_contacts(session, limit=1)[0]
            assert contact.phones and contact.org_name
    finally:
        ctx.close()


# --- import ---------------------------------------------------------------------------------------


def test_bad_rows_are_all_reported_and_nothing_is_imported(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_xlsx(tmp_path / "ledger.xlsx", GOOD_ROWS + BAD_ROWS)
    assert run("import", "calls", path, "--site", "changzhou", "--data-dir", data) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()

    def line(row: int) -> str:
        found = [text for text in lines if text.startswith(f"第 {row} 行：")]
        assert found, f"row {row} not reported in:\n{err}"
        return " ".join(found)

    assert "财务软件" in line(6) and "财政电子票据" in line(6)  # the valid systems are listed
    assert "昨天" in line(7)
    assert "问题描述为空" in line(8)
    assert "转交对象" in line(9)
    assert "闲聊" in line(10) and "咨询" in line(10)
    assert not any(text.startswith(("第 2 行", "第 3 行", "第 4 行", "第 5 行")) for text in lines)
    assert "9 行中有 5 行有问题" in err
    assert call_count(data) == 0
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            assert session.scalar(select(func.count()).where(OutboxOp.table_name == "calls")) == 0
    finally:
        ctx.close()


def test_good_rows_are_imported_searchable_and_queued_for_sync(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            zhanjiang = next(s.id for s in reference.list_sites(session) if s.code == "zhanjiang")
        with ctx.uow() as uow:
            school = directory.save_organisation(
                uow, directory.OrganisationInput("湛江市第二中学", OrgKind.BILL_UNIT.value, zhanjiang)
            )
    finally:
        ctx.close()
    path = write_xlsx(tmp_path / "ledger.xlsx", GOOD_ROWS)
    assert run("import", "calls", path, "--site", "常州市财政局", "--data-dir", data) == 0
    assert "已导入 4 条来电记录" in capsys.readouterr().out
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            saved = {c.question: c for c in session.scalars(select(Call))}
            assert len(saved) == 4
            first = saved["电子票据开具后如何冲红"]
            assert first.started_at == dt.datetime(2024, 3, 5, 9, 30, tzinfo=SHANGHAI)
            assert (first.duration_s, first.engineer, first.unit_name, first.org_id) == (
                300,
                "张工",
                "常州市教育局",
                None,
            )
            transferred = saved["票据核销时提示号段不连续"]
            assert transferred.site_id == zhanjiang and transferred.org_id == school.id
            assert (transferred.outcome, transferred.transferred_to, transferred.duration_s) == (
                "transferred",
                "李工",
                200,
            )
            assert transferred.caller_key == "+867592221234"
            inferred = saved["银行代发文件导出失败提示E1003"]
            system = session.get(System, inferred.system_id)
            assert system is not None and system.name == "工资统发系统"
            assert (inferred.outcome, inferred.duration_s) == ("callback", 200)
            ticket = saved["希望增加批量打印功能"]
            assert ticket.started_at == dt.datetime(2024, 3, 7, 14, 30, tzinfo=SHANGHAI)
            assert (ticket.outcome, ticket.duration_s) == ("ticket", 95)
            assert first.key in calls.search_keys(session, CallQuery(text="冲红"))
            assert inferred.key in calls.search_keys(session, CallQuery(text="E1003"))
            assert transferred.key in calls.search_keys(session, CallQuery(text="2221234"))
            outbox = session.execute(
                select(OutboxOp.row_id, OutboxOp.op).where(OutboxOp.table_name == "calls")
            ).all()
            assert sorted(outbox) == sorted((c.id, "insert") for c in saved.values())
    finally:
        ctx.close()


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_csv_ledgers_import(data: Path, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "ledger.csv", GOOD_ROWS, encoding)
    assert run("import", "calls", path, "--site", "changzhou", "--data-dir", data) == 0
    questions = {row[9] for row in ledger_of(data)}
    assert questions == {str(row[8]) for row in GOOD_ROWS}


def test_dry_run_checks_but_writes_nothing(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_xlsx(tmp_path / "ledger.xlsx", GOOD_ROWS)
    assert run("import", "calls", path, "--site", "changzhou", "--dry-run", "--data-dir", data) == 0
    assert "--dry-run" in capsys.readouterr().out
    assert call_count(data) == 0
    bad = write_xlsx(tmp_path / "bad.xlsx", GOOD_ROWS + BAD_ROWS)
    assert run("import", "calls", bad, "--site", "changzhou", "--dry-run", "--data-dir", data) == 1
    assert call_count(data) == 0


def test_a_non_spreadsheet_exits_2_with_a_clear_message(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "ledger.xlsx"
    bogus.write_bytes(bytes(range(256)) * 10)
    assert run("import", "calls", bogus, "--data-dir", data) == 2
    err = capsys.readouterr().err
    assert "ledger.xlsx" in err and "不是 Excel 工作簿" in err and "Traceback" not in err
    header_only = write_xlsx(tmp_path / "empty.xlsx", [])
    assert run("import", "calls", header_only, "--data-dir", data) == 2
    assert "没有来电记录" in capsys.readouterr().err


def test_an_unknown_site_option_lists_the_sites(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_xlsx(tmp_path / "ledger.xlsx", GOOD_ROWS)
    assert run("import", "calls", path, "--site", "北京", "--data-dir", data) == 2
    err = capsys.readouterr().err
    assert "北京" in err and "常州市财政局" in err and "湛江市财政局" in err


def test_a_module_in_several_systems_needs_its_system(data: Path) -> None:
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            site = next(s for s in reference.list_sites(session) if s.code == "changzhou")
            payroll = next(s for s in reference.list_systems(session, site.id) if s.name == "工资统发系统")
        with ctx.uow() as uow:
            reference.add_module(uow, payroll.id, "票据开具")  # now in two systems of the site
        entry = LedgerEntry(
            row=7,
            started_at=dt.datetime(2024, 3, 5, 9, tzinfo=SHANGHAI),
            caller_phone="13912345678",
            module="票据开具",
            category="咨询",
            question="问题",
        )
        with ctx.db.session() as session:
            plan = resolve_entries(session, [entry], site.id)
            assert plan.inputs == [] and [p.row for p in plan.problems] == [7]
            assert "票据开具" in plan.problems[0].message
            entry.system = "财政电子票据"
            plan = resolve_entries(session, [entry], site.id)
            assert plan.problems == [] and plan.rows == [7]
            assert session.get(Organisation, plan.inputs[0].org_id or "") is None
    finally:
        ctx.close()


def test_calls_at_one_moment_get_keys_as_the_service_gives_them(ctx: AppContext, record: Record) -> None:
    # A ledger without times puts a whole day into one millisecond: more calls than key slots.
    first = record(question="已有的来电")
    moment, site_id = first.started_at, first.site_id
    entries = [
        LedgerEntry(row=n, started_at=moment, caller_name="李出纳", category="咨询", question=f"问题{n}")
        for n in range(2, CALL_KEY_SLOTS + 100)
    ]
    with ctx.uow() as uow:
        plan = resolve_entries(uow.session, entries, site_id)
        assert plan.problems == []
        assert import_calls(uow, plan.inputs) == len(entries)
    base = call_key_floor(moment)
    with ctx.db.session() as session:
        keys = sorted(session.scalars(select(Call.key)))
        assert keys == list(range(base, base + len(entries) + 1))  # the slots, then the next millisecond
        assert len(calls.search_keys(session, CallQuery(text="李出纳"))) == len(entries)
    later = record(question="之后的来电")
    assert later.key == base + len(entries) + 1


# --- export ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_then_import_gives_the_same_calls(
    tmp_path: Path, file_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source, copy = tmp_path / "source", tmp_path / "copy"
    assert run("demo", "--calls", "150", "--contacts", "20", "--months", "2", "--data-dir", source) == 0
    out = tmp_path / f"calls.{file_format}"
    assert run("export", "calls", "--format", file_format, "-o", out, "--data-dir", source) == 0
    assert "已导出 150 条来电记录" in capsys.readouterr().out
    assert run("import", "calls", out, "--data-dir", copy) == 0
    assert ledger_of(copy) == ledger_of(source)


def test_export_keeps_to_the_period_and_site(data: Path, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ledger.xlsx", GOOD_ROWS)
    assert run("import", "calls", path, "--site", "changzhou", "--data-dir", data) == 0
    out = tmp_path / "march5.csv"
    assert (
        run("export", "calls", "-o", out, "--from", "2024-03-05", "--to", "2024/3/5", "--data-dir", data) == 0
    )
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["问题描述"] for r in rows) == ["电子票据开具后如何冲红", "票据核销时提示号段不连续"]
    assert {r["日期"] for r in rows} == {"2024-03-05"}
    out = tmp_path / "zhanjiang.csv"
    assert run("export", "calls", "-o", out, "--site", "zhanjiang", "--data-dir", data) == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["问题描述"], r["时间"], r["处理方式"], r["通话时长"]) for r in rows] == [
        ("票据核销时提示号段不连续", "10:15:30", "转接", "00:03:20")
    ]


def test_export_format_follows_the_file_name(data: Path, tmp_path: Path) -> None:
    assert run("demo", "--calls", "10", "--contacts", "3", "--data-dir", data) == 0
    out = tmp_path / "calls.xlsx"
    assert run("export", "calls", "-o", out, "--data-dir", data) == 0
    assert out.read_bytes().startswith(b"PK")
    assert openpyxl.load_workbook(out).active.max_row == 11


def test_export_into_a_missing_folder_exits_2(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("export", "calls", "-o", tmp_path / "nowhere" / "calls.csv", "--data-dir", data) == 2
    assert "calls.csv" in capsys.readouterr().err


def test_export_refuses_a_reversed_period(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls.csv"
    assert (
        run("export", "calls", "-o", out, "--from", "2024-03-05", "--to", "2024-03-01", "--data-dir", data)
        == 2
    )
    assert not out.exists()


def test_language_stays_as_chosen(data: Path) -> None:
    assert run("demo", "--calls", "3", "--contacts", "2", "--data-dir", data, "--lang", "en") == 0
    assert i18n.current_language() == "en"
