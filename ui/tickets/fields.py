"""The fields of a ticket as people type them: subject, unit, caller, system and module, category,
description, notes, the assignee — and, for a new ticket, severity, handling and the report time.

``TicketFields`` is shared by the new-ticket form and the details tab of an open ticket. What the combos
offer (``Choices``) is read in the background by ``load_choices`` and handed over, so filling and
reading the form never touches the database. Times are Asia/Shanghai wall time whatever the desktop's
zone: the date-time editor holds them as zone-less wall values (see ``wall_editor``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QDate, QDateTime, QStringListModel, Qt, QTime, QTimeZone
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.i18n import N_, _
from app.services import directory, reference, sla_config
from app.services.tickets import TicketInput
from app.sla.events import Handling
from app.sla.wall_time import SHANGHAI
from app.storage.models import Category, Module, Site, System
from ui.widgets.field_errors import ERROR_STYLE, error_label

# Where each validation message of the service is shown (its key → the field's key here).
ERROR_FIELDS = {"org": "unit_name", "contact": "caller_name"}
# The order focus looks for the first field with a message.
FIELD_ORDER = (
    "title",
    "unit_name",
    "caller_name",
    "caller_phone",
    "system",
    "module",
    "category",
    "assignee",
    "severity",
    "handling",
    "reported_at",
    "description",
    "notes",
)

HANDLING_LABELS: dict[str, str] = {
    Handling.REMOTE.value: N_("Remote"),
    Handling.ON_SITE.value: N_("On-site visit"),
}

Items = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Choices:
    """What the combos of one site offer (retired entries a ticket still names included)."""

    site_id: str
    site_name: str
    systems: Items
    modules: dict[str, Items]  # by system id
    categories: Items
    severities: Items  # (key, name) of the site's policy
    units: Items  # (organisation id, name)
    has_policy: bool


def load_choices(session: Session, site_id: str, keep: TicketInput | None = None) -> Choices:
    """The site's systems (with their modules), categories, units and policy severities."""
    site = session.get(Site, site_id)
    systems = list(reference.list_systems(session, site_id))
    categories = list(reference.list_categories(session))
    if keep is not None and keep.system_id and all(s.id != keep.system_id for s in systems):
        kept = session.get(System, keep.system_id)  # retired since: still shown for this ticket
        if kept is not None:
            systems.append(kept)
    if keep is not None and keep.category_id and all(c.id != keep.category_id for c in categories):
        kept_category = session.get(Category, keep.category_id)
        if kept_category is not None:
            categories.append(kept_category)
    modules: dict[str, Items] = {}
    for system in systems:
        found = list(reference.list_modules(session, system.id))
        kept_id = keep.module_id if keep is not None and keep.system_id == system.id else None
        if kept_id and all(m.id != kept_id for m in found):
            kept_module = session.get(Module, kept_id)
            if kept_module is not None and kept_module.system_id == system.id:
                found.append(kept_module)
        modules[system.id] = tuple((m.id, m.name) for m in found)
    policy_id = sla_config.site_policy_id(session, site_id)
    policy = sla_config.load_policies(session).get(policy_id) if policy_id else None
    severities = tuple((s.key, s.name) for s in policy.severities) if policy is not None else ()
    units = tuple((o.id, o.name) for o in directory.search_organisations(session, site_id=site_id))
    return Choices(
        site_id=site_id,
        site_name=site.name if site is not None else "",
        systems=tuple((s.id, s.name) for s in systems),
        modules=modules,
        categories=tuple((c.id, c.name) for c in categories),
        severities=severities,
        units=units,
        has_policy=policy is not None,
    )


# --- Shanghai wall time in a date-time editor -----------------------------------------------------


def wall_editor(parent: QWidget) -> QDateTimeEdit:
    """A date-time editor for Asia/Shanghai wall time. It works in UTC as a zone-less clock, so the
    desktop's own zone (and its daylight saving gaps) never shifts what was typed."""
    editor = QDateTimeEdit(parent)
    editor.setTimeZone(QTimeZone.utc())
    editor.setDisplayFormat("yyyy-MM-dd HH:mm")
    editor.setCalendarPopup(True)
    return editor


def set_wall_time(editor: QDateTimeEdit, moment: dt.datetime) -> None:
    local = moment.astimezone(SHANGHAI)
    editor.setDateTime(
        QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute), QTimeZone.utc())
    )


def wall_time(editor: QDateTimeEdit) -> dt.datetime:
    value = editor.dateTime()
    day, clock = value.date(), value.time()
    return dt.datetime(day.year(), day.month(), day.day(), clock.hour(), clock.minute(), tzinfo=SHANGHAI)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _select(combo: QComboBox, data: Any) -> None:
    combo.setCurrentIndex(max(combo.findData(data), 0))


# --- the form -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    label: QLabel
    box: QWidget
    error: QLabel
    widgets: list[QWidget] = field(default_factory=list)


class TicketFields(QWidget):
    """The ticket's fields with their inline messages. ``new`` adds severity, handling and report time
    (which change through actions once the ticket exists)."""

    def __init__(self, new: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ticketFields")
        self.new = new
        self.choices: Choices | None = None
        self._original: TicketInput | None = None
        self._original_shown: TicketInput | None = None  # the form's value right after ``fill``
        self._org_ids: dict[str, str] = {}
        self.rows: dict[str, _Row] = {}

        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("ticketTitle")
        self.title_edit.setMaxLength(200)
        self.title_edit.setPlaceholderText(_("In a few words: what does not work?"))
        self.unit_edit = QLineEdit(self)
        self.unit_edit.setObjectName("ticketUnit")
        self.unit_edit.setMaxLength(200)
        self.unit_edit.setPlaceholderText(_("Pick a unit or type a new one"))
        self._unit_names = QStringListModel(self)
        completer = QCompleter(self._unit_names, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.unit_edit.setCompleter(completer)
        self.caller_name_edit = QLineEdit(self)
        self.caller_name_edit.setObjectName("ticketCallerName")
        self.caller_name_edit.setMaxLength(100)
        self.caller_phone_edit = QLineEdit(self)
        self.caller_phone_edit.setObjectName("ticketCallerPhone")
        self.caller_phone_edit.setMaxLength(64)
        self.system_combo = QComboBox(self)
        self.system_combo.setObjectName("ticketSystem")
        self.module_combo = QComboBox(self)
        self.module_combo.setObjectName("ticketModule")
        self.category_combo = QComboBox(self)
        self.category_combo.setObjectName("ticketCategory")
        for combo in (self.system_combo, self.module_combo, self.category_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        self.assignee_edit = QLineEdit(self)
        self.assignee_edit.setObjectName("ticketAssignee")
        self.assignee_edit.setMaxLength(100)
        self.assignee_edit.setPlaceholderText(_("Engineer who handles the ticket"))
        self.severity_combo = QComboBox(self)
        self.severity_combo.setObjectName("ticketSeverity")
        self.handling_group = QButtonGroup(self)
        self.handling_buttons: dict[str, QRadioButton] = {}
        handling_box = QWidget(self)
        handling_row = QHBoxLayout(handling_box)
        handling_row.setContentsMargins(0, 0, 0, 0)
        for value, label in HANDLING_LABELS.items():
            button = QRadioButton(_(label), handling_box)
            button.setObjectName(f"handling_{value}")
            self.handling_group.addButton(button)
            self.handling_buttons[value] = button
            handling_row.addWidget(button)
        handling_row.addStretch(1)
        self.handling_buttons[Handling.REMOTE.value].setChecked(True)
        self.reported_edit = wall_editor(self)
        self.reported_edit.setObjectName("ticketReportedAt")
        self.description_edit = QPlainTextEdit(self)
        self.description_edit.setObjectName("ticketDescription")
        self.description_edit.setTabChangesFocus(True)
        self.description_edit.setPlaceholderText(_("What the caller reports, error messages, what was tried"))
        self.notes_edit = QPlainTextEdit(self)
        self.notes_edit.setObjectName("ticketNotes")
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.setPlaceholderText(_("Internal notes (not part of the history)"))

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self._row(grid, 0, 0, _("&Subject"), "title", self.title_edit, span=3, required=True)
        self._row(grid, 1, 0, _("&Unit"), "unit_name", self.unit_edit, span=3)
        self._row(grid, 2, 0, _("Caller na&me"), "caller_name", self.caller_name_edit)
        self._row(grid, 2, 2, _("P&hone"), "caller_phone", self.caller_phone_edit)
        self._row(grid, 3, 0, _("S&ystem"), "system", self.system_combo)
        self._row(grid, 3, 2, _("Mo&dule"), "module", self.module_combo)
        self._row(grid, 4, 0, _("&Category"), "category", self.category_combo)
        self._row(grid, 4, 2, _("Ass&ignee"), "assignee", self.assignee_edit)
        self._row(grid, 5, 0, _("Se&verity"), "severity", self.severity_combo)
        self._row(grid, 5, 2, _("Handling"), "handling", handling_box, buddy=self.handling_buttons["remote"])
        self._row(grid, 6, 0, _("&Reported at"), "reported_at", self.reported_edit)
        self._row(grid, 7, 0, _("D&escription"), "description", self.description_edit, span=3)
        self._row(grid, 8, 0, _("&Notes"), "notes", self.notes_edit, span=3)
        grid.setRowStretch(7, 3)
        grid.setRowStretch(8, 1)
        self.set_new(new)

        chain: list[QWidget] = [
            self.title_edit,
            self.unit_edit,
            self.caller_name_edit,
            self.caller_phone_edit,
            self.system_combo,
            self.module_combo,
            self.category_combo,
            self.assignee_edit,
            self.severity_combo,
            *self.handling_buttons.values(),
            self.reported_edit,
            self.description_edit,
            self.notes_edit,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

        self.system_combo.currentIndexChanged.connect(self._system_picked)
        self.title_edit.textChanged.connect(lambda: self.clear_error("title"))
        self.unit_edit.textChanged.connect(lambda: self.clear_error("unit_name"))
        self.caller_name_edit.textChanged.connect(lambda: self.clear_error("caller_name"))
        self.module_combo.currentIndexChanged.connect(lambda: self.clear_error("module"))
        self.category_combo.currentIndexChanged.connect(lambda: self.clear_error("category"))
        self.severity_combo.currentIndexChanged.connect(lambda: self.clear_error("severity"))
        self.reported_edit.dateTimeChanged.connect(lambda: self.clear_error("reported_at"))

    def _row(
        self,
        grid: QGridLayout,
        row: int,
        column: int,
        text: str,
        key: str,
        widget: QWidget,
        span: int = 1,
        required: bool = False,
        buddy: QWidget | None = None,
    ) -> None:
        label = QLabel(text + (" *" if required else ""), self)
        label.setBuddy(buddy or widget)
        # level with the first line of the field, whatever grows beneath it (its message)
        line_height = self.title_edit.sizeHint().height()
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        label.setContentsMargins(0, max((line_height - label.sizeHint().height()) // 2, 0), 0, 0)
        box = QWidget(self)
        holder = QVBoxLayout(box)
        holder.setContentsMargins(0, 0, 0, 0)
        holder.setSpacing(2)
        holder.addWidget(widget)
        error = error_label(box)
        error.setObjectName(f"error_{key}")
        holder.addWidget(error)
        if not isinstance(widget, QPlainTextEdit):
            holder.addStretch(1)
        grid.addWidget(label, row, column)
        grid.addWidget(box, row, column + 1, 1, span)
        self.rows[key] = _Row(label, box, error, [buddy or widget])

    def set_new(self, new: bool) -> None:
        """Severity, handling and report time are typed for a new ticket only."""
        self.new = new
        for key in ("severity", "handling", "reported_at"):
            self._set_row_visible(key, new)

    @property
    def original(self) -> TicketInput | None:
        """The form's value right after the last ``fill``."""
        return self._original_shown

    def _set_row_visible(self, key: str, visible: bool) -> None:
        row = self.rows[key]
        row.label.setVisible(visible)
        row.box.setVisible(visible)

    # --- filling ------------------------------------------------------------------------------------

    def set_choices(self, choices: Choices) -> None:
        self.choices = choices
        self._org_ids = {_clean(name): org_id for org_id, name in choices.units}
        self._unit_names.setStringList([name for _id, name in choices.units])
        self.system_combo.clear()
        self.system_combo.addItem(_("(not specified)"), "")
        for system_id, name in choices.systems:
            self.system_combo.addItem(name, system_id)
        self.category_combo.clear()
        self.category_combo.addItem(_("(not specified)"), "")
        for category_id, name in choices.categories:
            self.category_combo.addItem(name, category_id)
        self.severity_combo.clear()
        for key, name in choices.severities:
            self.severity_combo.addItem(name, key)
        self._fill_modules(None)

    def fill(self, data: TicketInput) -> None:
        """Show ``data``; what is shown now counts as unchanged."""
        self.title_edit.setText(data.title)
        self.unit_edit.setText(data.unit_name)
        self.caller_name_edit.setText(data.caller_name)
        self.caller_phone_edit.setText(data.caller_phone)
        _select(self.system_combo, data.system_id or "")
        self._fill_modules(data.module_id)
        _select(self.category_combo, data.category_id or "")
        self.assignee_edit.setText(data.assignee)
        _select(self.severity_combo, data.severity)
        button = self.handling_buttons.get(data.handling) or self.handling_buttons["remote"]
        button.setChecked(True)
        if data.reported_at is not None:
            set_wall_time(self.reported_edit, data.reported_at)
        self.description_edit.setPlainText(data.description)
        self.notes_edit.setPlainText(data.notes)
        self._original = data
        self._original_shown = self.value()
        self.clear_errors()

    def _fill_modules(self, selected: str | None) -> None:
        system_id = str(self.system_combo.currentData() or "")
        modules = self.choices.modules.get(system_id, ()) if self.choices is not None else ()
        blocked = self.module_combo.blockSignals(True)
        self.module_combo.clear()
        self.module_combo.addItem(_("(not specified)"), "")
        for module_id, name in modules:
            self.module_combo.addItem(name, module_id)
        _select(self.module_combo, selected or "")
        self.module_combo.setEnabled(bool(modules))
        self.module_combo.blockSignals(blocked)

    def _system_picked(self, _index: int) -> None:
        self._fill_modules(None)
        self.clear_error("system")
        self.clear_error("module")

    # --- reading ------------------------------------------------------------------------------------

    def handling(self) -> str:
        return next(
            (value for value, button in self.handling_buttons.items() if button.isChecked()),
            Handling.REMOTE.value,
        )

    def value(self) -> TicketInput:
        """The form as a ``TicketInput``; the directory links stay while their text is unchanged."""
        base = self._original or TicketInput(site_id=self.choices.site_id if self.choices else "", title="")
        unit = _clean(self.unit_edit.text())
        org_id = base.org_id if unit == _clean(base.unit_name) else self._org_ids.get(unit)
        caller_name = _clean(self.caller_name_edit.text())
        caller_phone = self.caller_phone_edit.text().strip()
        same_caller = caller_name == _clean(base.caller_name) and caller_phone == base.caller_phone.strip()
        return replace(
            base,
            title=_clean(self.title_edit.text()),
            description=self.description_edit.toPlainText(),
            org_id=org_id,
            unit_name=unit,
            contact_id=base.contact_id if same_caller else None,
            caller_name=caller_name,
            caller_phone=caller_phone,
            system_id=str(self.system_combo.currentData() or "") or None,
            module_id=str(self.module_combo.currentData() or "") or None,
            category_id=str(self.category_combo.currentData() or "") or None,
            notes=self.notes_edit.toPlainText(),
            severity=str(self.severity_combo.currentData() or base.severity),
            handling=self.handling(),
            assignee=_clean(self.assignee_edit.text()),
            reported_at=wall_time(self.reported_edit) if self.new else base.reported_at,
        )

    def is_dirty(self) -> bool:
        """Whether something was typed since the last ``fill``."""
        return self._original_shown is not None and self.value() != self._original_shown

    # --- messages -----------------------------------------------------------------------------------

    def clear_error(self, key: str) -> None:
        row = self.rows.get(key)
        if row is None or row.error.isHidden():
            return
        row.error.hide()
        for widget in row.widgets:
            widget.setStyleSheet("")

    def clear_errors(self) -> None:
        for key in self.rows:
            self.clear_error(key)

    def show_errors(self, fields: dict[str, str]) -> dict[str, str]:
        """Show each message under its field and focus the first; returns the ones no field takes."""
        rest: dict[str, str] = {}
        shown: set[str] = set()
        for key, message in fields.items():
            name = ERROR_FIELDS.get(key, key)
            row = self.rows.get(name)
            if row is None or row.box.isHidden():
                rest[key] = message
                continue
            row.error.setText(message if name not in shown else row.error.text() + " " + message)
            row.error.show()
            shown.add(name)
            for widget in row.widgets:
                widget.setStyleSheet(f"{type(widget).__name__} {{ {ERROR_STYLE} }}")
        for name in FIELD_ORDER:
            if name in shown:
                self.rows[name].widgets[0].setFocus(Qt.FocusReason.OtherFocusReason)
                break
        return rest

    def error_text(self, key: str) -> str:
        row = self.rows[key]
        return "" if row.error.isHidden() else row.error.text()
