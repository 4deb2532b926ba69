"""Tests for app.importexport.kb_io: knowledge-base articles as a Markdown folder or an .xlsx sheet."""

from __future__ import annotations

import base64
import datetime as dt
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import i18n
from app.importexport import kb_io
from app.importexport.kb_io import ArticleRecord, KbFileError

# A real 1x1 PNG, a JPEG and a GIF start (the reader trusts the bytes, never the file name).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 16


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    i18n.set_language("en")  # the conftest restores the language afterwards
    yield


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def write_sheet(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def the_problem(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


def sample_records() -> list[ArticleRecord]:
    """Articles that use what real ones do: Chinese, full-width characters, tables, code, images."""
    image = kb_io.image_name(PNG)
    return [
        ArticleRecord(
            title="UKey 插入后无法识别（Ｗｉｎ７）",
            symptom=f'登录页提示“未检测到证书”。\n\n![截图]({kb_io.IMAGE_SCHEME}{image} "提示")',
            cause="驱动未安装；或 USB 口供电不足。",
            solution=(
                "1. 下载驱动：\n\n"
                "| 系统 | 驱动 |\n|------|------|\n| Ｗｉｎ７ | v2.1 |\n\n"
                "```bat\nREM 以管理员身份运行\n## 原因\nsetup.exe /S\n```\n\n"
                "2. 重新插拔，**换后置 USB 口**。"
            ),
            system="电子票据管理系统",
            module="票据开具",
            site="changzhou",
            tags=["UKey", "驱动", "证书"],
            type="fault",
            status="published",
            images={image: PNG},
        ),
        ArticleRecord(
            title='工资统发: 导出报 "E1003" 怎么办?',
            symptom="导出 Excel 时提示 E1003。\n\\## 现象 这一行以井号开头\n    缩进的代码",
            solution="把模板另存为 .xlsx 再导入。",
            tags=[],
            type="faq",
            status="draft",
        ),
        ArticleRecord(
            title="停电应急预案",
            solution="- 通知值班领导\n- 启用备用电源\n\n> 引用：财政局应急预案第 3 条",
            type="emergency",
            status="archived",
        ),
        ArticleRecord(title="操作指引：打印控件安装", symptom="打印预览空白", type="guide"),
        ArticleRecord(title="CON", solution="一个 Windows 保留名的标题", type="notice"),
    ]


# --- labels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("faq", "faq"),
        ("FAQ", "faq"),
        ("常见问题", "faq"),
        ("ｆａｑ", "faq"),
        (" Fault  handling ", "fault"),
        ("故障处理", "fault"),
        ("how-to", "guide"),
        ("操作指引", "guide"),
        ("Emergency Plan", "emergency"),
        ("应急预案", "emergency"),
        ("NOTICE", "notice"),
        ("通知公告", "notice"),
    ],
)
def test_types_are_read_from_codes_and_labels(text: str, code: str) -> None:
    assert kb_io.parse_type(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("draft", "draft"),
        ("草稿", "draft"),
        ("Published", "published"),
        ("已发布", "published"),
        ("ARCHIVED", "archived"),
        ("已 归 档", "archived"),
    ],
)
def test_statuses_are_read_from_codes_and_labels(text: str, code: str) -> None:
    assert kb_io.parse_status(text) == code


def test_unknown_labels_are_none() -> None:
    assert kb_io.parse_type("随便") is None
    assert kb_io.parse_status("") is None


def test_labels_are_translated_and_match_what_files_say() -> None:
    assert kb_io.type_label("guide") == "How-to"
    i18n.set_language("zh_CN")
    for code in kb_io.ARTICLE_TYPES:
        assert kb_io.type_label(code) == kb_io.TYPE_TEXT[code]
    for code in kb_io.ARTICLE_STATUSES:
        assert kb_io.status_label(code) == kb_io.STATUS_TEXT[code]
    assert kb_io.type_label("unknown") == "unknown"


def test_images_are_known_by_their_bytes() -> None:
    assert (kb_io.image_extension(PNG), kb_io.image_mime(PNG)) == ("png", "image/png")
    assert (kb_io.image_extension(JPEG), kb_io.image_mime(JPEG)) == ("jpg", "image/jpeg")
    assert kb_io.image_extension(GIF) == "gif"
    assert kb_io.image_extension(b"<svg/>") is None
    assert kb_io.image_name(PNG) == kb_io.image_name(bytes(PNG))
    assert kb_io.image_name(PNG) != kb_io.image_name(GIF)


# --- round trips ----------------------------------------------------------------------------------


def test_markdown_round_trip(tmp_path: Path) -> None:
    records = sample_records()
    out = tmp_path / "export"
    assert kb_io.write_markdown_folder(records, out) == len(records)

    result = kb_io.read_markdown_folder(out)
    assert result.problems == []
    by_title = {r.title: r for r in result.records}
    assert [by_title[r.title] for r in records] == records
    image = kb_io.image_name(PNG)
    assert (out / "images" / f"{image}.png").read_bytes() == PNG
    assert f"](images/{image}.png" in (out / "UKey 插入后无法识别（Ｗｉｎ７）.md").read_text(encoding="utf-8")
    assert by_title["CON"].source == "_CON.md"


def test_xlsx_round_trip_without_images(tmp_path: Path) -> None:
    records = [r for r in sample_records() if not r.images]
    path = tmp_path / "知识库.xlsx"
    kb_io.write_xlsx(records, path)

    result = kb_io.read_xlsx(path)
    assert result.problems == []
    assert result.records == records
    assert [r.source for r in result.records] == ["row 2", "row 3", "row 4", "row 5"]


def test_xlsx_keeps_image_references_as_text(tmp_path: Path) -> None:
    record = sample_records()[0]
    path = tmp_path / "out.xlsx"
    kb_io.write_xlsx([record], path)
    (read,) = kb_io.read_xlsx(path).records
    assert read.images == {}
    assert read.symptom == record.symptom  # still kbimg:<name>


def test_xlsx_is_readable_in_excel(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    kb_io.write_xlsx([ArticleRecord(title="=1+1", solution="@SUM(A1)")], path)
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]] == [c.header for c in kb_io.COLUMNS]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["J"].width == 60
    assert sheet["J2"].alignment.wrap_text
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("=1+1", "s")  # text, not a formula
    assert sheet["B2"].value == "常见问题"
    assert sheet["C2"].value == "已发布"


def test_written_markdown_is_plain_to_read(tmp_path: Path) -> None:
    record = ArticleRecord(title="a", symptom="s", cause="c", solution="x", tags=["t1", "t2"], type="fault")
    kb_io.write_markdown_folder([record], tmp_path / "out")
    assert (tmp_path / "out" / "a.md").read_text(encoding="utf-8") == (
        "---\n标题: a\n类型: 故障处理\n状态: 已发布\n系统:\n模块:\n站点:\n标签: t1, t2\n---\n\n# a\n\n"
        "## 现象\n\ns\n\n## 原因\n\nc\n\n## 解决办法\n\nx\n"
    )


def test_images_with_foreign_names_are_written_with_an_extension(tmp_path: Path) -> None:
    records = [
        ArticleRecord(title="a", solution="![](kbimg:1f0e-uuid)", images={"1f0e-uuid": JPEG}),
        ArticleRecord(title="b", solution="![](kbimg:shot.gif) ![](kbimg:gone)", images={"shot.gif": GIF}),
        ArticleRecord(title="c", solution="![](kbimg:1f0e-uuid)", images={"1f0e-uuid": PNG}),  # other bytes
        ArticleRecord(title="d", solution="![](kbimg:1f0e-uuid.png)", images={"1f0e-uuid.png": PNG + b"2"}),
    ]
    kb_io.write_markdown_folder(records, tmp_path / "out")
    images = tmp_path / "out" / "images"
    assert sorted(p.name for p in images.iterdir()) == [
        "1f0e-uuid-2.png",
        "1f0e-uuid.jpg",
        "1f0e-uuid.png",
        "shot.gif",
    ]
    assert "![](images/shot.gif) ![](kbimg:gone)" in (tmp_path / "out" / "b.md").read_text(encoding="utf-8")
    read = kb_io.read_markdown_folder(tmp_path / "out")
    assert read.problems == []
    assert {r.title: list(r.images.values()) for r in read.records} == {
        "a": [JPEG],
        "b": [GIF],
        "c": [PNG],
        "d": [PNG + b"2"],
    }


# --- reading Markdown written by people -----------------------------------------------------------


def test_reads_front_matter_in_english_or_chinese_and_section_aliases(tmp_path: Path) -> None:
    write(
        tmp_path,
        "faq/ukey.md",
        '---\ntitle: "UKey: 无法识别"\nType: 故障处理\nstatus: draft\nsystem: 电子票据\nmodule: 开具\n'
        "site: changzhou\ntags: [UKey, '驱动']\ndate: 2024-03-05\nauthor: 张工\n---\n\n"
        "# UKey: 无法识别\n\n## Symptom\n无反应\n\n## 原因分析：\n驱动\n\n## 处理办法\n重装\n",
    )
    write(
        tmp_path,
        "guide.md",
        "---\n标题：打印\n类型：操作指引\n标签：\n  - 打印\n  - 控件、预览\n---\n"
        "## 问题\n空白\n## 解决方法\n装控件\n",
    )
    result = kb_io.read_markdown_folder(tmp_path)
    assert result.problems == []
    assert result.records == [
        ArticleRecord(
            title="UKey: 无法识别",
            symptom="无反应",
            cause="驱动",
            solution="重装",
            system="电子票据",
            module="开具",
            site="changzhou",
            tags=["UKey", "驱动"],
            type="fault",
            status="draft",
        ),
        ArticleRecord(
            title="打印", symptom="空白", solution="装控件", tags=["打印", "控件", "预览"], type="guide"
        ),
    ]
    assert [r.source for r in result.records] == ["faq/ukey.md", "guide.md"]


def test_title_from_heading_else_file_name_and_text_without_sections(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "说明在前\n\n# 标题来自一级标题\n\n第二段\n")
    write(tmp_path, "b 文件名.md", "```sh\n# not a title\n```\n只有正文")
    write(tmp_path, "c.md", "# 有章节\n开头的话\n\n## 现象\n现象正文\n## 解决办法\n办法\n")
    records = kb_io.read_markdown_folder(tmp_path).records
    assert [(r.title, r.symptom, r.solution) for r in records] == [
        ("标题来自一级标题", "", "说明在前\n\n\n第二段"),
        ("b 文件名", "", "```sh\n# not a title\n```\n只有正文"),
        ("有章节", "开头的话\n\n现象正文", "办法"),
    ]


def test_a_heading_that_differs_from_the_front_matter_title_stays(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntitle: 甲\n---\n# 乙\n\n## 解决办法\n办法\n")
    (record,) = kb_io.read_markdown_folder(tmp_path).records
    assert (record.title, record.symptom) == ("甲", "# 乙")


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("gb18030", b""), ("gbk", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe")],
)
def test_reads_the_encodings_windows_writes(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = "---\r\n标题: 国库集中支付\r\n类型: 常见问题\r\n---\r\n## 现象\r\n额度不足（２０２４）\r\n"
    (tmp_path / "gbk.md").write_bytes(bom + text.encode(encoding))
    result = kb_io.read_markdown_folder(tmp_path)
    assert result.problems == []
    assert result.records == [ArticleRecord(title="国库集中支付", symptom="额度不足（２０２４）")]


def test_images_are_read_from_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a b.png").write_bytes(PNG)
    (tmp_path / "pics" / "c.jpg").write_bytes(JPEG)
    write(
        tmp_path,
        "sub/a.md",
        '## 解决办法\n![一](../pics/a%20b.png) ![二](<../pics/a b.png> "t") ![三](..\\pics\\c.jpg)\n'
        "![远程](https://example.com/x.png) ![库](kbimg:abc)\n"
        "```\n![代码里的](missing.png)\n```\n",
    )
    result = kb_io.read_markdown_folder(tmp_path)
    assert result.problems == []
    (record,) = result.records
    png, jpg = kb_io.image_name(PNG), kb_io.image_name(JPEG)
    assert record.images == {png: PNG, jpg: JPEG}
    assert record.solution == (
        f'![一](kbimg:{png}) ![二](kbimg:{png} "t") ![三](kbimg:{jpg})\n'
        "![远程](https://example.com/x.png) ![库](kbimg:abc)\n```\n![代码里的](missing.png)\n```"
    )


def test_hidden_folders_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, ".obsidian/x.md", "junk")
    write(tmp_path, "a.md", "正文")
    assert [r.source for r in kb_io.read_markdown_folder(tmp_path).records] == ["a.md"]


# --- problems -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\ntype: 随便\n---\n正文", "a.md: Unknown type (类型) “随便”; use 常见问题、故障处理"),
        ("---\nstatus: 待定\n---\n正文", "a.md: Unknown status (状态) “待定”; use 草稿、已发布、已归档."),
        ("---\ntitle: x\n---\n## 原因\n只有原因", "a.md: Both the symptom (现象) and the solution"),
        ("---\ntitle: x\n正文", "a.md: The front matter that starts with “---” on line 1 is not closed"),
        ("---\ntitle x\n---\n正文", "a.md: Line 2 of the front matter is not “key: value”: title x"),
        (f"---\ntitle: {'长' * 201}\n---\n正文", "a.md: The title is 201 characters long; at most 200"),
        ("![图](missing.png)", "a.md: The image “missing.png” does not exist."),
        ("![图](../outside.png)", "a.md: The image “../outside.png” is outside the imported folder."),
        ("![图](sub/../../outside.png)", "a.md: The image “sub/../../outside.png” is outside"),
        ("![图](/etc/passwd)", "a.md: The image “/etc/passwd” is given by an absolute path"),
        ("![图](C:\\Windows\\x.png)", "a.md: The image “C:\\Windows\\x.png” is given by an absolute path"),
        ("![图](file:///etc/passwd)", "a.md: The image “file:///etc/passwd” is given by an absolute path"),
        ("![图](fake.png)", "a.md: The image “fake.png” is not a PNG, JPEG or GIF picture."),
    ],
)
def test_each_problem_names_the_file(tmp_path: Path, text: str, expected: str) -> None:
    folder = tmp_path / "import"
    write(folder, "a.md", text)
    (folder / "fake.png").write_text("<svg/>", encoding="utf-8")
    (tmp_path / "outside.png").write_bytes(PNG)
    assert the_problem(kb_io.read_markdown_folder(folder).problems).startswith(expected)


def test_problems_are_translated(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntype: 随便\n---\n正文")
    i18n.set_language("zh_CN")
    assert the_problem(kb_io.read_markdown_folder(tmp_path).problems) == (
        "a.md：无法识别的类型“随便”，请填写 常见问题、故障处理、操作指引、应急预案、通知公告。"
    )


def test_an_empty_title_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, " .md", "正文")
    assert the_problem(kb_io.read_markdown_folder(tmp_path).problems) == " .md: The title (标题) is empty."


def test_duplicate_titles_name_both_files(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "# UKey 问题\n正文")
    write(tmp_path, "b/c.md", "---\ntitle: ukey  问题\n---\n正文")
    assert the_problem(kb_io.read_markdown_folder(tmp_path).problems) == (
        "b/c.md: The title “ukey  问题” is also used by a.md."
    )


def test_too_large_files_and_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "big.md", "长" * 700_000 + "\n")  # 2.1 MB of UTF-8
    monkeypatch.setattr(kb_io, "MAX_IMAGE_BYTES", 10)
    (tmp_path / "a.png").write_bytes(PNG)
    write(tmp_path, "img.md", "![图](a.png)")
    assert kb_io.read_markdown_folder(tmp_path).problems == [
        "big.md: The file is too large (2.0 MB); at most 2 MB are allowed.",
        "img.md: The image “a.png” is too large (0.0 MB); at most 0 MB are allowed.",
    ]


def test_a_symlinked_image_pointing_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(PNG)
    folder = tmp_path / "import"
    folder.mkdir()
    try:
        (folder / "link.png").symlink_to(tmp_path / "secret.png")
    except OSError:
        pytest.skip("symbolic links are not allowed here")
    write(folder, "a.md", "![图](link.png)")
    assert the_problem(kb_io.read_markdown_folder(folder).problems) == (
        "a.md: The image “link.png” is outside the imported folder."
    )


def test_binary_junk_named_md_is_not_text(tmp_path: Path) -> None:
    (tmp_path / "junk.md").write_bytes(os.urandom(4096) + b"\x00\xff")
    (tmp_path / "ctrl.md").write_bytes(b"abc\x01\x02def")
    (tmp_path / "bad.md").write_bytes(b"\xff\xfe\xfd"[1:] * 3 + b"\x80")
    assert kb_io.read_markdown_folder(tmp_path).problems == [
        "bad.md: The file is neither UTF-8 nor GB18030 (GBK) text; save it as UTF-8.",
        "ctrl.md: This is not a text file (it holds binary data).",
        "junk.md: This is not a text file (it holds binary data).",
    ]


def test_a_folder_that_is_missing_or_empty_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert kb_io.read_markdown_folder(missing).problems == [f"{missing} is not a folder."]
    assert kb_io.read_markdown_folder(tmp_path).problems == [
        f"There is no Markdown (.md) file in {tmp_path}."
    ]


# --- reading a sheet ------------------------------------------------------------------------------


def test_reads_a_sheet_with_a_title_row_english_headers_and_any_cells(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "kb.xlsx",
        [
            ["运维知识库"],
            [],
            ["Solution", "Title", "Tags", "备注", "Type", "Status", "Symptom（必填）"],
            ["重启", "问题一", "a，b、c", "ignored", "", None, "现象"],
            [None, None, None, None, None],
            [12.0, 2024, None, None, "FAQ", "已发布", dt.datetime(2024, 3, 5)],
            [0.5, "时间", None, None, None, None, dt.datetime(2024, 3, 5, 14, 30)],
            [True, "布尔", None, None, None, None, dt.time(9, 5)],
        ],
    )
    result = kb_io.read_xlsx(path)
    assert result.problems == []
    assert [(r.source, r.title, r.symptom, r.solution, r.tags) for r in result.records] == [
        ("row 4", "问题一", "现象", "重启", ["a", "b", "c"]),
        ("row 6", "2024", "2024-03-05", "12", []),
        ("row 7", "时间", "2024-03-05 14:30", "0.5", []),
        ("row 8", "布尔", "09:05", "TRUE", []),
    ]


def test_sheet_row_problems_name_the_row(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "kb.xlsx",
        [
            ["标题", "类型", "状态", "现象", "解决办法"],
            ["甲", "随便", "", "现象", ""],
            ["", "", "", "现象", ""],
            ["乙", "", "", "", ""],
            ["甲", "", "乱写", "", "办法"],
        ],
    )
    assert kb_io.read_xlsx(path).problems == [
        "row 2: Unknown type (类型) “随便”; use 常见问题、故障处理、操作指引、应急预案、通知公告.",
        "row 3: The title (标题) is empty.",
        "row 4: Both the symptom (现象) and the solution (解决办法) are empty.",
        "row 5: Unknown status (状态) “乱写”; use 草稿、已发布、已归档.",
        "row 5: The title “甲” is also used by row 2.",
    ]


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["标题", "原因", "类型"], "现象/解决办法"),
        (["现象", "解决办法"], "标题"),
        (["类型", "原因"], "标题、现象/解决办法"),
    ],
)
def test_a_missing_required_column_is_one_problem(tmp_path: Path, header: list[object], missing: str) -> None:
    path = write_sheet(tmp_path / "kb.xlsx", [header, ["x", "y", "z"], ["x", "y", "z"]])
    assert kb_io.read_xlsx(path).problems == [f"The header row (row 1) of {path} has no column {missing}."]


def test_a_sheet_without_a_header_is_one_problem(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "kb.xlsx", [["随便", "写点"], ["什么", "东西"]])
    assert the_problem(kb_io.read_xlsx(path).problems).startswith(f"No header row found in {path}")


def test_files_that_are_no_workbook_are_one_problem_never_an_exception(tmp_path: Path) -> None:
    text = write(tmp_path, "text.xlsx", "标题,现象\n甲,乙\n")
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04" + os.urandom(2000))
    foreign = tmp_path / "foreign.xlsx"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    broken = tmp_path / "broken.xlsx"
    write_sheet(broken, [["标题", "现象"], ["a", "b"]])
    with zipfile.ZipFile(broken) as source, zipfile.ZipFile(tmp_path / "b2.xlsx", "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[:40] if item.filename.endswith("sheet1.xml") else data)
    for path in (text, junk, foreign, tmp_path / "b2.xlsx"):
        assert kb_io.read_xlsx(path).problems == [
            f"{path} is not an Excel workbook (.xlsx), or it is damaged."
        ], path


def test_encrypted_or_old_workbooks_and_missing_files_get_advice(tmp_path: Path) -> None:
    ole = tmp_path / "secret.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    assert the_problem(kb_io.read_xlsx(ole).problems).startswith(f"{ole} is password-protected or an old")
    assert kb_io.read_xlsx(tmp_path / "nope.xlsx").problems == [
        f"The file {tmp_path / 'nope.xlsx'} does not exist."
    ]
    assert kb_io.read_xlsx(tmp_path).problems == [f"{tmp_path} is a folder, not a file."]


# --- writing --------------------------------------------------------------------------------------


def test_file_names_are_safe_for_windows_and_unique(tmp_path: Path) -> None:
    titles = ['a\\b/c:d*e?f"g<h>i|j', "同名", "同名", "同 名 ", "nul.txt", "...", "长" * 300]
    records = [ArticleRecord(title=t, solution="x") for t in titles]
    kb_io.write_markdown_folder(records, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(
        [
            "a＼b／c：d＊e？f＂g＜h＞i｜j.md",
            "同名.md",
            "同名 (2).md",
            "同 名.md",
            "_nul.txt.md",
            "article.md",
            "长" * 60 + ".md",  # 180 bytes of UTF-8
        ]
    )


def test_export_needs_a_new_or_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(KbFileError, match="is not empty"):
        kb_io.write_markdown_folder([ArticleRecord(title="a", solution="x")], tmp_path / "full")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(KbFileError, match="is a file"):
        kb_io.write_markdown_folder([], tmp_path / "file")
    (tmp_path / "empty").mkdir()
    assert kb_io.write_markdown_folder([ArticleRecord(title="a", solution="x")], tmp_path / "empty") == 1
    assert kb_io.write_markdown_folder([], tmp_path / "deep" / "new") == 0
    assert (tmp_path / "deep" / "new").is_dir()


def test_a_failed_markdown_export_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def records() -> Iterator[ArticleRecord]:
        yield ArticleRecord(title="a", solution="x")
        raise OSError(28, "No space left on device")

    with pytest.raises(KbFileError, match="No space left"):
        kb_io.write_markdown_folder(records(), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_xlsx_export_leaves_the_old_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "kb.xlsx"
    path.write_bytes(b"old")
    with pytest.raises(KbFileError, match="longer than an Excel cell"):
        kb_io.write_xlsx([ArticleRecord(title="a", solution="x" * 40_000)], path)
    assert path.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [path]


def test_writing_an_xlsx_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KbFileError, match="Cannot write"):
        kb_io.write_xlsx([], tmp_path / "nope" / "kb.xlsx")


# --- property: what is written reads back the same ------------------------------------------------


def tidy_body(text: str) -> str:
    """The form the readers give a text: no blank lines before it, no white space after it."""
    lines = text.rstrip().split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


# Any character a person could type (no control characters; XML cannot hold U+FFFE/U+FFFF).
_CHARS = st.characters(exclude_categories=("Cc", "Cs", "Cn"))
_SNIPPETS = st.sampled_from(
    ["## 原因", "\\## 现象", "##解决办法：", "```", "~~~", "# 标题", "---", "| a | b |", "![图](kbimg:abc)"]
)
_LINES = st.lists(st.one_of(st.text(_CHARS, max_size=30), _SNIPPETS), max_size=8)
_BODIES = _LINES.map("\n".join).map(tidy_body)
_TITLES = st.text(_CHARS, min_size=1, max_size=40).map(str.strip).filter(bool)
_WORDS = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8)
_RECORDS = st.builds(
    ArticleRecord,
    title=_TITLES,
    symptom=_BODIES,
    cause=_BODIES,
    solution=_BODIES.filter(bool),
    system=st.one_of(st.just(""), _TITLES),
    module=st.one_of(st.just(""), _TITLES),
    site=st.one_of(st.just(""), _WORDS),
    tags=st.lists(_WORDS, unique=True, max_size=4),
    type=st.sampled_from(kb_io.ARTICLE_TYPES),
    status=st.sampled_from(kb_io.ARTICLE_STATUSES),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_RECORDS)
def test_any_article_reads_back_the_same(record: ArticleRecord) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        kb_io.write_markdown_folder([record], folder / "md")
        from_markdown = kb_io.read_markdown_folder(folder / "md")
        assert from_markdown.problems == []
        assert from_markdown.records == [record]

        kb_io.write_xlsx([record], folder / "kb.xlsx")
        from_sheet = kb_io.read_xlsx(folder / "kb.xlsx")
        assert from_sheet.problems == []
        assert from_sheet.records == [record]
