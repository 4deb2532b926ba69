"""The search index written in the background after a large first sync, as the engineer sees it: the
calls listed at once, a note while a word search may miss some, and complete results afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.context import AppContext
from app.services import call_index, calls, kb, kb_index
from tests.ui.test_call_list import QUESTIONS, Seeded, seed_calls, type_search, wait_idle
from ui import search_index

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def queued(ui_ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> list[Seeded]:
    """30 calls in the state a large first sync leaves them: stored, their full-text rows queued."""
    seeded = seed_calls(ui_ctx)
    with ui_ctx.db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO calls_fts(calls_fts) VALUES ('delete-all')")
        conn.exec_driver_sql("INSERT INTO calls_unindexed(key) SELECT key FROM calls")
    monkeypatch.setattr(search_index, "STARTUP_DELAY_MS", 600_000)  # the test starts it
    monkeypatch.setattr(call_index, "BATCH", 10)
    return seeded


def test_queued_calls_are_listed_at_once_and_found_by_words_once_indexed(
    qtbot: Any, queued: list[Seeded], main_window: Any
) -> None:
    page = main_window.calls_page
    wait_idle(qtbot, page)
    home = [s for s in queued if s.site_id == main_window.site_id]
    assert page.count_label.text() == f"共 {len(home)} 条"  # the site filter needs no index

    word = "核销"
    expected = [s for s in home if word in s.question]
    type_search(qtbot, page, word)
    assert page.count_label.text() == "共 0 条"
    assert page.index_note.isVisible()
    assert page.index_note.text() == "还有 30 条来电尚未编入搜索索引，按文字搜索可能找不到它们。"

    indexer = main_window.indexer
    shown: list[tuple[bool, str]] = []
    indexer.remaining_changed.connect(
        lambda _n: shown.append((main_window.index_status.isVisible(), main_window.index_status.text()))
    )
    indexer.start()
    qtbot.waitUntil(lambda: not indexer.running and indexer.remaining == 0, timeout=10_000)
    wait_idle(qtbot, page)

    assert shown[0] == (True, "正在建立搜索索引：还剩 30 条来电")
    assert shown[-1][0] is False  # gone once everything is indexed
    assert len(shown) >= 3  # it counted down batch by batch
    assert not page.index_note.isVisible()
    assert page.count_label.text() == f"共 {len(expected)} 条"  # searched again without being asked
    with main_window.ctx.db.session() as session:
        assert calls.unindexed_count(session) == 0


def test_a_filter_search_finds_queued_calls_before_they_are_indexed(
    qtbot: Any, queued: list[Seeded], main_window: Any
) -> None:
    system_id = queued[0].system_id
    home = [s for s in queued if s.site_id == main_window.site_id and s.system_id == system_id]
    with main_window.ctx.db.session() as session:
        query = calls.CallQuery(site_id=main_window.site_id, system_id=system_id)
        keys = list(calls.search_keys(session, query))
        assert keys == sorted((s.key for s in home), reverse=True)
        assert calls.count_calls(session, query) == len(home)
        assert list(calls.search_keys(session, query, limit=2)) == keys[:2]
        assert calls.count_calls(session, calls.CallQuery(text=QUESTIONS[0][:4])) == 0


def test_closing_the_window_stops_the_indexer_and_the_next_start_finishes(
    qtbot: Any, queued: list[Seeded], ui_ctx: AppContext, main_window: Any
) -> None:
    indexer = main_window.indexer
    with qtbot.waitSignal(indexer.remaining_changed, timeout=10_000):
        indexer.start()
    main_window.close()  # the indexer stops after its current batch; what it wrote stays
    assert main_window.taskman.wait_for_idle(10_000)
    with ui_ctx.db.session() as session:
        left = calls.unindexed_count(session)
    assert call_index.index_backlog(ui_ctx.db) == left  # the next start picks up the rest
    with ui_ctx.db.session() as session:
        assert calls.count_calls(session, calls.CallQuery(text="核销")) == sum(
            "核销" in s.question for s in queued
        )


def test_a_stale_knowledge_base_index_is_rebuilt_in_the_background_and_searched_again(
    qtbot: Any, ui_ctx: AppContext, main_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade that indexes differently (or a migration over existing tickets) the window
    rebuilds the knowledge-base index by itself, says so in the status bar, and the page finds again."""
    with ui_ctx.uow() as uow:
        kb.create_article(uow, kb.ArticleInput(title="票据核销失败", solution="重启监听"), "张工", NOW)
    with ui_ctx.db.engine.begin() as conn:  # as an older version of the app left it
        conn.exec_driver_sql("DELETE FROM kb_fts")
        conn.exec_driver_sql("DELETE FROM kb_search")
        conn.exec_driver_sql("UPDATE local_meta SET value = 'old' WHERE key = ?", (kb_index.VERSION_KEY,))
    monkeypatch.setattr(kb_index, "BATCH", 1)
    main_window.show_page("kb")
    page = main_window.kb_page
    page.search_edit.setText("hx")
    page.search_now()
    qtbot.waitUntil(lambda: page.view.data is None and page.articles.count() == 0, timeout=5000)

    indexer = main_window.indexer
    shown: list[str] = []
    status = main_window.index_status
    indexer.kb_progress.connect(lambda _d, total: shown.append(status.text() if total else ""))
    indexer.start()
    qtbot.waitUntil(lambda: not indexer.running, timeout=10_000)
    assert shown[0] == "正在重建知识库搜索索引：1 / 1"
    assert shown[-1] == "" and not status.isVisible()
    qtbot.waitUntil(lambda: page.articles.count() == 1, timeout=5000)  # searched again by itself
    with ui_ctx.db.session() as session:
        assert not kb_index.needs_rebuild(session)
