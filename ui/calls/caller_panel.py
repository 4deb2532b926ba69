"""The side panel of the new-call form: who is calling and what they called about before.

It only shows what the form hands it (a ``CallerLookup``) and reports what the engineer does with it:
picking one of several contacts, asking to add an unknown number to the directory, or opening an
earlier call.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _
from app.phone import parse_phone
from app.services.calls import CallerLookup, CallRow
from app.services.directory import ContactSummary
from app.storage.models import OUTCOME_LABELS, Outcome

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUESTION_CHARS = 80


def outcome_text(row: CallRow) -> str:
    try:
        label = _(OUTCOME_LABELS[Outcome(row.outcome)])
    except ValueError:
        label = row.outcome
    if row.outcome == Outcome.TRANSFERRED.value and row.transferred_to:
        return f"{label} → {row.transferred_to}"
    return label


def one_line(text: str, limit: int = QUESTION_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class CallerPanel(QWidget):
    contact_picked = Signal(object)  # ContactSummary
    add_contact_requested = Signal()
    call_activated = Signal(str)  # call id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callerPanel")
        self._contacts: list[ContactSummary] = []
        self._linked_id: str | None = None
        self._phone_key = ""
        self._area_code = ""

        self.heading = QLabel(_("Caller"), self)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.heading.setFont(font)

        self.status_label = QLabel(self)
        self.status_label.setObjectName("callerStatus")
        self.status_label.setWordWrap(True)

        self.contact_label = QLabel(self)
        self.contact_label.setObjectName("contactCard")
        self.contact_label.setWordWrap(True)
        self.contact_label.setTextFormat(Qt.TextFormat.RichText)
        self.contact_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.choices = QListWidget(self)
        self.choices.setObjectName("contactChoices")
        self.choices.setMaximumHeight(110)
        self.choices.itemActivated.connect(self._choice_activated)
        self.choices.itemClicked.connect(self._choice_activated)

        self.add_button = QPushButton(_("Add to directory"), self)
        self.add_button.setObjectName("addToDirectory")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self.add_contact_requested)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_button)
        add_row.addStretch(1)

        self.history_label = QLabel(self)
        self.history_label.setObjectName("historyHeading")
        hfont = self.history_label.font()
        hfont.setBold(True)
        self.history_label.setFont(hfont)

        self.history = QTreeWidget(self)
        self.history.setObjectName("callerHistory")
        self.history.setRootIsDecorated(False)
        self.history.setUniformRowHeights(True)
        self.history.setAlternatingRowColors(True)
        self.history.setHeaderLabels([_("Date"), _("System / module"), _("Question"), _("Outcome")])
        header = self.history.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        # The question is what the engineer scans for; the other columns get just enough room.
        self.history.setColumnWidth(1, 120)
        self.history.setColumnWidth(3, 90)
        self.history.itemActivated.connect(self._history_activated)  # double-click or Enter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.status_label)
        layout.addWidget(self.contact_label)
        layout.addWidget(self.choices)
        layout.addLayout(add_row)
        layout.addSpacing(6)
        layout.addWidget(self.history_label)
        layout.addWidget(self.history, 100)
        layout.addStretch(1)  # keeps the rows above at the top while the history is hidden
        self.show_idle()

    # --- states -----------------------------------------------------------------------------------

    def _reset(self) -> None:
        self._contacts = []
        self._linked_id = None
        self.contact_label.clear()
        self.contact_label.hide()
        self.choices.clear()
        self.choices.hide()
        self.add_button.hide()
        self.history.clear()
        self.history_label.hide()
        self.history.hide()

    def show_idle(self) -> None:
        self._reset()
        self.status_label.setText(_("Type the caller's number to see who it is and their earlier calls."))
        self.status_label.show()

    def show_loading(self) -> None:
        self._reset()
        self.status_label.setText(_("Looking up the number…"))
        self.status_label.show()

    def show_lookup(self, lookup: CallerLookup, area_code: str, linked_id: str | None = None) -> None:
        """Show who owns the number and their calls; ``linked_id`` is the contact the call is linked to."""
        self._reset()
        self._contacts = list(lookup.contacts)
        self._area_code, self._phone_key = area_code, lookup.phone_key
        if not self._contacts:
            self.status_label.setText(_("This number is not in the directory."))
            self.status_label.show()
            self.add_button.show()
        elif len(self._contacts) == 1:
            self.status_label.hide()
            self._show_card(self._contacts[0], lookup.phone_key, area_code)
        else:
            self.status_label.setText(
                _("{count} contacts have this number. Pick the caller:").format(count=len(self._contacts))
            )
            self.status_label.show()
            for contact in self._contacts:
                parts = [contact.name, contact.org_name, contact.title]
                item = QListWidgetItem(" · ".join(p for p in parts if p))
                item.setData(Qt.ItemDataRole.UserRole, contact.id)
                self.choices.addItem(item)
            self.choices.show()
        self.set_linked(linked_id)
        self._show_history(lookup.history)

    def set_linked(self, contact_id: str | None) -> None:
        """Mark which of several contacts the call is linked to (and show that contact's card)."""
        self._linked_id = contact_id
        if len(self._contacts) < 2:
            return
        for row in range(self.choices.count()):
            item = self.choices.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == contact_id:
                self.choices.setCurrentItem(item)
                contact = next(c for c in self._contacts if c.id == contact_id)
                self._show_card(contact, self._phone_key, self._area_code)

    # --- pieces -----------------------------------------------------------------------------------

    def _show_card(self, contact: ContactSummary, phone_key: str, area_code: str) -> None:
        lines = [f"<span style='font-size:large; font-weight:600'>{html.escape(contact.name)}</span>"]
        if contact.title:
            lines[0] += f" &nbsp;<span style='color:#5f6368'>{html.escape(contact.title)}</span>"
        if contact.org_name:
            lines.append(html.escape(contact.org_name))
        others = [raw for raw in contact.phones if parse_phone(raw, area_code).key != phone_key]
        if others:
            lines.append(html.escape(_("Other numbers: {numbers}").format(numbers="、".join(others))))
        self.contact_label.setText("<br>".join(lines))
        self.contact_label.show()

    def _show_history(self, rows: list[CallRow]) -> None:
        self.history_label.show()
        if not rows:
            self.history_label.setText(_("No earlier calls from this caller."))
            return
        self.history_label.setText(_("Earlier calls ({count})").format(count=len(rows)))
        items = []
        for row in rows:
            when = row.started_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            where = " / ".join(p for p in (row.system_name, row.module_name) if p)
            # the module says most in a narrow column; the tooltip has system / module
            item = QTreeWidgetItem(
                [when, row.module_name or row.system_name, one_line(row.question), outcome_text(row)]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, row.id)
            item.setToolTip(2, row.question)
            item.setToolTip(1, where)
            item.setToolTip(3, outcome_text(row))
            items.append(item)
        self.history.addTopLevelItems(items)
        self.history.show()

    # --- what the engineer does -------------------------------------------------------------------

    def contacts(self) -> list[ContactSummary]:
        return list(self._contacts)

    def history_rows(self) -> int:
        return self.history.topLevelItemCount()

    def _choice_activated(self, item: QListWidgetItem) -> None:
        contact_id = item.data(Qt.ItemDataRole.UserRole)
        contact = next((c for c in self._contacts if c.id == contact_id), None)
        if contact is not None:
            self.set_linked(contact.id)
            self.contact_picked.emit(contact)

    def _history_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        call_id = item.data(0, Qt.ItemDataRole.UserRole)
        if call_id:
            self.call_activated.emit(str(call_id))
