"""Pre-tokenization of Chinese/English/mixed text for SQLite FTS5 with the ``unicode61`` tokenizer.

``unicode61`` splits on spaces and punctuation only, so a run of Chinese text would become one huge
token.  We therefore tokenize in Python and hand FTS5 a space-separated token string:

* text is normalized with NFKC (folds full-width forms, circled digits, compatibility ideographs)
  and then casefolded;
* CJK runs (Han incl. extensions and compatibility ideographs, kana, hangul, bopomofo) are indexed
  as overlapping bigrams followed by the run's last character as a unigram, e.g. ``核销销毁`` ->
  ``核销 销销 销毁 毁``.  Every character thus *starts* some token, so a one-character query is the
  prefix query ``"核"*``, and a query of n >= 2 characters is the phrase of its n - 1 bigrams.  The
  trailing unigram also keeps a phrase from matching across two separate runs;
* alphanumeric runs of any other script are indexed as they are (``ora-12541`` -> ``ora 12541``).

Queries are built from quoted terms only, so nothing a user types is ever FTS5 syntax.  The table
must be created with :data:`FTS5_OPTIONS`, and rebuilt whenever :data:`TOKENIZER_VERSION` changes.
"""

from __future__ import annotations

import operator
import re
import unicodedata

__all__ = [
    "FTS5_OPTIONS",
    "MAX_INDEX_PART_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "TOKENIZER_VERSION",
    "build_match",
    "index_text",
    "normalize",
    "query_terms",
]

#: Bump whenever the indexed form produced by :func:`index_text` changes; the index must be rebuilt.
TOKENIZER_VERSION = 1

#: Options for ``CREATE VIRTUAL TABLE ... USING fts5(body, content='', {FTS5_OPTIONS})``.
FTS5_OPTIONS = "tokenize = 'unicode61 remove_diacritics 2'"

MAX_INDEX_PART_CHARS = 200_000
MAX_QUERY_CHARS = 1000
MAX_QUERY_TERMS = 32

# Characters indexed as CJK (bigrams).  Only letters/numbers: the kana blocks' combining sound marks
# (U+3099-309C) and the katakana middle dot U+30FB are left out so that they remain separators.
_CJK_RANGES = (
    "\u1100-\u11ff"  # Hangul Jamo (NFKC maps compatibility jamo U+3131-318E here)
    "\u3005-\u3007"  # 々 〆 〇
    "\u3021-\u3029"  # Hangzhou numerals
    "\u3038-\u303b"
    "\u3041-\u3096"  # Hiragana
    "\u309d-\u309f"
    "\u30a1-\u30fa"  # Katakana
    "\u30fc-\u30ff"
    "\u3105-\u312f"  # Bopomofo
    "\u31a0-\u31bf"
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\ua960-\ua97f"  # Hangul Jamo Extended-A
    "\uac00-\ud7af"  # Hangul Syllables
    "\ud7b0-\ud7ff"  # Hangul Jamo Extended-B
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U0001b000-\U0001b16f"  # Kana Supplement / Extended-A / Small Kana Extension
    "\U00020000-\U0002fa1f"  # CJK Extensions B-F, I and Compatibility Ideographs Supplement
    "\U00030000-\U000323af"  # CJK Extensions G, H
)

# Group 1: a CJK run.  Group 2: a run of other letters/digits (``[^\W_]`` == str.isalnum(), minus CJK).
_RUN_RE = re.compile(f"([{_CJK_RANGES}]+)|([^\\W_{_CJK_RANGES}]+)")

_add = operator.add


# Fast path for normalize(): Chinese text is rarely NFKC-normal only because of full-width punctuation
# (，：（）；！？), ￥, the ideographic space and '…', and full NFKC of a CJK string is slow.  Replacing
# such characters by their full compatibility decomposition first does not change the NFKC result
# (NFKC = compose(NFKD), and NFKD decomposes character by character), and often leaves a string that
# is already NFKC, so the expensive call is skipped.
_PRE_FOLD_CHARS = [
    *range(0xFF01, 0xFF5F),  # full-width ASCII
    *range(0xFFE0, 0xFFE7),  # ￠￡￢￣￤￥￦
    0x00A0,  # no-break space
    0x2025,  # ‥
    0x2026,  # …
    0x3000,  # ideographic space
]
_PRE_FOLD_TABLE = str.maketrans({c: unicodedata.normalize("NFKD", chr(c)) for c in _PRE_FOLD_CHARS})
_PRE_FOLD_RE = re.compile("[\uff01-\uff5e\uffe0-\uffe6\u00a0\u2025\u2026\u3000]+")


def _pre_fold(match: re.Match[str]) -> str:
    return match.group().translate(_PRE_FOLD_TABLE)


def normalize(text: str) -> str:
    """NFKC (folds full-width forms and compatibility characters), then casefold.

    Equal to ``unicodedata.normalize("NFKC", text).casefold()``, just faster for typical Chinese text.
    """
    if not unicodedata.is_normalized("NFKC", text):
        text = _PRE_FOLD_RE.sub(_pre_fold, text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return text.casefold()


def _runs(text: str) -> list[tuple[str, str]]:
    """(cjk, alnum) pairs of the normalized text; exactly one of the two is non-empty."""
    result: list[tuple[str, str]] = _RUN_RE.findall(normalize(text))
    return result


def index_text(*parts: str | None) -> str:
    """The indexed form of ``parts`` for the single FTS5 column: space-separated tokens.

    ``None`` and empty parts are skipped; each part is capped at :data:`MAX_INDEX_PART_CHARS`.
    """
    tokens: list[str] = []
    append = tokens.append
    extend = tokens.extend
    for part in parts:
        if not part:
            continue
        for cjk, alnum in _runs(part[:MAX_INDEX_PART_CHARS]):
            if alnum:
                append(alnum)
            elif len(cjk) == 1:
                append(cjk)
            else:
                extend(map(_add, cjk, cjk[1:]))  # overlapping bigrams
                append(cjk[-1])  # the last character, so that it too starts a token
    return " ".join(tokens)


def query_terms(query: str) -> list[str]:
    """The normalized words and CJK runs of a user query, in order, without duplicates.

    Same limits as :func:`build_match` (first :data:`MAX_QUERY_CHARS` characters, at most
    :data:`MAX_QUERY_TERMS` terms); meant for highlighting matches.
    """
    seen: dict[str, None] = {}
    for cjk, alnum in _runs(query[:MAX_QUERY_CHARS])[:MAX_QUERY_TERMS]:
        seen.setdefault(cjk or alnum)
    return list(seen)


def _quote(term: str) -> str:
    # Tokens never contain '"' (they are letters/digits only), but escape anyway: inside an FTS5
    # string a double quote is written twice.
    return '"' + term.replace('"', '""') + '"'


def build_match(query: str, prefix_last: bool = True) -> str | None:
    """An FTS5 MATCH expression for what a user typed, or None when there is nothing to search for.

    Every term is a double-quoted FTS5 string, so operators, quotes, brackets, ``*``, ``^``, ``:``
    etc. in ``query`` are plain text; terms are ANDed.  A CJK run of n >= 2 characters becomes the
    phrase of its bigrams (核销毁 -> ``"核销 销毁"``), a single CJK character the prefix query ``"核"*``.
    Alphanumeric words must match a whole token, except that with ``prefix_last`` the final term of
    the query, if it is alphanumeric, is a prefix query (as-you-type: ``"e100"*``).
    """
    runs = _runs(query[:MAX_QUERY_CHARS])[:MAX_QUERY_TERMS]
    if not runs:
        return None
    exprs: dict[str, None] = {}  # de-duplicated, in order
    last = len(runs) - 1
    for i, (cjk, alnum) in enumerate(runs):
        if alnum:
            expr = _quote(alnum)
            if prefix_last and i == last:
                expr += "*"
        elif len(cjk) == 1:
            expr = _quote(cjk) + "*"
        else:
            expr = _quote(" ".join(map(_add, cjk, cjk[1:])))
        exprs.setdefault(expr)
    return " ".join(exprs)
