"""An article as a clean A4 page (``app.reports.article``) in the print preview, to print or save."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from app.i18n import _
from app.reports.article import ArticleDocument, render_article
from app.reports.layout import Letterhead
from app.reports.letterhead import letterhead_for
from ui.kb.view import ArticleData
from ui.operations import OpContext

SHANGHAI = ZoneInfo("Asia/Shanghai")


def article_document(data: ArticleData, letterhead: Letterhead) -> ArticleDocument:
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
        letterhead=letterhead.text,
        printed_at=dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
        logo=letterhead.logo,
    )


def print_article(mw: Any, data: ArticleData) -> None:
    """The article in the print preview (print, or save as PDF from there)."""
    document = article_document(data, letterhead_for(mw.ctx, mw.site_id))

    def work(_op: OpContext) -> bytes:
        out = io.BytesIO()
        render_article(document, out)
        return out.getvalue()

    def done(pdf: bytes) -> None:
        from ui.reports.preview import PrintPreview

        safe = "".join(ch for ch in data.title if ch not in '\\/:*?"<>|')[:60] or "article"
        PrintPreview(mw, data.title, pdf, safe).show()

    mw.op(work).on_reports_lane().success(done).run()
