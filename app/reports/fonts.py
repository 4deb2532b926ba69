"""The bundled CJK font (WenQuanYi Micro Hei, ``resources/fonts/wqy-microhei.ttc``) for PDFs.

The font is registered with reportlab once, on first use (never at import time), and embedded as a
subset in every PDF, so a printout looks the same on any viewer or printer, with or without Chinese
system fonts. The collection holds two faces: the proportional one for text and a monospaced one for
code, which draws Chinese too.

WenQuanYi Micro Hei has no bold face. The bold name is the regular face under another name, and
``layout.CJKParagraph`` draws text in it with a thin stroked outline around the glyphs, the way word
processors embolden CJK fonts that lack a bold face. Italic is the regular face: Chinese type has no
italic, and slanted hanzi would look wrong on a filed document.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from app.paths import resource_dir

FONT_FILE = "wqy-microhei.ttc"
_REGULAR_FACE = 0  # WenQuanYi Micro Hei
_MONO_FACE = 1  # WenQuanYi Micro Hei Mono

REGULAR = "HotlineCJK"
BOLD = "HotlineCJK-Bold"
MONO = "HotlineCJKMono"

# Chinese typesetting marks a character that cannot be set with a white square (缺字符号).
MISSING_GLYPH = "□"


@dataclass(frozen=True, slots=True)
class ReportFonts:
    """Registered reportlab font names (usable in styles and in ``<font face=...>``)."""

    regular: str
    bold: str
    mono: str
    synthetic_bold: bool  # True: ``bold`` is the regular face, emboldened when drawn
    covered: frozenset[int]  # code points the faces can draw


_lock = threading.Lock()
_registered: ReportFonts | None = None


def report_fonts() -> ReportFonts:
    """Register the bundled faces (once per process, thread-safe) and return their names."""
    global _registered
    with _lock:
        if _registered is None:
            _registered = _register()
        return _registered


def font_name() -> str:
    """The regular CJK font's name."""
    return report_fonts().regular


def bold_font_name() -> str:
    """The bold font's name (the regular face drawn emboldened; see the module docstring)."""
    return report_fonts().bold


def mono_font_name() -> str:
    """The monospaced CJK font's name, for code."""
    return report_fonts().mono


def is_synthetic_bold(name: str) -> bool:
    """Whether text in font ``name`` must be emboldened by drawing (no real bold face)."""
    fonts = report_fonts()
    return fonts.synthetic_bold and name == fonts.bold


def printable(text: str) -> str:
    """``text`` with what the font cannot draw made visible or removed, never left as blank gaps.

    Control characters (except newline and tab) and invisible formatting marks (zero-width joiners,
    emoji variation selectors and skin tones) are dropped; any other character the font lacks — emoji,
    rare hanzi outside the font — becomes ``□``.
    """
    covered = report_fonts().covered
    out: list[str] = []
    for char in text:
        if char in "\n\t":
            out.append(char)
            continue
        code = ord(char)
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs") or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:
            continue
        if code in covered:
            out.append(char)
        elif category == "Zs":
            out.append(" ")
        elif category != "Sk":  # a lone emoji skin tone belongs to the emoji before it
            out.append(MISSING_GLYPH)
    return "".join(out)


def _register() -> ReportFonts:
    path = str(resource_dir() / "fonts" / FONT_FILE)
    regular = TTFont(REGULAR, path, subfontIndex=_REGULAR_FACE)
    # Same face under the bold name: reportlab keeps one embedded subset per name.
    bold = TTFont(BOLD, path, subfontIndex=_REGULAR_FACE)
    mono = TTFont(MONO, path, subfontIndex=_MONO_FACE)
    for font in (regular, bold, mono):
        pdfmetrics.registerFont(font)
    # <b> and <i> in paragraph markup pick a face by (family, bold, italic). addMapping also records the
    # reverse (face -> family, bold, italic) and the last call wins, so the plain styles come last.
    for is_bold, is_italic in ((1, 1), (0, 1), (1, 0), (0, 0)):
        addMapping(REGULAR, is_bold, is_italic, BOLD if is_bold else REGULAR)
        addMapping(MONO, is_bold, is_italic, MONO)
    covered = frozenset(regular.face.charToGlyph) & frozenset(mono.face.charToGlyph)
    return ReportFonts(regular=REGULAR, bold=BOLD, mono=MONO, synthetic_bold=True, covered=covered)
