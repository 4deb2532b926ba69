"""Background operations whose window is closed before their result arrives.

A window's task manager waits for its running work when it is deleted, but the result is delivered
through the event loop afterwards. It must then be dropped quietly: the user closed that window, and an
error about a deleted object would be a traceback for nobody.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication, QWidget

from ui.operations import Op, OpContext, TaskManager


def _window_with_running_op(work: Any, seen: list[str]) -> tuple[QWidget, TaskManager]:
    window = QWidget()
    taskman = TaskManager(window)
    (
        Op(window, taskman, work)
        .success(lambda result: seen.append(f"success {result}"))
        .failure(lambda error: seen.append(f"failure {error}"))
        .run()
    )
    return window, taskman


def test_a_result_arriving_after_its_window_was_deleted_is_dropped(qtbot: Any) -> None:
    release = threading.Event()
    seen: list[str] = []

    def work(_ctx: OpContext) -> str:
        release.wait(5)
        return "done"

    window, taskman = _window_with_running_op(work, seen)
    assert taskman.running == 1
    release.set()
    shiboken6.delete(window)  # the pools wait for the work; its result is now queued
    assert not shiboken6.isValid(taskman)
    QApplication.processEvents()  # pytest-qt fails the test on any exception raised here
    qtbot.wait(50)
    assert seen == []


@pytest.mark.allow_warnings  # the crash handler logs the bug it reports
def test_a_bug_in_work_whose_window_was_deleted_still_writes_a_crash_report(
    qtbot: Any, crash_reports: Any
) -> None:
    seen: list[str] = []

    def work(_ctx: OpContext) -> str:
        raise RuntimeError("a bug of ours after the window closed")

    window, _taskman = _window_with_running_op(work, seen)
    shiboken6.delete(window)
    qtbot.waitUntil(lambda: crash_reports.last_report is not None, timeout=5000)
    assert "a bug of ours after the window closed" in crash_reports.last_report.read_text(encoding="utf-8")
    assert seen == []


def test_a_result_arriving_while_the_window_lives_reaches_it(qtbot: Any) -> None:
    seen: list[str] = []
    window, taskman = _window_with_running_op(lambda _ctx: 42, seen)
    qtbot.waitUntil(lambda: seen == ["success 42"], timeout=5000)
    assert taskman.running == 0
    shiboken6.delete(window)


def test_work_finishing_after_the_application_took_its_relay_reports_to_nobody(qtbot: Any) -> None:
    from ui.operations import _Relay, _Runnable

    relay = _Relay()
    ctx = OpContext(relay)
    runnable = _Runnable(lambda _ctx: "late", ctx, relay)
    shiboken6.delete(relay)  # as at shutdown: the relay's C++ side is gone, the worker still runs
    runnable.run()  # would raise "Signal source has been deleted" on the worker thread
    failing = _Runnable(lambda _ctx: 1 / 0, ctx, relay)
    failing.run()
