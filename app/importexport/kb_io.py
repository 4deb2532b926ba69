"""Knowledge-base article files (运维知识库): a folder of Markdown files, or one .xlsx sheet.

Pure functions over files, no database: readers turn files into ``ArticleRecord``s and collect every
problem as a translated sentence naming the file or row (``ReadResult``); the caller imports nothing
while there are problems. Readers never raise for what is in the files, writers raise ``KbFileError``
(a ``UserFacingError``) when the disk refuses, and leave nothing half-written.

A Markdown folder holds one article per ``*.md`` file (subfolders included, hidden ones skipped)::

    ---
    标题: UKey 插入后无法识别
    类型: 故障处理
    状态: 已发布
    系统: 电子票据管理系统
    模块: 票据开具
    站点: changzhou
    标签: UKey, 驱动, 证书
    ---
    # UKey 插入后无法识别

    ## 现象
    ...
    ## 原因
    ...
    ## 解决办法
    ...

Front-matter keys may be English (title, type, status, system, module, site, tags) or Chinese;
unknown keys (date, author ...) are ignored. 类型 is 常见问题 故障处理 操作指引 应急预案 通知公告 (or
faq, fault, guide, emergency, notice; default 常见问题), 状态 is 草稿 已发布 已归档 (or draft,
published, archived; default 已发布), in any case or width. Tags are separated by , ， 、 ; or
written as a ``[list]`` or as ``- item`` lines; a value in quotes is unquoted (JSON/YAML style).

Section headings (level 2) may also be 问题/问题现象/Symptom, 原因分析/Cause, 解决方法/处理办法/
解决方案/Solution; a second section of the same name continues the first. Section headings are
recognised on every line, also inside a code block; a body line that would read as one is written
as ``\\## 原因`` and read back without that backslash. The title is the front matter's, else the
first ``# heading`` outside code blocks (which is then not part of the text), else the file name.
Text before the first section is the solution when the file has no section at all, otherwise it goes
in front of the symptom.

Images ``![alt](path "title")`` outside fenced code blocks, with a path relative to the Markdown file
(``..`` allowed while it stays inside the imported folder; ``%20`` and backslashes understood), are
read into ``ArticleRecord.images`` (PNG, JPEG or GIF by their bytes, at most 5 MB) and the reference
becomes ``kbimg:<name>``; the name is ``image_name(data)``, a content hash, so identical pictures get
the same name. http(s):, data: and kbimg: references are left as they are. A Markdown file may hold
at most 2 MB, in UTF-8 (with or without BOM), GB18030/GBK or UTF-16 with BOM.

Export writes ``<title>.md`` files (UTF-8, no BOM, file names safe for Windows) with Chinese keys
and labels, and the pictures as ``images/<name>.<ext>``. The .xlsx sheet has one row per article,
columns ``COLUMNS`` (the same names as the front matter and sections); images are never embedded in
a sheet. What either writer writes, its reader reads back as equal records (``source`` aside; image
names equal when they were ``image_name()`` names, which is what the reader gives).
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from app.errors import UserFacingError
from app.i18n import N_, _
from app.importexport.calls_io import header_key
from app.importexport.export_file import XLSX_MAX_CELL_CHARS, ExportFile, write_export

ARTICLE_TYPES = ("faq", "fault", "guide", "emergency", "notice")
ARTICLE_STATUSES = ("draft", "published", "archived")
DEFAULT_TYPE = "faq"
DEFAULT_STATUS = "published"

# Shown in the UI through type_label()/status_label().
TYPE_LABELS: dict[str, str] = {
    "faq": N_("FAQ"),
    "fault": N_("Fault handling"),
    "guide": N_("How-to"),
    "emergency": N_("Emergency plan"),
    "notice": N_("Notice"),
}
STATUS_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "published": N_("Published"),
    "archived": N_("Archived"),
}
# What the files say, whatever the UI language (the files are shared between colleagues).
TYPE_TEXT: dict[str, str] = {
    "faq": "常见问题",
    "fault": "故障处理",
    "guide": "操作指引",
    "emergency": "应急预案",
    "notice": "通知公告",
}
STATUS_TEXT: dict[str, str] = {"draft": "草稿", "published": "已发布", "archived": "已归档"}

MAX_TEXT_BYTES = 2 * 1024 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_TITLE_CHARS = 200  # kb_articles.title
HEADER_SEARCH_ROWS = 10
IMAGE_SCHEME = "kbimg:"


class KbFileError(UserFacingError):
    """An export that could not be written (disk full, read-only folder, folder not empty ...)."""


@dataclass(slots=True)
class ArticleRecord:
    """One article as the files hold it. ``source`` does not take part in ``==``."""

    title: str
    symptom: str = ""
    cause: str = ""
    solution: str = ""  # the three texts are Markdown
    system: str = ""  # a system's name, "" for none
    module: str = ""  # a module's name
    site: str = ""  # a site's name or code, "" for every site
    tags: list[str] = field(default_factory=list)
    type: str = DEFAULT_TYPE  # one of ARTICLE_TYPES
    status: str = DEFAULT_STATUS  # one of ARTICLE_STATUSES
    images: dict[str, bytes] = field(default_factory=dict)  # name -> bytes, referenced as kbimg:<name>
    source: str = field(default="", compare=False)  # "faq/ukey.md", "第 12 行"


@dataclass(slots=True)
class ReadResult:
    """What a file or folder holds. While ``problems`` is not empty, import nothing: ``records`` then
    holds what could be read (for a preview), not necessarily every article."""

    records: list[ArticleRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    header: str  # what export writes (sheet header, front-matter key, section heading)
    aliases: tuple[str, ...] = ()
    width: int = 12  # xlsx column width, in characters
    wrap: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("title", "标题", ("title", "题目", "文章标题", "名称"), 36, True),
    Column("type", "类型", ("type", "文章类型", "kind"), 10),
    Column("status", "状态", ("status", "发布状态"), 8),
    Column("system", "系统", ("system", "系统名称", "所属系统"), 20),
    Column("module", "模块", ("module", "功能模块"), 14),
    Column("site", "站点", ("site", "服务站点"), 12),
    Column("tags", "标签", ("tags", "tag", "关键词", "关键字"), 18),
    Column(
        "symptom",
        "现象",
        ("symptom", "symptoms", "problem", "问题", "问题现象", "故障现象", "问题描述"),
        45,
        True,
    ),
    Column("cause", "原因", ("cause", "causes", "原因分析", "问题原因", "故障原因"), 35, True),
    Column(
        "solution",
        "解决办法",
        ("solution", "resolution", "解决方法", "处理办法", "处理方法", "解决方案", "处理步骤"),
        60,
        True,
    ),
)
_BODY_FIELDS = ("symptom", "cause", "solution")
_META_FIELDS = ("title", "type", "status", "system", "module", "site", "tags")
_HEADERS = {c.field: c.header for c in COLUMNS}
_FIELD_INDEX: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _FIELD_INDEX.setdefault(header_key(_name), _column.field)


# --- labels ---------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _word_index(codes: tuple[str, ...], *tables: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    index = {_fold(code): code for code in codes}
    for table in tables:
        index.update({_fold(label): code for code, label in table.items()})
    index.update({_fold(word): code for word, code in extra.items()})
    return index


_TYPE_WORDS = _word_index(
    ARTICLE_TYPES,
    TYPE_LABELS,
    TYPE_TEXT,
    extra={
        "问答": "faq",
        "常见问答": "faq",
        "howto": "guide",
        "guide": "guide",
        "故障": "fault",
        "指引": "guide",
        "操作指南": "guide",
        "应急": "emergency",
        "公告": "notice",
        "通知": "notice",
    },
)
_STATUS_WORDS = _word_index(
    ARTICLE_STATUSES, STATUS_LABELS, STATUS_TEXT, extra={"发布": "published", "归档": "archived"}
)


def parse_type(text: str) -> str | None:
    """An article type code from a code or a label (Chinese or English); None if unknown."""
    return _TYPE_WORDS.get(_fold(text))


def parse_status(text: str) -> str | None:
    """An article status code from a code or a label (Chinese or English); None if unknown."""
    return _STATUS_WORDS.get(_fold(text))


def type_label(code: str) -> str:
    return _(TYPE_LABELS[code]) if code in TYPE_LABELS else code


def status_label(code: str) -> str:
    return _(STATUS_LABELS[code]) if code in STATUS_LABELS else code


# --- images ---------------------------------------------------------------------------------------

_IMAGE_KINDS: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
)


def image_extension(data: bytes) -> str | None:
    """ "png", "jpg" or "gif" from the bytes themselves (never the file name); None for anything else."""
    return next((ext for magic, ext, _mime in _IMAGE_KINDS if data.startswith(magic)), None)


def image_mime(data: bytes) -> str | None:
    return next((mime for magic, _ext, mime in _IMAGE_KINDS if data.startswith(magic)), None)


def image_name(data: bytes) -> str:
    """The name the reader gives an image: a content hash, the same for the same picture."""
    return hashlib.sha256(data).hexdigest()[:32]


# ``![alt](dest "title")``; dest may be <in angle brackets> or hold balanced parentheses.
_IMAGE_RE = re.compile(
    r"!\[(?:[^\]\\\n]|\\.)*\]\(\s*"
    r"(?P<dest><[^<>\n]*>|[^\s<>()]+(?:\([^\s()]*\)[^\s<>()]*)*)"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
_KEPT_REF = re.compile(r"^(?:https?|ftp|data|mailto|kbimg):", re.IGNORECASE)
_ABSOLUTE_REF = re.compile(r"^(?:[/\\]|[A-Za-z]:|file:)", re.IGNORECASE)
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _fence_step(line: str, fence: str) -> tuple[str, bool]:
    """The open fence after ``line`` ("" for none), and whether ``line`` is part of a code block."""
    match = _FENCE_RE.match(line)
    if not fence:
        return (match[1], True) if match else ("", False)
    if match and match[1][0] == fence[0] and len(match[1]) >= len(fence):
        return "", True
    return fence, True


def _outside_fences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of the stretches of ``text`` that are not inside fenced code blocks."""
    fence = ""
    offset = start = 0
    for line in text.split("\n"):
        was_open = fence
        fence, in_code = _fence_step(line, fence)
        if in_code and not was_open:
            yield start, offset
        if in_code and not fence:
            start = offset + len(line) + 1
        offset += len(line) + 1
    if not fence:
        yield start, len(text)


def _rewrite_images(text: str, replace: Callable[[str], str | None]) -> str:
    """``text`` with each image destination outside code blocks replaced by ``replace(dest)``
    (the destination without angle brackets; None keeps it)."""
    parts: list[str] = []
    done = 0
    for start, end in _outside_fences(text):
        for match in _IMAGE_RE.finditer(text, start, end):
            dest = match["dest"]
            raw = dest[1:-1] if dest.startswith("<") else dest
            new = replace(raw)
            if new is None:
                continue
            parts.append(text[done : match.start("dest")])
            parts.append(new)
            done = match.end("dest")
    parts.append(text[done:])
    return "".join(parts)


# --- text helpers ---------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _clean_body(text: str) -> str:
    """Line ends as \\n, no blank lines before the text, no white space after it."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").rstrip().split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


_TAG_SPLIT = re.compile(r"[,，、;；]")


def _split_tags(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    tags: list[str] = []
    for part in _TAG_SPLIT.split(text):
        tag = _one_line(_unquote(part.strip()))
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        with contextlib.suppress(ValueError):
            loaded = json.loads(value)
            if isinstance(loaded, str):
                return loaded
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False) if value.startswith(('"', "'", "[")) else value


def _title_key(title: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def _located(where: str, problem: str) -> str:
    return _("{where}: {problem}").format(where=where, problem=problem)


# --- building a record (both formats) -------------------------------------------------------------


def _record(values: dict[str, str], tags: list[str], source: str, problems: list[str]) -> ArticleRecord:
    """A record from the texts of one file or row; its problems (without the place) are appended."""
    record = ArticleRecord(
        title=_one_line(values.get("title", "")),
        symptom=values.get("symptom", ""),
        cause=values.get("cause", ""),
        solution=values.get("solution", ""),
        system=_one_line(values.get("system", "")),
        module=_one_line(values.get("module", "")),
        site=_one_line(values.get("site", "")),
        tags=tags,
        source=source,
    )
    if not record.title:
        problems.append(_("The title (标题) is empty."))
    elif len(record.title) > MAX_TITLE_CHARS:
        problems.append(
            _("The title is {count} characters long; at most {limit} are allowed.").format(
                count=len(record.title), limit=MAX_TITLE_CHARS
            )
        )
    type_text = _one_line(values.get("type", ""))
    if type_text:
        code = parse_type(type_text)
        if code is None:
            problems.append(
                _("Unknown type (类型) “{value}”; use {names}.").format(
                    value=type_text, names="、".join(TYPE_TEXT.values())
                )
            )
        else:
            record.type = code
    status_text = _one_line(values.get("status", ""))
    if status_text:
        code = parse_status(status_text)
        if code is None:
            problems.append(
                _("Unknown status (状态) “{value}”; use {names}.").format(
                    value=status_text, names="、".join(STATUS_TEXT.values())
                )
            )
        else:
            record.status = code
    if not record.symptom.strip() and not record.solution.strip():
        problems.append(_("Both the symptom (现象) and the solution (解决办法) are empty."))
    return record


def _check_duplicate_titles(records: list[ArticleRecord], problems: list[str]) -> None:
    first: dict[str, ArticleRecord] = {}
    for record in records:
        if not record.title:
            continue
        key = _title_key(record.title)
        if key in first:
            problems.append(
                _located(
                    record.source,
                    _("The title “{title}” is also used by {other}.").format(
                        title=record.title, other=first[key].source
                    ),
                )
            )
        else:
            first[key] = record


# --- reading Markdown -----------------------------------------------------------------------------

_SECTION_RE = re.compile(r"^( {0,3})(\\*)##(?!#)(.*)$")
_TITLE_RE = re.compile(r"^ {0,3}#[ \t]+(.*?)\s*$")
_KEY_VALUE_RE = re.compile(r"^([^:：]+)[:：][ \t]*(.*)$")


def _section_field(line: str) -> tuple[str, int, str] | None:
    """(field, backslashes, indent) for a line that names a section (perhaps escaped), else None."""
    match = _SECTION_RE.match(line)
    if match is None:
        return None
    name = match[3].strip().rstrip("#").strip()
    found = _FIELD_INDEX.get(header_key(name)) if name else None
    if found not in _BODY_FIELDS:
        return None
    assert found is not None
    return found, len(match[2]), match[1]


def read_markdown_folder(folder: Path) -> ReadResult:
    """Every ``*.md`` file under ``folder`` (sorted, hidden files and folders skipped) as one article."""
    result = ReadResult()
    folder = Path(folder)
    if not folder.is_dir():
        result.problems.append(_("{path} is not a folder.").format(path=folder))
        return result
    try:
        root = folder.resolve()
        files = sorted(_markdown_files(folder), key=lambda p: p.relative_to(folder).as_posix())
    except OSError as exc:
        result.problems.append(
            _("The folder {path} cannot be read: {error}").format(path=folder, error=exc.strerror or exc)
        )
        return result
    if not files:
        result.problems.append(_("There is no Markdown (.md) file in {path}.").format(path=folder))
        return result
    for path in files:
        source = path.relative_to(folder).as_posix()
        problems: list[str] = []
        record = _read_markdown_file(path, root, source, problems)
        result.problems.extend(_located(source, p) for p in problems)
        if record is not None:
            result.records.append(record)
    _check_duplicate_titles(result.records, result.problems)
    return result


def _markdown_files(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):  # symlinked folders are not followed
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.lower().endswith(".md") and not name.startswith("."):
                yield Path(dirpath) / name


def _read_markdown_file(path: Path, root: Path, source: str, problems: list[str]) -> ArticleRecord | None:
    try:
        if not path.resolve().is_relative_to(root):
            problems.append(_("The file links to a place outside the imported folder."))
            return None
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            problems.append(
                _("The file is too large ({size} MB); at most {limit} MB are allowed.").format(
                    size=f"{size / 1024 / 1024:.1f}", limit=MAX_TEXT_BYTES // 1024 // 1024
                )
            )
            return None
        data = path.read_bytes()
    except OSError as exc:
        problems.append(_("The file cannot be read: {error}").format(error=exc.strerror or exc))
        return None
    text = _decode(data, problems)
    if text is None:
        return None
    return _parse_markdown(text, path, root, source, problems)


_ALLOWED_CONTROLS = frozenset("\t\n\r\f")


def _decode(data: bytes, problems: list[str]) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    elif b"\x00" in data:
        problems.append(_("This is not a text file (it holds binary data)."))
        return None
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and any(unicodedata.category(ch) == "Co" for ch in text):
            continue  # private-use characters: GB18030 "decoded" bytes that were never text
        if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text):
            problems.append(_("This is not a text file (it holds binary data)."))
            return None
        return text
    problems.append(_("The file is neither UTF-8 nor GB18030 (GBK) text; save it as UTF-8."))
    return None


def _parse_markdown(
    text: str, path: Path, root: Path, source: str, problems: list[str]
) -> ArticleRecord | None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    values: dict[str, str] = {}
    tags: list[str] = []
    body_start = 0
    if lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is None:
            problems.append(_("The front matter that starts with “---” on line 1 is not closed by “---”."))
            return None
        tags = _front_matter(lines[1:end], values, problems)
        body_start = end + 1

    preamble: list[str] = []
    sections: dict[str, list[str]] = {}
    current = preamble
    for line in lines[body_start:]:
        found = _section_field(line)
        if found is not None and found[1] == 0:
            current = sections.setdefault(found[0], [])
            if current:
                current.append("")  # a second section of the same name continues the first
            continue
        if found is not None:
            _name, _count, indent = found
            line = indent + line[len(indent) + 1 :]  # one escaping backslash less
        current.append(line)

    title = values.get("title", "").strip()
    heading = _title_heading(preamble, title)
    if heading is not None:
        title = title or heading[0]
        del preamble[heading[1]]
    values["title"] = title or path.stem
    lead = _clean_body("\n".join(preamble))
    for name, body in sections.items():
        values[name] = _clean_body("\n".join(body))
    if lead and not sections:
        values["solution"] = lead
    elif lead:
        values["symptom"] = lead + ("\n\n" + values["symptom"] if values.get("symptom") else "")

    images: dict[str, bytes] = {}
    for name in _BODY_FIELDS:
        if values.get(name):
            values[name] = _import_images(values[name], path.parent, root, images, problems)
    record = _record(values, tags, source, problems)
    record.images = images
    return record


def _front_matter(lines: list[str], values: dict[str, str], problems: list[str]) -> list[str]:
    """Fills ``values`` from front-matter lines; returns the tags."""
    tags: list[str] = []
    current: str | None = None
    for number, line in enumerate(lines, start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if current == "tags" and (stripped == "-" or stripped.startswith("- ")):
            tags.extend(t for t in _split_tags(stripped[1:]) if t not in tags)  # a YAML list item
            continue
        match = _KEY_VALUE_RE.match(stripped)
        if match is None:
            problems.append(
                _("Line {line} of the front matter is not “key: value”: {text}").format(
                    line=number, text=stripped
                )
            )
            current = None
            continue
        current = _FIELD_INDEX.get(header_key(match[1]))
        if current not in _META_FIELDS:
            current = None  # another tool's key (date, author ...), or a section name: not ours
            continue
        assert current is not None
        if current == "tags":
            tags.extend(t for t in _split_tags(match[2]) if t not in tags)
        else:
            values[current] = _unquote(match[2].strip())
    return tags


def _title_heading(preamble: list[str], title: str) -> tuple[str, int] | None:
    """The ``# heading`` that gives the title (or repeats ``title``) and its line index, if any."""
    if title:
        # With a title in the front matter, only a first line that repeats it is dropped.
        index = next((i for i, line in enumerate(preamble) if line.strip()), None)
        if index is None:
            return None
        match = _TITLE_RE.match(preamble[index])
        return (title, index) if match is not None and match[1] == title else None
    fence = ""
    for index, line in enumerate(preamble):
        fence, in_code = _fence_step(line, fence)
        match = None if in_code else _TITLE_RE.match(line)
        if match is not None and match[1]:
            return match[1], index
    return None


def _import_images(text: str, base: Path, root: Path, images: dict[str, bytes], problems: list[str]) -> str:
    def replace(ref: str) -> str | None:
        if _KEPT_REF.match(ref):
            return None
        data = _image_file(ref, base, root, problems)
        if data is None:
            return None
        name = image_name(data)
        images[name] = data
        return IMAGE_SCHEME + name

    return _rewrite_images(text, replace)


def _image_file(ref: str, base: Path, root: Path, problems: list[str]) -> bytes | None:
    if _ABSOLUTE_REF.match(ref):
        problems.append(
            _("The image “{path}” is given by an absolute path; use a path relative to the .md file.").format(
                path=ref
            )
        )
        return None
    found: Path | None = None
    for candidate in dict.fromkeys((ref, unquote(ref))):  # Typora writes spaces as %20
        relative = PurePosixPath(candidate.replace("\\", "/"))
        target = (base / relative).resolve()
        if not target.is_relative_to(root):
            problems.append(_("The image “{path}” is outside the imported folder.").format(path=ref))
            return None
        if target.is_file():
            found = target
            break
    if found is None:
        problems.append(_("The image “{path}” does not exist.").format(path=ref))
        return None
    try:
        size = found.stat().st_size
        if size > MAX_IMAGE_BYTES:
            problems.append(
                _("The image “{path}” is too large ({size} MB); at most {limit} MB are allowed.").format(
                    path=ref, size=f"{size / 1024 / 1024:.1f}", limit=MAX_IMAGE_BYTES // 1024 // 1024
                )
            )
            return None
        data = found.read_bytes()
    except OSError as exc:
        problems.append(
            _("The image “{path}” cannot be read: {error}").format(path=ref, error=exc.strerror or exc)
        )
        return None
    if image_extension(data) is None:
        problems.append(_("The image “{path}” is not a PNG, JPEG or GIF picture.").format(path=ref))
        return None
    return data


# --- reading a sheet ------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell of any type as text: numbers without a needless .0, dates as 2024-03-05 (14:30)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return f"{value:%Y-%m-%d %H:%M:%S}" if value.second else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return f"{value:%H:%M:%S}" if value.second else f"{value:%H:%M}"
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def read_xlsx(path: Path) -> ReadResult:
    """One article per row of the first sheet. The header row (in the first 10 rows) names the
    columns as ``COLUMNS`` does; other columns are ignored, fully empty rows skipped."""
    result = ReadResult()
    path = Path(path)
    rows = _sheet_rows(path, result.problems)
    if rows is None:
        return result
    mapping: dict[int, str] | None = None
    for number, values in rows:
        if mapping is None:
            if number > HEADER_SEARCH_ROWS:
                break
            mapping = _match_header(values)
            if mapping is not None and not _has_required_columns(path, number, mapping, result.problems):
                return result
            continue
        texts = {name: cell_text(values[i]) for i, name in mapping.items() if i < len(values)}
        if not any(t.strip() for t in texts.values()):
            continue
        source = _("row {row}").format(row=number)
        for name in _BODY_FIELDS:
            texts[name] = _clean_body(texts.get(name, ""))
        problems: list[str] = []
        record = _record(texts, _split_tags(texts.get("tags", "")), source, problems)
        result.problems.extend(_located(source, p) for p in problems)
        result.records.append(record)
    if mapping is None:
        result.problems.append(
            _(
                "No header row found in {path}: the first row must name the columns, e.g. 标题, 类型, "
                "现象, 原因, 解决办法."
            ).format(path=path)
        )
        return result
    _check_duplicate_titles(result.records, result.problems)
    return result


def _sheet_rows(path: Path, problems: list[str]) -> list[tuple[int, list[Any]]] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(_("The file {path} does not exist.").format(path=path))
        return None
    except IsADirectoryError:
        problems.append(_("{path} is a folder, not a file.").format(path=path))
        return None
    except OSError as exc:
        problems.append(
            _(
                "The file {path} cannot be read (it may be open in Excel or locked by another program): "
                "{error}"
            ).format(path=path, error=exc.strerror or exc)
        )
        return None
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        problems.append(
            _(
                "{path} is password-protected or an old Excel 97-2003 (.xls) workbook. Open it in Excel, "
                "remove the password, save it as .xlsx and import that file."
            ).format(path=path)
        )
        return None
    not_xlsx = _("{path} is not an Excel workbook (.xlsx), or it is damaged.").format(path=path)
    if not data.startswith(b"PK\x03\x04"):
        problems.append(not_xlsx)
        return None
    import openpyxl  # imported when needed: it costs a noticeable part of a second

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about harmless things (no default style ...)
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a damaged or foreign zip fails in many ways, none of them our bug
        problems.append(not_xlsx)
        return None
    try:
        if not workbook.worksheets:
            problems.append(not_xlsx)
            return None
        sheet = workbook.worksheets[0]
        if not hasattr(sheet, "iter_rows"):  # a chart sheet
            problems.append(_("The first sheet of {path} holds no cells.").format(path=path))
            return None
        return [(n, list(v)) for n, v in enumerate(sheet.iter_rows(values_only=True), start=1)]
    except Exception:  # damaged sheet XML
        problems.append(not_xlsx)
        return None
    finally:
        workbook.close()


def _match_header(values: list[Any]) -> dict[int, str] | None:
    mapping: dict[int, str] = {}
    for index, value in enumerate(values):
        if isinstance(value, str) and value.strip():
            found = _FIELD_INDEX.get(header_key(value))
            if found is not None and found not in mapping.values():
                mapping[index] = found
    return mapping if len(mapping) >= 2 else None


def _has_required_columns(path: Path, row: int, mapping: dict[int, str], problems: list[str]) -> bool:
    fields = set(mapping.values())
    missing = []
    if "title" not in fields:
        missing.append(_HEADERS["title"])
    if not fields & {"symptom", "solution"}:
        missing.append(f"{_HEADERS['symptom']}/{_HEADERS['solution']}")
    if missing:
        problems.append(
            _("The header row (row {row}) of {path} has no column {names}.").format(
                row=row, path=path, names="、".join(missing)
            )
        )
    return not missing


# --- writing Markdown -----------------------------------------------------------------------------

_WINDOWS_FORBIDDEN = str.maketrans(
    {"\\": "＼", "/": "／", ":": "：", "*": "＊", "?": "？", '"': "＂", "<": "＜", ">": "＞", "|": "｜"}
)
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
MAX_FILE_STEM_CHARS = 80
MAX_FILE_STEM_BYTES = 180  # UTF-8; most file systems allow 255 bytes per name


def safe_file_stem(title: str, fallback: str = "article") -> str:
    """A file name (without extension) for ``title`` that Windows and Linux accept."""
    stem = "".join(ch for ch in title.translate(_WINDOWS_FORBIDDEN) if unicodedata.category(ch)[0] != "C")
    stem = " ".join(stem.split())
    stem = stem[:MAX_FILE_STEM_CHARS]
    while len(stem.encode("utf-8")) > MAX_FILE_STEM_BYTES:
        stem = stem[:-1]
    stem = stem.strip(" .")  # Windows drops trailing dots and spaces
    if not stem:
        return fallback
    if stem.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return stem


def _unique(stem: str, suffix: str, taken: set[str]) -> str:
    """``stem + suffix``, or ``stem (2) + suffix`` ..., not yet in ``taken`` (compared like Windows)."""
    name = stem + suffix
    counter = 2
    while name.casefold() in taken:
        name = f"{stem} ({counter}){suffix}"
        counter += 1
    taken.add(name.casefold())
    return name


def write_markdown_folder(records: Iterable[ArticleRecord], folder: Path) -> int:
    """Write one ``<title>.md`` per record into ``folder`` (which must not exist or be empty), and the
    pictures its text references as ``kbimg:<name>`` into ``images/``. Everything is written into a
    temporary folder next to ``folder`` first and renamed at the end, so a failed export leaves
    nothing behind. Returns the number of articles. Raises ``KbFileError``."""
    folder = Path(folder)
    try:
        if folder.exists():
            if not folder.is_dir():
                raise KbFileError(_("{path} is a file, not a folder.").format(path=folder))
            if any(folder.iterdir()):
                raise KbFileError(
                    _("The folder {path} is not empty; choose a new or an empty folder.").format(path=folder)
                )
        parent = folder.parent if str(folder.parent) else Path(".")
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{folder.name}.", suffix=".tmp"))
    except OSError as exc:
        raise _cannot_write(folder, exc) from exc
    try:
        count = _write_markdown_files(records, tmp)
        if folder.exists():
            folder.rmdir()
        os.replace(tmp, folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _cannot_write(folder, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return count


def _write_markdown_files(records: Iterable[ArticleRecord], folder: Path) -> int:
    taken: set[str] = set()
    image_files: dict[tuple[str, bytes], str] = {}
    image_taken: set[str] = set()
    count = 0
    for record in records:

        def export_image(ref: str, record: ArticleRecord = record) -> str | None:
            if not ref.startswith(IMAGE_SCHEME) or ref[len(IMAGE_SCHEME) :] not in record.images:
                return None
            name = ref[len(IMAGE_SCHEME) :]
            data = record.images[name]
            file_name = image_files.get((name, data))
            if file_name is None:
                file_name = _image_file_name(name, data, image_taken)
                (folder / "images").mkdir(exist_ok=True)
                (folder / "images" / file_name).write_bytes(data)
                image_files[(name, data)] = file_name
            return f"images/{file_name}"

        text = _markdown_text(record, export_image)
        file_name = _unique(safe_file_stem(_one_line(record.title)), ".md", taken)
        (folder / file_name).write_bytes(text.encode("utf-8"))
        count += 1
    return count


def _image_file_name(name: str, data: bytes, taken: set[str]) -> str:
    ext = image_extension(data) or "bin"
    stem = re.sub(r"[^\w.-]", "_", name, flags=re.ASCII)[:64].strip("._") or "image"
    if stem.lower().endswith(f".{ext}") or (ext == "jpg" and stem.lower().endswith(".jpeg")):
        stem, suffix = stem.rsplit(".", 1)[0], "." + stem.rsplit(".", 1)[1]
    else:
        suffix = f".{ext}"
    name = stem + suffix
    counter = 2
    while name.casefold() in taken:
        name = f"{stem}-{counter}{suffix}"
        counter += 1
    taken.add(name.casefold())
    return name


def _escape_sections(text: str) -> str:
    """Body lines that would read as section headings get one more backslash (read drops one)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        found = _section_field(line)
        if found is not None:
            indent = found[2]
            lines[index] = indent + "\\" + line[len(indent) :]
    return "\n".join(lines)


def _markdown_text(record: ArticleRecord, export_image: Callable[[str], str | None]) -> str:
    title = _one_line(record.title)
    tags = [_one_line(t) for t in record.tags if _one_line(t)]
    meta = [
        ("title", title),
        ("type", TYPE_TEXT.get(record.type, record.type)),
        ("status", STATUS_TEXT.get(record.status, record.status)),
        ("system", _one_line(record.system)),
        ("module", _one_line(record.module)),
        ("site", _one_line(record.site)),
    ]
    out = ["---"]
    out += [f"{_HEADERS[name]}: {_quote(value)}".rstrip() for name, value in meta]
    out.append(f"{_HEADERS['tags']}: {', '.join(tags)}".rstrip())
    out += ["---", "", f"# {title}", ""]
    for name in _BODY_FIELDS:
        body = _clean_body(getattr(record, name))
        if not body:
            continue
        body = _rewrite_images(body, export_image)
        out += [f"## {_HEADERS[name]}", "", _escape_sections(body), ""]
    return "\n".join(out)


def _cannot_write(path: Path, exc: OSError) -> KbFileError:
    return KbFileError(
        _("Cannot write {path} (is it open in another program, or is the folder read-only?): {error}").format(
            path=path, error=exc.strerror or exc
        ),
        str(exc),
    )


# --- writing a sheet ------------------------------------------------------------------------------


def write_xlsx(records: Iterable[ArticleRecord], path: Path) -> None:
    """Write the records as one sheet (Chinese headers as ``COLUMNS``, bold frozen header row, wrapped
    long texts). Images are NOT embedded: the texts keep their ``kbimg:<name>`` references, which
    only the knowledge base they came from can show; export Markdown to keep the pictures. Written
    next to ``path`` and renamed over it at the end. Raises ``KbFileError``, also when a text is
    longer than an Excel cell holds (32,767 characters): cut, it would not import back the same."""
    rows = [_row_texts(record) for record in records]  # all checked before the first row goes out
    for texts in rows:
        for column in COLUMNS:
            if len(texts[column.field]) > XLSX_MAX_CELL_CHARS:
                raise KbFileError(
                    _(
                        "The {column} of “{title}” is longer than an Excel cell holds ({limit} characters); "
                        "export Markdown instead."
                    ).format(column=column.header, title=texts["title"], limit=XLSX_MAX_CELL_CHARS)
                )
    fields = [column.field for column in COLUMNS]
    write_export(_KB_SHEET, Path(path), ([texts[f] or None for f in fields] for texts in rows), "xlsx")


def _too_many_articles(limit: int) -> KbFileError:
    return KbFileError(_("More than {limit} articles do not fit in one Excel sheet.").format(limit=limit))


def _row_texts(record: ArticleRecord) -> dict[str, str]:
    return {
        "title": _one_line(record.title),
        "type": TYPE_TEXT.get(record.type, record.type),
        "status": STATUS_TEXT.get(record.status, record.status),
        "system": _one_line(record.system),
        "module": _one_line(record.module),
        "site": _one_line(record.site),
        "tags": "、".join(t for t in (_one_line(t) for t in record.tags) if t),
        "symptom": _clean_body(record.symptom),
        "cause": _clean_body(record.cause),
        "solution": _clean_body(record.solution),
    }


_KB_SHEET = ExportFile(COLUMNS, "知识库", _too_many_articles, _cannot_write, top_aligned=True)
