"""The shared server in the window, driven as a user would: Settings → 共享服务器, test connection, the
status bar, Sync now (F5), the password asked once per session, and the sync window's conflicts.

The server is the real throwaway PostgreSQL of tests/sync/conftest.py (its fixtures are imported below:
pytest only discovers a conftest's fixtures for tests under that conftest's folder). The system
keyring is replaced by an in-memory one (or keyring's ``fail`` backend, for a computer without one).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QProgressDialog
from sqlalchemy import text

from app.context import AppContext
from app.services import calls, directory
from app.services.reference import list_categories, list_sites
from app.settings import Settings
from app.storage.models import Call, Contact
from app.sync import local
from app.sync.config import ServerConfig
from app.sync.credentials import SERVICE
from app.sync.protocol import SERVER_SCHEMA_HEAD, Problem
from tests.helpers.keyrings import MemoryKeyring
from tests.helpers.pgserver import PgDatabase, free_port
from tests.helpers.qt_input import click_button, pick, replace_text, type_text
from tests.helpers.qt_windows import activate, shown_windows, wait_for_tasks
from tests.sync import conftest as pg_fixtures
from tests.sync.desktops import APP_PASSWORD, SyncWorld, make_world
from ui.changes import OpChanges
from ui.settings.dialog import SettingsDialog
from ui.sync import controller as controller_module
from ui.sync.admin_dialog import AdminDialog
from ui.sync.controller import SyncState
from ui.sync.dialog import SyncDialog
from ui.sync.password import PasswordDialog
from ui.sync.settings_page import ServerPage

# pytest offers a conftest's fixtures only to the tests under its folder; these make the real
# PostgreSQL server of tests/sync/conftest.py available here too
pg_server = pg_fixtures.pg_server
make_pg_database = pg_fixtures.make_pg_database
pg_database = pg_fixtures.pg_database

OFFLINE_MESSAGE = "无法连接共享服务器。您可以继续工作：修改保存在本机，服务器恢复后自动上传。"
AUTH_MESSAGE = "共享服务器拒绝了用户名或密码，请在设置中检查。"
SYNC_TIMEOUT = 30_000

# --- the keyring ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every test here gets a fresh in-memory keyring; never the real one of the person running them."""
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring(memory_keyring: MemoryKeyring) -> None:
    keyring.set_keyring(fail.Keyring())


# --- the server and the window --------------------------------------------------------------------


@pytest.fixture
def world(pg_database: PgDatabase, tmp_path: Path) -> Iterator[SyncWorld]:
    """The server database with the sync schema and a desktop login (``world.app_config``)."""
    made = make_world(pg_database, tmp_path / "world")
    yield made
    made.close()


@pytest.fixture
def settings_dialog(qtbot: Any, main_window: Any) -> SettingsDialog:
    dialog = SettingsDialog(main_window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


@pytest.fixture
def server_page(qtbot: Any, main_window: Any, settings_dialog: SettingsDialog) -> ServerPage:
    settings_dialog.page_list.setCurrentRow(2)
    page = settings_dialog.server_page
    assert settings_dialog.stack.currentWidget() is page
    assert settings_dialog.page_list.item(2).text() == "共享服务器"
    wait_for_tasks(qtbot, main_window)  # the keyring is asked in the background
    return page


def fill_server(
    qtbot: Any, page: ServerPage, config: ServerConfig, password: str, interval: str = "0"
) -> None:
    replace_text(qtbot, page.host_edit, config.host)
    replace_text(qtbot, page.port_spin.lineEdit(), str(config.port))
    replace_text(qtbot, page.database_edit, config.database)
    replace_text(qtbot, page.user_edit, config.user)
    replace_text(qtbot, page.password_edit, password)
    pick(qtbot, page.ssl_combo, "关闭 —— 不加密（仅限可信的内部网络）")
    replace_text(qtbot, page.interval_spin.lineEdit(), interval)


def configure(qtbot: Any, mw: Any, config: ServerConfig, password: str | None, interval: int = 0) -> None:
    """What saving Settings → 共享服务器 does, without the dialog."""
    before = ServerConfig.from_settings(mw.ctx.settings)
    config.to_settings(mw.ctx.settings)
    mw.ctx.settings["sync_interval_s"] = interval
    mw.ctx.settings.save()
    mw.sync.apply_server_settings(before, password)
    wait_for_tasks(qtbot, mw)


def press_f5(qtbot: Any, mw: Any) -> None:
    activate(qtbot, mw)
    QTest.keyClick(mw, Qt.Key.Key_F5)


def wait_synced(qtbot: Any, mw: Any) -> None:
    qtbot.waitUntil(lambda: not mw.sync.syncing and mw.taskman.running == 0, timeout=SYNC_TIMEOUT)


def saved_settings(ctx: AppContext) -> Settings:
    return Settings(ctx.paths.settings_file)


def record_call(ctx: AppContext, question: str) -> Call:
    with ctx.db.session() as session:
        site = list_sites(session)[0].id
        category = list_categories(session)[0].id
    data = calls.CallInput(
        site_id=site, started_at=dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC), engineer="张工",
        caller_phone="0519-88881234", caller_name="李会计", category_id=category, question=question,
        answer="已指导重新登录",
    )  # fmt: skip
    with ctx.uow() as uow:
        return calls.record_call(uow, data)


def closed_port_config() -> ServerConfig:
    return ServerConfig(
        host="127.0.0.1", port=free_port(), database="hotline", user="zhang", sslmode="disable"
    )


# --- Settings → 共享服务器 ----------------------------------------------------------------------------


def test_server_settings_are_saved_and_the_password_goes_to_the_keyring(
    qtbot: Any,
    main_window: Any,
    settings_dialog: SettingsDialog,
    server_page: ServerPage,
    ui_ctx: AppContext,
    memory_keyring: MemoryKeyring,
) -> None:
    assert server_page.password_note.text() == "密码保存在系统钥匙串中，不会写入设置文件。"
    assert server_page.password_edit.echoMode() == server_page.password_edit.EchoMode.Password
    assert main_window.sync_status.state_label.text() == "共享服务器：未设置"
    config = ServerConfig(host="db.czcz.gov.cn", port=6432, database="hotline_cz", user="zhang_gong")
    fill_server(qtbot, server_page, config, "Pa55-word")
    click_button(qtbot, settings_dialog, "确定")
    wait_for_tasks(qtbot, main_window)

    assert not settings_dialog.isVisible()
    on_disk = saved_settings(ui_ctx)
    saved = ServerConfig.from_settings(on_disk)
    assert saved == ServerConfig(
        host="db.czcz.gov.cn", port=6432, database="hotline_cz", user="zhang_gong", sslmode="disable"
    )
    assert on_disk["sync_interval_s"] == 0
    assert "Pa55-word" not in ui_ctx.paths.settings_file.read_text(encoding="utf-8")
    assert memory_keyring.secrets == {(SERVICE, "zhang_gong@db.czcz.gov.cn:6432/hotline_cz"): "Pa55-word"}
    # only on demand: saving did not start a sync; the status bar knows a server is set
    assert main_window.sync_status.state_label.text() == "共享服务器：尚未同步"
    qtbot.waitUntil(lambda: main_window.sync_status.details_label.text().startswith("从未同步 · 待上传 "))

    # opened again: the password is not shown, only that one is saved
    again = SettingsDialog(main_window)
    qtbot.addWidget(again)
    wait_for_tasks(qtbot, main_window)
    assert again.server_page.host_edit.text() == "db.czcz.gov.cn"
    assert again.server_page.password_edit.text() == ""
    assert again.server_page.password_edit.placeholderText() == "已保存 —— 留空则保持不变"
    assert again.server_page.ssl_combo.currentData() == "disable"


def test_a_renamed_login_takes_the_saved_password_along(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, memory_keyring: MemoryKeyring
) -> None:
    first = ServerConfig(host="db.czcz.gov.cn", user="zhang")
    configure(qtbot, main_window, first, "Pa55-word")
    dialog = SettingsDialog(main_window)
    qtbot.addWidget(dialog)
    dialog.show()
    wait_for_tasks(qtbot, main_window)
    replace_text(qtbot, dialog.server_page.host_edit, "10.0.0.5")
    click_button(qtbot, dialog, "确定")
    wait_for_tasks(qtbot, main_window)
    assert memory_keyring.secrets[(SERVICE, "zhang@10.0.0.5:5432/hotline")] == "Pa55-word"


def test_wrong_fields_are_shown_inline_and_what_was_typed_is_kept(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, server_page: ServerPage, ui_ctx: AppContext
) -> None:
    replace_text(qtbot, server_page.host_edit, "postgresql://db.czcz.gov.cn")
    replace_text(qtbot, server_page.user_edit, "")
    replace_text(qtbot, server_page.password_edit, "typed-secret")
    replace_text(qtbot, server_page.interval_spin.lineEdit(), "5")
    settings_dialog.page_list.setCurrentRow(0)
    click_button(qtbot, settings_dialog, "确定")

    assert settings_dialog.isVisible()
    assert settings_dialog.stack.currentWidget() is server_page  # brought back to the page
    assert server_page.host_error.text() == "只需填写服务器名称或地址，如 db.czcz.gov.cn 或 10.0.0.5。"
    assert server_page.user_error.text() == "请填写本机登录服务器所用的用户名。"
    assert server_page.interval_error.text() == "至少 10 秒；填 0 表示仅手动同步。"
    assert server_page.host_error.isVisible() and server_page.user_error.isVisible()
    assert server_page.host_edit.text() == "postgresql://db.czcz.gov.cn"
    assert server_page.password_edit.text() == "typed-secret"
    assert saved_settings(ui_ctx)["server_host"] == ""

    replace_text(qtbot, server_page.host_edit, "db.czcz.gov.cn")
    assert not server_page.host_error.isVisible()  # the mark goes as the field is corrected
    replace_text(qtbot, server_page.user_edit, "zhang")
    replace_text(qtbot, server_page.interval_spin.lineEdit(), "120")
    click_button(qtbot, settings_dialog, "确定")
    wait_for_tasks(qtbot, main_window)
    assert not settings_dialog.isVisible()
    assert saved_settings(ui_ctx)["sync_interval_s"] == 120
    main_window.sync.shutdown()  # no automatic sync against a made-up server in this test


def test_without_a_keyring_the_password_is_kept_for_this_session(
    qtbot: Any, no_keyring: None, main_window: Any, settings_dialog: SettingsDialog, server_page: ServerPage
) -> None:
    assert server_page.password_note.isVisible()
    assert "本机没有可用的系统钥匙串" in server_page.password_note.text()
    config = closed_port_config()
    fill_server(qtbot, server_page, config, "only-this-session")
    click_button(qtbot, settings_dialog, "确定")
    wait_for_tasks(qtbot, main_window)
    saved = ServerConfig.from_settings(main_window.ctx.settings)
    assert saved is not None
    assert main_window.sync.passwords.get(saved) == "only-this-session"
    assert main_window.sync.passwords.in_session(saved)
    assert "only-this-session" not in main_window.ctx.paths.settings_file.read_text(encoding="utf-8")


def test_test_connection_shows_the_server_inline(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, server_page: ServerPage, world: SyncWorld
) -> None:
    fill_server(qtbot, server_page, world.app_config, APP_PASSWORD)
    click_button(qtbot, server_page, "测试连接(&T)")
    assert server_page.test_result.text() == "正在连接…"  # the window stays responsive meanwhile
    qtbot.waitUntil(lambda: server_page.test_button.isEnabled(), timeout=SYNC_TIMEOUT)
    text = server_page.test_result.text()
    assert text.startswith("连接成功：PostgreSQL "), text
    assert f"服务器数据结构版本 {SERVER_SCHEMA_HEAD}" in text
    assert settings_dialog.isVisible()


def test_a_wrong_password_is_said_in_chinese_inline(
    qtbot: Any,
    main_window: Any,
    settings_dialog: SettingsDialog,
    server_page: ServerPage,
    world: SyncWorld,
    dialog_recorder: Any,
) -> None:
    fill_server(qtbot, server_page, world.app_config, "not-the-password")
    click_button(qtbot, server_page, "测试连接(&T)")
    qtbot.waitUntil(lambda: server_page.test_button.isEnabled(), timeout=SYNC_TIMEOUT)
    assert server_page.test_result.text() == AUTH_MESSAGE
    assert server_page.password_edit.text() == "not-the-password"  # kept, to be corrected
    assert dialog_recorder.warnings == []


def test_test_connection_without_a_password_asks_for_it_inline(
    qtbot: Any, main_window: Any, settings_dialog: SettingsDialog, server_page: ServerPage
) -> None:
    fill_server(qtbot, server_page, closed_port_config(), "")
    click_button(qtbot, server_page, "测试连接(&T)")
    qtbot.waitUntil(lambda: server_page.test_button.isEnabled(), timeout=SYNC_TIMEOUT)
    assert server_page.test_result.text() == "请先输入密码再测试连接。"


def test_the_administrator_sets_up_the_server_and_a_desktop_login(
    qtbot: Any,
    main_window: Any,
    settings_dialog: SettingsDialog,
    server_page: ServerPage,
    pg_database: PgDatabase,
) -> None:
    admin = ServerConfig.from_url(pg_database.url)
    replace_text(qtbot, server_page.host_edit, admin.host)
    replace_text(qtbot, server_page.port_spin.lineEdit(), str(admin.port))
    replace_text(qtbot, server_page.database_edit, admin.database)
    pick(qtbot, server_page.ssl_combo, "关闭 —— 不加密（仅限可信的内部网络）")
    click_button(qtbot, server_page, "管理员：创建 / 升级服务器数据结构…")
    dialog = server_page.admin_dialog
    assert isinstance(dialog, AdminDialog)
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    replace_text(qtbot, dialog.admin_user_edit, admin.user)
    type_text(qtbot, dialog.admin_password_edit, admin.password or "")

    def run(button: str, label: Any) -> str:
        click_button(qtbot, dialog, button)
        qtbot.waitUntil(lambda: dialog.check_button.isEnabled(), timeout=SYNC_TIMEOUT)
        return str(label.text())

    assert run("检查服务器(&C)", dialog.schema_result).startswith("服务器数据库尚未为热线工作台初始化")
    assert (
        run("创建 / 升级服务器数据结构(&U)", dialog.schema_result)
        == f"完成：服务器数据结构现为版本 {SERVER_SCHEMA_HEAD}。"
    )
    assert (
        run("检查服务器(&C)", dialog.schema_result)
        == f"服务器数据结构已是最新（版本 {SERVER_SCHEMA_HEAD}）。"
    )

    # a desktop login: checked here first, then by the server
    type_text(qtbot, dialog.new_user_edit, "zhang_gong")
    type_text(qtbot, dialog.new_password_edit, "desk-pass-1")
    type_text(qtbot, dialog.repeat_password_edit, "desk-pass-2")
    click_button(qtbot, dialog, "创建登录名(&L)")
    assert dialog.repeat_error.text() == "两次输入的密码不一致。"
    replace_text(qtbot, dialog.repeat_password_edit, "desk-pass-1")
    assert (
        run("创建登录名(&L)", dialog.login_result) == "已创建登录名“zhang_gong”：各台电脑现在可以用它同步。"
    )
    dialog.close()
    # this desktop had no login yet: it takes the new one, and the connection works with it
    assert (server_page.user_edit.text(), server_page.password_edit.text()) == ("zhang_gong", "desk-pass-1")
    click_button(qtbot, server_page, "测试连接(&T)")
    qtbot.waitUntil(lambda: server_page.test_button.isEnabled(), timeout=SYNC_TIMEOUT)
    assert server_page.test_result.text().startswith("连接成功"), server_page.test_result.text()


def test_a_wrong_administrator_password_is_said_inline(
    qtbot: Any, main_window: Any, server_page: ServerPage, pg_database: PgDatabase, dialog_recorder: Any
) -> None:
    admin = ServerConfig.from_url(pg_database.url)
    fill_server(qtbot, server_page, admin, "")
    server_page.open_admin()
    dialog = server_page.admin_dialog
    qtbot.addWidget(dialog)
    replace_text(qtbot, dialog.admin_user_edit, admin.user)
    type_text(qtbot, dialog.admin_password_edit, "wrong")
    click_button(qtbot, dialog, "检查服务器(&C)")
    qtbot.waitUntil(lambda: dialog.check_button.isEnabled(), timeout=SYNC_TIMEOUT)
    assert dialog.schema_result.text() == AUTH_MESSAGE
    assert dialog_recorder.warnings == []


# --- the status bar and Sync now ------------------------------------------------------------------


def test_an_unreachable_server_shows_offline_without_any_dialog(
    qtbot: Any, main_window: Any, dialog_recorder: Any, crash_reports: Any
) -> None:
    configure(qtbot, main_window, closed_port_config(), "secret")
    for _attempt in range(3):
        press_f5(qtbot, main_window)
        wait_synced(qtbot, main_window)
    status = main_window.sync_status
    assert main_window.sync.status.state is SyncState.OFFLINE
    assert status.state_label.text() == "离线"
    assert status.state_label.toolTip() == OFFLINE_MESSAGE
    assert main_window.statusBar().currentMessage() == OFFLINE_MESSAGE
    qtbot.waitUntil(lambda: status.details_label.text().startswith("从未同步 · 待上传 "))
    # the timer's syncs are silent too
    main_window.sync._auto_sync()
    wait_synced(qtbot, main_window)
    assert dialog_recorder.warnings == [] and dialog_recorder.infos == []
    assert shown_windows(QProgressDialog) == []
    assert crash_reports.last_report is None


def test_sync_now_sends_the_local_changes_and_shows_when(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, world: SyncWorld
) -> None:
    call = record_call(ui_ctx, "电子票据无法冲红")
    configure(qtbot, main_window, world.app_config, APP_PASSWORD)
    status = main_window.sync_status
    qtbot.waitUntil(lambda: "从未同步 · 待上传" in status.details_label.text())
    assert status.details_label.text() != "从未同步 · 待上传 0 条"  # the call and the seeded rows wait

    press_f5(qtbot, main_window)
    wait_synced(qtbot, main_window)
    assert status.state_label.text() == "在线"
    now = dt.datetime.now(dt.UTC)
    shown = {f"上次同步 {(now + dt.timedelta(minutes=m)).astimezone(controller_tz()).strftime('%H:%M')}"
             for m in (-1, 0)}  # fmt: skip
    qtbot.waitUntil(lambda: status.details_label.text().endswith(" · 待上传 0 条"))
    assert status.details_label.text().split(" · ")[0] in shown
    assert not status.problems_button.isVisible()
    assert call.id in world.server_rows("calls")
    assert main_window.statusBar().currentMessage().startswith("同步完成：上传 ")


def controller_tz() -> Any:
    from ui.sync.status import SHANGHAI

    return SHANGHAI


def test_a_local_change_is_sent_shortly_after(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(controller_module, "DEBOUNCE_MS", 200)
    configure(qtbot, main_window, world.app_config, APP_PASSWORD, interval=3600)
    wait_synced(qtbot, main_window)  # saving a new server syncs at once
    assert main_window.sync.status.state is SyncState.ONLINE
    main_window.op(lambda _ctx: record_call(ui_ctx, "工资统发导入失败")).changes(OpChanges(calls=True)).run()
    qtbot.waitUntil(
        lambda: any(row.get("question") == "工资统发导入失败" for row in world.server_rows("calls").values()),
        timeout=SYNC_TIMEOUT,
    )
    wait_synced(qtbot, main_window)


def test_pulled_changes_refresh_the_views_without_syncing_again(
    qtbot: Any, main_window: Any, world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = world.desktop("li")
    other.record_call("财政一体化系统登录超时")
    other.sync()
    monkeypatch.setattr(controller_module, "DEBOUNCE_MS", 50)
    announced: list[OpChanges] = []
    main_window.taskman.operation_did_execute.connect(announced.append)
    finished: list[Any] = []
    main_window.sync.sync_finished.connect(finished.append)
    # automatic syncs on: a local change would be sent 50 ms later
    configure(qtbot, main_window, world.app_config, APP_PASSWORD, interval=3600)
    wait_synced(qtbot, main_window)  # a newly set server is synchronised at once
    assert OpChanges(calls=True, directory=True, reference=True, tickets=True, kb=True) in announced
    qtbot.waitUntil(lambda: main_window.calls_page.model.rowCount() == 1)
    QTest.qWait(500)
    assert len(finished) == 1  # what came from the server is not taken for a local change to send
    assert not main_window.sync.syncing


def test_without_a_keyring_the_password_is_asked_once_when_syncing(
    qtbot: Any, no_keyring: None, main_window: Any, world: SyncWorld, dialog_recorder: Any
) -> None:
    configure(qtbot, main_window, world.app_config.with_password(None), None, interval=60)
    main_window.sync._auto_sync()  # the timer never asks
    wait_synced(qtbot, main_window)
    assert shown_windows(PasswordDialog) == []
    assert main_window.sync_status.state_label.text() == "需要密码（按 F5 输入）"
    assert main_window.sync_status.state_label.toolTip() == "需要共享服务器的密码，请在设置中输入。"

    def asked() -> PasswordDialog:
        press_f5(qtbot, main_window)
        qtbot.waitUntil(lambda: len(shown_windows(PasswordDialog)) == 1, timeout=SYNC_TIMEOUT)
        return shown_windows(PasswordDialog)[0]

    dialog = asked()
    assert any("本机没有可用的系统钥匙串" in label.text() for label in dialog.findChildren(QLabel))
    click_button(qtbot, dialog, "取消")  # not now
    wait_synced(qtbot, main_window)
    assert main_window.sync.status.state is SyncState.ERROR

    dialog = asked()  # Sync now asks again, as long as no password is known
    type_text(qtbot, dialog.password_edit, "a-typo")
    click_button(qtbot, dialog, "同步")
    qtbot.waitUntil(lambda: main_window.sync.status.problem is Problem.AUTH, timeout=SYNC_TIMEOUT)
    wait_synced(qtbot, main_window)
    assert main_window.sync_status.state_label.toolTip() == AUTH_MESSAGE

    dialog = asked()  # a refused password is forgotten and asked again
    type_text(qtbot, dialog.password_edit, APP_PASSWORD)
    click_button(qtbot, dialog, "同步")
    qtbot.waitUntil(lambda: main_window.sync.status.state is SyncState.ONLINE, timeout=SYNC_TIMEOUT)
    wait_synced(qtbot, main_window)

    press_f5(qtbot, main_window)  # known for the rest of the session: not asked again
    wait_synced(qtbot, main_window)
    assert shown_windows(PasswordDialog) == []
    assert main_window.sync.status.state is SyncState.ONLINE
    assert dialog_recorder.warnings == []


# --- the sync window ------------------------------------------------------------------------------


def edit_contact(ctx: AppContext, contact_id: str, **changes: Any) -> None:
    with ctx.uow() as uow:
        contact = uow.session.get(Contact, contact_id)
        assert contact is not None
        for key, value in changes.items():
            setattr(contact, key, value)
        uow.commit()


def test_the_conflicts_tab_puts_the_lost_value_back(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, world: SyncWorld
) -> None:
    configure(qtbot, main_window, world.app_config, APP_PASSWORD)
    with ui_ctx.uow() as uow:
        contact = directory.save_contact(uow, directory.ContactInput(name="赵会计"))
    main_window.sync.sync_now()
    wait_synced(qtbot, main_window)
    other = world.desktop("li")
    other.sync()
    edit_contact(ui_ctx, contact.id, notes="手机号已换")
    other.edit_contact(contact.id, notes="请联系财务科")  # later: this one wins
    other.sync()
    main_window.sync.sync_now()
    wait_synced(qtbot, main_window)

    status = main_window.sync_status
    qtbot.waitUntil(lambda: status.problems_button.isVisible())
    assert status.problems_button.text() == "冲突 1 处"
    qtbot.mouseClick(status.problems_button, Qt.MouseButton.LeftButton)
    window = main_window.sync_window
    assert isinstance(window, SyncDialog) and window.isVisible()
    window.tabs.setCurrentIndex(1)
    table = window.conflicts_table
    qtbot.waitUntil(lambda: table.rowCount() == 1)
    assert window.tabs.tabText(1) == "冲突（1）"
    assert [table.item(0, column).text() for column in (2, 3)] == ["请联系财务科", "手机号已换"]
    assert "赵会计" in table.item(0, 0).text()
    assert not window.use_lost_button.isEnabled()  # nothing chosen yet

    rect = table.visualItemRect(table.item(0, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    click_button(qtbot, window, "改用被覆盖的值(&U)")
    wait_for_tasks(qtbot, main_window)
    qtbot.waitUntil(lambda: table.rowCount() == 0)
    with ui_ctx.db.session() as session:
        kept = session.get(Contact, contact.id)
        assert kept is not None and kept.notes == "手机号已换"
        assert local.open_conflicts(session) == []
    qtbot.waitUntil(lambda: not status.problems_button.isVisible())

    # the log tab lists what happened, newest first
    qtbot.waitUntil(lambda: window.log_table.rowCount() > 0)
    assert window.log_table.horizontalHeaderItem(2).text() == "内容"
    main_window.sync.sync_now()
    wait_synced(qtbot, main_window)
    other.sync()
    again = other.contact(contact.id)
    assert again is not None and again.notes == "手机号已换"


def test_parked_changes_can_be_retried_or_discarded(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, dialog_recorder: Any
) -> None:
    configure(qtbot, main_window, closed_port_config(), "secret")
    with ui_ctx.uow() as uow:
        directory.save_contact(uow, directory.ContactInput(name="孙出纳"))
    park(ui_ctx, 2)
    main_window.open_sync_window()
    window = main_window.sync_window
    qtbot.addWidget(window)
    window.tabs.setCurrentIndex(2)
    table = window.parked_table
    qtbot.waitUntil(lambda: table.rowCount() == 2)
    assert window.tabs.tabText(2) == "被搁置的更改（2）"
    assert table.item(0, 3).text() == "服务器拒绝了这条修改：unique_violation"

    table.selectRow(0)
    click_button(qtbot, window, "重试(&R)")
    wait_for_tasks(qtbot, main_window)
    qtbot.waitUntil(lambda: table.rowCount() == 1)

    dialog_recorder.answer = False
    table.selectRow(0)
    click_button(qtbot, window, "丢弃(&D)")
    assert dialog_recorder.questions == [
        "要丢弃这 1 条被搁置的更改吗？它们将不会上传到共享服务器，此操作无法撤销。"
    ]
    wait_for_tasks(qtbot, main_window)
    assert table.rowCount() == 1  # not confirmed: kept
    dialog_recorder.answer = True
    click_button(qtbot, window, "丢弃(&D)")
    wait_for_tasks(qtbot, main_window)
    qtbot.waitUntil(lambda: table.rowCount() == 0)


def park(ctx: AppContext, count: int) -> None:
    """As if the server had refused the last ``count`` outbox ops."""
    with ctx.db.session() as session:
        ops = session.execute(
            text("SELECT client_op_id FROM outbox ORDER BY op_id DESC LIMIT :n"), {"n": count}
        ).all()
    local.acknowledge(ctx.db, [], {row[0]: "unique_violation" for row in ops})


def test_the_first_sync_shows_progress_and_can_be_cancelled(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, world: SyncWorld
) -> None:
    record_call(ui_ctx, "票据核销失败")
    configure(qtbot, main_window, world.app_config, APP_PASSWORD)
    with world.admin() as admin, admin.transaction():
        admin.execute("LOCK TABLE hotline.meta IN ACCESS EXCLUSIVE MODE")  # the server seems slow
        press_f5(qtbot, main_window)
        qtbot.waitUntil(lambda: len(shown_windows(QProgressDialog)) == 1, timeout=5000)
        progress = shown_windows(QProgressDialog)[0]
        assert progress.labelText() == "正在与共享服务器进行首次同步…"
        assert main_window.sync_status.state_label.text() == "正在同步…"
        click_button(qtbot, progress, "取消")
    wait_synced(qtbot, main_window)
    assert main_window.statusBar().currentMessage() == "同步已取消；已经传输的内容会保留。"
    assert world.server_rows("calls") == {}  # stopped before the calls went up
    assert shown_windows(QProgressDialog) == []

    press_f5(qtbot, main_window)  # later syncs are silent: the status bar only
    QTest.qWait(400)
    assert shown_windows(QProgressDialog) == []
    wait_synced(qtbot, main_window)
    assert len(world.server_rows("calls")) == 1


def test_closing_the_window_stops_a_sync_that_waits_on_the_server(
    qtbot: Any, main_window: Any, world: SyncWorld, crash_reports: Any
) -> None:
    configure(qtbot, main_window, world.app_config, APP_PASSWORD)
    main_window.sync.sync_now()
    wait_synced(qtbot, main_window)  # connected
    with world.admin() as admin, admin.transaction():
        admin.execute("LOCK TABLE hotline.meta IN ACCESS EXCLUSIVE MODE")
        main_window.sync.sync_now()
        QTest.qWait(300)
        assert main_window.sync.syncing
        started = time.monotonic()
        main_window.close()
        assert time.monotonic() - started < 5
    assert main_window.taskman.wait_for_idle(10_000)
    assert crash_reports.last_report is None


def test_a_configured_desktop_syncs_by_itself_after_start(
    qtbot: Any,
    ui_ctx: AppContext,
    world: SyncWorld,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    world.app_config.to_settings(ui_ctx.settings)
    ui_ctx.settings.save()
    memory_keyring.set_password(SERVICE, world.app_config.keyring_account, APP_PASSWORD)
    monkeypatch.setattr(controller_module, "STARTUP_DELAY_MS", 100)
    mw = request.getfixturevalue("main_window")
    assert mw.sync_status.state_label.text() == "共享服务器：尚未同步"
    qtbot.waitUntil(lambda: mw.sync.status.state is SyncState.ONLINE, timeout=SYNC_TIMEOUT)
    wait_synced(qtbot, mw)
    assert shown_windows(QProgressDialog) == []  # automatic syncs are silent, even the first
    assert mw.sync._interval_timer.isActive() and mw.sync._interval_timer.interval() == 60_000


def test_sync_now_without_a_server_only_says_so(qtbot: Any, main_window: Any, dialog_recorder: Any) -> None:
    press_f5(qtbot, main_window)
    assert main_window.statusBar().currentMessage() == "尚未设置共享服务器。请在“设置 → 共享服务器”中填写。"
    assert not main_window.sync.syncing  # nothing was started
    assert main_window.sync_status.state_label.text() == "共享服务器：未设置"
    assert dialog_recorder.warnings == []


def test_the_supervisor_applies_a_refused_change_again_on_the_server(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, world: SyncWorld, dialog_recorder: Any
) -> None:
    import datetime as dt
    import json

    from app.storage.models import OutboxOp

    # another desktop's change that the server refuses (a field it does not know yet)
    other = world.desktop("李工")
    contact = other.add_contact("冯会计")
    with other.uow() as uow:
        uow.session.add(
            OutboxOp(client_op_id="01930000-0000-7000-8000-0000000000aa", table_name="contacts",
                     row_id=contact.id, op="update", fields=json.dumps({"wechat": "feng_kj"}),
                     base_version=None, hlc=other.db.clock.now(), created_at=dt.datetime.now(dt.UTC)),
        )  # fmt: skip
        uow.commit()
    assert other.sync().rejected == 1

    configure(qtbot, main_window, world.app_config, APP_PASSWORD)
    main_window.open_sync_window()
    window = main_window.sync_window
    qtbot.addWidget(window)
    window.tabs.setCurrentIndex(window.server_tab_index)
    table = window.server_table
    qtbot.waitUntil(lambda: table.rowCount() == 1)
    assert table.item(0, 1).text() == "李工"
    assert table.item(0, 4).text() == "服务器不认识联系人的字段“wechat”，服务器可能需要升级。"

    table.selectRow(0)  # applied again before the server knows the field: refused again, said so
    click_button(qtbot, window, "在服务器上重新应用(&A)")
    qtbot.waitUntil(lambda: "再次被拒绝" in window.server_message.text())
    assert table.rowCount() == 1

    with world.admin() as conn:  # the server is upgraded to know the field
        conn.execute(
            "UPDATE hotline.synced_tables SET columns = columns || 'wechat'::text WHERE name = 'contacts'"
        )
    table.selectRow(0)
    click_button(qtbot, window, "在服务器上重新应用(&A)")
    qtbot.waitUntil(
        lambda: table.rowCount() == 0 and window.server_message.text() == "没有待处理的被拒绝修改。"
    )
    assert world.server_rows("contacts")[contact.id]["wechat"] == "feng_kj"
    other.sync()
    assert other.scalar("SELECT count(*) FROM sync_parked") == 0  # the desktop it came from lets go
    wait_for_tasks(qtbot, main_window)
