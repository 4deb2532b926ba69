"""The contact dialog: new and existing contacts, several numbers, picking or typing the unit."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from sqlalchemy import func, select

from app.context import AppContext
from app.errors import StorageError, StorageProblem
from app.services import directory, reference
from app.storage.models import Contact, ContactPhone, Organisation
from tests.helpers.qt_input import type_text
from ui.directory.contact_dialog import ContactDialog


def zhanjiang(ctx: AppContext) -> str:
    with ctx.db.session() as session:
        return next(s.id for s in reference.list_sites(session) if s.code == "zhanjiang")


def select_zhanjiang(main_window: Any) -> None:
    main_window.site_combo.setCurrentIndex(main_window.site_combo.findText("湛江市财政局"))


def open_dialog(qtbot: Any, main_window: Any, **kwargs: Any) -> ContactDialog:
    dialog = ContactDialog(main_window, **kwargs)
    dialog.open()
    qtbot.waitExposed(dialog)
    return dialog


def save(qtbot: Any, dialog: ContactDialog) -> None:
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)


def wait_closed(qtbot: Any, dialog: ContactDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)


def make_unit(ctx: AppContext, name: str, site_id: str | None = None) -> str:
    with ctx.uow() as uow:
        return directory.save_organisation(uow, directory.OrganisationInput(name, site_id=site_id)).id


def count(ctx: AppContext, model: Any) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_new_contact_with_several_numbers_and_a_new_unit(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    select_zhanjiang(main_window)
    dialog = open_dialog(qtbot, main_window)
    assert dialog.windowTitle() == "新建联系人"
    assert dialog.focusWidget() is dialog.name_edit
    type_text(qtbot, dialog.name_edit, "黄九")
    type_text(qtbot, dialog.title_edit, "信息管理员")
    type_text(qtbot, dialog.unit_combo.lineEdit(), "湛江市第四中学")
    type_text(qtbot, dialog.phone_edit(0), "2226789")
    assert dialog.phone_hint(0).text() == "0759-222 6789 · 广东省湛江市"

    qtbot.mouseClick(dialog.add_phone_button, Qt.MouseButton.LeftButton)
    assert dialog.phones.rowCount() == 2
    assert dialog.focusWidget() is dialog.phone_edit(1)
    type_text(qtbot, dialog.phone_edit(1), "13812345678")
    assert dialog.phone_hint(1).text().startswith("138 1234 5678 · 手机")
    qtbot.mouseClick(dialog.add_phone_button, Qt.MouseButton.LeftButton)
    type_text(qtbot, dialog.phone_edit(2), "转8021")
    assert dialog.phone_hint(2).text() == "8021 · 内部分机"
    qtbot.mouseClick(dialog.add_phone_button, Qt.MouseButton.LeftButton)
    type_text(qtbot, dialog.phone_edit(3), "ab12")
    assert dialog.phone_hint(3).text() == "号码格式无法识别，将按原样保存"
    save(qtbot, dialog)

    wait_closed(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    with ui_ctx.db.session() as session:
        contact = session.get(Contact, dialog.contact_id)
        assert contact is not None
        assert (contact.name, contact.title, contact.org_id) == ("黄九", "信息管理员", dialog.org_id)
        org = session.get(Organisation, dialog.org_id)
        assert org is not None and org.name == "湛江市第四中学" and org.site_id == zhanjiang(ui_ctx)
        phones = {p.raw: (p.key, p.label) for p in directory.contact_phones(session, contact.id)}
    assert phones == {  # labels suggested from the kind of number, unless one was chosen
        "2226789": ("+867592226789", "办公室"),
        "13812345678": ("+8613812345678", "手机"),
        "转8021": ("int:8021", "办公室"),
        "ab12": ("raw:12", ""),
    }


def test_picking_an_existing_unit_creates_no_new_one(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    unit_id = make_unit(ui_ctx, "常州市人民医院")
    make_unit(ui_ctx, "常州市第一中学")
    dialog = open_dialog(qtbot, main_window, prefill_phone="13912345678", prefill_name="郑十")
    combo = dialog.unit_combo
    combo.setFocus()
    for _step in range(combo.count()):
        if combo.currentText() == "常州市人民医院":
            break
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == "常州市人民医院"
    label_combo = dialog.phones.cellWidget(0, 1)
    assert label_combo.currentText() == "手机"  # a mobile number is labelled so
    save(qtbot, dialog)
    wait_closed(qtbot, dialog)
    assert dialog.org_id == unit_id
    assert count(ui_ctx, Organisation) == 2


def test_typing_the_name_of_an_existing_unit_uses_it(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    unit_id = make_unit(ui_ctx, "常州市人民医院")
    dialog = open_dialog(qtbot, main_window, prefill_name="郑十", prefill_unit="常州市人民医院")
    save(qtbot, dialog)
    wait_closed(qtbot, dialog)
    assert dialog.org_id == unit_id
    assert count(ui_ctx, Organisation) == 1


def test_editing_a_contact_keeps_its_numbers_in_step(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    unit_id = make_unit(ui_ctx, "常州市第一中学")
    with ui_ctx.uow() as uow:
        contact_id = directory.save_contact(
            uow,
            directory.ContactInput(
                name="钱十一",
                org_id=unit_id,
                title="会计",
                notes="周三下午不在",
                phones=[
                    directory.PhoneEntry("0519-86661234", "办公室"),
                    directory.PhoneEntry("13912345678", "手机"),
                ],
            ),
        ).id
    dialog = open_dialog(qtbot, main_window, contact_id=contact_id)
    assert dialog.windowTitle() == "编辑联系人"
    assert dialog.name_edit.text() == "钱十一"
    assert dialog.title_edit.text() == "会计"
    assert dialog.unit_combo.currentText() == "常州市第一中学"
    assert dialog.notes_edit.toPlainText() == "周三下午不在"
    numbers = sorted(dialog.phone_edit(row).text() for row in range(dialog.phones.rowCount()))
    assert numbers == ["0519-86661234", "13912345678"]

    mobile_row = next(
        r for r in range(dialog.phones.rowCount()) if dialog.phone_edit(r).text() == "13912345678"
    )
    dialog.phone_edit(mobile_row).setFocus()
    dialog.phones.setCurrentCell(mobile_row, 0)
    qtbot.mouseClick(dialog.remove_phone_button, Qt.MouseButton.LeftButton)
    assert dialog.phones.rowCount() == 1
    dialog.title_edit.selectAll()
    type_text(qtbot, dialog.title_edit, "财务科长")
    save(qtbot, dialog)
    wait_closed(qtbot, dialog)

    assert dialog.contact_id == contact_id
    with ui_ctx.db.session() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None and contact.title == "财务科长"
        live = [p.raw for p in directory.contact_phones(session, contact_id)]
        assert live == ["0519-86661234"]
        removed = session.scalar(select(ContactPhone).where(ContactPhone.raw == "13912345678"))
        assert removed is not None and removed.deleted  # a tombstone, so the removal syncs


def test_a_name_is_required(qtbot: Any, main_window: Any, ui_ctx: AppContext) -> None:
    dialog = open_dialog(qtbot, main_window, prefill_phone="2221234")
    save(qtbot, dialog)
    assert dialog.isVisible()
    assert dialog.name_error.isVisible() and dialog.name_error.text() == "请填写联系人姓名。"
    assert dialog.phone_edit(0).text() == "2221234"
    assert count(ui_ctx, Contact) == 0
    type_text(qtbot, dialog.name_edit, "孙十二")
    assert not dialog.name_error.isVisible()  # typing clears the message


def test_a_unit_deleted_meanwhile_is_flagged_on_the_unit(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    unit_id = make_unit(ui_ctx, "常州市第一中学")
    dialog = open_dialog(qtbot, main_window, prefill_name="孙十二")
    dialog.unit_combo.setCurrentIndex(dialog.unit_combo.findData(unit_id))
    with ui_ctx.uow() as uow:  # someone else removes the unit while the dialog is open
        org = uow.session.get(Organisation, unit_id)
        assert org is not None
        org.deleted = True
        uow.commit()
    save(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.unit_error.isVisible(), timeout=5000)
    assert dialog.unit_error.text() == "所选单位已不存在。"
    assert dialog.isVisible() and dialog.name_edit.text() == "孙十二"
    assert count(ui_ctx, Contact) == 0


def test_storage_error_is_shown_and_the_dialog_stays(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, dialog_recorder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_args: Any, **_kwargs: Any) -> Any:
        raise StorageError(StorageProblem.LOCKED)

    monkeypatch.setattr(directory, "save_contact", locked)
    dialog = open_dialog(qtbot, main_window, prefill_name="孙十二", prefill_phone="2221234")
    save(qtbot, dialog)
    qtbot.waitUntil(lambda: bool(dialog_recorder.warnings), timeout=5000)
    assert dialog_recorder.warnings == ["数据库正忙（被其他程序锁定）。没有丢失任何数据，请稍后重试。"]
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert dialog.name_edit.text() == "孙十二"
