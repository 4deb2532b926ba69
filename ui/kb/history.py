"""An article's saved versions, each with what changed from the one before (a readable diff)."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
)

from app.i18n import _
from app.services import kb
from ui.operations import OpContext

_COLOURS = {"-": "#fbe3e4", "+": "#e6f4e6", " ": "transparent"}


def diff_html(diffs: list[kb.FieldDiff]) -> str:
    if not diffs:
        return (
            f'<p style="color:gray">{html.escape(_("No change in the words (only when it was saved)."))}</p>'
        )
    parts: list[str] = []
    for diff in diffs:
        parts.append(
            f"<h3>{html.escape(diff.label)}</h3><table width='100%' cellspacing='0' cellpadding='2'>"
        )
        for mark, line in diff.lines:
            colour = _COLOURS.get(mark, "transparent")
            parts.append(
                f"<tr><td width='14' style='color:gray'>{html.escape(mark)}</td>"
                f"<td style='background:{colour}'>{html.escape(line) or '&nbsp;'}</td></tr>"
            )
        parts.append("</table>")
    return "".join(parts)


class HistoryDialog(QDialog):
    def __init__(self, mw: Any, article_id: str, names: dict[str, str]) -> None:
        super().__init__(mw)
        self.mw, self.article_id, self.names = mw, article_id, names
        self.setWindowTitle(_("Version history"))
        self.resize(900, 600)
        self.versions: list[kb.Version] = []
        self.list = QListWidget(self)
        self.list.currentRowChanged.connect(self._picked)
        self.diff = QTextBrowser(self)
        self.diff.setObjectName("versionDiff")
        splitter = QSplitter(self)
        splitter.addWidget(self.list)
        splitter.addWidget(self.diff)
        splitter.setSizes([260, 640])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        ctx = mw.ctx

        def work(_op: OpContext) -> list[kb.Version]:
            with ctx.db.session() as session:
                return kb.versions(session, article_id)

        mw.op(work).success(self._loaded).run()

    def _loaded(self, versions: list[kb.Version]) -> None:
        self.versions = versions
        for version in reversed(versions):
            when = version.saved_at.astimezone().strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(
                _("Version {n} · {who} · {when}").format(n=version.number, who=version.saved_by, when=when)
            )
            item.setData(Qt.ItemDataRole.UserRole, version.number)
            self.list.addItem(item)
        if versions:
            self.list.setCurrentRow(0)

    def _picked(self, row: int) -> None:
        if row < 0:
            return
        index = len(self.versions) - 1 - row
        new = self.versions[index].fields
        old = self.versions[index - 1].fields if index > 0 else {}
        self.diff.setHtml(diff_html(kb.diff_versions(old, new, self.names)))
