"""The shipped China place table (app.phone_places) against libphonenumber's own geocoder."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import geocoder

from app import i18n, phone_places
from app.paths import resource_dir
from app.phone import parse_phone


def _numbers(seed: int, count: int) -> list[phonenumbers.PhoneNumber]:
    """Valid Chinese mobile and fixed-line numbers spread over the whole numbering plan."""
    rng = random.Random(seed)
    found: list[phonenumbers.PhoneNumber] = []
    mobile_heads = ["13", "14", "15", "16", "17", "18", "19"]
    area_codes = ["10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "351", "371", "431",
                  "451", "471", "512", "519", "531", "551", "571", "591", "731", "755", "759", "771",
                  "851", "871", "898", "931", "991"]  # fmt: skip
    while len(found) < count:
        if rng.random() < 0.7:
            national = rng.choice(mobile_heads) + "".join(rng.choices("0123456789", k=9))
        else:
            area = rng.choice(area_codes)
            national = area + str(rng.randint(2, 8)) + "".join(rng.choices("0123456789", k=10 - len(area)))
        num = phonenumbers.parse("+86" + national)
        if phonenumbers.is_valid_number(num):
            found.append(num)
    return found


@pytest.mark.parametrize("language", ["zh", "en"])
def test_table_names_the_same_places_as_the_geocoder(language: str) -> None:
    numbers = _numbers(seed=20261122, count=3000)
    differ = [
        phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        for num in numbers
        if phone_places.describe(num, language) != geocoder.description_for_number(num, language)
    ]
    # A newer phonenumbers may have re-assigned a few prefixes since the table was made; more
    # than that means the table is stale: regenerate it with `python -m app.phone_places`.
    assert len(differ) <= len(numbers) // 100, differ[:20]


def test_known_numbers() -> None:
    i18n.set_language("zh_CN")
    assert parse_phone("13912345678").location == "江苏省常州市"
    assert parse_phone("0759-2221234", "0759").location == "广东省湛江市"
    assert parse_phone("010-66661234").location == "北京市"


def test_a_caller_from_abroad_still_gets_a_place() -> None:
    num = phonenumbers.parse("+14155550123")
    assert phone_places.describe(num, "en") == geocoder.description_for_number(num, "en")


def test_build_writes_a_table_that_reads_back(tmp_path: Path) -> None:
    target = tmp_path / "cn.tsv.gz"
    count, places = phone_places.build(target)
    assert count > 100_000 and 300 < places < 1000
    prefixes, names, _longest = phone_places._read(target)
    assert len(prefixes) == count and len(names) == places
    # the shipped table was made the same way (same layout, nearly the same rows)
    shipped, _names, _ = phone_places._read(resource_dir() / phone_places.TABLE)
    assert len(set(shipped) ^ set(prefixes)) <= count // 100


@pytest.mark.allow_warnings
def test_a_damaged_table_costs_the_place_name_not_the_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "phone" / "cn_places.tsv.gz"
    bad.parent.mkdir()
    bad.write_bytes(gzip.compress(b"not a table\n"))
    monkeypatch.setattr(phone_places, "resource_dir", lambda: tmp_path)
    monkeypatch.setattr(phone_places, "_table", None)
    info = parse_phone("13912345678")
    assert info.key == "+8613912345678"
    assert info.location == ""
    assert parse_phone("13812345678").location == ""
    warned = [r for r in caplog.records if "place table" in r.getMessage()]
    assert len(warned) == 1  # said once, not on every number
