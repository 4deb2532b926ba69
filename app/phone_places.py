"""Where a Chinese number is from (mobile prefix or area code → "江苏省常州市" / "Changzhou, Jiangsu").

libphonenumber's geocoding data answers this, but ``phonenumbers.geocoder`` loads every country in
every language: about 100 MB of Python objects and half a second, for the one country and two
languages the hotline needs. ``resources/phone/cn_places.tsv.gz`` holds China's part of that data
(about 130,000 prefixes naming some 420 places, 0.5 MB); it loads in a fraction of the time into
about a tenth of the memory. Numbers from abroad, which a municipal hotline seldom sees, still ask
the full geocoder.

The table is regenerated from the installed phonenumbers with ``python -m app.phone_places``;
``tests/unit/test_phone_places.py`` checks it still agrees with the library.

File layout (UTF-8, gzip): a header line ``#cn_places<TAB>v2<TAB><phonenumbers version>``, one
``=<zh><TAB><en>`` line per place (their order numbers them), then ``P<TAB>`` and the prefixes (the
digits after +86) separated by commas, and ``I<TAB>`` and each prefix's place number likewise.
"""

from __future__ import annotations

import gzip
import logging
import sys
import threading
from pathlib import Path

from phonenumbers import PhoneNumber

from app.paths import resource_dir

log = logging.getLogger("hotline.phone")

TABLE = Path("phone") / "cn_places.tsv.gz"
HEADER = "#cn_places\tv2"
COUNTRY_NAME = {"zh": "中国", "en": "China"}

_lock = threading.Lock()
_table: tuple[dict[str, int], list[tuple[str, str]], int] | None = None


def _load() -> tuple[dict[str, int], list[tuple[str, str]], int]:
    global _table
    with _lock:  # the window preloads on a thread; a number typed meanwhile waits for it here
        if _table is None:
            path = resource_dir() / TABLE
            try:
                _table = _read(path)
            except (OSError, EOFError, ValueError, UnicodeError) as exc:  # missing, truncated, damaged
                log.warning("phone place table %s unreadable (%s): numbers shown without places", path, exc)
                _table = ({}, [], 0)
        return _table


def _read(path: Path) -> tuple[dict[str, int], list[tuple[str, str]], int]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    if not lines[0].startswith(HEADER):
        raise ValueError(f"{path}: not a place table")
    places = [tuple(line[1:].split("\t", 1)) for line in lines if line.startswith("=")]
    prefix_line = next(line for line in lines if line.startswith("P\t"))
    index_line = next(line for line in lines if line.startswith("I\t"))
    prefixes = dict(zip(prefix_line[2:].split(","), map(int, index_line[2:].split(",")), strict=True))
    if any(len(place) != 2 for place in places) or max(prefixes.values(), default=0) >= len(places):
        raise ValueError(f"{path}: damaged place table")
    longest = max(map(len, prefixes), default=0)
    return prefixes, places, longest  # type: ignore[return-value]


def preload() -> None:
    _load()


_preloading = threading.Event()


def preload_in_background() -> None:
    """Start loading the table on a worker thread (once): forms with a phone field call this when
    they open, so the place is ready by the time a number is typed."""
    if _table is None and not _preloading.is_set():
        _preloading.set()
        threading.Thread(target=preload, name="phone-places", daemon=True).start()


def describe(num: PhoneNumber, language: str) -> str:
    """The place of a valid number in ``language`` ("zh" or "en"), as the geocoder would say it."""
    if num.country_code != 86:
        from phonenumbers import geocoder  # rare: a caller from abroad

        return str(geocoder.description_for_number(num, language))
    prefixes, places, longest = _load()
    if not prefixes:
        return ""
    digits = str(num.national_number)
    for length in range(min(len(digits), longest), 0, -1):
        index = prefixes.get(digits[:length])
        if index is not None:
            zh, en = places[index]
            return (en or zh) if language == "en" else (zh or en)
    return COUNTRY_NAME["en" if language == "en" else "zh"]


def build(path: Path) -> tuple[int, int]:
    """Write the table from the installed phonenumbers; returns (prefixes, places)."""
    import phonenumbers
    from phonenumbers.geodata import GEOCODE_DATA

    places: dict[tuple[str, str], int] = {}
    rows: list[tuple[str, int]] = []
    for prefix, names in sorted(GEOCODE_DATA.items()):
        if not prefix.startswith("86"):
            continue
        place = (names.get("zh", ""), names.get("en", ""))
        rows.append((prefix[2:], places.setdefault(place, len(places))))
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same data gives the same bytes, so a regenerated table shows no spurious diff
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
        lines = [f"{HEADER}\t{phonenumbers.__version__}"]
        lines += [f"={zh}\t{en}" for zh, en in places]
        lines.append("P\t" + ",".join(prefix for prefix, _index in rows))
        lines.append("I\t" + ",".join(str(index) for _prefix, index in rows))
        packed.write(("\n".join(lines) + "\n").encode("utf-8"))
    return len(rows), len(places)


if __name__ == "__main__":  # python -m app.phone_places [PATH]
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else resource_dir() / TABLE
    count, place_count = build(target)
    print(f"{target}: {count} prefixes, {place_count} places")
