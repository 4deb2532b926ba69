"""Where a line of Chinese text may break on a printout (避头尾, the rules of GB/T 15834 typesetting).

reportlab breaks CJK text between any two characters and keeps only a short Japanese list of characters
that may not start a line; the full-width comma, semicolon, colon, question and exclamation marks and
closing quotes are not on it, and nothing stops a line ending in an opening bracket or quote. A bureau
reads a line starting with "，" as a sloppy document, so every report paragraph breaks here instead:

- a closing mark (，。、；：！？”’）》 …) never starts a line: the character before it moves down with it
  (nothing hangs into the margin, which in a ruled table cell would cross the rule);
- an opening mark (“‘（《【 …) never ends a line: it moves down to the word it opens;
- a run of Latin letters and digits (ORA-12541, UKey, 2024) is not split when a break before it exists.

``break_lines`` works on characters and their widths only, so the single-run and the mixed-style paths of
``CJKParagraph`` (app.reports.layout) share it. The ledger's table (app.reports.ledger), which wraps
10,000 rows of short cells with a faster word-at-a-time wrapper of its own, uses the same two sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CANNOT_START = frozenset("，。、；：！？）》〉」』】〕］｝〗”’…—～·％‰℃!),.:;?]}%ー々ぁぃぅぇぉっゃゅょ")
CANNOT_END = frozenset("（《〈「『【〔［｛〖“‘([{￥$£#@")
_NO_SPLIT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@#%+&'")


@dataclass(frozen=True)
class Line:
    start: int
    end: int  # exclusive
    width: float
    forced: bool  # ended by an explicit line break (<br/>), not by the margin


def break_lines(
    chars: Sequence[str],
    widths: Sequence[float],
    max_widths: Sequence[float],
    forced_after: frozenset[int] = frozenset(),
) -> list[Line]:
    """Lines of ``chars`` (one glyph each) so that each fits its entry of ``max_widths`` (the last entry
    repeats), breaking only where the rules above allow. ``forced_after`` holds indexes after which the
    text itself breaks the line. A stretch with no allowed break that is wider than the whole line is cut
    where the line fills, the only way to print it."""
    n = len(chars)
    lines: list[Line] = []
    start = 0
    while start < n:
        limit = max_widths[min(len(lines), len(max_widths) - 1)]
        used = 0.0
        i = start
        forced = False
        while i < n:
            if used + widths[i] > limit + 1e-6 and i > start:
                break
            used += widths[i]
            i += 1
            if i - 1 in forced_after:
                forced = True
                break
        end = i if (forced or i >= n) else _move_back(chars, start, i)
        lines.append(Line(start, end, sum(widths[start:end]), forced))
        start = end
        while start < n and chars[start] == " " and not forced:  # a wrapped line starts at its word
            start += 1
    return lines


def _move_back(chars: Sequence[str], start: int, b: int) -> int:
    """The end of a line that filled up before index ``b``: the break moves left until it is allowed;
    where the line has no allowed break, it breaks where it filled."""
    candidate = b
    while candidate > start + 1 and not _allowed(chars, candidate):
        candidate -= 1
    if candidate <= start + 1 and not _allowed(chars, candidate):
        return b  # one unbreakable stretch wider than the line: cut it where it fills
    return candidate


def _allowed(chars: Sequence[str], b: int) -> bool:
    """A break before index ``b``."""
    if b >= len(chars):
        return True
    before, after = chars[b - 1], chars[b]
    if after in CANNOT_START or before in CANNOT_END:
        return False
    return not (before in _NO_SPLIT and after in _NO_SPLIT)  # not inside ORA-12541 or a number
