"""Tests for app.search.text against a real contentless SQLite FTS5 table (stdlib sqlite3)."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.search.text import (
    FTS5_OPTIONS,
    MAX_INDEX_PART_CHARS,
    MAX_QUERY_CHARS,
    MAX_QUERY_TERMS,
    TOKENIZER_VERSION,
    build_match,
    index_text,
    normalize,
    query_terms,
)

RECORDS: dict[int, str] = {
    1: "核销销毁模块提示票据号段不连续",
    2: "UKey登录失败，提示证书过期",
    3: "ORA-12541: TNS无监听程序",
    4: "工资统发系统导出E1003错误",
    5: "财政电子票据开具后无法冲红",
    6: "预算单位反映国库集中支付系统无法生成支付凭证，提示额度不足（2024年度）",
    7: "非税收入缴款书打印时二维码模糊，已指导调整打印机分辨率",
    8: "User cannot log in to the budget system after a password reset; account locked.",
    9: "资产管理系统卡片核对：账面价值与财务账不一致",
    10: "Ｅ１００４：ＵＳＢ－ＫＥＹ驱动未安装，请到ＣＡ网站下载",
    11: "电子票据核销后需要在三日内完成票据销毁登记",
    12: "动态令牌同步失败，建议重新绑定手机号13800138000",
    13: "Excel import of payroll failed: error E1003 at row 15",
    14: "会计核算系统月末结账报错：凭证号不连续",
    15: "Oracle client ORA-12154 could not resolve the connect identifier",
    16: "政府采购合同备案被退回，原因：供应商统一社会信用代码有误",
    17: "打印机卡纸了😭请尽快处理，票",
    18: "ログインできません 로그인 실패 Café Zoë",
    19: "票据销毁核对完毕，已核销",
}

CREATE = f"CREATE VIRTUAL TABLE calls_fts USING fts5(body, content='', {FTS5_OPTIONS})"
SEARCH = "SELECT rowid FROM calls_fts WHERE calls_fts MATCH ? ORDER BY rowid"
INSERT = "INSERT INTO calls_fts(rowid, body) VALUES (?, ?)"
DELETE = "INSERT INTO calls_fts(calls_fts, rowid, body) VALUES ('delete', ?, ?)"

CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")


def make_db(records: dict[int, str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(CREATE)
    conn.executemany(INSERT, [(rowid, index_text(text)) for rowid, text in records.items()])
    return conn


def search(conn: sqlite3.Connection, query: str, prefix_last: bool = True) -> set[int]:
    match = build_match(query, prefix_last=prefix_last)
    if match is None:
        return set()
    return {rowid for (rowid,) in conn.execute(SEARCH, (match,))}


def substring_hits(query: str, records: dict[int, str] = RECORDS) -> set[int]:
    needle = normalize(query)
    return {rowid for rowid, text in records.items() if needle in normalize(text)}


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    conn = make_db(RECORDS)
    yield conn
    conn.close()


# --------------------------------------------------------------------------------------------- normalize


def test_normalize_folds_width_and_case() -> None:
    assert normalize("ＵＫｅｙ　ＯＲＡ－１２５４１，￥１００") == "ukey ora-12541,¥100"
    assert normalize("Straße İ") == "strasse i\u0307"
    assert normalize("①㈱") == "1(株)"


@given(st.text(max_size=60))
@settings(deadline=None)
def test_normalize_equals_nfkc_casefold(text: str) -> None:
    assert normalize(text) == unicodedata.normalize("NFKC", text).casefold()


@given(st.text(alphabet="ａＢ１，（）￥￣…‥\u3000\u00a0\u0301\u0304\u3099ｶﾞ核e", max_size=30))
@settings(deadline=None)
def test_normalize_fast_path_equals_nfkc_on_full_width_mixes(text: str) -> None:
    assert normalize(text) == unicodedata.normalize("NFKC", text).casefold()


# --------------------------------------------------------------------------------------------- index_text


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("核销销毁",), "核销 销销 销毁 毁"),
        (("核",), "核"),
        (("核销",), "核销 销"),
        (("UKey登录失败，提示证书过期",), "ukey 登录 录失 失败 败 提示 示证 证书 书过 过期 期"),
        (("ORA-12541: TNS无监听程序",), "ora 12541 tns 无监 监听 听程 程序 序"),
        (("工资统发系统导出E1003错误",), "工资 资统 统发 发系 系统 统导 导出 出 e1003 错误 误"),
        (("ＵＫｅｙ", None, "", "登录"), "ukey 登录 录"),
        (("a_b-c.d",), "a b c d"),
        (("ログイン 로그인",), "ログ グイ イン ン 로그 그인 인"),
        (("",), ""),
        ((None,), ""),
        ((), ""),
        (("，。！？😭\x00\t",), ""),
    ],
)
def test_index_text(parts: Sequence[str | None], expected: str) -> None:
    assert index_text(*parts) == expected


def test_index_text_caps_each_part() -> None:
    out = index_text("a" * (MAX_INDEX_PART_CHARS + 5000), "b" * 10)
    assert out == "a" * MAX_INDEX_PART_CHARS + " " + "b" * 10


def test_index_text_parts_do_not_form_phrases_across_each_other() -> None:
    conn = make_db({1: "核销", 2: "销毁"})
    conn.execute(INSERT, (3, index_text("核", "销毁")))
    assert search(conn, "核销销毁") == set()
    assert search(conn, "核销") == {1}


def test_constants() -> None:
    assert TOKENIZER_VERSION == 1
    assert FTS5_OPTIONS == "tokenize = 'unicode61 remove_diacritics 2'"


# --------------------------------------------------------------------------------------------- build_match


@pytest.mark.parametrize(
    ("query", "prefix_last", "expected"),
    [
        ("核", True, '"核"*'),
        ("核", False, '"核"*'),
        ("核销", True, '"核销"'),
        ("核销销毁", True, '"核销 销销 销毁"'),
        ("e100", True, '"e100"*'),
        ("e100", False, '"e100"'),
        ("ORA-12541", True, '"ora" "12541"*'),
        ("UKey登录失败", True, '"ukey" "登录 录失 失败"'),
        ("UKey 登录", True, '"ukey" "登录"'),
        ("登录 UKey", True, '"登录" "ukey"*'),
        ("ＵＫｅｙ", True, '"ukey"*'),
        ("a OR b", True, '"a" "or" "b"*'),
        ("NEAR(a b)", False, '"near" "a" "b"'),
        ('"核销" AND NOT "销毁"*', True, '"核销" "and" "not" "销毁"'),
        ("ora ora", True, '"ora" "ora"*'),
        ("核 核 核", True, '"核"*'),
        ("", True, None),
        ("   ", True, None),
        ('"', True, None),
        ("*-()^:", True, None),
        ("😭", True, None),
    ],
)
def test_build_match(query: str, prefix_last: bool, expected: str | None) -> None:
    assert build_match(query, prefix_last=prefix_last) == expected


def test_build_match_limits_terms_and_length() -> None:
    many = " ".join(f"w{i}" for i in range(100))
    match = build_match(many)
    assert match is not None
    assert match.count('"') == 2 * MAX_QUERY_TERMS
    assert match.endswith(f'"w{MAX_QUERY_TERMS - 1}"*')
    assert build_match("a" * 5000) == '"' + "a" * MAX_QUERY_CHARS + '"*'


def test_query_terms() -> None:
    assert query_terms("UKey登录失败 ORA-12541，ukey") == ["ukey", "登录失败", "ora", "12541"]
    assert query_terms("  ，。 ") == []
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == MAX_QUERY_TERMS


def test_tokens_contain_only_letters_and_numbers() -> None:
    # Every character that ends up in a token (CJK or not) is a letter/number or unassigned; CJK
    # punctuation such as 。、「」・ stays a separator.
    codepoints = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    token_chars: set[str] = set()
    for start in range(0, len(codepoints), 50_000):
        text = " ".join(map(chr, codepoints[start : start + 50_000]))
        token_chars.update(index_text(text).replace(" ", ""))
    assert token_chars
    assert [ch for ch in token_chars if not (ch.isalnum() or unicodedata.category(ch) == "Cn")] == []
    assert query_terms("。、「」・【】《》") == []
    assert query_terms("abc核销def１２") == ["abc", "核销", "def12"]


# --------------------------------------------------------------------------------------------- searching

CJK_QUERIES = [
    # 1 character, incl. ones that only ever occur at the end of a run (续, 红, 误, 票 as a whole run)
    "核", "销", "续", "红", "误", "票", "账", "无", "鸡",
    # 2 characters
    "核销", "销毁", "票据", "系统", "失败", "提示", "证书", "支付", "核准", "不连", "ログ", "로그",
    # 3 characters
    "不连续", "统发系", "二维码", "在三日", "ログイ", "로그인",
    # 5 characters
    "票据号段不", "国库集中支", "在三日内完", "证书过期了", "统一社会信",
    # longer
    "核销销毁模块提示票据号段不连续",
    # every bigram occurs in record 19, but not contiguously
    "销毁核销",
]  # fmt: skip


@pytest.mark.parametrize("query", CJK_QUERIES)
def test_cjk_query_equals_substring_search(db: sqlite3.Connection, query: str) -> None:
    assert search(db, query) == substring_hits(query)
    assert search(db, query, prefix_last=False) == substring_hits(query)


def test_cjk_queries_are_meaningful() -> None:
    assert substring_hits("核销") == {1, 11, 19}
    assert substring_hits("核") == {1, 9, 11, 14, 19}
    assert substring_hits("销毁核销") == set()
    assert substring_hits("鸡") == set()
    # 续 and 红 occur only as the last character of a CJK run
    for ch in ("续", "红"):
        hits = [m for text in RECORDS.values() for m in CJK_RUN.finditer(normalize(text)) if ch in m.group()]
        assert hits
        assert all(m.group().index(ch) == len(m.group()) - 1 for m in hits)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ukey", {2}),
        ("UKEY", {2}),
        ("ＵＫｅｙ", {2}),
        ("UKey 登录", {2}),
        ("UKey登录失败", {2}),
        ("登录 ukey", {2}),
        ("ukey 冲红", set()),
        ("ora-12541", {3}),
        ("ORA－１２５４１", {3}),
        ("12541", {3}),
        ("ora", {3, 15}),
        ("E1003", {4, 13}),
        ("e100", {4, 10, 13}),
        ("e1004", {10}),
        ("usb-key", {10}),
        ("ＣＡ网站", {10}),
        ("13800138000", {12}),
        ("1380", {12}),
        ("2024", {6}),
        ("password reset", {8}),
        ("Budget", {8}),
        ("log in", {8}),
        ("cafe", {18}),
        ("ZOË", {18}),
        ("error E1003 at row", {13}),
    ],
)
def test_alnum_and_mixed_queries(db: sqlite3.Connection, query: str, expected: set[int]) -> None:
    assert search(db, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("e100", set()), ("e1003", {4, 13}), ("ora", {3, 15}), ("ukey", {2}), ("uk", set())],
)
def test_exact_when_prefix_last_is_false(db: sqlite3.Connection, query: str, expected: set[int]) -> None:
    assert search(db, query, prefix_last=False) == expected


def test_only_last_alnum_term_is_a_prefix(db: sqlite3.Connection) -> None:
    assert search(db, "e100 统发") == set()
    assert search(db, "统发 e100") == {4}
    assert search(db, "uk 登录") == set()
    assert search(db, "登录 uk") == {2}


HOSTILE = [
    '"', '"""', '""', "*", "-", "+", "(", ")", "()", "[]", "{}", "^", ":", ",", "\\", "'",
    "NEAR(a b)", "NEAR", "a OR b", "OR", "AND", "NOT", "a NOT b", "NOT 核销", "核销 OR", "AND AND",
    "'; DROP TABLE calls; --", "'; DROP TABLE calls_fts; --", "x\" OR \"y", "1' OR '1'='1",
    "body:核销", "{body}: 核销", "- body : x", "^核销", "核销*", "*核销", '"核销', '核销"', "核销^",
    "ORA-12541 OR 1=1", "e1003*", "NEAR(核销 销毁, 2)", "a + b", "a:b:c", "((核销)", "核销))",
    "\x00", "a\x00b", "核\x00销", "\t\n\r", "\u200b\u200d\u200e\ufeff", "\ud800", "a\udfffb",
    "😀", "😀核销😀", "👨‍👩‍👧", "\U0001e900", "\u9fd0", "核\u9fd0", "\U0002a6d6\U00030000", "\U0010ffff",
    "ﷺ", "ﷻ", "㍻", "\u0301", "e\u0301", "ＡＮＤ", "＂核销＂", "－", "＊",
    "a" * 1_000_000, "票" * 1_000_000, "核销 " * 10_000, '"' * 100_000, "a" * MAX_QUERY_CHARS + "b",
]  # fmt: skip


@pytest.mark.parametrize(
    "query", HOSTILE, ids=lambda q: repr(q[:20]) + (f"...x{len(q)}" if len(q) > 20 else "")
)
@pytest.mark.parametrize("prefix_last", [True, False])
def test_hostile_queries_never_raise(db: sqlite3.Connection, query: str, prefix_last: bool) -> None:
    match = build_match(query, prefix_last=prefix_last)
    if match is not None:
        assert len(match) < 100 * MAX_QUERY_CHARS
        db.execute(SEARCH, (match,)).fetchall()
    query_terms(query)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'calls_fts'").fetchone() == (1,)


def test_hostile_strings_can_be_indexed() -> None:
    records = dict(enumerate(HOSTILE, start=1))
    conn = make_db(records)
    assert search(conn, "drop table") == {i for i, text in records.items() if "drop table" in text.lower()}
    assert len(search(conn, "drop table")) == 2
    conn.close()


@pytest.mark.parametrize(("query", "is_none"), [("\x00", True), ('"""', True), ("😀", True), ("NOT", False)])
def test_hostile_none_means_no_search(query: str, is_none: bool) -> None:
    assert (build_match(query) is None) is is_none


def test_literal_operator_words_are_searched_as_text() -> None:
    conn = make_db({1: "can not connect", 2: "near the window", 3: "a or b"})
    assert search(conn, "NOT") == {1}
    assert search(conn, "NEAR(window)") == {2}
    assert search(conn, "a OR b") == {3}
    assert search(conn, "a OR zzz") == set()
    conn.close()


def test_every_alphanumeric_character_is_a_safe_query(db: sqlite3.Connection) -> None:
    chars = [chr(cp) for cp in range(0x110000) if chr(cp).isalnum()]
    for start in range(0, len(chars), MAX_QUERY_TERMS):
        for query in (" ".join(chars[start : start + MAX_QUERY_TERMS]), "".join(chars[start : start + 16])):
            match = build_match(query)
            assert match is not None
            db.execute(SEARCH, (match,)).fetchall()


# --------------------------------------------------------------------------------------------- delete


def test_delete_from_contentless_table() -> None:
    conn = make_db(RECORDS)
    assert search(conn, "核销") == {1, 11, 19}
    assert search(conn, "ukey") == {2}
    conn.execute(DELETE, (1, index_text(RECORDS[1])))
    conn.execute(DELETE, (2, index_text(RECORDS[2])))
    assert search(conn, "核销") == {11, 19}
    assert search(conn, "号段") == set()
    assert search(conn, "ukey") == set()
    assert search(conn, "证书过期") == set()
    assert search(conn, "票据") == substring_hits("票据") - {1}
    conn.execute("INSERT INTO calls_fts(calls_fts) VALUES ('integrity-check')")
    conn.close()


def test_update_is_delete_then_insert() -> None:
    conn = make_db({1: "UKey登录失败"})
    conn.execute(DELETE, (1, index_text("UKey登录失败")))
    conn.execute(INSERT, (1, index_text("证书过期，已更新")))
    assert search(conn, "ukey") == set()
    assert search(conn, "证书") == {1}
    conn.close()


# --------------------------------------------------------------------------------------------- properties

ALPHABET = "核销毁票据号段不连续登录失败证书过期红系统" + "abcXYZ" + "0129" + " \"'*-()^:,.，。（）：ＡＢ１"
CJK_ALPHABET = "核销毁票据号段不连续登录失败证书过期红系统"


@pytest.fixture(scope="module")
def property_db() -> Iterator[sqlite3.Connection]:
    conn = make_db(RECORDS)
    yield conn
    conn.close()


@given(query=st.text(alphabet=ALPHABET, max_size=40), prefix_last=st.booleans())
@settings(deadline=None)
def test_property_any_query_runs(property_db: sqlite3.Connection, query: str, prefix_last: bool) -> None:
    match = build_match(query, prefix_last=prefix_last)
    if match is None:
        assert query_terms(query) == []
        return
    property_db.execute(SEARCH, (match,)).fetchall()


@st.composite
def records_and_cjk_substring(draw: st.DrawFn) -> tuple[dict[int, str], str]:
    texts = draw(st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=40), min_size=1, max_size=6))
    records = dict(enumerate(texts, start=1))
    runs = [m.group() for text in texts for m in CJK_RUN.finditer(normalize(text))]
    if not runs:
        runs = [draw(st.text(alphabet=CJK_ALPHABET, min_size=1, max_size=8))]
        records[len(records) + 1] = runs[0]
    run = draw(st.sampled_from(runs))
    start = draw(st.integers(0, len(run) - 1))
    end = draw(st.integers(start + 1, len(run)))
    return records, run[start:end]


@given(data=records_and_cjk_substring(), prefix_last=st.booleans())
@settings(deadline=None)
def test_property_cjk_substring_is_found(data: tuple[dict[int, str], str], prefix_last: bool) -> None:
    records, query = data
    conn = make_db(records)
    try:
        expected = substring_hits(query, records)
        assert expected  # the query was taken from an indexed record
        assert search(conn, query, prefix_last=prefix_last) == expected
    finally:
        conn.close()
