"""Small lists kept beside the articles: search synonyms (优盘 = U盘 = UKey) and canned answers
(常用答复, inserted into a call's answer by their abbreviation)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import ValidationError
from app.i18n import _
from app.services import kb
from ui.changes import OpChanges
from ui.operations import OpContext, show_error
from ui.widgets.field_errors import error_label


class _ListDialog(QDialog):
    """A list on the left, the picked entry's fields on the right, New / Save / Delete."""

    def __init__(self, mw: Any, title: str) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setWindowTitle(title)
        self.resize(760, 460)
        self.current_id: str | None = None
        self.list = QListWidget(self)
        self.list.currentItemChanged.connect(self._picked)
        self.form_box = QWidget(self)
        self.form = QFormLayout(self.form_box)
        self.error = error_label(self)
        self.new_button = QPushButton(_("New"), self)
        self.save_button = QPushButton(_("Save"), self)
        self.delete_button = QPushButton(_("Delete"), self)
        self.new_button.clicked.connect(self.new)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete)
        right = QVBoxLayout()
        right.addWidget(self.form_box, 1)
        right.addWidget(self.error)
        row = QHBoxLayout()
        for button in (self.new_button, self.save_button, self.delete_button):
            row.addWidget(button)
        right.addLayout(row)
        body = QHBoxLayout()
        body.addWidget(self.list, 2)
        body.addLayout(right, 3)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(buttons)

    def reload(self, keep: str | None = None) -> None:
        ctx = self.mw.ctx
        self.mw.op(lambda _op: self.load(ctx)).success(lambda rows: self._fill(rows, keep)).run()

    def _fill(self, rows: list[tuple[str, str, Any]], keep: str | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for row_id, label, data in rows:
            item = QListWidgetItem(label, self.list)
            item.setData(Qt.ItemDataRole.UserRole, (row_id, data))
        self.list.blockSignals(False)
        ids = [r[0] for r in rows]
        if keep in ids:
            self.list.setCurrentRow(ids.index(keep))
        else:
            self.new()

    def _picked(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        if item is None:
            return
        row_id, data = item.data(Qt.ItemDataRole.UserRole)
        self.current_id = row_id
        self.error.hide()
        self.show_entry(data)

    def new(self) -> None:
        self.current_id = None
        self.list.clearSelection()
        self.error.hide()
        self.show_entry(None)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self.error.setText("\n".join(error.fields.values()))
            self.error.show()
            return
        show_error(self, error)

    def run_save(self, work: Any) -> None:
        self.mw.op(work).success(lambda row_id: self.reload(row_id)).failure(self._failed).changes(
            OpChanges(kb=True)
        ).run()

    def delete(self) -> None:
        if self.current_id is None:
            return
        row_id, ctx = self.current_id, self.mw.ctx

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                self.remove(uow, row_id)

        self.mw.op(work).success(lambda _r: self.reload()).changes(OpChanges(kb=True)).run()

    # for subclasses
    def load(self, ctx: Any) -> list[tuple[str, str, Any]]:
        raise NotImplementedError

    def show_entry(self, data: Any) -> None:
        raise NotImplementedError

    def save(self) -> None:
        raise NotImplementedError

    def remove(self, uow: Any, row_id: str) -> None:
        raise NotImplementedError


class SynonymsDialog(_ListDialog):
    def __init__(self, mw: Any) -> None:
        super().__init__(mw, _("Search synonyms"))
        note = QLabel(
            _("Words a search treats as one, e.g. 优盘 = U盘 = UKey. Every computer gets them."), self
        )
        note.setWordWrap(True)
        self.words_edit = QLineEdit(self)
        self.words_edit.setPlaceholderText("优盘 = U盘 = UKey")
        self.form.addRow(note)
        self.form.addRow(_("&Words"), self.words_edit)
        self.reload()

    def load(self, ctx: Any) -> list[tuple[str, str, Any]]:
        with ctx.db.session() as session:
            return [(row.id, row.words, row.words) for row in kb.list_synonyms(session)]

    def show_entry(self, data: Any) -> None:
        self.words_edit.setText(data or "")
        self.words_edit.setFocus()

    def save(self) -> None:
        row_id, words, ctx = self.current_id, self.words_edit.text(), self.mw.ctx

        def work(_op: OpContext) -> str:
            with ctx.uow() as uow:
                return kb.save_synonyms(uow, row_id, words).id

        self.run_save(work)

    def remove(self, uow: Any, row_id: str) -> None:
        kb.delete_synonyms(uow, row_id)


class CannedDialog(_ListDialog):
    def __init__(self, mw: Any) -> None:
        super().__init__(mw, _("Canned answers"))
        note = QLabel(
            _("In a call's answer, type the abbreviation and press Ctrl+J, or press Ctrl+J to pick one."),
            self,
        )
        note.setWordWrap(True)
        self.title_edit = QLineEdit(self)
        self.abbreviation_edit = QLineEdit(self)
        self.abbreviation_edit.setPlaceholderText(_("e.g. cq"))
        self.body_edit = QPlainTextEdit(self)
        self.site_only = QPushButton(self)
        self.site_only.setCheckable(True)
        self.site_only.setText(_("Only for the current site"))
        self.form.addRow(note)
        self.form.addRow(_("&Title"), self.title_edit)
        self.form.addRow(_("&Abbreviation"), self.abbreviation_edit)
        self.form.addRow(_("&Text"), self.body_edit)
        self.form.addRow(self.site_only)
        self.reload()

    def load(self, ctx: Any) -> list[tuple[str, str, Any]]:
        with ctx.db.session() as session:
            return [
                (
                    r.id,
                    f"{r.abbreviation}  {r.title}" if r.abbreviation else r.title,
                    (r.title, r.abbreviation, r.body, r.site_id),
                )
                for r in kb.list_canned(session, self.mw.site_id)
            ]

    def show_entry(self, data: Any) -> None:
        title, abbreviation, body, site_id = data or ("", "", "", None)
        self.title_edit.setText(title)
        self.abbreviation_edit.setText(abbreviation)
        self.body_edit.setPlainText(body)
        self.site_only.setChecked(site_id is not None)
        self.title_edit.setFocus()

    def save(self) -> None:
        row_id, ctx = self.current_id, self.mw.ctx
        title, abbreviation, body = (
            self.title_edit.text(),
            self.abbreviation_edit.text(),
            self.body_edit.toPlainText(),
        )
        site_id = self.mw.site_id if self.site_only.isChecked() else None

        def work(_op: OpContext) -> str:
            with ctx.uow() as uow:
                return kb.save_canned(uow, row_id, title, body, abbreviation, site_id).id

        self.run_save(work)

    def remove(self, uow: Any, row_id: str) -> None:
        kb.delete_canned(uow, row_id)
