"""Showing an article: its Markdown sections in a text browser, pasted images loaded from the database
(``kbimg:<id>`` references), and the small helpers the knowledge-base widgets share."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QImage, QResizeEvent, QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListWidget, QListWidgetItem, QTextBrowser, QWidget

from app.i18n import _
from app.search.kb import Snippet
from app.services import kb

MARK_STYLE = "background-color: #fff3b0;"


def marked_html(snippet: Snippet) -> str:
    """A snippet as HTML with its matched words marked (escaped: any text is safe)."""
    return "".join(
        f'<span style="{MARK_STYLE}">{html.escape(part)}</span>' if matched else html.escape(part)
        for part, matched in snippet.parts
    )


class HitList(QListWidget):
    """A list of search hits, each a few lines of rich text wrapped to the list's width, every row as
    tall as its text (re-wrapped when the list is resized)."""

    def __init__(
        self, parent: QWidget | None = None, margins: tuple[int, int, int, int] = (6, 4, 6, 4)
    ) -> None:
        super().__init__(parent)
        self._margins = margins
        self.setWordWrap(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # a light selection: the rows' own colours (grey snippets, marked words) stay readable on it
        self.setStyleSheet(
            "QListWidget::item:selected { background: #d3e3f8; }"
            "QListWidget::item:hover:!selected { background: #f0f5fc; }"
        )

    def add_hit(self, data: str, text_html: str, tooltip: str = "") -> QListWidgetItem:
        item = QListWidgetItem(self)
        item.setData(Qt.ItemDataRole.UserRole, data)
        if tooltip:
            item.setToolTip(tooltip)
        label = QLabel(text_html, self)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setContentsMargins(*self._margins)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setItemWidget(item, label)
        self._fit(item, label)
        return item

    def _fit(self, item: QListWidgetItem, label: QWidget) -> None:
        width = max(self.viewport().width(), 120)
        item.setSizeHint(QSize(width, label.heightForWidth(width)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            for row in range(self.count()):
                item = self.item(row)
                label = self.itemWidget(item)
                if label is not None:
                    self._fit(item, label)


@dataclass
class ArticleData:
    """What the view shows of an article, read on the worker thread."""

    id: str
    title: str
    symptom: str
    cause: str
    solution: str
    meta: list[tuple[str, str]]
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    status: str = "draft"


def article_markdown(data: ArticleData) -> str:
    """The article as one Markdown document (title, a line of facts, its sections)."""
    parts = [
        f"# {_escape_md(data.title)}",
        "  ·  ".join(f"{label}：{value}" for label, value in data.meta if value),
    ]
    for heading, body in (
        (_("Symptom / question"), data.symptom),
        (_("Cause"), data.cause),
        (_("Solution"), data.solution),
    ):
        if body.strip():
            parts.append(f"## {heading}\n\n{body}")
    return "\n\n".join(parts)


def _escape_md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("#", "\\#").replace("*", "\\*").replace("_", "\\_")


class ArticleView(QTextBrowser):
    """A read-only article, Markdown rendered; ``kbimg:`` images come from the article's rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("articleView")
        self.setOpenExternalLinks(True)
        self._images: dict[str, tuple[str, bytes]] = {}
        self.data: ArticleData | None = None

    def show_article(self, data: ArticleData | None, placeholder: str = "") -> None:
        self.data = data
        if data is None:
            self._images = {}
            self.setHtml(f'<p style="color: gray">{html.escape(placeholder)}</p>')
            return
        self._images = dict(data.images)
        self.document().clear()
        self.setMarkdown(article_markdown(data))

    def set_images(self, images: dict[str, tuple[str, bytes]]) -> None:
        """Images of an article being edited (not saved yet) added to those it can show."""
        self._images.update(images)

    def loadResource(self, kind: int, url: QUrl | str) -> Any:
        target = url.toString() if isinstance(url, QUrl) else str(url)
        if kind == QTextDocument.ResourceType.ImageResource.value and target.startswith("kbimg:"):
            found = self._images.get(target.removeprefix("kbimg:"))
            image = QImage()
            if found is None or not image.loadFromData(found[1]):
                return _missing_image()
            width = max(100, self.viewport().width() - 40)
            return image.scaledToWidth(width) if image.width() > width else image
        return super().loadResource(kind, url)


def _missing_image() -> QImage:
    image = QImage(160, 40, QImage.Format.Format_RGB32)
    image.fill(0xEEEEEE)
    return image


def meta_of(
    article: Any, names: dict[str, str], version: kb.Version | None, uses: int
) -> list[tuple[str, str]]:
    """The facts shown under an article's title (type, status, system, module, tags, version …)."""
    meta = [
        (_("Type"), kb.type_label(article.kind)),
        (_("Status"), kb.status_label(article.status)),
        (_("System"), names.get(article.system_id or "", "")),
        (_("Module"), names.get(article.module_id or "", "")),
        (_("Tags"), "、".join(t for t in article.tags.split(",") if t)),
        (_("Author"), article.author),
    ]
    if version is not None:
        local = version.saved_at.astimezone()
        when = local.strftime("%Y-%m-%d %H:%M")
        label = _("{n} ({who}, {when})").format(n=version.number, who=version.saved_by, when=when)
        meta.append((_("Version"), label))
    meta.append((_("Used in calls"), str(uses)))
    return meta
