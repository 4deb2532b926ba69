"""An article printout, read back as a reader would: the PDF's text, its pages, and the pixels on them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from app import i18n
from app.reports.article import ArticleDocument, render_article
from tests.helpers.pdf_pixels import first_page_ink

PNG_1x1_RED = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    i18n.set_language("zh_CN")  # the page furniture (页码, 打印时间) is in the reader's language
    yield
    i18n.set_language("en")


def _document(solution: str = "1. 打开【票据核销】菜单\n2. 选择单位后点击**核销**") -> ArticleDocument:
    return ArticleDocument(
        title="票据核销时提示 ORA-12541：TNS 无监听程序",
        meta=[
            ("类型", "故障处理"),
            ("系统", "财政票据管理系统"),
            ("模块", "票据核销"),
            ("标签", "核销, 数据库"),
        ],
        sections=[
            ("现象", "单位在核销票据时弹出 ORA-12541 错误，无法继续。\n\n![截图](kbimg:pic1)"),
            ("原因", "数据库监听服务未启动。"),
            ("解决办法", solution),
            ("备注", "   "),  # an empty section is left out
        ],
        images={"pic1": PNG_1x1_RED},
        letterhead="常州市财政局 · 运维知识库",
        printed_at="2026-12-01 09:30",
    )


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


def test_the_article_prints_its_chinese_text_facts_and_page_numbers() -> None:
    out = io.BytesIO()
    pages = render_article(_document(), out)
    count, text = _text(out.getvalue())
    flat = text.replace(" ", "").replace("\n", "")
    assert pages == count == 1
    assert "票据核销时提示ORA-12541" in flat
    for expected in ("财政票据管理系统", "故障处理", "数据库监听服务未启动", "打开【票据核销】菜单"):
        assert expected in flat, expected
    assert "常州市财政局" in flat  # the letterhead
    assert "第1页/共1页" in flat
    assert "备注" not in flat  # the blank section does not print a bare heading
    assert "2026-12-0109:30" in flat


def test_a_long_solution_runs_onto_more_pages_numbered_of_the_total() -> None:
    step = "{n}. 第{n}步：在【单位信息维护】中核对开票点编码并保存。"
    long_solution = "\n".join(step.format(n=n) for n in range(1, 160))
    out = io.BytesIO()
    pages = render_article(_document(long_solution), out)
    count, text = _text(out.getvalue())
    flat = text.replace(" ", "").replace("\n", "")
    assert pages == count >= 3
    assert f"第{count}页/共{count}页" in flat
    assert "第159步" in flat


@pytest.mark.parametrize(
    "hostile",
    [
        "<b>not bold</b> & <script>",
        "```\nunclosed code",
        "| a | b |\n|--|",
        "x" * 3000,
        "\x00\x07 控制字符 🙂",
    ],
)
def test_any_text_renders_without_error(hostile: str) -> None:
    out = io.BytesIO()
    assert render_article(_document(hostile), out) >= 1
    assert out.getvalue().startswith(b"%PDF")


def test_the_page_is_not_blank_when_rendered(tmp_path: Path) -> None:
    pdf = tmp_path / "article.pdf"
    render_article(_document(), pdf)
    assert 0.005 < first_page_ink(pdf, tmp_path) < 0.5  # ink on the page, not a black page
