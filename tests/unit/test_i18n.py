"""One translation system (app.i18n): every marked string has a Simplified Chinese translation.

Strings are found the way a translator's tool would: every string literal passed to ``_()`` or
``N_()`` (as a name or an attribute such as ``i18n._``) in app/ and ui/, read with ``ast``.
"""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import pytest

from app import i18n
from app.paths import resource_dir

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = resource_dir() / "translations" / "zh_CN"

# Files of the command line and import/export; their strings live in cli.json, kept by their owners.
CLI_OWNED = ("app/cli.py", "app/demo.py", "app/importexport/", "app/services/call_import.py")


def marked_strings(folder: str) -> dict[str, list[str]]:
    """Marked string -> where it is used ("app/errors.py:28")."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            if isinstance(func, ast.Name):
                name = func.id
            elif isinstance(func, ast.Attribute):
                name = func.attr  # i18n._("...")
            else:
                continue
            first = node.args[0]
            if name in {"_", "N_"} and isinstance(first, ast.Constant) and isinstance(first.value, str):
                where = f"{path.relative_to(ROOT).as_posix()}:{node.lineno}"
                found.setdefault(first.value, []).append(where)
    return found


def _owned_by_cli(where: str) -> bool:
    return where.startswith(CLI_OWNED)


def core_strings() -> dict[str, list[str]]:
    return {
        text: places
        for text, places in marked_strings("app").items()
        if not all(_owned_by_cli(p) for p in places)
    }


def cli_strings() -> dict[str, list[str]]:
    return {
        text: places
        for text, places in marked_strings("app").items()
        if all(_owned_by_cli(p) for p in places)
    }


def missing(strings: dict[str, list[str]]) -> list[str]:
    catalog = i18n.load_catalog("zh_CN")
    return [f"{places[0]}: {text!r}" for text, places in sorted(strings.items()) if not catalog.get(text)]


def placeholders(text: str) -> set[str]:
    return {field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def test_the_extractor_finds_marked_strings() -> None:
    strings = core_strings()
    assert "Choose a category." in strings  # _()
    assert "Answered on the call" in strings  # N_()
    assert "Too long: at most {limit} characters." in strings
    assert strings["Choose a category."][0].startswith("app/services/calls.py:")


def test_every_core_string_has_a_chinese_translation() -> None:
    assert missing(core_strings()) == []


def test_every_cli_string_has_a_chinese_translation() -> None:
    assert missing(cli_strings()) == []


def test_every_ui_string_has_a_chinese_translation() -> None:
    assert missing(marked_strings("ui")) == []


def test_every_catalog_file_is_a_flat_json_object_of_strings() -> None:
    files = sorted(CATALOG_DIR.glob("*.json"))
    assert CATALOG_DIR / "core.json" in files
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict), path.name
        for key, value in data.items():
            assert isinstance(key, str), (path.name, key)
            assert isinstance(value, str), (path.name, key)


def test_translations_keep_the_placeholders() -> None:
    wrong = [
        f"{key!r} -> {value!r}"
        for key, value in i18n.load_catalog("zh_CN").items()
        if placeholders(key) != placeholders(value)
    ]
    assert wrong == []


def test_the_placeholder_check_can_fail() -> None:
    assert placeholders("Too long: at most {limit} characters.") == {"limit"}
    assert placeholders("内容过长：最多 {limt} 个字符。") != {"limit"}


def test_english_returns_the_source_text() -> None:
    i18n.set_language("en")
    assert i18n.current_language() == "en"
    for text in core_strings():
        assert i18n._(text) == text


def test_chinese_translates_and_formats() -> None:
    i18n.set_language("zh_CN")
    assert i18n.current_language() == "zh_CN"
    assert i18n._("Choose a category.") == "请选择问题分类。"
    assert i18n._("Too long: at most {limit} characters.").format(limit=100) == "内容过长：最多 100 个字符。"
    assert i18n._("a string nobody translated") == "a string nobody translated"


def test_n_marks_without_translating() -> None:
    i18n.set_language("zh_CN")
    assert i18n.N_("Choose a category.") == "Choose a category."


def test_an_unknown_language_falls_back_to_chinese() -> None:
    i18n.set_language("xx_YY")
    assert i18n.current_language() == "zh_CN"
    assert i18n._("Choose a category.") == "请选择问题分类。"


@pytest.mark.allow_warnings
def test_an_unreadable_catalog_file_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "resources" / "translations" / "zh_CN"
    folder.mkdir(parents=True)
    (folder / "a.json").write_text('{"Choose a category.": "请选择问题分类。"}', encoding="utf-8")
    (folder / "b.json").write_text('{"broken": ', encoding="utf-8")
    (folder / "c.json").write_text('{"Other": "其他", "Empty": ""}', encoding="utf-8")
    monkeypatch.setattr(i18n, "resource_dir", lambda: tmp_path / "resources")
    catalog = i18n.load_catalog("zh_CN")
    assert catalog == {"Choose a category.": "请选择问题分类。", "Other": "其他"}
