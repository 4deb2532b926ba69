"""Markdown, the subset the knowledge-base editor offers, as reportlab flowables for a printout.

Blocks: headings (``#`` to ``###``; deeper ones print as ``###``), paragraphs, bulleted (``-``, ``*``,
``+``) and numbered (``1.``, ``1)``) lists nested one level (deeper items join the second level),
fenced code blocks (``````` or ``~~~``), pipe tables with ``:--:`` alignment, quotes (``>``), rules
(``---``, ``***``, ``___``) and images ``![alt](kbimg:ID)`` on a line of their own or inside text (the
line is split around the picture). Inline: ``**bold**``, ``*italic*``, ``~~struck~~``, ```code```,
``[text](url)`` (printed as "text (url)") and backslash escapes such as ``\\*`` or ``\\#``.

One deliberate difference from CommonMark: every line of running text is a paragraph of its own. People
here write in a plain text box and press Enter for a new paragraph, as in a word processor; joining their
lines would run "报错如下：" and the next line together.

Whatever the text holds -- ``<``, ``&``, tags, entities, emoji, control characters, a 2,000-character
word -- is printed as written (see ``fonts.printable`` for what the font lacks), never taken for
markup: rendering does not raise for any input.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    ListFlowable,
    ListItem,
    Spacer,
    Table,
    TableStyle,
)

from app.i18n import _
from app.reports.fonts import printable, report_fonts
from app.reports.layout import (
    MUTED,
    RULE,
    SHADE,
    CJKParagraph,
    ReportStyles,
    escape_text,
    grid_style,
    report_styles,
)

log = logging.getLogger("hotline.reports")

IMAGE_SCHEME = "kbimg:"
PIXEL = 0.75  # points per pixel: pictures are screenshots, made at 96 dpi
TAB_WIDTH = 4

_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}(?=[^`]*$)|~{3,})")  # ```ls``` on one line is inline code
_HEADING = re.compile(r"^ {0,3}(?P<marks>#{1,6})(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}(?P<char>[-*_])(?:[ \t]*(?P=char)){2,}[ \t]*$")
_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<bullet>[-*+])|(?P<number>\d{1,9})[.)])(?:[ \t]+(?P<text>.*)|$)"
)
_QUOTE = re.compile(r"^ {0,3}> ?(?P<text>.*)$")
_TABLE_RULE_CELL = re.compile(r"^:?-+:?$")
# An image, or a code span (kept whole: an image inside code is text).
_IMAGE_OR_CODE = re.compile(
    r"(?P<code>(?P<ticks>`+).+?(?<!`)(?P=ticks)(?!`))"
    r"|!\[(?P<alt>(?:[^\]\\\n]|\\.)*)\]\(\s*(?P<dest><[^<>\n]*>|[^\s<>()]+)"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
_INLINE = re.compile(
    r"\\(?P<escaped>[!-/:-@\[-`{-~])"
    r"|(?P<ticks>`+)(?P<code>.+?)(?<!`)(?P=ticks)(?!`)"
    r"|\*\*(?P<strong>(?=\S).+?(?<=\S))\*\*"
    r"|\*(?P<em>(?=[^\s*])[^*]*?(?<=[^\s*]))\*"
    r"|~~(?P<strike>(?=\S).+?(?<=\S))~~"
    r"|\[(?P<link>[^\]\n]+)\]\((?P<url>[^\s()]+)(?:\s+\"[^\"\n]*\")?\)"
)
_LINKED_SCHEMES = ("http://", "https://", "ftp://", "mailto:")


# --- blocks ---------------------------------------------------------------------------------------


@dataclass
class _Item:
    ordered: bool
    number: int
    indent: int
    lines: list[str]
    children: list[_Item] = field(default_factory=list)


@dataclass
class _Block:
    kind: str  # heading, line, code, table, quote, rule, list
    text: str = ""
    level: int = 0
    lines: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    aligns: list[str] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)


def _indent(line: str) -> int:
    stripped = line.lstrip(" \t")
    return len(line[: len(line) - len(stripped)].expandtabs(TAB_WIDTH))


def _dedent(line: str, width: int) -> str:
    """``line`` without up to ``width`` columns of leading white space."""
    expanded = line.expandtabs(TAB_WIDTH) if line[:1] in (" ", "\t") else line
    cut = min(width, _indent(expanded))
    return expanded[cut:]


def _table_cells(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells, current, i = [], [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] == "|":
            current.append("|")
            i += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    cells.append("".join(current).strip())
    return cells


def _table_aligns(line: str, columns: int) -> list[str] | None:
    """The alignments of a table's rule line (``| --- | :-: |``), or None if it is not one."""
    if "-" not in line or not set(line.strip()) <= set("|:- \t"):
        return None
    cells = _table_cells(line)
    if len(cells) != columns or not all(_TABLE_RULE_CELL.match(c) for c in cells):
        return None
    aligns = []
    for cell in cells:
        if cell.startswith(":") and cell.endswith(":"):
            aligns.append("center")
        elif cell.endswith(":"):
            aligns.append("right")
        else:
            aligns.append("left")
    return aligns


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a code block opened with ``fence``."""
    match = _FENCE.match(line)
    return (
        match is not None
        and match["fence"][0] == fence[0]
        and len(match["fence"]) >= len(fence)
        and not line.strip().strip(fence[0])
    )


def _open_fence(lines: list[str]) -> bool:
    """Whether ``lines`` end inside a fenced code block."""
    fence = ""
    for line in lines:
        match = _FENCE.match(line)
        if match and not fence:
            fence = match["fence"]
        elif fence and _closes(line, fence):
            fence = ""
    return bool(fence)


def _parse(text: str) -> list[_Block]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[_Block] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            mark, code, i = fence["fence"], [], i + 1
            while i < n and not _closes(lines[i], mark):
                code.append(lines[i])
                i += 1
            i += 1  # the closing fence (or the end of the text)
            blocks.append(_Block("code", lines=code))
            continue
        heading = _HEADING.match(line)
        if heading:
            blocks.append(_Block("heading", text=heading["text"] or "", level=len(heading["marks"])))
            i += 1
            continue
        if _RULE.match(line):
            blocks.append(_Block("rule"))
            i += 1
            continue
        if "|" in line and i + 1 < n:
            header = _table_cells(line)
            aligns = _table_aligns(lines[i + 1], len(header))
            if aligns is not None:
                rows, i = [header], i + 2
                while i < n and lines[i].strip() and "|" in lines[i]:
                    cells = _table_cells(lines[i])
                    rows.append((cells + [""] * len(header))[: len(header)])
                    i += 1
                blocks.append(_Block("table", rows=rows, aligns=aligns))
                continue
        if _QUOTE.match(line):
            quoted = []
            while i < n and (match := _QUOTE.match(lines[i])):
                quoted.append(match["text"])
                i += 1
            blocks.append(_Block("quote", lines=quoted))
            continue
        if _ITEM.match(line) and _indent(line) < 4:
            items, i = _parse_list(lines, i)
            blocks.append(_Block("list", items=items))
            continue
        blocks.append(_Block("line", text=line.strip()))
        i += 1
    return blocks


def _parse_list(lines: list[str], i: int) -> tuple[list[_Item], int]:
    """One list starting at ``lines[i]``: its items (each with its second-level items) and where it ends."""
    items: list[_Item] = []
    n = len(lines)
    while i < n:
        line = lines[i]
        last = items[-1] if items else None
        target = last.children[-1] if last and last.children else last
        if target and _open_fence(target.lines):
            target.lines.append(_dedent(line, target.indent))
            i += 1
            continue
        if not line.strip():
            j = i + 1
            while j < n and not lines[j].strip():
                j += 1
            if j < n and last and (_indent(lines[j]) >= 2 or _same_list(lines[j], items)):
                if target:
                    target.lines.append("")
                i = j
                continue
            break
        match = _ITEM.match(line)
        indent = _indent(line)
        if match and last and indent >= 2:
            last.children.append(_new_item(match, indent))
        elif match and indent < 2:
            if items and not _same_list(line, items):
                break
            items.append(_new_item(match, indent))
        elif target and indent >= 2:
            target.lines.append(_dedent(line, target.indent))
        else:
            break
        i += 1
    return items, i


def _new_item(match: re.Match[str], indent: int) -> _Item:
    number = int(match["number"]) if match["number"] else 1
    content_indent = indent + len(match[0]) - len(match[0].lstrip(" \t")) + 2
    return _Item(
        ordered=match["bullet"] is None, number=number, indent=content_indent, lines=[match["text"] or ""]
    )


def _same_list(line: str, items: list[_Item]) -> bool:
    match = _ITEM.match(line)
    return bool(match) and bool(items) and (match is not None and match["bullet"] is None) == items[0].ordered


# --- inline ---------------------------------------------------------------------------------------


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def inline_markup(text: str) -> str:
    """One line of Markdown as reportlab paragraph markup; everything that is not Markdown is escaped."""
    mono = report_fonts().mono
    out: list[str] = []
    done = 0
    for match in _INLINE.finditer(text):
        out.append(_plain(text[done : match.start()]))
        done = match.end()
        if match["escaped"] is not None:
            out.append(_plain(match["escaped"]))
        elif match["code"] is not None:
            out.append(f'<font face="{mono}">{_plain(match["code"])}</font>')
        elif match["strong"] is not None:
            out.append(f"<b>{inline_markup(match['strong'])}</b>")
        elif match["em"] is not None:
            out.append(f"<i>{inline_markup(match['em'])}</i>")
        elif match["strike"] is not None:
            out.append(f"<strike>{inline_markup(match['strike'])}</strike>")
        else:
            label, url = match["link"], match["url"]
            out.append(inline_markup(label))
            if url.lower().startswith(_LINKED_SCHEMES) and url != label:
                out.append(f" ({_plain(url)})")
    out.append(_plain(text[done:]))
    return "".join(out)


def _plain(text: str) -> str:
    return escape(printable(text)).replace("\n", " ").replace("\t", " ")


# --- rendering ------------------------------------------------------------------------------------


def markdown_to_flowables(
    text: str,
    *,
    width: float,
    height: float,
    images: Mapping[str, bytes] | None = None,
    styles: ReportStyles | None = None,
    top_heading: int = 1,
) -> list[Flowable]:
    """``text`` as flowables for a frame ``width`` x ``height`` points (see ``layout.frame_size``).

    ``images`` maps a picture's id to its bytes (PNG, JPEG or GIF) for ``![alt](kbimg:ID)``; pictures
    shrink to fit the frame and keep their proportions; a missing or unreadable one prints as a grey
    note. ``top_heading`` is the ``ReportStyles.heading<N>`` that ``#`` takes (2 when the text sits
    under a heading of its own).
    """
    renderer = _Renderer(styles or report_styles(), images or {}, height, top_heading)
    return renderer.blocks(text, width, renderer.styles.body)


class _Renderer:
    def __init__(self, styles: ReportStyles, images: Mapping[str, bytes], height: float, top: int) -> None:
        self.styles = styles
        self.images = images
        self.height = height
        self.top = max(1, min(4, top))
        self._aligned: dict[tuple[str, str], ParagraphStyle] = {}

    def blocks(self, text: str, width: float, body: ParagraphStyle) -> list[Flowable]:
        story: list[Flowable] = []
        for block in _parse(text):
            story.extend(self.block(block, width, body))
        return story

    def block(self, block: _Block, width: float, body: ParagraphStyle) -> list[Flowable]:
        if block.kind == "heading":
            if not block.text.strip():
                return []
            level = min(4, self.top + block.level - 1)
            style = getattr(self.styles, f"heading{level}")
            return [CJKParagraph(inline_markup(block.text), style)]
        if block.kind == "line":
            return self.rich_line(block.text, width, body)
        if block.kind == "code":
            return [self.code(block.lines, width)]
        if block.kind == "table":
            return [self.table(block.rows, block.aligns, width)]
        if block.kind == "quote":
            story: list[Flowable] = []
            for line in block.lines:
                if line.strip():
                    story.extend(self.rich_line(line.strip(), width - 2 * body.fontSize, self.styles.quote))
            return story
        if block.kind == "rule":
            return [HRFlowable(width="100%", thickness=0.5, color=RULE, spaceBefore=4, spaceAfter=6)]
        return [self.item_list(block.items, width, level=0)]

    def rich_line(self, text: str, width: float, style: ParagraphStyle) -> list[Flowable]:
        """A line of text; pictures in it stand on their own between the text before and after them."""
        story: list[Flowable] = []
        done = 0
        for match in _IMAGE_OR_CODE.finditer(text):
            if match["code"] is not None:
                continue
            before = text[done : match.start()].strip()
            if before:
                story.append(CJKParagraph(inline_markup(before), style))
            dest = match["dest"]
            dest = dest[1:-1] if dest.startswith("<") else dest
            alt = re.sub(r"\\(.)", r"\1", match["alt"]).strip()
            story.extend(self.picture(alt, dest, width))
            done = match.end()
        rest = text[done:].strip()
        if rest:
            story.append(CJKParagraph(inline_markup(rest), style))
        return story

    def picture(self, alt: str, dest: str, width: float) -> list[Flowable]:
        data = self.images.get(dest[len(IMAGE_SCHEME) :]) if dest.startswith(IMAGE_SCHEME) else None
        size = _picture_size(data, dest) if data is not None else None
        if data is None or size is None:
            note = _("[Image missing: {alt}]").format(alt=alt or dest)
            return [CJKParagraph(escape_text(note), self.styles.note)]
        caption = [CJKParagraph(escape_text(alt), self.styles.caption)] if alt else [Spacer(1, 4)]
        max_height = self.height * 0.85 - (self.styles.caption.leading + 8 if alt else 4)
        scale = min(1.0, width / (size[0] * PIXEL), max_height / (size[1] * PIXEL))
        picture = Image(io.BytesIO(data), size[0] * PIXEL * scale, size[1] * PIXEL * scale)
        return [KeepTogether([Spacer(1, 3), picture, *caption])]

    def code(self, lines: list[str], width: float) -> Flowable:
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        rows = [[CJKParagraph(_code_markup(line), self.styles.code)] for line in lines or [""]]
        table = Table(rows, colWidths=[width], hAlign="LEFT", splitInRow=1, spaceBefore=3, spaceAfter=6)
        last = len(rows) - 1
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                    ("BOX", (0, 0), (-1, -1), 0.5, MUTED),
                    ("LEFTPADDING", (0, 0), (-1, -1), 6),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, 0), 4),
                    ("BOTTOMPADDING", (0, last), (-1, last), 5),
                ]
            )
        )
        return table

    def table(self, rows: list[list[str]], aligns: list[str], width: float) -> Flowable:
        columns = len(aligns)
        weights = [max(4, min(40, max(_display_width(row[c]) for row in rows))) for c in range(columns)]
        col_widths = [width * w / sum(weights) for w in weights]
        data = []
        for r, row in enumerate(rows):
            base = self.styles.cell_head if r == 0 else self.styles.cell
            cells = []
            for c, text in enumerate(row):
                style = self.aligned(base, aligns[c])
                content = self.rich_line(text, col_widths[c] - 8, style) if text else []
                cells.append(content)
            data.append(cells)
        table = Table(
            data,
            colWidths=col_widths,
            repeatRows=1,
            hAlign="LEFT",
            splitInRow=1,
            spaceBefore=4,
            spaceAfter=8,
        )
        table.setStyle(grid_style(("BACKGROUND", (0, 0), (-1, 0), SHADE)))
        return table

    def item_list(self, items: list[_Item], width: float, level: int) -> Flowable:
        body = self.styles.body_flush
        ordered = items[0].ordered
        # Top-level markers stand where a paragraph's indented first line starts; the second level's
        # under the text of the item above.
        lead = 2 * body.fontSize if level == 0 else 0
        gutter = (1.9 if ordered else 1.3) * body.fontSize
        indent = lead + gutter
        entries = []
        for item in items:
            content = self.blocks("\n".join(item.lines), width - indent, body)
            for run in _runs(item.children):
                content.append(self.item_list(run, width - indent, level=1))
            entries.append(ListItem(content or [Spacer(1, body.leading)]))
        return ListFlowable(
            entries,
            bulletType="1" if ordered else "bullet",
            start=items[0].number if ordered else ("•" if level == 0 else "◦"),
            bulletFormat=("%s." if level == 0 else "(%s)") if ordered else None,
            bulletFontName=body.fontName,
            bulletFontSize=body.fontSize,
            leftIndent=indent,
            bulletDedent=gutter,
            spaceAfter=2 if level == 0 else 0,
        )

    def aligned(self, base: ParagraphStyle, align: str) -> ParagraphStyle:
        if align == "left":
            return base
        key = (base.name, align)
        if key not in self._aligned:
            value = TA_CENTER if align == "center" else TA_RIGHT if align == "right" else TA_LEFT
            self._aligned[key] = ParagraphStyle(f"{base.name}.{align}", parent=base, alignment=value)
        return self._aligned[key]


def _runs(items: list[_Item]) -> list[list[_Item]]:
    """Consecutive items of the same kind (bulleted or numbered): one list each."""
    runs: list[list[_Item]] = []
    for item in items:
        if runs and runs[-1][0].ordered == item.ordered:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _code_markup(line: str) -> str:
    # Non-breaking spaces keep indentation and runs of spaces; the line still wraps where it must.
    text = escape(printable(line.expandtabs(TAB_WIDTH)))
    return text.replace(" ", "\u00a0") or "\u00a0"


def _picture_size(data: bytes, dest: str) -> tuple[int, int] | None:
    """The picture's size in pixels, or None if it cannot be decoded."""
    try:
        reader = ImageReader(io.BytesIO(data))
        width, height = reader.getSize()
        reader.getRGBData()  # decodes it all: a truncated file fails here, not halfway through the PDF
    except Exception as exc:  # the image decoder raises anything (OSError, SyntaxError, ValueError ...)
        log.info("picture %s cannot be decoded: %s", dest, exc)
        return None
    if width <= 0 or height <= 0:
        return None
    return int(width), int(height)
