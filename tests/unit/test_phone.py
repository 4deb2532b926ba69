"""Tests for app.phone: parsing, classification and normalisation of phone numbers as typed."""

from __future__ import annotations

import dataclasses

import pytest

from app import i18n
from app.phone import PhoneInfo, normalize_digits, parse_phone


@pytest.fixture(autouse=True)
def _chinese_interface() -> None:
    # Place names follow the interface language; the app's default is Simplified Chinese.
    i18n.set_language("zh_CN")


CZ = "0519"  # Changzhou
ZJ = "0759"  # Zhanjiang

CZ_E164 = "+8651986661234"
CZ_DISPLAY = "0519-8666 1234"
ZJ_E164 = "+867592221234"
ZJ_DISPLAY = "0759-222 1234"
MOBILE_E164 = "+8613912345678"
MOBILE_DISPLAY = "139 1234 5678"


# --------------------------------------------------------------------------------------------------
# fixed lines


@pytest.mark.parametrize(
    ("text", "area", "e164", "display"),
    [
        # local numbers take the default area code
        ("86661234", CZ, CZ_E164, CZ_DISPLAY),
        ("8666 1234", CZ, CZ_E164, CZ_DISPLAY),
        ("8666-1234", CZ, CZ_E164, CZ_DISPLAY),
        ("2221234", ZJ, ZJ_E164, ZJ_DISPLAY),
        ("222-1234", ZJ, ZJ_E164, ZJ_DISPLAY),
        # area code given explicitly (default area code is irrelevant then)
        ("0519-86661234", CZ, CZ_E164, CZ_DISPLAY),
        ("0519-86661234", ZJ, CZ_E164, CZ_DISPLAY),
        ("051986661234", ZJ, CZ_E164, CZ_DISPLAY),
        ("(0519)86661234", CZ, CZ_E164, CZ_DISPLAY),
        ("(0519) 8666 1234", CZ, CZ_E164, CZ_DISPLAY),
        ("0519.8666.1234", CZ, CZ_E164, CZ_DISPLAY),
        ("0519 8666 1234", CZ, CZ_E164, CZ_DISPLAY),
        ("(0759)2221234", CZ, ZJ_E164, ZJ_DISPLAY),
        ("0759-222-1234", CZ, ZJ_E164, ZJ_DISPLAY),
        ("07592221234", CZ, ZJ_E164, ZJ_DISPLAY),
        ("+86 519 8666 1234", ZJ, CZ_E164, CZ_DISPLAY),
        ("+86-759-2221234", CZ, ZJ_E164, ZJ_DISPLAY),
        ("010-58888888", CZ, "+861058888888", "010-5888 8888"),
        ("021 5888 8888", CZ, "+862158888888", "021-5888 8888"),
        # full-width input
        ("０５１９－８６６６１２３４", CZ, CZ_E164, CZ_DISPLAY),
        ("（０５１９）８６６６　１２３４", CZ, CZ_E164, CZ_DISPLAY),
        ("８６６６１２３４", CZ, CZ_E164, CZ_DISPLAY),
        ("２２２１２３４", ZJ, ZJ_E164, ZJ_DISPLAY),
        # surrounding whitespace
        ("  86661234 \n", CZ, CZ_E164, CZ_DISPLAY),
    ],
)
def test_fixed_lines(text: str, area: str, e164: str, display: str) -> None:
    info = parse_phone(text, area)
    assert info.kind == "fixed"
    assert info.valid
    assert info.e164 == e164
    assert info.key == e164
    assert info.extension is None
    assert info.display == display
    assert info.raw == text


def test_default_area_code_is_changzhou() -> None:
    assert parse_phone("86661234").e164 == CZ_E164


@pytest.mark.parametrize("area", ["519", "０５１９", "+0519", " 0519 "])
def test_default_area_code_spellings(area: str) -> None:
    assert parse_phone("86661234", area).e164 == CZ_E164


def test_local_number_with_wrong_length_for_area_is_invalid() -> None:
    # Changzhou numbers have 8 digits, Zhanjiang numbers 7.
    assert parse_phone("8666123", CZ).kind == "invalid"
    assert parse_phone("86661234", ZJ).kind == "invalid"
    assert parse_phone("86661234", "").kind == "invalid"


@pytest.mark.parametrize(
    ("text", "area", "location"),
    [
        ("86661234", CZ, "江苏省常州市"),
        ("2221234", ZJ, "广东省湛江市"),
        ("010-58888888", CZ, "北京市"),
        ("021-58888888", CZ, "上海市"),
    ],
)
def test_fixed_line_location(text: str, area: str, location: str) -> None:
    assert parse_phone(text, area).location == location


# --------------------------------------------------------------------------------------------------
# mobiles


@pytest.mark.parametrize(
    "text",
    [
        "13912345678",
        "139 1234 5678",
        "139-1234-5678",
        "+86 139-1234-5678",
        "+8613912345678",
        "8613912345678",
        "86 139 1234 5678",
        "0086 139 1234 5678",
        "013912345678",
        "１３９１２３４５６７８",
        "＋８６　１３９－１２３４－５６７８",
    ],
)
def test_mobile_spellings(text: str) -> None:
    info = parse_phone(text)
    assert info.kind == "mobile"
    assert info.valid
    assert info.e164 == MOBILE_E164
    assert info.key == MOBILE_E164
    assert info.display == MOBILE_DISPLAY
    assert info.extension is None
    assert info.location == "江苏省常州市"
    assert info.raw == text


@pytest.mark.parametrize(
    ("text", "e164", "display", "location"),
    [
        ("13812345678", "+8613812345678", "138 1234 5678", "江苏省连云港市"),
        ("13712345678", "+8613712345678", "137 1234 5678", "广东省东莞市"),
        ("13012345678", "+8613012345678", "130 1234 5678", "重庆市"),
        ("18951234567", "+8618951234567", "189 5123 4567", "江苏省常州市"),
    ],
)
def test_mobile_location(text: str, e164: str, display: str, location: str) -> None:
    info = parse_phone(text, ZJ)  # the default area code never affects mobiles
    assert info.kind == "mobile"
    assert info.e164 == e164
    assert info.display == display
    assert info.location == location


def test_mobile_with_one_digit_too_many_is_invalid() -> None:
    info = parse_phone("139123456789")
    assert info.kind == "invalid"
    assert info.key == "raw:139123456789"


# --------------------------------------------------------------------------------------------------
# extensions


@pytest.mark.parametrize(
    "text",
    [
        "0519-86661234转8021",
        "0519-86661234 转 8021",
        "0519-86661234轉8021",
        "051986661234-转8021",
        "86661234转8021",
        "86661234 ext 8021",
        "86661234 ext. 8021",
        "86661234 EXT 8021",
        "86661234 extension 8021",
        "86661234x8021",
        "86661234 X 8021",
        "86661234#8021",
        "0519-86661234-8021",
        "0519-86661234 - 8021",
        "86661234-8021",
        "86661234分机8021",
        "0519-86661234 分机：8021",
        "(0519)8666 1234 分机号 8021",
        "０５１９－８６６６１２３４转８０２１",
    ],
)
def test_extensions(text: str) -> None:
    info = parse_phone(text)
    assert info.kind == "fixed"
    assert info.e164 == CZ_E164
    assert info.key == CZ_E164  # the extension never goes into the lookup key
    assert info.extension == "8021"
    assert info.display == "0519-8666 1234 转8021"
    assert info.location == "江苏省常州市"


@pytest.mark.parametrize(
    ("text", "area", "ext", "display"),
    [
        ("0759-2221234-5", CZ, "5", "0759-222 1234 转5"),
        ("2221234-12345", ZJ, "12345", "0759-222 1234 转12345"),
        ("0759-2221234转123456", CZ, "123456", "0759-222 1234 转123456"),
        ("13912345678转8021", CZ, "8021", "139 1234 5678 转8021"),
    ],
)
def test_extension_lengths_and_other_numbers(text: str, area: str, ext: str, display: str) -> None:
    info = parse_phone(text, area)
    assert info.valid
    assert info.extension == ext
    assert info.display == display


@pytest.mark.parametrize(
    ("text", "area", "e164", "display"),
    [
        # the part before the last dash is not a complete number on its own: no extension
        ("0519-8666-1234", CZ, CZ_E164, CZ_DISPLAY),
        ("8666-1234", CZ, CZ_E164, CZ_DISPLAY),
        ("0759-222-1234", CZ, ZJ_E164, ZJ_DISPLAY),
        ("139-1234-5678", CZ, MOBILE_E164, MOBILE_DISPLAY),
    ],
)
def test_dash_group_is_not_an_extension_unless_prefix_is_complete(
    text: str, area: str, e164: str, display: str
) -> None:
    info = parse_phone(text, area)
    assert info.valid
    assert info.extension is None
    assert info.e164 == e164
    assert info.display == display


def test_dash_group_longer_than_five_digits_is_not_an_extension() -> None:
    info = parse_phone("0519-86661234-802112")
    assert info.kind == "invalid"
    assert info.extension is None


@pytest.mark.parametrize("text", ["分机8021", "转8021", "分机 8021", "ext. 8021", "#8021"])
def test_bare_extension_is_an_internal_number(text: str) -> None:
    info = parse_phone(text)
    assert info.kind == "internal"
    assert info.key == "int:8021"
    assert info.display == "8021"
    assert info.extension is None


# --------------------------------------------------------------------------------------------------
# service numbers


@pytest.mark.parametrize(
    ("text", "digits", "display"),
    [
        ("110", "110", "110"),
        ("120", "120", "120"),
        ("12345", "12345", "12345"),
        ("12366", "12366", "12366"),
        ("95588", "95588", "95588"),
        ("96566", "96566", "96566"),
        ("10086", "10086", "10086"),
        ("123456", "123456", "123456"),
        ("１２３４５", "12345", "12345"),
        (" 12345 ", "12345", "12345"),
        ("+86 12345", "12345", "12345"),
        ("4001234567", "4001234567", "400-123-4567"),
        ("400-123-4567", "4001234567", "400-123-4567"),
        ("400 1234 567", "4001234567", "400-123-4567"),
        ("+86 400 123 4567", "4001234567", "400-123-4567"),
        ("8008101234", "8008101234", "800-810-1234"),
        ("800-810-1234", "8008101234", "800-810-1234"),
    ],
)
def test_service_numbers(text: str, digits: str, display: str) -> None:
    info = parse_phone(text)
    assert info.kind == "service"
    assert info.valid
    assert info.e164 is None
    assert info.key == f"svc:{digits}"
    assert info.display == display
    assert info.extension is None
    assert info.location == ""


def test_service_number_with_extension() -> None:
    info = parse_phone("95588转0")
    assert info.kind == "service"
    assert info.key == "svc:95588"
    assert info.extension == "0"
    assert info.display == "95588 转0"


# --------------------------------------------------------------------------------------------------
# internal extensions


@pytest.mark.parametrize(
    ("text", "digits"),
    [("8021", "8021"), ("6601", "6601"), ("201", "201"), ("88888", "88888"), ("８０２１", "8021")],
)
def test_internal_extensions(text: str, digits: str) -> None:
    info = parse_phone(text)
    assert info.kind == "internal"
    assert info.valid
    assert info.e164 is None
    assert info.extension is None
    assert info.key == f"int:{digits}"
    assert info.display == digits
    assert info.location == ""


# --------------------------------------------------------------------------------------------------
# numbers outside China


@pytest.mark.parametrize(
    ("text", "kind", "e164", "display"),
    [
        ("+1 650 253 0000", "fixed", "+16502530000", "+1 650-253-0000"),
        ("+44 20 7946 0958", "fixed", "+442079460958", "+44 20 7946 0958"),
        ("+44 7911 123456", "mobile", "+447911123456", "+44 7911 123456"),
        ("+852 2123 4567", "fixed", "+85221234567", "+852 2123 4567"),
        ("001 650 253 0000", "fixed", "+16502530000", "+1 650-253-0000"),
    ],
)
def test_foreign_numbers(text: str, kind: str, e164: str, display: str) -> None:
    info = parse_phone(text)
    assert info.kind == kind
    assert info.e164 == e164
    assert info.key == e164
    assert info.display == display


def test_foreign_number_with_extension() -> None:
    info = parse_phone("+1 650 253 0000 ext 12")
    assert info.e164 == "+16502530000"
    assert info.extension == "12"
    assert info.display == "+1 650-253-0000 转12"


# --------------------------------------------------------------------------------------------------
# invalid, empty and hostile input


@pytest.mark.parametrize(
    ("text", "key", "display"),
    [
        ("075922212345", "raw:075922212345", "075922212345"),  # Zhanjiang has 7-digit numbers
        ("0519-8666123", "raw:05198666123", "0519-8666123"),
        ("12", "raw:12", "12"),
        ("0", "raw:0", "0"),
        ("000", "raw:000", "000"),
        ("1234567", "raw:1234567", "1234567"),
        ("866612", "raw:866612", "866612"),
        ("+999 1234", "raw:9991234", "+999 1234"),
        ("  13912345678 please  ", "raw:13912345678", "13912345678 please"),
        ("call 13912345678", "raw:13912345678", "call 13912345678"),
        ("1; DROP TABLE calls; --", "raw:1", "1; DROP TABLE calls; --"),
        ("13912345678😀", "raw:13912345678", "13912345678😀"),
        ("<script>alert(110)</script>", "raw:110", "<script>alert(110)</script>"),
        ("86661234 ext", "raw:86661234", "86661234 ext"),
        ("0x8021", "raw:08021", "0x8021"),
        ("1e5", "raw:15", "1e5"),
    ],
)
def test_invalid_with_digits(text: str, key: str, display: str) -> None:
    info = parse_phone(text)
    assert info.kind == "invalid"
    assert not info.valid
    assert info.e164 is None
    assert info.extension is None
    assert info.location == ""
    assert info.key == key
    assert info.display == display
    assert info.raw == text


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "+++",
        "+",
        "---",
        "()",
        "转",
        "分机",
        "ext.",
        "'; DROP TABLE calls; --",
        "😀😀😀",
        "\x00\x01\x02",
        "N/A",
        "无",
        "\u202e\u200b",
    ],
)
def test_invalid_without_digits(text: str) -> None:
    info = parse_phone(text)
    assert info.kind == "invalid"
    assert not info.valid
    assert info.key == ""
    assert info.e164 is None
    assert info.raw == text


@pytest.mark.parametrize("text", ["", " ", "   ", "\t\n", "\u3000", "\r\n \u3000"])
def test_empty(text: str) -> None:
    info = parse_phone(text)
    assert info == PhoneInfo(
        raw=text, kind="empty", e164=None, extension=None, display="", location="", key=""
    )
    assert not info.valid


def test_none_is_treated_as_empty() -> None:
    info = parse_phone(None)  # type: ignore[arg-type]
    assert info.kind == "empty"
    assert info.raw == ""


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1" * 1_000_000, "raw:" + "1" * 64),
        ("a" * 1_000_000, ""),
        ("13912345678" + "x" * 1_000_000, "raw:13912345678"),
        ("😀" * 1_000_000, ""),
        ("０" * 1_000_000, "raw:" + "0" * 64),
    ],
)
def test_megabyte_input(text: str, key: str) -> None:
    info = parse_phone(text)
    assert info.kind == "invalid"
    assert info.key == key
    assert info.raw is text
    assert len(info.display) <= 65  # capped, with a trailing ellipsis
    assert info.display.endswith("…")


def test_only_the_first_64_characters_are_examined() -> None:
    # A valid number after a megabyte of padding is not looked at.
    assert parse_phone(" " * 100 + "13912345678").kind == "mobile"  # leading whitespace is stripped first
    assert parse_phone("-" * 100 + "13912345678").kind == "invalid"


def test_raw_is_never_altered() -> None:
    text = "  （０５１９）８６６６－１２３４ 转 ８０２１  "
    info = parse_phone(text)
    assert info.raw == text
    assert info.extension == "8021"
    assert info.e164 == CZ_E164


def test_phone_info_is_frozen() -> None:
    info = parse_phone("86661234")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.kind = "mobile"  # type: ignore[misc]


def test_same_number_typed_differently_gives_same_key() -> None:
    keys = {
        parse_phone(t).key
        for t in ["86661234", "0519-8666 1234", "+86 519 86661234", "０５１９８６６６１２３４转1"]
    }
    assert keys == {CZ_E164}


# --------------------------------------------------------------------------------------------------
# normalize_digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("abc", ""),
        ("0519-8666 1234", "051986661234"),
        ("(0519) 8666.1234", "051986661234"),
        ("０５１９－８６６６１２３４", "051986661234"),
        ("+86 139-1234-5678", "+8613912345678"),
        ("＋８６ １３９", "+86139"),
        ("(+86) 139", "+86139"),
        ("+++86", "+86"),
        ("+++", ""),
        ("+", ""),
        ("86+139", "86139"),
        ("1+2", "12"),
        ("a1b2c3", "123"),
        ("①②③", "123"),
        ("٣", ""),  # only ASCII digits (after NFKC) count
        ("86661234转8021", "866612348021"),
    ],
)
def test_normalize_digits(text: str, expected: str) -> None:
    assert normalize_digits(text) == expected


def test_place_names_follow_the_interface_language() -> None:
    i18n.set_language("en")
    assert parse_phone("13912345678").location == "Changzhou, Jiangsu"
    i18n.set_language("zh_CN")
    assert parse_phone("13912345678").location == "江苏省常州市"
