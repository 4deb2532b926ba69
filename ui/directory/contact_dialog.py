"""Creating or editing a contact (联系人): name, title, unit, notes and several phone numbers.

Used by the new-call form ("add to directory", prefilled with what was typed) and by the directory
page. The unit is picked from the directory or typed: a new name creates the unit in the same save.
After ``Accepted``, ``contact_id`` and ``org_id`` hold what was saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from app import phone_places
from app.errors import UserFacingError, ValidationError
from app.i18n import N_, _
from app.phone import parse_phone
from app.services import directory
from app.storage.models import Contact, OrgKind, Site
from ui import dialogs
from ui.changes import OpChanges
from ui.operations import OpContext, show_error
from ui.widgets.field_errors import error_label, show_field_error
from ui.widgets.phone_edit import style_hint

PHONE_LABELS = (N_("Office"), N_("Mobile"), N_("Fax"), N_("Home"), N_("Other"))
NUMBER_COLUMN, LABEL_COLUMN, HINT_COLUMN = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _SaveRequest:
    contact: directory.ContactInput
    contact_id: str | None
    org_id: str | None  # an existing unit picked from the list
    new_unit_name: str  # a typed unit name (found by name or created)
    site_id: str
    area_code: str


def _save_contact(uow: Any, request: _SaveRequest) -> tuple[str, str | None]:
    """The background part: resolve or create the unit, then save the contact."""
    org_id = request.org_id
    if org_id is None and request.new_unit_name:
        found = directory.find_organisation_by_name(uow.session, request.new_unit_name)
        if found is not None:
            org_id = found.id
        else:
            try:
                org = directory.save_organisation(
                    uow,
                    directory.OrganisationInput(
                        name=request.new_unit_name, kind=OrgKind.OTHER.value, site_id=request.site_id or None
                    ),
                )
            except ValidationError as exc:
                raise ValidationError({"org": "; ".join(exc.fields.values())}) from exc
            org_id = org.id
    request.contact.org_id = org_id
    contact = directory.save_contact(uow, request.contact, request.contact_id, area_code=request.area_code)
    return contact.id, contact.org_id


class ContactDialog(QDialog):
    def __init__(
        self,
        mw: Any,
        contact_id: str | None = None,
        prefill_phone: str = "",
        prefill_name: str = "",
        prefill_unit: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent if parent is not None else mw)
        self.mw = mw
        self.contact_id = contact_id
        phone_places.preload_in_background()  # the numbers' hints name their places
        self.org_id: str | None = None
        self._closed = False
        self._saving = False
        self._site_id = str(mw.site_id or "")
        self.setObjectName("ContactDialog")
        self.setWindowTitle(_("Edit contact") if contact_id else _("New contact"))
        self.setMinimumWidth(640)

        with mw.ctx.db.session() as session:
            site = session.get(Site, self._site_id) if self._site_id else None
            self._area_code = site.area_code if site is not None and site.area_code else "0519"
            orgs = [(o.id, o.name) for o in directory.search_organisations(session)]

        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("contactName")
        self.name_edit.setMaxLength(100)
        self.name_error = error_label(self)
        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("contactTitle")
        self.title_edit.setMaxLength(100)
        self.title_edit.setPlaceholderText(_("e.g. accountant, IT administrator"))
        self.title_error = error_label(self)
        self.unit_combo = QComboBox(self)
        self.unit_combo.setObjectName("contactUnit")
        self.unit_combo.setEditable(True)
        self.unit_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        unit_line = QLineEdit(self.unit_combo)
        unit_line.setPlaceholderText(_("Pick a unit or type a new one"))
        unit_line.setMaxLength(200)
        self.unit_combo.setLineEdit(unit_line)
        for org_id, name in orgs:
            self.unit_combo.addItem(name, org_id)
        completer = QCompleter(self.unit_combo.model(), self.unit_combo)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.unit_combo.setCompleter(completer)
        self.unit_combo.setCurrentIndex(-1)
        self.unit_error = error_label(self)
        self.notes_edit = QPlainTextEdit(self)
        self.notes_edit.setObjectName("contactNotes")
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.setFixedHeight(70)

        self.phones = QTableWidget(0, 3, self)
        self.phones.setObjectName("contactPhones")
        self.phones.setHorizontalHeaderLabels([_("Number"), _("Label"), _("Recognised as")])
        self.phones.verticalHeader().hide()
        self.phones.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.phones.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.phones.horizontalHeader()
        header.setSectionResizeMode(NUMBER_COLUMN, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(LABEL_COLUMN, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(HINT_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.phones.setColumnWidth(NUMBER_COLUMN, 160)
        self.phones.setColumnWidth(LABEL_COLUMN, 100)
        self.phones.setMinimumHeight(140)
        self.add_phone_button = QPushButton(_("&Add number"), self)
        self.add_phone_button.setAutoDefault(False)
        self.add_phone_button.clicked.connect(lambda: self.add_phone_row(focus=True))
        self.remove_phone_button = QPushButton(_("&Remove number"), self)
        self.remove_phone_button.setAutoDefault(False)
        self.remove_phone_button.clicked.connect(self.remove_current_phone)
        phone_buttons = QHBoxLayout()
        phone_buttons.addWidget(self.add_phone_button)
        phone_buttons.addWidget(self.remove_phone_button)
        phone_buttons.addStretch(1)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._add_row(form, _("Contact &name:") + " *", self.name_edit, self.name_error)
        self._add_row(form, _("&Title:"), self.title_edit, self.title_error)
        self._add_row(form, _("&Unit:"), self.unit_combo, self.unit_error)
        self._add_row(form, _("N&otes:"), self.notes_edit, None)
        phones_label = QLabel(_("&Phone numbers:"), self)
        phones_label.setBuddy(self.phones)
        phone_box = QVBoxLayout()
        phone_box.addWidget(self.phones)
        phone_box.addLayout(phone_buttons)
        form.addRow(phones_label, phone_box)

        self.general_error = error_label(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(_("Save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.general_error)
        layout.addWidget(self.buttons)

        self.name_edit.textChanged.connect(lambda: show_field_error(self.name_edit, self.name_error, ""))
        self.unit_combo.editTextChanged.connect(
            lambda: show_field_error(self.unit_combo, self.unit_error, "")
        )
        if contact_id is not None:
            self._load(contact_id)
        else:
            self.name_edit.setText(prefill_name)
            self.unit_combo.setEditText(prefill_unit)
            self.add_phone_row(prefill_phone)
        if self.phones.rowCount() == 0:
            self.add_phone_row()
        self.name_edit.setFocus()

    def _add_row(self, form: QFormLayout, text: str, field: QWidget, error: QLabel | None) -> None:
        label = QLabel(text, self)
        label.setBuddy(field)
        if error is None:
            form.addRow(label, field)
            return
        box = QVBoxLayout()
        box.setSpacing(2)
        box.addWidget(field)
        box.addWidget(error)
        form.addRow(label, box)

    def _load(self, contact_id: str) -> None:
        with self.mw.ctx.db.session() as session:
            summary = directory.get_contact(session, contact_id)
            row = session.get(Contact, contact_id)
            notes = row.notes if row is not None else ""
            phones = [(p.raw, p.label) for p in directory.contact_phones(session, contact_id)]
        if summary is None or row is None or row.deleted:
            self.general_error.setText(_("This contact no longer exists."))
            self.general_error.show()
            self.save_button.setEnabled(False)
            return
        self.org_id = summary.org_id
        self.name_edit.setText(summary.name)
        self.title_edit.setText(summary.title)
        self.notes_edit.setPlainText(notes)
        if summary.org_id:
            index = self.unit_combo.findData(summary.org_id)
            if index < 0:
                self.unit_combo.addItem(summary.org_name, summary.org_id)
                index = self.unit_combo.count() - 1
            self.unit_combo.setCurrentIndex(index)
        for raw, label in phones:
            self.add_phone_row(raw, label)

    # --- phone rows ---------------------------------------------------------------------------------

    def add_phone_row(self, number: str = "", label: str | None = None, focus: bool = False) -> int:
        """Add a row; without a ``label`` one is suggested from the number (and follows it until changed)."""
        row = self.phones.rowCount()
        self.phones.insertRow(row)
        edit = QLineEdit(self.phones)
        edit.setMaxLength(64)
        edit.setFrame(False)
        label_combo = QComboBox(self.phones)
        label_combo.setEditable(True)
        label_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        label_line = QLineEdit(label_combo)
        label_line.setMaxLength(40)
        label_combo.setLineEdit(label_line)
        for text in PHONE_LABELS:
            label_combo.addItem(_(text))
        suggested = self._default_label(number) if label is None else ""
        label_combo.setEditText(suggested if label is None else label)
        label_combo.setProperty("autoLabel", suggested)
        hint = QLabel(self.phones)
        hint.setContentsMargins(4, 0, 4, 0)
        self.phones.setCellWidget(row, NUMBER_COLUMN, edit)
        self.phones.setCellWidget(row, LABEL_COLUMN, label_combo)
        self.phones.setCellWidget(row, HINT_COLUMN, hint)
        edit.setText(number)
        self._describe(hint, number)
        edit.textChanged.connect(lambda text, h=hint, c=label_combo: self._number_edited(text, h, c))
        if focus:
            self.phones.setCurrentCell(row, NUMBER_COLUMN)
            edit.setFocus()
        return row

    def _describe(self, hint: QLabel, text: str) -> None:
        style_hint(hint, parse_phone(text, self._area_code))
        hint.setToolTip(hint.text())

    def _number_edited(self, text: str, hint: QLabel, label_combo: QComboBox) -> None:
        self._describe(hint, text)
        # Suggest a label until the user chooses one: a mobile is 手机, any other number 办公室.
        if label_combo.currentText() in ("", label_combo.property("autoLabel")):
            label = self._default_label(text)
            label_combo.setEditText(label)
            label_combo.setProperty("autoLabel", label)

    def _default_label(self, number: str) -> str:
        kind = parse_phone(number, self._area_code).kind
        if kind in ("empty", "invalid"):
            return ""
        return _("Mobile") if kind == "mobile" else _("Office")

    def remove_current_phone(self) -> None:
        row = self.phones.currentRow()
        if row < 0:
            focused = self.focusWidget()
            for candidate in range(self.phones.rowCount()):
                if focused in (self.phone_edit(candidate), self.phones.cellWidget(candidate, LABEL_COLUMN)):
                    row = candidate
        if row < 0:
            row = self.phones.rowCount() - 1
        if row >= 0:
            self.phones.removeRow(row)
        if self.phones.rowCount() == 0:
            self.add_phone_row()

    def phone_edit(self, row: int) -> QLineEdit:
        widget = self.phones.cellWidget(row, NUMBER_COLUMN)
        assert isinstance(widget, QLineEdit)
        return widget

    def phone_hint(self, row: int) -> QLabel:
        widget = self.phones.cellWidget(row, HINT_COLUMN)
        assert isinstance(widget, QLabel)
        return widget

    def phone_entries(self) -> list[directory.PhoneEntry]:
        entries = []
        for row in range(self.phones.rowCount()):
            raw = self.phone_edit(row).text().strip()
            combo = self.phones.cellWidget(row, LABEL_COLUMN)
            label = combo.currentText().strip() if isinstance(combo, QComboBox) else ""
            if raw:
                entries.append(directory.PhoneEntry(raw, label))
        return entries

    # --- saving -------------------------------------------------------------------------------------

    def _unit_choice(self) -> tuple[str | None, str]:
        """(id of a picked existing unit, or None; the typed name when it is not one of the list)."""
        text = " ".join(self.unit_combo.currentText().split())
        if not text:
            return None, ""
        index = self.unit_combo.currentIndex()
        if index >= 0 and self.unit_combo.itemText(index) == text:
            return str(self.unit_combo.itemData(index)), ""
        index = self.unit_combo.findText(text, Qt.MatchFlag.MatchExactly)
        if index >= 0:
            return str(self.unit_combo.itemData(index)), ""
        return None, text

    def save(self) -> None:
        if self._saving or not self.save_button.isEnabled():
            return
        self.general_error.hide()
        if not self.name_edit.text().strip():
            show_field_error(self.name_edit, self.name_error, _("Please enter the contact's name."))
            self.name_edit.setFocus()
            return
        org_id, new_unit = self._unit_choice()
        request = _SaveRequest(
            contact=directory.ContactInput(
                name=self.name_edit.text(),
                title=self.title_edit.text(),
                notes=self.notes_edit.toPlainText().strip(),
                phones=self.phone_entries(),
            ),
            contact_id=self.contact_id,
            org_id=org_id,
            new_unit_name=new_unit,
            site_id=self._site_id,
            area_code=self._area_code,
        )

        def work(_ctx: OpContext) -> tuple[str, str | None]:
            with self.mw.ctx.uow() as uow:
                return _save_contact(uow, request)

        self._saving = True
        self.buttons.setEnabled(False)
        self.mw.op(work).success(self._saved).failure(self._failed).changes(OpChanges(directory=True)).run()

    def _saved(self, result: tuple[str, str | None]) -> None:
        self._saving = False
        if self._closed:
            return
        self.buttons.setEnabled(True)
        self.contact_id, self.org_id = result
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._saving = False
        if self._closed:
            return
        self.buttons.setEnabled(True)
        if isinstance(error, ValidationError):
            self._show_validation(error.fields)
        elif isinstance(error, UserFacingError):
            dialogs.warn(self, error.message)
        else:
            show_error(self, error)

    def _show_validation(self, fields: dict[str, str]) -> None:
        targets = {
            "name": (self.name_edit, self.name_error),
            "title": (self.title_edit, self.title_error),
            "org": (self.unit_combo, self.unit_error),
        }
        first: QWidget | None = None
        other = []
        for key, message in fields.items():
            if key in targets:
                field, label = targets[key]
                show_field_error(field, label, message)
                first = first or field
            else:
                other.append(message)
        if other:
            self.general_error.setText("\n".join(other))
            self.general_error.show()
        if first is not None:
            first.setFocus()

    def reject(self) -> None:
        if not self._saving:  # the save under way decides how the dialog closes
            super().reject()

    def done(self, result: int) -> None:
        self._closed = True
        super().done(result)
