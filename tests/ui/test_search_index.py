"""The search index written in the background after a large first sync, as the engineer sees it: the
calls listed at once, a note while a word search may miss some, and complete results afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from app.context import AppContext
from app.services import call_index, calls
from tests.ui.test_call_list import QUESTIONS, Seeded, seed_calls, type_search, wait_idle
from ui import search_index


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
