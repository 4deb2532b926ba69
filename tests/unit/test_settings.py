"""Local settings (app.settings): defaults, tolerance of bad files, atomic save."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from app import settings as settings_module
from app.settings import OPTIONS, SETTINGS_VERSION, Settings, atomic_write_text


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.json"


def test_defaults_when_there_is_no_file(settings_path: Path) -> None:
    settings = Settings(settings_path)
    for name, default in OPTIONS.items():
        assert settings[name] == default
    assert settings["language"] == "zh_CN"
    assert not settings_path.exists()  # reading never creates the file


def test_save_and_load_round_trip(settings_path: Path) -> None:
    settings = Settings(settings_path)
    settings["engineer_name"] = "张工"
    settings["draft_autosave_ms"] = 1500
    settings.save()

    again = Settings(settings_path)
    assert again["engineer_name"] == "张工"
    assert again["draft_autosave_ms"] == 1500
    stored = json.loads(settings_path.read_text(encoding="utf-8"))
    assert stored["version"] == SETTINGS_VERSION
    assert "张工" in settings_path.read_text(encoding="utf-8")  # readable, not \\u-escaped


def test_unknown_keys_are_ignored(settings_path: Path) -> None:
    settings_path.write_text(
        json.dumps({"version": SETTINGS_VERSION, "engineer_name": "李工", "proxy_password": "secret"}),
        encoding="utf-8",
    )
    settings = Settings(settings_path)
    assert settings["engineer_name"] == "李工"
    with pytest.raises(KeyError):
        settings["proxy_password"]
    settings.save()
    assert "secret" not in settings_path.read_text(encoding="utf-8")


def test_setting_an_undeclared_option_is_refused(settings_path: Path) -> None:
    settings = Settings(settings_path)
    with pytest.raises(KeyError):
        settings["no_such_option"] = 1


@pytest.mark.parametrize(
    ("name", "bad_value"),
    [
        ("draft_autosave_ms", "800"),
        ("draft_autosave_ms", None),
        ("draft_autosave_ms", [800]),
        ("draft_autosave_ms", True),  # a bool is not a number of milliseconds
        ("caller_lookup_delay_ms", 2.5),
        ("engineer_name", 42),
        ("language", {"zh_CN": True}),
    ],
)
def test_wrong_types_fall_back_to_the_default(settings_path: Path, name: str, bad_value: object) -> None:
    settings_path.write_text(json.dumps({"version": SETTINGS_VERSION, name: bad_value}), encoding="utf-8")
    assert Settings(settings_path)[name] == OPTIONS[name]


@pytest.mark.allow_warnings
@pytest.mark.parametrize(
    "content",
    [b"{ not json", b"[1, 2, 3]", b'"just a string"', b"\xff\xfe\x00garbage", b""],
    ids=["broken-json", "a-list", "a-string", "not-utf8", "empty"],
)
def test_corrupted_file_gives_defaults_and_a_warning(
    settings_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    settings_path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="hotline.settings"):
        settings = Settings(settings_path)
    for name, default in OPTIONS.items():
        assert settings[name] == default
    warnings = [r for r in caplog.records if r.name == "hotline.settings" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(settings_path) in warnings[0].getMessage()


def test_save_is_atomic_a_failed_write_keeps_the_old_file(
    settings_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(settings_path)
    settings["engineer_name"] = "张工"
    settings.save()
    before = settings_path.read_bytes()

    def power_cut(src: str, dst: str) -> None:
        raise OSError("power cut before the rename")

    monkeypatch.setattr("app.settings.os.replace", power_cut)
    settings["engineer_name"] = "李工"
    with pytest.raises(OSError, match="power cut"):
        settings.save()
    monkeypatch.undo()

    assert settings_path.read_bytes() == before
    assert Settings(settings_path)["engineer_name"] == "张工"
    assert [p.name for p in settings_path.parent.iterdir()] == [settings_path.name]  # no temp file left


def test_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    target.write_text("x" * 10_000, encoding="utf-8")
    atomic_write_text(target, "短")
    assert target.read_text(encoding="utf-8") == "短"
    assert sorted(os.listdir(tmp_path)) == ["file.json"]


def test_upgrade_functions_run_for_older_files(settings_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def rename_engineer(raw: dict[str, object]) -> None:
        raw["engineer_name"] = raw.pop("engineer", "")

    monkeypatch.setattr(settings_module, "UPGRADES", {1: rename_engineer})
    settings_path.write_text(json.dumps({"version": 0, "engineer": "赵工"}), encoding="utf-8")
    assert Settings(settings_path)["engineer_name"] == "赵工"

    # a current file is not upgraded again
    settings_path.write_text(
        json.dumps({"version": 1, "engineer": "x", "engineer_name": "钱工"}), encoding="utf-8"
    )
    assert Settings(settings_path)["engineer_name"] == "钱工"
