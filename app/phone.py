"""Phone number parsing and normalisation for caller matching (China by default).

Turns whatever an engineer typed (or what caller ID delivered) into a :class:`PhoneInfo` with a stable
lookup ``key`` for matching a caller against the directory and a Chinese-style ``display`` string.

Pure Python on top of ``phonenumbers``; no Qt in here. :func:`parse_phone` never raises.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

from app import i18n, phone_places

log = logging.getLogger("hotline.phone")

__all__ = ["PhoneInfo", "PhoneKind", "normalize_digits", "parse_phone"]

PhoneKind = Literal["fixed", "mobile", "service", "internal", "invalid", "empty"]

#: Only this many characters of the (stripped) input are ever examined.
MAX_INPUT_CHARS = 64

_DIGITS = frozenset("0123456789")
_VALID_KINDS: frozenset[PhoneKind] = frozenset({"fixed", "mobile", "service", "internal"})

# Characters allowed between the digits of a number (after NFKC folding): spaces, dashes, dots,
# brackets, slashes and a '+' prefix. Anything else (letters, emoji, SQL...) makes the input invalid.
_SEPARATORS = frozenset(" \t\r\n\u3000-.()[]/+\u2010\u2011\u2012\u2013\u2014\u2015\u2212~\u30fb\u00b7")
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"

# An explicit extension marker followed by 1-6 digits at the end of the input.
_EXPLICIT_EXT_RE = re.compile(
    r"^(?P<main>.*?)\s*(?:转|轉|分机号?|分機號?|extension|ext\.?|x|#|,)\s*[:：]?\s*(?P<ext>\d{1,6})\s*#?$",
    re.IGNORECASE | re.DOTALL,
)
# A trailing "-NNNN" group; only an extension if what precedes it is a complete valid number.
_DASH_EXT_RE = re.compile(rf"^(?P<main>.*\d)\s*[{_DASHES}]\s*(?P<ext>\d{{1,5}})$", re.DOTALL)

_SERVICE_RE = re.compile(r"^[19]\d{2,5}$")  # 110, 12345, 12366, 95588, 96566, 10086
_HOTLINE_RE = re.compile(r"^(?:400|800)\d{7}$")  # 400 / 800 national hotlines
_INTERNAL_RE = re.compile(r"^[2-8]\d{2,4}$")  # switchboard extensions: 8021, 6601
_LOCAL_RE = re.compile(r"^[2-9]\d{6,7}$")  # local number without area code

_SERVICE_TYPES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.UAN,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.PREMIUM_RATE,
    }
)


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """Result of :func:`parse_phone`."""

    raw: str  # exactly what the user typed (never altered)
    kind: PhoneKind
    e164: str | None  # "+8651986661234" for fixed/mobile numbers (no extension); None otherwise
    extension: str | None  # "8021" when an extension was given
    display: str  # "0519-8666 1234 转8021", "139 1234 5678", "12345", "8021"
    location: str  # "江苏省常州市" (geocoder, zh); "" when unknown
    key: str  # e164 | "svc:12345" | "int:8021" | "raw:<digits>" | ""

    @property
    def valid(self) -> bool:
        return self.kind in _VALID_KINDS


def normalize_digits(text: str) -> str:
    """Fold full-width forms (NFKC) and keep only ASCII digits, plus a '+' if one precedes the first digit.

    ``"＋８６ １３９-１２３４"`` -> ``"+861391234"``; ``"(0519) 8666-1234"`` -> ``"051986661234"``.
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    plus = False
    for ch in folded:
        if ch in _DIGITS:
            out.append(ch)
        elif ch == "+" and not out:
            plus = True
    digits = "".join(out)
    return "+" + digits if plus and digits else digits


def parse_phone(text: str, default_area_code: str = "0519") -> PhoneInfo:
    """Classify and normalise a phone number as typed. Never raises.

    ``default_area_code`` (e.g. ``"0519"`` Changzhou, ``"0759"`` Zhanjiang) is prepended to 7/8-digit
    local numbers.
    """
    if not text or not isinstance(text, str) or not text.strip():
        return PhoneInfo(
            raw=text if isinstance(text, str) else "",
            kind="empty",
            e164=None,
            extension=None,
            display="",
            location="",
            key="",
        )
    try:
        return _parse(text, default_area_code)
    except Exception:  # defensive: a phone field must never crash the UI
        return _invalid(text, _capped(text))


# --------------------------------------------------------------------------------------------------
# internals


def _capped(text: str) -> str:
    return unicodedata.normalize("NFKC", text.strip()[:MAX_INPUT_CHARS])[:MAX_INPUT_CHARS].strip()


def _parse(raw: str, default_area_code: str) -> PhoneInfo:
    s = _capped(raw)
    area = _area_prefix(default_area_code)

    main, ext = s, None
    m = _EXPLICIT_EXT_RE.match(s)
    if m:
        main, ext = m.group("main"), m.group("ext")
        if not any(ch in _DIGITS for ch in main) and main.strip(" \t-.()") == "":
            # "分机8021" / "转8021" on its own: the extension is the number.
            main, ext = ext, None
    else:
        d = _DASH_EXT_RE.match(s)
        if d and _is_clean(d.group("main")):
            head = _classify(normalize_digits(d.group("main")), area, raw)
            if head is not None and head.kind in ("fixed", "mobile"):
                main, ext = d.group("main"), d.group("ext")

    if not _is_clean(main):
        return _invalid(raw, s)
    info = _classify(normalize_digits(main), area, raw)
    if info is None:
        return _invalid(raw, s)
    if ext is not None:
        info = PhoneInfo(
            raw=raw,
            kind=info.kind,
            e164=info.e164,
            extension=ext,
            display=f"{info.display} 转{ext}",
            location=info.location,
            key=info.key,
        )
    return info


def _area_prefix(default_area_code: str) -> str:
    digits = normalize_digits(default_area_code or "").lstrip("+")[:5]
    if not digits:
        return ""
    return digits if digits.startswith("0") else "0" + digits


def _is_clean(part: str) -> bool:
    """True if ``part`` holds at least one digit and otherwise only separators."""
    has_digit = False
    for ch in part:
        if ch in _DIGITS:
            has_digit = True
        elif ch not in _SEPARATORS:
            return False
    return has_digit and part.count("+") <= 1


def _classify(digits: str, area: str, raw: str) -> PhoneInfo | None:
    """Classify a normalised digit string (optionally '+'-prefixed); None when invalid."""
    if not digits or digits == "+":
        return None
    if not digits.startswith("+"):
        if _HOTLINE_RE.match(digits):
            return _service(raw, digits, f"{digits[:3]}-{digits[3:6]}-{digits[6:]}")
        if _SERVICE_RE.match(digits):
            return _service(raw, digits, digits)
        if _INTERNAL_RE.match(digits):
            return PhoneInfo(
                raw=raw,
                kind="internal",
                e164=None,
                extension=None,
                display=digits,
                location="",
                key=f"int:{digits}",
            )
        if _LOCAL_RE.match(digits) and area:
            digits = area + digits
    try:
        num = phonenumbers.parse(digits, "CN")
    except NumberParseException:
        return None
    national = str(num.national_number)
    if num.country_code == 86 and not phonenumbers.is_valid_number(num):
        # "+86 12345" / "+86 95588": a short service number written with the country code.
        if _SERVICE_RE.match(national):
            return _service(raw, national, national)
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    ntype = phonenumbers.number_type(num)
    if num.country_code == 86 and ntype in _SERVICE_TYPES:
        if _HOTLINE_RE.match(national):
            return _service(raw, national, f"{national[:3]}-{national[3:6]}-{national[6:]}")
        return _service(raw, national, national)
    kind: PhoneKind = "mobile" if ntype == PhoneNumberType.MOBILE else "fixed"
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    return PhoneInfo(
        raw=raw,
        kind=kind,
        e164=e164,
        extension=None,
        display=_display(num, kind),
        location=_location(num),
        key=e164,
    )


def _service(raw: str, digits: str, display: str) -> PhoneInfo:
    return PhoneInfo(
        raw=raw,
        kind="service",
        e164=None,
        extension=None,
        display=display,
        location="",
        key=f"svc:{digits}",
    )


def _display(num: PhoneNumber, kind: PhoneKind) -> str:
    if num.country_code != 86:
        return phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
    if kind == "fixed":
        # "0519 8666 1234" -> "0519-8666 1234"; "0759 222 1234" -> "0759-222 1234"
        return national.replace(" ", "-", 1)
    return national  # "139 1234 5678"


def _location(num: PhoneNumber) -> str:
    try:
        # the place in the interface language (Chinese unless the user chose English)
        return phone_places.describe(num, "en" if i18n.current_language() == "en" else "zh")
    except Exception:  # a place name is never worth losing the number over
        log.warning("phone place look-up failed", exc_info=True)
        return ""


def _invalid(raw: str, capped: str) -> PhoneInfo:
    digits = normalize_digits(capped).lstrip("+")
    display = raw.strip()
    if len(display) > MAX_INPUT_CHARS:
        display = display[:MAX_INPUT_CHARS] + "…"
    return PhoneInfo(
        raw=raw,
        kind="invalid",
        e164=None,
        extension=None,
        display=display,
        location="",
        key=f"raw:{digits}" if digits else "",
    )
