"""Line breaks in printed Chinese: no line starts with "，" or "”", none ends with "“" or "（", codes stay
whole, and no character is lost or repeated."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from app.reports.layout import CJKParagraph, PageFurniture, build_pdf, escape_text, report_styles
from app.reports.linebreak import CANNOT_END, CANNOT_START, Line, break_lines

ANSWER = (
    "票据核销时提示“单位未开通”，请先检查单位信息；然后重新登录系统：如果仍然失败！请联系管理员？"
    "报错ORA-12541 TNS:no listener时，（见《操作手册》第3章）重启UKey驱动。"
)


def _texts(chars: str, lines: list[Line]) -> list[str]:
    return [chars[line.start : line.end] for line in lines]


@pytest.mark.parametrize(
    ("text", "per_line", "expected"),
    [
        # the comma would start line 2: the character before it moves down with it
        ("核销票据，然后登录", 4, ["核销票", "据，然后", "登录"]),
        # a closing quote and a comma in a row: both stay with the word they close
        ("提示“未开通”，请检查", 6, ["提示“未开", "通”，请检查"]),
        # an opening bracket never ends a line
        ("请看（操作手册）", 3, ["请看", "（操作", "手册）"]),
        # an error code is not cut where a break before it exists
        ("报错ORA-12541", 6, ["报错", "ORA-12", "541"]),
        ("错误 E1003 请重试", 8, ["错误 E1003", "请重试"]),  # the space at the wrap is dropped
        # a stretch with no allowed break wider than the line is cut where it fills
        ("，，，，，，", 4, ["，，，，", "，，"]),
    ],
)
def test_table_of_breaks(text: str, per_line: int, expected: list[str]) -> None:
    lines = break_lines(text, [1.0] * len(text), [float(per_line)])
    assert _texts(text, lines) == expected


def test_forced_breaks_end_the_line_and_the_first_line_may_be_narrower() -> None:
    text = "第一行\n第二行比较长的文字"
    forced = frozenset({text.index("\n")})
    lines = break_lines(text, [1.0] * len(text), [2.0, 5.0], forced)
    assert _texts(text, lines) == ["第一", "行\n", "第二行比较", "长的文字"]
    assert [line.forced for line in lines] == [False, True, False, False]


_ALPHABET = "核销票据单位财政系统登录" + "，。；：！？”）》、" + "“（《" + "ORA-12541 UKey"


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=_ALPHABET, min_size=1, max_size=80),
    width=st.integers(min_value=1, max_value=12),
    wide=st.sets(st.integers(min_value=0, max_value=79), max_size=10),
)
def test_any_text_keeps_every_character_and_breaks_only_where_allowed(
    text: str, width: int, wide: set[int]
) -> None:
    widths = [2.0 if i in wide else 1.0 for i in range(len(text))]
    lines = break_lines(text, widths, [float(width)])

    # nothing lost or repeated: the lines and the spaces dropped at wrapped line starts make the text
    rebuilt, position = [], 0
    for line in lines:
        assert line.start >= position and text[position : line.start].strip(" ") == ""
        assert line.end > line.start  # every line makes progress
        rebuilt.append(text[line.start : line.end])
        position = line.end
    assert "".join(rebuilt).replace(" ", "") == text.replace(" ", "")
    assert text[position:].strip(" ") == ""  # trailing spaces at a wrap are dropped too

    for line in lines[:-1]:
        chunk = text[line.start : line.end]
        allowed_inside = [b for b in range(line.start + 1, line.end) if _allowed_break(text, b)]
        if line.width > width:  # only a single glyph wider than the line, or a stretch with no break
            assert line.end - line.start == 1 or not allowed_inside
        nxt = text[line.end] if line.end < len(text) else ""
        if nxt in CANNOT_START or chunk[-1] in CANNOT_END:  # a forbidden break only as the last resort
            assert not allowed_inside, (chunk, nxt)


def _allowed_break(text: str, b: int) -> bool:
    from app.reports.linebreak import _allowed

    return _allowed(text, b)


def _line_texts(paragraph: Any) -> list[str]:
    out = []
    for line in paragraph.blPara.lines:
        out.append("".join(line[1]) if isinstance(line, tuple) else "".join(f.text for f in line.words))
    return out


@pytest.mark.parametrize(
    "markup",
    [
        escape_text(ANSWER * 3),  # one run of text
        escape_text((ANSWER + "\n") * 3),  # runs split by line breaks, as a call's answer prints
        "<b>处理结果：</b>" + escape_text(ANSWER * 2),  # mixed styles
    ],
)
def test_report_paragraphs_never_start_a_line_with_closing_punctuation(markup: str) -> None:
    styles = report_styles()
    expected = ANSWER.replace(" ", "")
    for width in range(120, 420, 3):  # a ruled table cell up to the full type area
        paragraph = CJKParagraph(markup, styles.body)
        paragraph.wrap(width, 10_000)
        lines = _line_texts(paragraph)
        for n, line in enumerate(lines):
            if n and line:
                assert line[0] not in CANNOT_START, (width, lines[n - 1], line)
            if line.rstrip():
                assert line.rstrip()[-1] not in CANNOT_END, (width, line)
            assert "ORA-12" not in line or "ORA-12541" in line, (width, line)
        assert expected in "".join(lines).replace(" ", "")


def test_the_printed_page_holds_every_character_in_order() -> None:
    styles = report_styles()
    out = io.BytesIO()
    story = [CJKParagraph(escape_text(ANSWER * 4), styles.body)]
    build_pdf(out, story, PageFurniture("测试", "2026-12-02 09:00"))
    text = "".join((PdfReader(io.BytesIO(out.getvalue())).pages[0].extract_text() or "").split())
    assert (ANSWER * 4).replace(" ", "") in text
