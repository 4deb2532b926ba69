"""Search over the knowledge base and tickets: one FTS5 table, ranked, with synonyms and pinyin initials.

``kb_fts`` (local, revision 0008) has four columns, each holding :func:`app.search.text.index_text`
tokens: ``title`` (the title and tags), ``body`` (symptom, cause, solution, system and module names
for an article; description, notes, unit and caller for a ticket), ``initials`` (the pinyin initials
of the title's Chinese runs, every suffix of at least two letters, so ``hx`` finds 核销 anywhere in a
title) and ``facets`` (one token per filter value). Its rowid is ``kb_search.key``; the index keeps its
own copy of the tokens, so a row is replaced by rowid alone.

A query is built from quoted terms only (nothing a user types is FTS5 syntax), searched in the first
three columns, ranked by ``bm25`` with the title weighing most. Letters and digits are prefixes (as you
type: ``ora`` finds ORA-12541); a code written with hyphens or dots (``ORA-12541``) is one phrase. A
configured synonym group (优盘 = U盘 = UKey) found in the query becomes ``(member OR member …)``.

The same words expression (:meth:`KbQuery.words`) is valid against ``calls_fts``, so the search box
finds earlier calls too.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from app.search.text import _CJK_RANGES, MAX_QUERY_CHARS, MAX_QUERY_TERMS, index_text, normalize

__all__ = [
    "ARTICLE",
    "INDEX_VERSION",
    "TICKET",
    "Hit",
    "KbFilters",
    "KbQuery",
    "Snippet",
    "SynonymTable",
    "build_query",
    "facet_token",
    "initials_text",
    "search",
    "snippet",
    "statement",
]

#: Bump when what goes into ``kb_fts`` changes: the index is rebuilt (``app.services.kb_index``).
INDEX_VERSION = 1

ARTICLE = "a"
TICKET = "t"

# bm25 weights of the columns title, body, initials, facets
_WEIGHTS = (10.0, 1.0, 4.0, 0.0)
_SEARCHED = "{title body initials}"

_CJK_RE = re.compile(f"[{_CJK_RANGES}]+")
# Group 1: a CJK run; group 2: a run of other letters and digits (as app.search.text splits text).
_RUNS_RE = re.compile(f"([{_CJK_RANGES}]+)|([^\\W_{_CJK_RANGES}]+)")
# A code such as ora-12541, e1003, v2.3.1: letters/digits joined by - _ . (one phrase in a query)
_CODE_RE = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)+")
_MARKDOWN_TARGET_RE = re.compile(r"\]\([^)\s]*\)")  # link/image targets: kbimg:uuid, URLs


def facet_token(kind: str, value: str) -> str:
    """A filter value as one ASCII token (``zs`` + site id hex …; tags hashed)."""
    if kind == "g":
        return "zg" + hashlib.blake2b(normalize(value).encode("utf-8"), digest_size=8).hexdigest()
    return f"z{kind}" + "".join(ch for ch in value.lower() if ch.isalnum())


_pinyin: Callable[[str], list[str]] | None = None


def _initials_of(run: str) -> str:
    global _pinyin
    if _pinyin is None:
        from pypinyin import Style, lazy_pinyin  # imported on first use: 0.1 s and a few MB

        def first_letters(text: str) -> list[str]:
            return list(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore"))

        _pinyin = first_letters
    return "".join(letter for letter in _pinyin(run) if letter.isascii() and letter.isalpha()).lower()


def initials_text(title: str) -> str:
    """The pinyin initials of the title's Chinese runs, every suffix of two letters or more:
    票据核销 -> ``pjhx jhx hx``."""
    tokens: list[str] = []
    for run in _CJK_RE.findall(title):
        letters = _initials_of(run)
        tokens.extend(letters[i:] for i in range(max(0, len(letters) - 1)))
    return " ".join(tokens)


def markdown_words(markdown: str) -> str:
    """Markdown without link and image targets (their ids and URLs are not words anyone searches)."""
    return _MARKDOWN_TARGET_RE.sub("]", markdown)


# --- synonyms -------------------------------------------------------------------------------------


def _phrase(text: str) -> str | None:
    """An FTS5 phrase matching ``text`` where it occurs in indexed text; None when it has no words.

    A Chinese run of two or more characters is its bigrams; a single Chinese character ends the
    phrase as a prefix (in the index it starts a bigram of whatever follows it)."""
    tokens: list[str] = []
    prefix = False
    runs = _RUNS_RE.findall(normalize(text))
    for i, (cjk, alnum) in enumerate(runs):
        if alnum:
            tokens.append(alnum)
        elif len(cjk) == 1:
            tokens.append(cjk)
            if i != len(runs) - 1:
                return None  # a single character inside a member: no exact phrase for it
            prefix = True
        else:
            tokens.extend(a + b for a, b in itertools.pairwise(cjk))
    if not tokens:
        return None
    return '"' + " ".join(tokens).replace('"', '""') + '"' + ("*" if prefix else "")


@dataclass(frozen=True)
class SynonymTable:
    """Groups of words a search treats as one. Built from the configured groups' texts."""

    groups: tuple[tuple[str, ...], ...] = ()
    _by_member: dict[str, int] = field(default_factory=dict, compare=False)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> SynonymTable:
        groups: list[tuple[str, ...]] = []
        for raw in texts:
            words = tuple(dict.fromkeys(w for w in (normalize(p).strip() for p in split_words(raw)) if w))
            if len(words) >= 2:
                groups.append(words)
        by_member: dict[str, int] = {}
        for index, words in enumerate(groups):
            for word in words:
                by_member.setdefault(word, index)
        return cls(tuple(groups), by_member)

    def members(self) -> list[str]:
        """Every member, longest first (the order a query is scanned in)."""
        return sorted(self._by_member, key=len, reverse=True)

    def group_of(self, word: str) -> tuple[str, ...] | None:
        index = self._by_member.get(word)
        return None if index is None else self.groups[index]


def split_words(text: str) -> list[str]:
    """A synonym group as typed: words separated by =, comma, 、, ；, spaces or new lines."""
    return [w for w in re.split(r"[=,，、;；\s]+", text) if w]


# --- the query ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KbQuery:
    """A user query made safe: ``terms`` are FTS5 expressions ANDed together; ``highlight`` the
    normalized words whose occurrences a snippet marks."""

    terms: tuple[str, ...]
    highlight: tuple[str, ...]

    def words(self) -> str:
        return " AND ".join(self.terms)

    def has_short_prefix(self) -> bool:
        """A prefix term whose last word is one character (单, h, the 1 of ORA-1) or two digits (13,
        the 12 of ORA-12): FTS5 first merges the entries of every token starting so, which in the
        call index of a desktop with a million calls is up to 51,886 tokens (phone numbers) and a
        quarter of a second. As-you-type searching leaves such an index for the next keystroke."""
        for term in self.terms:
            for part in re.findall(r'"([^"]*)"\*', term):
                last = part.rsplit(" ", 1)[-1]
                if len(last) == 1 or (len(last) == 2 and last.isdigit()):
                    return True
        return False


def _plain_terms(text: str, highlight: list[str]) -> list[str]:
    """Terms of normalized text without synonyms: codes as phrases, Chinese runs as bigram phrases (a
    single character a prefix), other words as prefixes."""
    terms: list[str] = []
    position = 0
    for match in _CODE_RE.finditer(text):
        terms.extend(_simple_terms(text[position : match.start()], highlight))
        code = match.group()
        phrase = _phrase(code)
        if phrase is not None:
            terms.append(phrase + "*")
            highlight.append(code)
        position = match.end()
    terms.extend(_simple_terms(text[position:], highlight))
    return terms


def _simple_terms(text: str, highlight: list[str]) -> list[str]:
    terms: list[str] = []
    for cjk, alnum in _RUNS_RE.findall(text):
        if alnum:
            terms.append('"' + alnum + '"*')
            highlight.append(alnum)
        elif len(cjk) == 1:
            terms.append('"' + cjk + '"*')
            highlight.append(cjk)
        else:
            terms.append('"' + " ".join(a + b for a, b in itertools.pairwise(cjk)) + '"')
            highlight.append(cjk)
    return terms


def build_query(query: str, synonyms: SynonymTable | None = None) -> KbQuery | None:
    """The query for what a user typed, or None when it has nothing to search for."""
    text = normalize(query[:MAX_QUERY_CHARS])
    highlight: list[str] = []
    terms: list[str] = []
    pieces: list[tuple[str, tuple[str, ...] | None]] = [(text, None)]
    if synonyms is not None and synonyms.groups:
        for member in synonyms.members():
            group = synonyms.group_of(member)
            split: list[tuple[str, tuple[str, ...] | None]] = []
            for piece, found in pieces:
                if found is not None:
                    split.append((piece, found))
                    continue
                split.extend(_split_on(piece, member, group))
            pieces = split
    for piece, group in pieces:
        if group is None:
            terms.extend(_plain_terms(piece, highlight))
            continue
        alternatives = [p for p in (_phrase(word) for word in group) if p is not None]
        highlight.extend(group)
        terms.append("(" + " OR ".join(alternatives) + ")")
    terms = list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]
    if not terms:
        return None
    return KbQuery(tuple(terms), tuple(dict.fromkeys(highlight)))


_ONE_CHARACTER_PREFIX = re.compile(r'"[^" ]"\*')


def in_titles_while_short(query: KbQuery) -> KbQuery:
    """As you type: a word of one character so far (单, h) is looked for in the titles only. bm25
    scores every document that matches before it can rank them, and in the bodies (or the pinyin
    initials, for a letter) one character matches most documents: 11,454 of 20,000 articles for 单,
    27 ms, against 1,844 titles and 7 ms. The next character searches everything again."""
    terms = tuple(f"{{title}} : ({t})" if _ONE_CHARACTER_PREFIX.fullmatch(t) else t for t in query.terms)
    return KbQuery(terms, query.highlight)


def loosen(query: KbQuery) -> KbQuery:
    """The same words with OR instead of AND, a Chinese phrase taken apart into its bigrams: for a
    question typed as a sentence (开票的时候提示证书过期了怎么办), which no article holds whole. bm25
    ranks first the articles holding most of the (rarest) pieces."""
    pieces: list[str] = []
    highlight = list(query.highlight)
    for term in query.terms:
        if term.startswith('"') and term.endswith('"') and " " in term:
            tokens = term[1:-1].split(" ")
            if all(not t.isascii() for t in tokens):  # a Chinese phrase: its bigrams one by one
                pieces.extend(f'"{t}"' for t in tokens)
                highlight.extend(tokens)
                continue
        pieces.append(term)
    unique = list(dict.fromkeys(pieces))
    return KbQuery(("(" + " OR ".join(unique) + ")",), tuple(dict.fromkeys(highlight)))


def _split_on(
    text: str, member: str, group: tuple[str, ...] | None
) -> list[tuple[str, tuple[str, ...] | None]]:
    """``text`` cut around whole occurrences of ``member`` (an ASCII member must not be part of a
    longer word: ``key`` is not found in ``keyboard``)."""
    out: list[tuple[str, tuple[str, ...] | None]] = []
    start = 0
    pattern = re.escape(member)
    if member[:1].isascii() and member[:1].isalnum():
        pattern = r"(?<![a-z0-9])" + pattern
    if member[-1:].isascii() and member[-1:].isalnum():
        pattern += r"(?![a-z0-9])"
    for match in re.finditer(pattern, text):
        out.append((text[start : match.start()], None))
        out.append((match.group(), group))
        start = match.end()
    out.append((text[start:], None))
    return [(piece, found) for piece, found in out if piece.strip()]


# --- searching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KbFilters:
    """What to search: articles and/or tickets, narrowed by site (articles for every site match any
    site), system, module, type, tag and status."""

    kinds: tuple[str, ...] = (ARTICLE,)
    site_id: str | None = None
    system_id: str | None = None
    module_id: str | None = None
    article_type: str | None = None
    tag: str | None = None
    statuses: tuple[str, ...] = ("published", "draft")


@dataclass(frozen=True)
class Hit:
    kind: str  # ARTICLE or TICKET
    doc_id: str
    score: float  # higher is better (bm25 negated); 0 without words


def _narrowing_facets(filters: KbFilters) -> list[str]:
    """The filters that stay FTS5 phrases of the ``facets`` column: system, module, type and tag,
    chosen now and then and narrowing a lot."""
    terms: list[str] = []
    for kind, value in (("y", filters.system_id), ("m", filters.module_id), ("t", filters.article_type)):
        if value:
            terms.append(f'"{facet_token(kind, value)}"')
    if filters.tag:
        terms.append(f'"{facet_token("g", filters.tag)}"')
    return [f"facets : {term}" for term in terms]


def _where(filters: KbFilters) -> tuple[str, list[Any]]:
    """The filters applied to ``kb_search`` after the match: kind, site and status are on every
    search and hold most documents, so as FTS5 phrases they only made bm25 work through them too
    (单位: 28.0 → 22.7 ms over 20,000 articles)."""
    marks = ", ".join("?" * len(filters.kinds))
    clauses, params = [f"s.kind IN ({marks})"], list[Any](filters.kinds)
    if filters.site_id:
        clauses.append("s.site IN (?, '')")  # an article for every site has none
        params.append(filters.site_id)
    if ARTICLE in filters.kinds and filters.statuses:
        clauses.append(f"(s.kind <> '{ARTICLE}' OR s.status IN ({', '.join('?' * len(filters.statuses))}))")
        params.extend(filters.statuses)
    return " AND ".join(clauses), params


def statement(
    query: KbQuery | None, filters: KbFilters, limit: int = 50, offset: int = 0
) -> tuple[str, tuple[Any, ...]]:
    """The SQL (and its parameters) of ``search``: the best ``limit`` hits after ``offset`` as
    ``(kind, doc id, rank)``, or the newest without words. Also what the benchmark's raw floor runs."""
    where, params = _where(filters)
    narrowing = _narrowing_facets(filters)
    if query is None and not narrowing:
        newest = f"SELECT s.kind, s.doc_id, 0.0 FROM kb_search s WHERE {where} ORDER BY s.key DESC"
        return f"{newest} LIMIT ? OFFSET ?", (*params, limit, offset)
    if query is None:
        match = " AND ".join(narrowing)
        order, rank = "kb_fts.rowid DESC", "0.0"
    else:
        match = " AND ".join([f"{_SEARCHED} : ({query.words()})", *narrowing])
        order, rank = "rank", f"bm25(kb_fts, {', '.join(str(w) for w in _WEIGHTS)})"
    sql = (
        f"SELECT s.kind, s.doc_id, {rank} AS rank FROM kb_fts JOIN kb_search s ON s.key = kb_fts.rowid "
        f"WHERE kb_fts MATCH ? AND {where} ORDER BY {order} LIMIT ? OFFSET ?"
    )
    return sql, (match, *params, limit, offset)


def search(
    conn: Connection, query: KbQuery | None, filters: KbFilters, limit: int = 50, offset: int = 0
) -> list[Hit]:
    """The best ``limit`` hits (after ``offset``), best first; without words, the newest first."""
    sql, params = statement(query, filters, limit, offset)
    rows = conn.exec_driver_sql(sql, params).all()
    return [Hit(str(kind), str(doc_id), -float(rank)) for kind, doc_id, rank in rows]


def count(conn: Connection, query: KbQuery | None, filters: KbFilters) -> int:
    where, params = _where(filters)
    narrowing = _narrowing_facets(filters)
    if query is None and not narrowing:
        sql, args = f"SELECT count(*) FROM kb_search s WHERE {where}", tuple(params)
    else:
        words = [] if query is None else [f"{_SEARCHED} : ({query.words()})"]
        sql = (
            "SELECT count(*) FROM kb_fts JOIN kb_search s ON s.key = kb_fts.rowid "
            f"WHERE kb_fts MATCH ? AND {where}"
        )
        args = (" AND ".join([*words, *narrowing]), *params)
    return int(conn.exec_driver_sql(sql, args).scalar() or 0)


# --- the index rows -------------------------------------------------------------------------------


def article_row(
    title: str,
    tags: Sequence[str],
    texts: Sequence[str],
    facets: Sequence[tuple[str, str | None]],
) -> tuple[str, str, str, str]:
    """The four column values of an article's (or a ticket's) row."""
    return (
        index_text(title, *tags),
        index_text(*(markdown_words(t) for t in texts)),
        initials_text(title),
        " ".join(facet_token(kind, value) for kind, value in facets if value),
    )


@dataclass(frozen=True)
class IndexRow:
    """A document's index row: its ``kb_fts`` columns (``article_row``), and the site ("" for every
    site) and status ("ticket" for a ticket) that ``kb_search`` keeps for the filters."""

    doc_id: str
    columns: tuple[str, str, str, str]
    site: str
    status: str


def put_rows(conn: Connection, kind: str, rows: Sequence[IndexRow]) -> None:
    """Write the index rows of documents, replacing what they had."""
    if not rows:
        return
    ids = [row.doc_id for row in rows]
    keys = _keys(conn, kind, ids)
    conn.exec_driver_sql("DELETE FROM kb_fts WHERE rowid = ?", [(keys[doc_id],) for doc_id in ids])
    conn.exec_driver_sql(
        "INSERT INTO kb_fts (rowid, title, body, initials, facets) VALUES (?, ?, ?, ?, ?)",
        [(keys[row.doc_id], *row.columns) for row in rows],
    )
    conn.exec_driver_sql(
        "UPDATE kb_search SET site = ?, status = ? WHERE key = ?",
        [(row.site, row.status, keys[row.doc_id]) for row in rows],
    )


def drop_rows(conn: Connection, ids: Sequence[str]) -> None:
    """Take documents (deleted ones) out of the index."""
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        conn.exec_driver_sql(
            f"DELETE FROM kb_fts WHERE rowid IN (SELECT key FROM kb_search WHERE doc_id IN ({marks}))",
            tuple(chunk),
        )
        conn.exec_driver_sql(f"DELETE FROM kb_search WHERE doc_id IN ({marks})", tuple(chunk))


def _keys(conn: Connection, kind: str, ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        for doc_id, key in conn.exec_driver_sql(
            f"SELECT doc_id, key FROM kb_search WHERE doc_id IN ({marks})", tuple(chunk)
        ):
            found[str(doc_id)] = int(key)
    missing = [doc_id for doc_id in dict.fromkeys(ids) if doc_id not in found]
    if missing:
        conn.exec_driver_sql(
            "INSERT INTO kb_search (kind, doc_id) VALUES (?, ?)", [(kind, d) for d in missing]
        )
        found.update(_keys(conn, kind, missing))
    return found


# --- snippets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    """A piece of text around the first match: ``parts`` alternate plain and matched text."""

    parts: tuple[tuple[str, bool], ...]

    @property
    def matched(self) -> bool:
        return any(matched for _part, matched in self.parts)

    def text(self, mark: Callable[[str], str] = lambda s: f"【{s}】") -> str:
        return "".join(mark(part) if matched else part for part, matched in self.parts)


def snippet(text: str, words: Sequence[str], width: int = 80) -> Snippet:
    """About ``width`` characters of ``text`` (one line) around its first match of ``words``
    (normalized), every match marked; the start of the text when nothing matches."""
    text = " ".join(markdown_words(text[:5000]).split())
    folded = normalize(text)
    if len(folded) != len(text):  # rare (ligatures, ß): fold character by character to keep offsets
        folded = "".join(normalize(ch)[:1] or " " for ch in text)
    spans: list[tuple[int, int]] = []
    for word in {w for w in words if w}:
        start = folded.find(word)
        while start >= 0:
            spans.append((start, start + len(word)))
            start = folded.find(word, start + 1)
    spans = _merged(spans)
    if spans:
        first = spans[0][0]
        begin = max(0, first - width // 4)
    else:
        begin = 0
    end = min(len(text), begin + width)
    parts: list[tuple[str, bool]] = []
    if begin > 0:
        parts.append(("…", False))
    position = begin
    for s, e in spans:
        if e <= begin or s >= end:
            continue
        s, e = max(s, begin), min(e, end)
        if s > position:
            parts.append((text[position:s], False))
        parts.append((text[s:e], True))
        position = e
    if position < end:
        parts.append((text[position:end], False))
    if end < len(text):
        parts.append(("…", False))
    return Snippet(tuple(parts))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one (the bigrams 证书 书过 过期 mark 证书过期)."""
    result: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def usage_boost(uses: int) -> float:
    """How much being used in calls adds to a score: a tie-breaker among equally good matches."""
    return 0.3 * math.log1p(uses)


def rerank(hits: list[Hit], uses: dict[str, int]) -> list[Hit]:
    """Hits ordered by their score plus the usage boost (articles used often come first among close
    matches)."""
    return sorted(hits, key=lambda h: -(h.score + usage_boost(uses.get(h.doc_id, 0))))
