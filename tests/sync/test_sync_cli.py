"""``hotline server …`` and ``hotline sync`` as an administrator and a script would use them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from app import i18n
from app.cli import EXIT_OK, EXIT_USER_ERROR, main
from app.sync.protocol import SERVER_SCHEMA_HEAD
from tests.helpers.pgserver import PgDatabase, free_port


def app_url(database: PgDatabase, user: str, password: str) -> str:
    host_part = database.url.split("@", 1)[1]
    return f"postgresql://{user}:{password}@{host_part}?sslmode=disable"


def test_an_administrator_sets_up_the_server_and_two_desktops_sync(
    pg_database: PgDatabase,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    i18n.set_language("zh_CN")
    assert main(["server", "status", "--server", pg_database.url]) == EXIT_OK
    assert "未初始化" in capsys.readouterr().out
    assert main(["server", "init", "--server", pg_database.url]) == EXIT_OK
    assert SERVER_SCHEMA_HEAD in capsys.readouterr().out
    assert main(["server", "upgrade", "--server", pg_database.url]) == EXIT_OK
    assert "已是" in capsys.readouterr().out  # running it again changes nothing

    monkeypatch.setattr("sys.stdin", io.StringIO("desk-password-9\n"))
    user = f"li_{pg_database.name}"[:60]
    assert main(["server", "add-user", user, "--server", pg_database.url, "--password-stdin"]) == EXIT_OK
    capsys.readouterr()

    url = app_url(pg_database, user, "desk-password-9")
    one, two = tmp_path / "one", tmp_path / "two"
    ledger = tmp_path / "ledger.csv"
    with ledger.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["日期", "时间", "来电号码", "来电人", "类别", "问题描述", "处理结果", "值班工程师"])
        writer.writerow(
            ["2026-11-30", "09:30", "0519-86661234", "王会计", "咨询", "票据核销怎么操作", "已指导", "李工"]
        )
    assert main(["--data-dir", str(one), "import", "calls", str(ledger)]) == EXIT_OK
    assert main(["--data-dir", str(one), "sync", "--server", url]) == EXIT_OK
    assert "已上传" in capsys.readouterr().out
    assert main(["--data-dir", str(two), "sync", "--server", url]) == EXIT_OK
    assert "已下载" in capsys.readouterr().out
    exported = tmp_path / "two.csv"
    assert main(["--data-dir", str(two), "export", "calls", "-o", str(exported)]) == EXIT_OK
    assert "票据核销怎么操作" in exported.read_text(encoding="utf-8-sig")

    assert main(["server", "mark-restored", "--server", pg_database.url]) == EXIT_OK
    assert "重新同步" in capsys.readouterr().out


def test_sync_without_a_server_or_with_a_bad_one_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    i18n.set_language("zh_CN")
    data = str(tmp_path / "data")
    assert main(["--data-dir", data, "sync"]) == EXIT_USER_ERROR
    assert "尚未设置共享服务器" in capsys.readouterr().err
    assert main(["--data-dir", data, "sync", "--server", "http://example"]) == EXIT_USER_ERROR
    assert "不是服务器地址" in capsys.readouterr().err
    closed = f"postgresql://nobody:pw@127.0.0.1:{free_port()}/hotline?sslmode=disable"
    assert main(["--data-dir", data, "sync", "--server", closed]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "无法连接共享服务器" in err and "Traceback" not in err
