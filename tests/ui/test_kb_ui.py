"""The knowledge base in the window: answers suggested while the question is typed and inserted with a
keystroke (and linked to the saved call), canned answers with Ctrl+J, the knowledge-base page's
search as you type, and an article written with a pasted screenshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox
from sqlalchemy import select

from app.context import AppContext
from app.importexport.kb_io import read_xlsx
from app.services import calls, kb, reference, tickets
from app.storage.models import Call, KbImage, KbLink
from tests.helpers.kb_files import ukey_folder
from tests.helpers.qt_input import pick, type_text
from tests.helpers.qt_windows import shown_windows
from ui.calls.detail import CallDetailDialog
from ui.calls.form import CallForm
from ui.kb.editor import ArticleEditor
from ui.kb.transfer import import_articles
from ui.reports.preview import PrintPreview
from ui.tickets.dialog import TicketDialog

CTRL = Qt.KeyboardModifier.ControlModifier
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def close_leftover_forms(main_window: Any) -> Iterator[None]:
    yield
    main_window.taskman.wait_for_idle(10_000)
    for form in main_window.findChildren(CallForm):
        if not form.is_closed:
            form.done(QDialog.DialogCode.Rejected)


def add_article(ctx: AppContext, title: str, symptom: str, solution: str, status: str = "published") -> str:
    with ctx.uow() as uow:
        data = kb.ArticleInput(title=title, symptom=symptom, solution=solution, status=status)
        return kb.create_article(uow, data, "张工", NOW).id


def open_form(qtbot: Any, main_window: Any) -> CallForm:
    qtbot.keyClick(main_window, Qt.Key.Key_N, CTRL)
    qtbot.waitUntil(lambda: main_window.call_form is not None and main_window.call_form.isVisible())
    form = main_window.call_form
    assert isinstance(form, CallForm)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is form, timeout=5000)
    return form


def save_call(ctx: AppContext, question: str, answer: str, unit: str = "") -> Call:
    """A call answered at the first site (常州) at ``NOW``."""
    with ctx.db.session() as session:
        site = reference.list_sites(session)[0]
        category = reference.list_categories(session)[1]
    data = calls.CallInput(
        site_id=site.id, started_at=NOW, engineer="张工", caller_phone="0519-86661234", unit_name=unit,
        category_id=category.id, question=question, answer=answer,
    )  # fmt: skip
    with ctx.uow() as uow:
        return calls.record_call(uow, data)


def suggested_titles(form: CallForm) -> list[str]:
    return [hit.title for hit in form.suggestions._hits]


def test_answers_are_suggested_as_the_question_is_typed_and_inserted_with_enter(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    article = add_article(
        ui_ctx, "UKey 证书过期", "开票时提示证书过期", "1. 登录 **CA 网站** 续期\n2. 重新插入 UKey"
    )
    add_article(ui_ctx, "密码重置", "忘记登录密码", "由管理员重置")
    add_article(ui_ctx, "证书过期草稿", "证书过期", "未完成", status="draft")
    form = open_form(qtbot, main_window)
    assert form.suggestions.hint.text() == "输入问题时，这里会显示匹配的知识库文章。"
    type_text(qtbot, form.phone.edit, "86661234")
    type_text(qtbot, form.question_edit, "开票的时候提示证书过期了")
    qtbot.waitUntil(lambda: suggested_titles(form)[:1] == ["UKey 证书过期"], timeout=5000)
    assert "证书过期草稿" not in suggested_titles(form)  # drafts are not answers yet
    assert form.suggestions.hint.text().startswith("回车或 Ctrl+1")

    form.suggestions.list.setFocus()  # Tab to the list, first suggestion, Enter
    form.suggestions.list.setCurrentRow(0)
    qtbot.keyClick(form.suggestions.list, Qt.Key.Key_Return)
    assert form.answer_edit.toPlainText() == "1. 登录 **CA 网站** 续期\n2. 重新插入 UKey"
    assert form.used_articles == [article]
    pick(qtbot, form.category_combo, "咨询")
    qtbot.keyClick(form.answer_edit, Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(lambda: form.is_closed, timeout=5000)
    with ui_ctx.db.session() as session:
        call = session.scalar(select(Call).where(Call.question == "开票的时候提示证书过期了"))
        assert call is not None
        assert session.scalar(select(KbLink.article_id).where(KbLink.call_id == call.id)) == article
        assert kb.uses(session, [article]) == {article: 1}


def test_canned_answer_by_abbreviation_and_ctrl_j(qtbot: Any, main_window: Any, ui_ctx: AppContext) -> None:
    with ui_ctx.uow() as uow:
        kb.save_canned(uow, None, "重启浏览器", "请关闭所有浏览器窗口后重新打开。", "cq", None)
    form = open_form(qtbot, main_window)
    qtbot.waitUntil(lambda: len(form.canned.rows) == 1, timeout=5000)
    form.answer_edit.setFocus()
    type_text(qtbot, form.answer_edit, "您好，cq")
    qtbot.keyClick(form.answer_edit, Qt.Key.Key_J, CTRL)
    assert form.answer_edit.toPlainText() == "您好，请关闭所有浏览器窗口后重新打开。"
    menu = form.canned.show_menu()  # without an abbreviation: a menu of the answers
    assert [a.text() for a in menu.actions()] == ["cq\t重启浏览器"]
    menu.actions()[0].trigger()
    assert form.answer_edit.toPlainText().endswith("重新打开。请关闭所有浏览器窗口后重新打开。")
    menu.close()


def test_the_page_searches_as_you_type_and_marks_the_words(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    add_article(ui_ctx, "票据核销失败", "核销时提示 ORA-12541", "重启监听")
    add_article(ui_ctx, "工资代发退回", "银行回盘失败", "核对账号")
    main_window.show_page("kb")
    page = main_window.kb_page
    qtbot.waitUntil(lambda: page.articles.count() == 2, timeout=5000)
    type_text(qtbot, page.search_edit, "hx")  # pinyin initials of 核销
    qtbot.waitUntil(lambda: page.articles.count() == 1, timeout=5000)
    label = page.articles.itemWidget(page.articles.item(0))
    assert "票据核销失败" in label.text()
    qtbot.waitUntil(
        lambda: page.view.data is not None and page.view.data.title == "票据核销失败", timeout=5000
    )
    assert "重启监听" in page.view.toPlainText()
    page.pdf_button.click()  # 打印/PDF…: the article in the print preview
    qtbot.waitUntil(lambda: len(shown_windows(PrintPreview)) == 1, timeout=10_000)
    [preview] = shown_windows(PrintPreview)
    assert preview.windowTitle() == "打印预览 — 票据核销失败" and len(preview.views) == 1
    preview.close()
    page.search_edit.clear()
    type_text(qtbot, page.search_edit, "ORA-12541")

    def code_marked() -> bool:
        first = page.articles.itemWidget(page.articles.item(0)) if page.articles.count() == 1 else None
        return first is not None and "ORA-12541</span>" in first.text()

    qtbot.waitUntil(code_marked, timeout=5000)
    page.search_edit.clear()
    type_text(qtbot, page.search_edit, '"AND (*')
    qtbot.waitUntil(lambda: page.articles.count() == 0, timeout=5000)
    assert "没有匹配的文章" in page.view.toPlainText()


def test_earlier_calls_follow_once_the_word_is_two_characters_long(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    save_call(ui_ctx, "单位账号被锁定", "已解锁")
    main_window.show_page("kb")
    page = main_window.kb_page
    qtbot.waitUntil(lambda: page.results.tabText(2) == "以往来电（0）", timeout=5000)  # nothing typed
    type_text(qtbot, page.search_edit, "锁")
    qtbot.waitUntil(lambda: page.results.tabText(2) == "以往来电", timeout=5000)
    hint = page.calls.itemWidget(page.calls.item(0))
    assert page.calls.count() == 1 and "再输入一个字" in hint.text()
    assert not page.calls.item(0).flags() & Qt.ItemFlag.ItemIsEnabled  # nothing to open
    type_text(qtbot, page.search_edit, "定")
    qtbot.waitUntil(lambda: page.results.tabText(2) == "以往来电（1）", timeout=5000)
    assert "锁定" in page.calls.itemWidget(page.calls.item(0)).text()
    assert page.calls.item(0).flags() & Qt.ItemFlag.ItemIsEnabled  # a call: Enter opens it


def test_an_article_with_a_pasted_screenshot_is_saved_and_shown(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    editor = ArticleEditor(main_window)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitUntil(lambda: editor.site_combo.count() > 1, timeout=5000)
    assert editor.save_button.text() == "保存"
    editor.save()  # nothing typed: told what is missing, nothing saved
    qtbot.waitUntil(lambda: editor.errors["title"].isVisible(), timeout=5000)
    assert editor.errors["title"].text() == "请输入标题。"
    type_text(qtbot, editor.title_edit, "打印模板错位")
    type_text(qtbot, editor.texts["solution"], "调整页边距：")
    image = QImage(2400, 300, QImage.Format.Format_RGB32)
    image.fill(0x3366CC)
    mime = QMimeData()
    mime.setImageData(image)
    editor.texts["solution"].insertFromMimeData(mime)
    assert "](kbimg:" in editor.texts["solution"].toPlainText()
    assert editor.title_edit.text() == "打印模板错位"  # what was typed is kept after the error
    editor.save()
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=5000)
    with ui_ctx.db.session() as session:
        [row] = session.scalars(select(KbImage)).all()
        [(mime_type, data)] = kb.images_of(session, row.article_id).values()
    shown = QImage()
    assert shown.loadFromData(data) and shown.width() == 1600  # scaled down before it was kept
    assert mime_type == "image/png"
    with ui_ctx.db.session() as session:
        assert [hit.title for hit in kb.search_articles(session, "模板")] == ["打印模板错位"]
        assert reference.list_sites(session)


def test_a_solved_call_becomes_an_article_in_one_action_linked_both_ways(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    call = save_call(
        ui_ctx,
        "电子票据开具时提示“开票点未授权”",
        "在单位信息维护中为开票点勾选授权后重新登录。",
        "常州市第一中学",
    )
    main_window.open_call(call.id)
    [detail] = shown_windows(CallDetailDialog, parent=main_window)
    assert not detail.articles_label.isVisible()  # no article used yet
    detail.article_button.click()
    qtbot.waitUntil(lambda: len(shown_windows(ArticleEditor)) == 1, timeout=5000)
    [editor] = shown_windows(ArticleEditor)
    qtbot.waitUntil(lambda: editor.texts["symptom"].toPlainText() != "", timeout=5000)
    assert editor.texts["symptom"].toPlainText() == "电子票据开具时提示“开票点未授权”"
    assert editor.texts["solution"].toPlainText() == "在单位信息维护中为开票点勾选授权后重新登录。"
    editor.title_edit.setText("开票点未授权")
    editor.save()
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=5000)
    with ui_ctx.db.session() as session:
        [article] = kb.linked_articles(session, call_id=call.id)
    assert article.title == "开票点未授权"
    # the call's window shows the article it now links to; the link opens it on the page
    qtbot.waitUntil(lambda: "开票点未授权" in detail.articles_label.text(), timeout=5000)
    assert detail.articles_label.isVisibleTo(detail)
    detail.articles_label.linkActivated.emit(article.id)
    page = main_window.kb_page
    assert main_window.stack.currentWidget() is page
    qtbot.waitUntil(lambda: page.view.data is not None and page.view.data.id == article.id, timeout=5000)
    detail.close()


def test_a_ticket_becomes_an_article_linked_to_it(qtbot: Any, main_window: Any, ui_ctx: AppContext) -> None:
    with ui_ctx.db.session() as session:
        site = reference.list_sites(session)[0]
    with ui_ctx.uow() as uow:
        data = tickets.TicketInput(
            site_id=site.id, title="工资统发 银行回盘导入失败", description="回盘文件格式与模板不一致"
        )
        ticket = tickets.create_ticket(uow, data, "张工", NOW)
    main_window.open_ticket(ticket.id)
    [dialog] = shown_windows(TicketDialog, parent=main_window)
    qtbot.waitUntil(
        lambda: dialog.loaded is not None and dialog.article_button.isVisibleTo(dialog), timeout=5000
    )
    dialog.article_button.click()
    qtbot.waitUntil(lambda: len(shown_windows(ArticleEditor)) == 1, timeout=5000)
    [editor] = shown_windows(ArticleEditor)
    qtbot.waitUntil(lambda: editor.title_edit.text() != "", timeout=5000)
    assert "银行回盘导入失败" in editor.title_edit.text()
    editor.save()
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: "银行回盘导入失败" in dialog.articles_label.text(), timeout=5000)
    with ui_ctx.db.session() as session:
        assert [a.id for a in kb.linked_articles(session, ticket_id=ticket.id)] == [
            session.scalar(select(KbLink.article_id).where(KbLink.ticket_id == ticket.id))
        ]
    dialog.close()


def test_articles_are_imported_from_a_folder_and_exported_to_a_sheet_from_the_page(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = ukey_folder(tmp_path)
    main_window.show_page("kb")
    page = main_window.kb_page
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(folder))
    menu = page.transfer_button.menu()
    [import_md] = [a for a in menu.actions() if a.text() == "导入 Markdown 文件夹…"]
    import_md.trigger()
    qtbot.waitUntil(lambda: page.articles.count() == 2, timeout=10_000)
    assert main_window.statusBar().currentMessage() == "已导入 2 篇文章：新建 2 篇，更新 0 篇，0 篇无变化。"
    type_text(qtbot, page.search_edit, "UKey")
    qtbot.waitUntil(
        lambda: page.view.data is not None and page.view.data.title == "UKey 插入后无法识别", timeout=5000
    )
    assert len(page.view.data.images) == 1  # the screenshot came in with the article

    sheet = tmp_path / "out.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(tmp_path / "out"), ""))
    [export_xlsx] = [a for a in menu.actions() if a.text() == "导出为 Excel 表格…"]
    export_xlsx.trigger()
    qtbot.waitUntil(
        lambda: sheet.exists() and "已导出 2 篇文章" in main_window.statusBar().currentMessage(),
        timeout=10_000,
    )
    assert sorted(r.title for r in read_xlsx(sheet).records) == ["UKey 插入后无法识别", "密码重置"]


def test_a_folder_with_a_bad_file_imports_nothing_and_lists_the_problem(
    qtbot: Any, main_window: Any, ui_ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = ukey_folder(tmp_path)
    (folder / "坏文件.md").write_text("---\n类型: 不存在的类型\n---\n# 坏文件\n内容\n", encoding="utf-8")
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append((box.text(), box.detailedText())) or 0)
    main_window.show_page("kb")
    import_articles(main_window, folder)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    [(text, details)] = shown
    assert text == "3 篇文章中有 1 处问题，因此未导入任何内容。请改正后重新导入。"
    assert "坏文件.md" in details and "不存在的类型" in details
    with ui_ctx.db.session() as session:
        assert kb.search_articles(session, "UKey") == []  # the good files were not imported either


def test_ctrl_and_a_number_inserts_that_suggestion_while_typing_the_question(
    qtbot: Any, main_window: Any, ui_ctx: AppContext
) -> None:
    add_article(ui_ctx, "UKey 证书过期", "开票时提示证书过期", "登录 CA 网站续期")
    add_article(ui_ctx, "证书过期提醒", "证书 过期 提示", "提前 30 天续期")
    form = open_form(qtbot, main_window)
    type_text(qtbot, form.question_edit, "证书过期")
    qtbot.waitUntil(lambda: len(suggested_titles(form)) == 2, timeout=5000)
    second = form.suggestions._hits[1]
    qtbot.keyClick(form.question_edit, Qt.Key.Key_2, CTRL)  # without leaving the question
    assert form.answer_edit.toPlainText() == second.solution
    assert form.question_edit.toPlainText() == "证书过期"
    assert form.used_articles == [second.id]
    # Alt+1…4 stay the handling choices' keys (当场解答 (1) …): no shortcut of the panel takes them
    mnemonics = {QKeySequence.mnemonic(b.text()).toString() for b in form.outcome_buttons.values()}
    assert mnemonics == {"Alt+1", "Alt+2", "Alt+3", "Alt+4"}
