"""An article as a clean A4 PDF (``app.reports.article``), saved where the engineer chooses and opened
in the system's viewer to print."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog

from app.errors import UserFacingError
from app.i18n import _
from ui.kb.view import ArticleData
from ui.operations import OpContext


def article_document(data: ArticleData, letterhead: str) -> Any:
    from app.reports.article import ArticleDocument

    sections = [
        (_("Symptom / question"), data.symptom),
        (_("Cause"), data.cause),
        (_("Solution"), data.solution),
    ]
    return ArticleDocument(
        title=data.title,
        meta=[(label, value) for label, value in data.meta if value],
        sections=[(heading, body) for heading, body in sections if body.strip()],
        images={image_id: blob for image_id, (_mime, blob) in data.images.items()},
        letterhead=letterhead,
        printed_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def save_article_pdf(mw: Any, data: ArticleData) -> None:
    safe = "".join(ch for ch in data.title if ch not in '\\/:*?"<>|')[:60] or "article"
    start = str(Path.home() / f"{safe}.pdf")
    path, _filter = QFileDialog.getSaveFileName(
        mw, _("Save the article as PDF"), start, _("PDF files (*.pdf)")
    )
    if not path:
        return
    letterhead = mw.site_combo.currentText()  # the page's right-hand header names the knowledge base
    document = article_document(data, letterhead)

    def work(_op: OpContext) -> str:
        from app.reports.article import render_article

        try:
            render_article(document, Path(path))
        except OSError as exc:
            raise UserFacingError(
                _("The PDF could not be saved: {error}").format(error=exc.strerror or exc)
            ) from exc
        return path

    def done(saved: str) -> None:
        mw.status_message(_("Saved {path}").format(path=saved))
        QDesktopServices.openUrl(QUrl.fromLocalFile(saved))

    mw.op(work).success(done).run()
