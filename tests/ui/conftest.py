"""Fixtures for driving real widgets: a main window over a real SQLite database in tmp_path.

Dialogs that would block (message boxes) are replaced by ``dialog_recorder``, which records what the
user would have been shown and answers questions as the test says.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from app import i18n
from app.context import AppContext, open_context


@dataclass
class DialogRecorder:
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    answer: bool = True


@pytest.fixture
def dialog_recorder(monkeypatch: pytest.MonkeyPatch) -> DialogRecorder:
    from ui import dialogs

    recorder = DialogRecorder()

    def warn(_parent: Any, text: str, title: str | None = None) -> None:
        recorder.warnings.append(text)

    def inform(_parent: Any, text: str, title: str | None = None) -> None:
        recorder.infos.append(text)

    def ask(_parent: Any, text: str, title: str | None = None) -> bool:
        recorder.questions.append(text)
        return recorder.answer

    monkeypatch.setattr(dialogs, "warn", warn)
    monkeypatch.setattr(dialogs, "inform", inform)
    monkeypatch.setattr(dialogs, "ask", ask)
    return recorder


@pytest.fixture
def ui_ctx(tmp_path: Any) -> Iterator[AppContext]:
    ctx = open_context(str(tmp_path / "data"))
    ctx.settings["engineer_name"] = "张工"
    ctx.settings.save()
    i18n.set_language("zh_CN")
    yield ctx
    ctx.close()


@pytest.fixture
def crash_reports(monkeypatch: pytest.MonkeyPatch, ui_ctx: AppContext) -> Any:
    from ui.crash import crash_handler

    monkeypatch.setattr(crash_handler, "show_dialog", False)
    monkeypatch.setattr(crash_handler, "crash_dir", ui_ctx.paths.crash_reports)
    monkeypatch.setattr(crash_handler, "last_report", None)
    return crash_handler


@pytest.fixture
def main_window(qtbot: Any, ui_ctx: AppContext, dialog_recorder: DialogRecorder, crash_reports: Any) -> Any:
    from ui.main_window import MainWindow

    window = MainWindow(ui_ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.taskman.wait_for_idle(10_000)
    if window.call_form is not None:
        window.call_form.close()
