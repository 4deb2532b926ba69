"""Creating or editing a unit (单位): name, kind, the site it belongs to (or all sites), notes."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
)

from app.errors import UserFacingError, ValidationError
from app.i18n import _
from app.services import directory, reference
from app.storage.models import ORG_KIND_LABELS, Organisation, OrgKind
from ui import dialogs
from ui.changes import OpChanges
from ui.operations import OpContext, show_error
from ui.widgets.field_errors import error_label, show_field_error


class OrgDialog(QDialog):
    """Saves through ``mw.op``; after ``Accepted`` the unit's id is in ``org_id``."""

    def __init__(self, mw: Any, org_id: str | None = None, prefill_name: str = "") -> None:
        super().__init__(mw)
        self.mw = mw
        self.org_id = org_id
        self.setObjectName("OrgDialog")
        self.setWindowTitle(_("Edit unit") if org_id else _("New unit"))
        self.setMinimumWidth(460)

        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("orgName")
        self.name_edit.setMaxLength(200)
        self.name_edit.setPlaceholderText(_("Full name of the unit"))
        self.name_error = error_label(self)
        self.kind_combo = QComboBox(self)
        self.kind_combo.setObjectName("orgKind")
        for kind, label in ORG_KIND_LABELS.items():
            self.kind_combo.addItem(_(label), kind.value)
        self.site_combo = QComboBox(self)
        self.site_combo.setObjectName("orgSite")
        self.site_combo.addItem(_("All sites"), None)
        with mw.ctx.db.session() as session:
            for site in reference.list_sites(session):
                self.site_combo.addItem(site.name, site.id)
        self.notes_edit = QPlainTextEdit(self)
        self.notes_edit.setObjectName("orgNotes")
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.setFixedHeight(90)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        name_label = QLabel(_("&Name:"), self)
        name_label.setBuddy(self.name_edit)
        form.addRow(name_label, self.name_edit)
        form.addRow("", self.name_error)
        kind_label = QLabel(_("&Kind:"), self)
        kind_label.setBuddy(self.kind_combo)
        form.addRow(kind_label, self.kind_combo)
        site_label = QLabel(_("&Site:"), self)
        site_label.setBuddy(self.site_combo)
        form.addRow(site_label, self.site_combo)
        notes_label = QLabel(_("N&otes:"), self)
        notes_label.setBuddy(self.notes_edit)
        form.addRow(notes_label, self.notes_edit)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._load(prefill_name)

    def _load(self, prefill_name: str) -> None:
        if self.org_id is None:
            self.name_edit.setText(prefill_name)
            self.kind_combo.setCurrentIndex(max(self.kind_combo.findData(OrgKind.BUDGET_UNIT.value), 0))
            self.site_combo.setCurrentIndex(max(self.site_combo.findData(self.mw.site_id), 0))
            return
        with self.mw.ctx.db.session() as session:
            org = session.get(Organisation, self.org_id)
            if org is None:
                return
            name, kind, site_id, notes = org.name, org.kind, org.site_id, org.notes
        self.name_edit.setText(name)
        self.kind_combo.setCurrentIndex(max(self.kind_combo.findData(kind), 0))
        index = self.site_combo.findData(site_id) if site_id else 0
        self.site_combo.setCurrentIndex(max(index, 0))
        self.notes_edit.setPlainText(notes)

    def data(self) -> directory.OrganisationInput:
        return directory.OrganisationInput(
            name=self.name_edit.text(),
            kind=str(self.kind_combo.currentData()),
            site_id=self.site_combo.currentData(),
            notes=self.notes_edit.toPlainText().strip(),
        )

    def save(self) -> None:
        if not self.name_edit.text().strip():
            show_field_error(self.name_edit, self.name_error, _("Please enter the unit's name."))
            self.name_edit.setFocus()
            return
        show_field_error(self.name_edit, self.name_error, "")
        data, org_id = self.data(), self.org_id

        def work(_ctx: OpContext) -> str:
            with self.mw.ctx.uow() as uow:
                return directory.save_organisation(uow, data, org_id).id

        self.buttons.setEnabled(False)
        self.mw.op(work).success(self._saved).failure(self._failed).changes(OpChanges(directory=True)).run()

    def _saved(self, org_id: str) -> None:
        self.buttons.setEnabled(True)
        self.org_id = org_id
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(error, ValidationError) and "name" in error.fields:
            show_field_error(self.name_edit, self.name_error, error.fields["name"])
            self.name_edit.setFocus()
        elif isinstance(error, ValidationError):
            dialogs.warn(self, "\n".join(error.fields.values()))
        elif isinstance(error, UserFacingError):
            dialogs.warn(self, error.message)
        else:
            show_error(self, error)
