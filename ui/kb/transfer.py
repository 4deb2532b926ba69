"""Articles in and out of files from the knowledge-base page: a folder of Markdown files or an .xlsx
sheet (``app.services.kb_transfer``), read, checked and saved in the background with progress and
Cancel. A file with problems is imported not at all; the problems are listed, each naming its file or
row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.i18n import _
from app.services import kb_transfer
from ui.changes import OpChanges
from ui.operations import Cancelled, OpContext

MAX_LISTED_PROBLEMS = 500


def _start_folder() -> str:
    return str(Path.home())


def choose_import_source(parent: QWidget, kind: str) -> Path | None:
    """``kind``: "md" (a folder) or "xlsx" (a file)."""
    if kind == "md":
        folder = QFileDialog.getExistingDirectory(
            parent, _("Import articles from a folder of Markdown files"), _start_folder()
        )
        return Path(folder) if folder else None
    path, _filter = QFileDialog.getOpenFileName(
        parent, _("Import articles from an Excel sheet"), _start_folder(), _("Excel sheets (*.xlsx)")
    )
    return Path(path) if path else None


def choose_export_target(parent: QWidget, kind: str) -> Path | None:
    if kind == "md":
        folder = QFileDialog.getExistingDirectory(
            parent, _("Export the articles as Markdown files into a folder"), _start_folder()
        )
        return Path(folder) if folder else None
    start = str(Path(_start_folder()) / _("knowledge-base.xlsx"))
    path, _filter = QFileDialog.getSaveFileName(
        parent, _("Export the articles as an Excel sheet"), start, _("Excel sheets (*.xlsx)")
    )
    if not path:
        return None
    return Path(path) if path.lower().endswith(".xlsx") else Path(path + ".xlsx")


def show_problems(parent: QWidget, problems: list[str], total: int) -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(_("Import articles"))
    box.setText(
        _(
            "{count} problems in {total} articles, so nothing was imported. Correct them and import again."
        ).format(count=len(problems), total=total)
    )
    listed = problems[:MAX_LISTED_PROBLEMS]
    shown = listed[:5]
    if len(problems) > len(shown):
        shown.append(_("… and {count} more (see the details).").format(count=len(problems) - len(shown)))
    box.setInformativeText("\n".join(shown))
    box.setDetailedText("\n".join(listed))
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.button(QMessageBox.StandardButton.Close).setText(_("Close"))
    box.exec()


def import_articles(mw: Any, source: Path) -> Any:
    """Read, check and save the articles of ``source`` in the background (one transaction). An article
    without a site in the file is for every site, as with ``hotline kb import``."""
    ctx = mw.ctx

    def work(op: OpContext) -> kb_transfer.KbImportResult:
        op.progress(0, 0, _("Reading {name} …").format(name=source.name))
        found = kb_transfer.read_path(source)
        op.check_cancelled()
        with ctx.uow() as uow:
            result = kb_transfer.import_found(
                uow,
                found,
                ctx.engineer,
                dt.datetime.now(dt.UTC),
                progress=lambda done, total: op.progress(done, total, ""),
                cancelled=lambda: op.cancelled,
            )
        if result.cancelled:
            raise Cancelled
        return result

    def done(result: kb_transfer.KbImportResult) -> None:
        if result.problems:
            show_problems(mw, result.problems, result.checked)
            return
        counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
        text = _("Imported {count} articles: {created} new, {updated} updated, {unchanged} unchanged.")
        mw.status_message(text.format(count=result.checked, **counts), 10_000)

    return mw.op(work).with_progress(_("Importing articles…")).success(done).changes(OpChanges(kb=True)).run()


def export_articles(mw: Any, target: Path, kind: str) -> Any:
    """Write every article (not deleted; all sites) to ``target`` in the background."""
    ctx = mw.ctx

    def work(op: OpContext) -> int:
        from app.importexport.kb_io import write_markdown_folder, write_xlsx

        op.progress(0, 0, "")
        with ctx.db.session() as session:
            records = kb_transfer.export_records(session)
        op.check_cancelled()
        if kind == "md":
            write_markdown_folder(records, target)
        else:
            write_xlsx(records, target)
        return len(records)

    def done(count: int) -> None:
        mw.status_message(_("Exported {count} articles to {path}.").format(count=count, path=target), 10_000)

    return mw.op(work).with_progress(_("Exporting articles…")).success(done).run()
