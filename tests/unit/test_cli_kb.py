"""Tests for ``hotline kb search|import|export|reindex`` (app.cli, app.services.kb_transfer).

Commands run through ``app.cli.main([...])`` against data folders in ``tmp_path``; what they saved is
read back through the knowledge-base service.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app import cli
from app.context import AppContext, open_context
from app.importexport.kb_io import write_markdown_folder
from app.services import kb, reference
from app.storage.models import KbArticle
from tests.helpers.factories import BASE_TIME, Record
from tests.helpers.kb_files import fixture_records, ukey_folder

HOSTILE = [
    '"', '""', "*", "-", "AND", "OR NOT", "(核销", "核销)", "NEAR(a b)", "title:核销", "[]",
    "'; DROP TABLE kb_articles; --", "^核", "{title}: x", "\\", "　", "😀", "+-*/", "核" * 500,
]  # fmt: skip


def run(*args: object) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_now", lambda: BASE_TIME)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A Markdown folder: the 63 fixture articles, an article with a picture, one for every site."""
    found = ukey_folder(tmp_path / "source")
    write_markdown_folder(fixture_records(), found / "fixture")
    return found


def titles(data: Path) -> dict[str, str | None]:
    """Every live article's title -> its site's code (None: every site)."""
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            codes = {s.id: s.code for s in reference.list_sites(session, include_inactive=True)}
            return {
                a.title: codes[a.site_id] if a.site_id else None
                for a in session.scalars(select(KbArticle).where(KbArticle.deleted.is_(False)))
            }
    finally:
        ctx.close()


def test_an_imported_folder_is_searchable(
    data: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("kb", "import", folder, "--data-dir", data) == cli.EXIT_OK
    assert "已导入 65 篇文章：新建 65 篇，更新 0 篇，0 篇无变化。" in capsys.readouterr().out

    assert run("kb", "search", "ukey", "无法识别", "--data-dir", data) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(" 1. [文章] UKey 插入后无法识别 (已发布 · 财政电子票据) — ")
    assert "【UKey】" in lines[0]
    assert all("\x1b" not in line for line in lines)  # plain text

    assert run("kb", "search", "UKey", "--json", "--limit", 3, "--data-dir", data) == cli.EXIT_OK
    hits = json.loads(capsys.readouterr().out)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert {h["kind"] for h in hits} == {"article"}
    assert all("【" in h["snippet"] or "ukey" in h["title"].lower() for h in hits)


def test_search_shows_tickets_and_calls_and_filters(
    ctx: AppContext, record: Record, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(question="电子票据开具后无法打印，提示打印控件未安装")
    with ctx.uow() as uow:
        data = kb.ArticleInput(title="打印控件安装", symptom="无法打印", status="archived")
        kb.create_article(uow, data, "张工", BASE_TIME)
    assert run("kb", "search", "打印控件", "--data-dir", tmp_path) == cli.EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(" 1. [来电] ")  # the archived article is not searched
    assert "【打印控件】" in out[0]

    assert run("kb", "search", "打印控件", "--all", "--site", "常州市财政局", "--data-dir", tmp_path) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[2] for line in out] == ["[文章]", "[来电]"]
    assert "(已归档)" in out[0]


@pytest.mark.parametrize("query", HOSTILE)
def test_whatever_is_searched_never_fails(data: Path, folder: Path, query: str) -> None:
    assert run("kb", "import", folder, "--data-dir", data) == cli.EXIT_OK
    assert run("kb", "search", "--data-dir", data, "--", query) == cli.EXIT_OK
    assert run("kb", "search", "--json", "--data-dir", data, "--", query) == cli.EXIT_OK


def test_no_matches_is_said_on_stderr(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("kb", "search", "没有这篇文章", "--data-dir", data) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "没有找到与“没有这篇文章”匹配的结果。" in captured.err
    assert run("kb", "search", "nothing", "--json", "--lang", "en", "--data-dir", data) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "No matches for “nothing”." in captured.err


def test_a_bad_file_is_named_and_nothing_is_imported(
    data: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "bad.md").write_text(
        "---\n标题: 坏文章\n系统: 不存在的系统\n站点: changzhou\n---\n\n打不开\n", "utf-8"
    )
    (folder / "broken.md").write_text("---\n标题: 没有结束的文件头\n\n正文\n", encoding="utf-8")
    assert run("kb", "import", folder, "--data-dir", data) == cli.EXIT_BAD_ROWS
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3
    assert err[0].startswith("broken.md：") and err[1].startswith("bad.md：") and "不存在的系统" in err[1]
    assert "因此未导入任何内容" in err[2]
    assert titles(data) == {}


def test_a_dry_run_imports_nothing_and_a_reimport_changes_nothing(
    data: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("kb", "import", folder, "--dry-run", "--data-dir", data) == cli.EXIT_OK
    assert "65 篇将新建" in capsys.readouterr().out
    assert titles(data) == {}
    assert run("kb", "import", folder, "--data-dir", data) == cli.EXIT_OK
    assert run("kb", "import", folder, "--lang", "en", "--data-dir", data) == cli.EXIT_OK
    assert "Imported 65 articles: 0 new, 0 updated, 65 unchanged." in capsys.readouterr().out


def test_articles_without_a_site_take_the_site_option(data: Path, folder: Path) -> None:
    assert run("kb", "import", folder, "--site", "湛江市财政局", "--data-dir", data) == cli.EXIT_OK
    found = titles(data)
    assert found["密码重置"] == "zhanjiang"  # the file names no site
    assert found["UKey 插入后无法识别"] == "changzhou"  # the file names its site


def test_paths_that_cannot_be_imported_exit_2(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("kb", "import", tmp_path / "missing", "--data-dir", data) == cli.EXIT_USER_ERROR
    assert "不存在" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    assert run("kb", "import", tmp_path / "notes.txt", "--data-dir", data) == cli.EXIT_USER_ERROR
    assert "既不是 Markdown 文件夹，也不是 .xlsx 文件" in capsys.readouterr().err


@pytest.mark.parametrize("file_format", ["md", "xlsx"])
def test_an_export_imports_into_another_data_folder(
    data: Path, folder: Path, tmp_path: Path, file_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("kb", "import", folder, "--data-dir", data) == cli.EXIT_OK
    out = tmp_path / ("export.xlsx" if file_format == "xlsx" else "export")
    assert run("kb", "export", "-o", out, "--data-dir", data) == cli.EXIT_OK  # the format from the name
    captured = capsys.readouterr()
    assert f"已导出 65 篇文章到 {out}。" in captured.out
    assert out.is_file() if file_format == "xlsx" else (out / "images").is_dir()
    if file_format == "xlsx":
        assert "有 1 篇文章含有图片" in captured.err
    other = tmp_path / "other"
    assert run("kb", "import", out, "--data-dir", other) == cli.EXIT_OK
    assert titles(other) == titles(data)


def test_export_by_status_and_site(data: Path, folder: Path, tmp_path: Path) -> None:
    assert run("kb", "import", folder, "--data-dir", data) == cli.EXIT_OK
    out = tmp_path / "drafts"
    assert run("kb", "export", "-o", out, "--format", "md", "--status", "draft", "archived", "--site",
               "zhanjiang", "--data-dir", data) == cli.EXIT_OK  # fmt: skip
    assert run("kb", "import", out, "--data-dir", tmp_path / "other") == cli.EXIT_OK
    found = titles(tmp_path / "other")
    everything = titles(data)
    assert found and set(found.values()) <= {"zhanjiang", None}
    assert len(found) < len(everything)


def test_reindex_rebuilds_the_search_index(
    data: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("kb", "import", folder, "--data-dir", data) == cli.EXIT_OK
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            session.connection().exec_driver_sql("DELETE FROM kb_fts")
            session.commit()
    finally:
        ctx.close()
    capsys.readouterr()
    assert run("kb", "search", "ukey", "--data-dir", data) == cli.EXIT_OK
    assert capsys.readouterr().out == ""  # the index was lost
    assert run("kb", "reindex", "--data-dir", data) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert "知识库搜索索引已重建：共 65 篇文章和工单。" in captured.out
    assert "已索引 65 / 65 篇文章和工单" in captured.err
    assert run("kb", "search", "ukey", "--data-dir", data) == cli.EXIT_OK
    assert "UKey 插入后无法识别" in capsys.readouterr().out
