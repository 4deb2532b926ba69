"""打印: each site's letterhead on printouts — the heading line, a logo, the signature block's labels
(``app.reports.letterhead``). Edits of several sites are kept until OK, checked together, and saved in
the background; they sync, so a login that is not a supervisor's reads them only."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _
from app.reports import letterhead as letterheads
from app.reports.letterhead import LetterheadSettings
from app.services import reference
from ui.changes import OpChanges
from ui.operations import OpContext
from ui.widgets.field_errors import error_label, show_field_error, stacked
from ui.widgets.forms import add_row

LOGO_PREVIEW_HEIGHT = 48


class PrintingPage(QWidget):
    def __init__(self, mw: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self.setObjectName("PrintingPage")
        self._edited: dict[str, LetterheadSettings] = {}
        self._site_names: dict[str, str] = {}
        self._shown_site = ""

        self.site_combo = QComboBox(self)
        self.site_combo.setObjectName("letterheadSite")
        self.text_edit = QLineEdit(self)
        self.text_edit.setObjectName("letterheadText")
        self.text_edit.setMaxLength(letterheads.MAX_TEXT + 20)  # room to be told, not cut silently
        self.text_error = error_label(self)
        self.signatures_edit = QLineEdit(self)
        self.signatures_edit.setObjectName("signatureLabels")
        self.signatures_edit.setPlaceholderText(_("Each document's own, e.g. 经办人、审核人、日期"))
        self.signatures_error = error_label(self)
        self.logo_label = QLabel(self)
        self.logo_label.setObjectName("logoPreview")
        self.logo_label.setMinimumHeight(LOGO_PREVIEW_HEIGHT)
        self.logo_error = error_label(self)
        self.logo_button = QPushButton(_("Choose a picture…"), self)
        self.logo_button.clicked.connect(self.choose_logo)
        self.remove_logo_button = QPushButton(_("Remove"), self)
        self.remove_logo_button.clicked.connect(self.remove_logo)
        logo_row = QHBoxLayout()
        logo_row.addWidget(self.logo_label, 1)
        logo_row.addWidget(self.logo_button)
        logo_row.addWidget(self.remove_logo_button)
        logo_box = QVBoxLayout()
        logo_box.addLayout(logo_row)
        logo_box.addWidget(self.logo_error)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, self, _("&Site:"), self.site_combo)
        add_row(form, self, _("&Letterhead:"), self.text_edit, stacked(self.text_edit, self.text_error))
        add_row(form, self, _("Lo&go:"), self.logo_button, logo_box)
        add_row(
            form,
            self,
            _("Si&gnature lines:"),
            self.signatures_edit,
            stacked(self.signatures_edit, self.signatures_error),
        )
        note = QLabel(
            _(
                "The letterhead heads every page of the site's printouts; the signature lines end the "
                "call record sheet, the ticket sheet, the ledger and the reports. Separate them with 、 "
                "or commas. Every desktop sharing the server prints the same."
            ),
            self,
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        self.role_note = QLabel(letterheads.not_a_supervisor_message(), self)
        self.role_note.setObjectName("roleNote")
        self.role_note.setWordWrap(True)
        self.role_note.setStyleSheet("QLabel { color: #b35c00; }")
        self.role_note.hide()
        self._may_change = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.role_note)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addStretch(1)
        self.site_combo.currentIndexChanged.connect(self._site_picked)
        self.load()

    # --- the options-page contract ---------------------------------------------------------------------

    def load(self) -> None:
        with self.mw.ctx.db.session() as session:
            self._site_names = {site.id: site.name for site in reference.list_sites(session)}
            self._may_change = letterheads.may_change(session)
        self.role_note.setVisible(not self._may_change)
        for widget in (self.text_edit, self.signatures_edit, self.logo_button):
            widget.setEnabled(self._may_change)
        self._edited.clear()
        self._shown_site = ""
        self.site_combo.blockSignals(True)
        self.site_combo.clear()
        for site_id, name in self._site_names.items():
            self.site_combo.addItem(name, site_id)
        self.site_combo.setCurrentIndex(max(self.site_combo.findData(self.mw.site_id), 0))
        self.site_combo.blockSignals(False)
        self._site_picked()

    def check(self) -> bool:
        self._keep_shown()
        for site_id, value in self._edited.items():
            problems = letterheads.check_settings(value)
            if problems:
                if site_id != self._shown_site:
                    self.site_combo.setCurrentIndex(self.site_combo.findData(site_id))
                show_field_error(self.text_edit, self.text_error, problems.get("text", ""))
                show_field_error(self.signatures_edit, self.signatures_error, problems.get("signatures", ""))
                show_field_error(self.logo_button, self.logo_error, problems.get("logo", ""))
                return False
        return True

    def save(self) -> None:
        """The dialog's OK: write the sites whose letterhead changed, in the background."""
        self._keep_shown()
        ctx = self.mw.ctx
        changed = {
            site_id: value
            for site_id, value in self._edited.items()
            if value != letterheads.load_settings(ctx, site_id)
        }
        if not changed or not self._may_change:
            return

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                for site_id, value in changed.items():
                    letterheads.save_settings(uow, site_id, value)
                uow.commit()

        self.mw.op(work).changes(OpChanges(settings=True)).run()  # errors: a message on the window

    # --- editing -------------------------------------------------------------------------------------

    def _current(self) -> LetterheadSettings:
        return self._edited.get(self._shown_site) or letterheads.load_settings(self.mw.ctx, self._shown_site)

    def _keep_shown(self) -> None:
        if not self._shown_site:
            return
        self._edited[self._shown_site] = replace(
            self._current(),
            text=self.text_edit.text().strip(),
            signatures=letterheads.split_signatures(self.signatures_edit.text()),
        )

    def _site_picked(self, _index: int = 0) -> None:
        self._keep_shown()
        self._shown_site = str(self.site_combo.currentData() or "")
        value = self._current()
        site_name = self._site_names.get(self._shown_site, "")
        self.text_edit.setPlaceholderText(letterheads.default_text(site_name))
        self.text_edit.setText(value.text)
        self.signatures_edit.setText("、".join(value.signatures))
        for field, label in (
            (self.text_edit, self.text_error),
            (self.signatures_edit, self.signatures_error),
            (self.logo_button, self.logo_error),
        ):
            show_field_error(field, label, "")
        self._show_logo(value.logo)

    def _show_logo(self, data: bytes | None) -> None:
        self.remove_logo_button.setEnabled(data is not None and self._may_change)
        pixmap = QPixmap()
        if data is not None and pixmap.loadFromData(data):
            self.logo_label.setPixmap(
                pixmap.scaledToHeight(LOGO_PREVIEW_HEIGHT, Qt.TransformationMode.SmoothTransformation)
            )
        else:
            self.logo_label.setText(_("No logo") if data is None else _("(cannot be shown)"))

    def choose_logo(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, _("Choose the logo"), str(Path.home()), _("Pictures (*.png *.jpg *.jpeg)")
        )
        if not path:
            return
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            show_field_error(
                self.logo_button,
                self.logo_error,
                _("The picture could not be read: {error}").format(error=exc.strerror or exc),
            )
            return
        self.set_logo(data)

    def set_logo(self, data: bytes) -> None:
        problem = letterheads.check_logo(data)
        show_field_error(self.logo_button, self.logo_error, problem)
        if problem:
            return
        self._keep_shown()
        self._edited[self._shown_site] = replace(self._current(), logo=data)
        self._show_logo(data)

    def remove_logo(self) -> None:
        self._keep_shown()
        self._edited[self._shown_site] = replace(self._current(), logo=None)
        self._show_logo(None)
