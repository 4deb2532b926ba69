"""The new-call form (来电登记): keyboard first, never loses what was typed.

Non-modal, so the engineer can keep browsing the list while on the phone. The call timer starts when
the form opens; the caller's number is parsed as it is typed and looked up in the background (who it
is, their earlier calls); every edit is written to the draft file shortly after, and the crash handler
writes it too. Saving runs in the background; a failure keeps the form open with everything typed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
import unicodedata
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QComboBox,
    QCompleter,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.drafts import Draft
from app.errors import UserFacingError, ValidationError
from app.i18n import _
from app.ids import uuid7
from app.phone import PhoneInfo
from app.services import calls, directory, reference
from app.services.calls import CallerLookup, CallInput
from app.services.directory import ContactSummary
from app.storage.models import OUTCOME_LABELS, Outcome, Site
from ui import dialogs
from ui.calls.caller_panel import CallerPanel
from ui.changes import OpChanges
from ui.crash import crash_handler
from ui.operations import OpContext, show_error
from ui.widgets.field_errors import ERROR_STYLE, error_label
from ui.widgets.phone_edit import PhoneField

if TYPE_CHECKING:
    from ui.directory.contact_dialog import ContactDialog
    from ui.main_window import MainWindow

log = logging.getLogger("hotline.ui.call_form")
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_DURATION_S = 24 * 3600

# Where each validation message is shown, in the order focus looks for the first bad field.
FIELD_ORDER = ("caller", "module", "category", "question", "answer", "transferred_to", "duration")

_MINUTES_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:分钟|分|min|m)?$", re.IGNORECASE)


def parse_duration(text: str) -> int | None:
    """Seconds from "mm:ss", "h:mm:ss" or minutes ("5", "2.5", "5分钟"); None when blank.

    Raises ``ValueError`` for anything else.
    """
    value = unicodedata.normalize("NFKC", text).strip()
    if not value:
        return None
    if ":" in value:
        parts = [p.strip() for p in value.split(":")]
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise ValueError(text)
        numbers = [int(p) for p in parts]
        if any(n >= 60 for n in numbers[1:]):
            raise ValueError(text)
        seconds = 0
        for n in numbers:
            seconds = seconds * 60 + n
        return seconds
    match = _MINUTES_RE.match(value)
    if match is None:
        raise ValueError(text)
    return round(float(match.group(1)) * 60)


def format_elapsed(seconds: int) -> str:
    seconds = max(seconds, 0)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _clean(text: str) -> str:
    return " ".join(text.split())


class CallForm(QDialog):
    def __init__(self, mw: MainWindow, draft: Draft | None = None) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setObjectName("CallForm")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        fields: dict[str, Any] = dict(draft.fields) if draft is not None else {}
        self.call_id: str = draft.call_id if draft is not None else uuid7()
        started = draft.started_at if draft is not None else dt.datetime.now(dt.UTC)
        self.started_at = started if started.tzinfo is not None else started.replace(tzinfo=dt.UTC)
        self.site_id = str(fields.get("site_id") or mw.site_id)
        self._timer_stopped_s: int | None = None
        self._contact_id: str | None = None
        self._phone_key = ""
        # unit name → organisation id, from the directory's units and the callers' units
        self._org_ids: dict[str, str] = {}
        self._autofilled: dict[str, str] = {"name": "", "unit": ""}
        self._restoring = False
        self._saving = False
        self._saved = False
        self._closed = False
        self.contact_dialog: ContactDialog | None = None
        self._focus_before_save: QWidget | None = None
        self.last_lookup: CallerLookup | None = None
        # knowledge-base articles whose answer was inserted: linked to the call when it is saved
        self.used_articles: list[str] = [str(a) for a in fields.get("articles") or []]

        with mw.ctx.db.session() as session:
            site = session.get(Site, self.site_id)
            self.site_name = site.name if site is not None else ""
            self.area_code = site.area_code if site is not None and site.area_code else "0519"
            systems = [(s.id, s.name) for s in reference.list_systems(session, self.site_id)]
            categories = [(c.id, c.name) for c in reference.list_categories(session)]
        self.setWindowTitle(_("New call — {site}").format(site=self.site_name))

        self._build(systems, categories)
        self._timers()
        self._connect_edits()
        if draft is not None:
            self._restore(fields)
        elif self.system_combo.count() == 2:  # a site with one system: that is the one they call about
            self.system_combo.setCurrentIndex(1)
        crash_handler.add_emergency_save(self.save_draft_now)
        self.mw.taskman.operation_did_execute.connect(self._on_changes)
        self._load_units()
        self._restore_geometry()
        self.phone.setFocus()

    # --- construction -------------------------------------------------------------------------------

    def _build(self, systems: list[tuple[str, str]], categories: list[tuple[str, str]]) -> None:
        self.errors: dict[str, QLabel] = {}

        # header: the call timer, big, and when the call started
        self.timer_label = QLabel(self)
        self.timer_label.setObjectName("callTimer")
        font = self.timer_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setBold(True)
        self.timer_label.setFont(font)
        self.stop_timer_button = QPushButton(_("Stop timer"), self)
        self.stop_timer_button.setObjectName("stopTimer")
        self.stop_timer_button.setAutoDefault(False)
        self.stop_timer_button.setToolTip(_("Stop the timer when the call has ended (Ctrl+T)"))
        self.stop_timer_button.clicked.connect(self.toggle_timer)
        when = self.started_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        self.started_label = QLabel(
            _("Started {time} · engineer {name}").format(time=when, name=self.mw.ctx.engineer or "—"), self
        )
        self.started_label.setStyleSheet("color: #5f6368;")
        header = QHBoxLayout()
        header.addWidget(self.timer_label)
        header.addSpacing(12)
        header.addWidget(self.stop_timer_button)
        header.addStretch(1)
        header.addWidget(self.started_label)

        self.general_error = self._error_label("general")

        # the fields
        self.phone = PhoneField(self.area_code, self)
        self.phone.setObjectName("callerPhone")
        self.phone.edit.setPlaceholderText(_("e.g. 2221234 or 139 1234 5678"))
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("callerName")
        self.name_edit.setMaxLength(100)
        self.unit_combo = QComboBox(self)
        self.unit_combo.setObjectName("callerUnit")
        self.unit_combo.setEditable(True)
        self.unit_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.unit_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.unit_combo.setMinimumContentsLength(16)
        unit_line = QLineEdit(self.unit_combo)
        self.unit_combo.setLineEdit(unit_line)
        self.unit_line = unit_line
        unit_line.setMaxLength(200)
        unit_line.setPlaceholderText(_("Pick a unit or type a new one"))
        completer = QCompleter(self.unit_combo.model(), self.unit_combo)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.unit_combo.setCompleter(completer)
        self.system_combo = QComboBox(self)
        self.system_combo.setObjectName("system")
        self.system_combo.addItem(_("(not specified)"), None)
        for system_id, name in systems:
            self.system_combo.addItem(name, system_id)
        self.module_combo = QComboBox(self)
        self.module_combo.setObjectName("module")
        for combo in (self.system_combo, self.module_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        self.category_combo = QComboBox(self)
        self.category_combo.setObjectName("category")
        self.category_combo.setPlaceholderText(_("Choose…"))
        for category_id, name in categories:
            self.category_combo.addItem(name, category_id)
        self.category_combo.setCurrentIndex(-1)
        self.question_edit = QPlainTextEdit(self)
        self.question_edit.setObjectName("question")
        self.question_edit.setTabChangesFocus(True)
        self.question_edit.setPlaceholderText(_("What the caller asks or reports"))
        self.answer_edit = QPlainTextEdit(self)
        self.answer_edit.setObjectName("answer")
        self.answer_edit.setTabChangesFocus(True)
        self.answer_edit.setPlaceholderText(_("What you told the caller or did"))
        self.outcome_group = QButtonGroup(self)
        self.outcome_buttons: dict[str, QRadioButton] = {}
        outcome_row = QHBoxLayout()
        outcome_row.setContentsMargins(0, 0, 0, 0)
        for number, (outcome, label) in enumerate(OUTCOME_LABELS.items(), start=1):
            button = QRadioButton(f"{_(label)} (&{number})", self)
            button.setObjectName(f"outcome_{outcome.value}")
            self.outcome_group.addButton(button)
            self.outcome_buttons[outcome.value] = button
            outcome_row.addWidget(button)
        outcome_row.addStretch(1)
        self.outcome_buttons[Outcome.ANSWERED.value].setChecked(True)
        self.transferred_edit = QLineEdit(self)
        self.transferred_edit.setObjectName("transferredTo")
        self.transferred_edit.setMaxLength(100)
        self.transferred_edit.setPlaceholderText(_("Person or department the call was transferred to"))
        self.transferred_edit.setEnabled(False)
        self.duration_edit = QLineEdit(self)
        self.duration_edit.setObjectName("duration")
        self.duration_edit.setMaxLength(16)
        self.duration_edit.setPlaceholderText(_("mm:ss or minutes; blank = timer"))
        self.duration_edit.setToolTip(_("mm:ss or minutes; blank = timer"))

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.labels: dict[str, QLabel] = {}
        self._grid_field(grid, 0, 0, _("Caller &number"), "caller", self.phone, required=True)
        self._grid_field(grid, 0, 2, _("Caller na&me"), "caller_name", self.name_edit)
        self._grid_field(grid, 1, 0, _("&Unit"), "unit", self.unit_combo, span=3)
        self._grid_field(grid, 2, 0, _("S&ystem"), "system", self.system_combo)
        self._grid_field(grid, 2, 2, _("Mo&dule"), "module", self.module_combo)
        self._grid_field(grid, 3, 0, _("&Category"), "category", self.category_combo, required=True)
        self._grid_field(grid, 4, 0, _("&Question"), "question", self.question_edit, span=3, required=True)
        self._grid_field(grid, 5, 0, _("&Answer"), "answer", self.answer_edit, span=3)
        outcome_label = QLabel(_("Outcome"), self)
        outcome_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(outcome_label, 6, 0)
        outcome_box = QWidget(self)
        outcome_box.setLayout(outcome_row)
        grid.addWidget(outcome_box, 6, 1, 1, 3)
        self._grid_field(grid, 7, 0, _("Transferred &to"), "transferred_to", self.transferred_edit)
        self._grid_field(grid, 7, 2, _("Du&ration"), "duration", self.duration_edit)
        grid.setRowStretch(4, 3)
        grid.setRowStretch(5, 2)
        for row in (0, 1, 2, 3, 6, 7):
            grid.setRowStretch(row, 0)

        form_widget = QWidget(self)
        form_widget.setObjectName("callFields")
        form_layout = QVBoxLayout(form_widget)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addLayout(grid)
        self.fields_widget = form_widget

        self.panel = CallerPanel(self)
        self.panel.contact_picked.connect(self._contact_picked)
        self.panel.add_contact_requested.connect(self.add_to_directory)
        self.panel.call_activated.connect(lambda call_id: self.mw.open_call(call_id))

        from ui.kb.suggestions import CannedAnswers, SuggestionPanel

        self.suggestions = SuggestionPanel(self.mw, self)
        self.suggestions.chosen.connect(self.insert_article_answer)
        self.canned = CannedAnswers(self.mw, self.answer_edit, self.site_id)
        side = QSplitter(Qt.Orientation.Vertical, self)
        side.setObjectName("callSideSplitter")
        side.addWidget(self.panel)
        side.addWidget(self.suggestions)
        side.setChildrenCollapsible(False)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("callFormSplitter")
        self.splitter.addWidget(form_widget)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        legend = QLabel(_("* required — for the caller, a number or a name is enough"), self)
        legend.setStyleSheet("color: #5f6368;")
        self.save_button = QPushButton(_("Save"), self)
        self.save_button.setObjectName("saveCall")
        self.save_button.setToolTip(_("Save the call (Ctrl+S or Ctrl+Enter)"))
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton(_("Cancel"), self)
        self.cancel_button.setObjectName("cancelCall")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(legend)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.general_error)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(buttons)

        for sequence in (
            QKeySequence.StandardKey.Save,
            QKeySequence("Ctrl+Return"),
            QKeySequence("Ctrl+Enter"),
        ):
            QShortcut(sequence, self, self.save)
        QShortcut(QKeySequence("Ctrl+T"), self, self.toggle_timer)
        for number in range(1, 6):  # Ctrl+1…5: insert the answer of that suggested article
            QShortcut(QKeySequence(f"Ctrl+{number}"), self, lambda n=number: self.suggestions.choose(n))

        chain: list[QWidget] = [
            self.phone.edit,
            self.name_edit,
            self.unit_combo,
            self.system_combo,
            self.module_combo,
            self.category_combo,
            self.question_edit,
            self.answer_edit,
            *self.outcome_buttons.values(),
            self.transferred_edit,
            self.duration_edit,
            self.save_button,
            self.cancel_button,
            self.panel.choices,
            self.panel.add_button,
            self.panel.history,
            self.stop_timer_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)
        self._fill_modules()

    def _error_label(self, key: str) -> QLabel:
        label = error_label(self)
        label.setObjectName(f"error_{key}")
        self.errors[key] = label
        return label

    def _grid_field(
        self,
        grid: QGridLayout,
        row: int,
        column: int,
        text: str,
        key: str,
        field: QWidget,
        span: int = 1,
        required: bool = False,
    ) -> None:
        label = QLabel(text + (" *" if required else ""), self)
        label.setBuddy(field.focusProxy() or field)
        self.labels[key] = label
        box = QVBoxLayout()
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(field)
        box.addWidget(self._error_label(key))
        if not isinstance(field, QPlainTextEdit):
            box.addStretch(1)  # a one-line field stays at the top of a row made taller by its neighbour
        # Labels sit level with the first line of their field, whatever grows beneath it (hints, errors).
        line_height = (field.edit if isinstance(field, PhoneField) else field).sizeHint().height()
        if isinstance(field, QPlainTextEdit):
            line_height = self.name_edit.sizeHint().height()
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        label.setContentsMargins(0, max((line_height - label.sizeHint().height()) // 2, 0), 0, 0)
        grid.addWidget(label, row, column)
        grid.addLayout(box, row, column + 1, 1, span)

    def _timers(self) -> None:
        settings = self.mw.ctx.settings
        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(1000)
        self._tick_timer.timeout.connect(self._tick)
        self._tick_timer.start()
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(max(int(settings["draft_autosave_ms"]), 50))
        self._draft_timer.timeout.connect(self.save_draft_now)
        self._lookup_timer = QTimer(self)
        self._lookup_timer.setSingleShot(True)
        self._lookup_timer.setInterval(max(int(settings["caller_lookup_delay_ms"]), 0))
        self._lookup_timer.timeout.connect(self._run_lookup)
        self._tick()

    def _connect_edits(self) -> None:
        edited = self._edited
        self.phone.info_changed.connect(self._phone_changed)
        self.phone.edit.textChanged.connect(edited)
        self.name_edit.textChanged.connect(edited)
        self.name_edit.textChanged.connect(lambda: self._clear_error("caller"))
        self.unit_combo.editTextChanged.connect(edited)
        self.system_combo.currentIndexChanged.connect(self._fill_modules)
        self.system_combo.currentIndexChanged.connect(edited)
        self.module_combo.currentIndexChanged.connect(edited)
        self.module_combo.currentIndexChanged.connect(lambda: self._clear_error("module"))
        self.category_combo.currentIndexChanged.connect(edited)
        self.category_combo.currentIndexChanged.connect(lambda: self._clear_error("category"))
        self.question_edit.textChanged.connect(edited)
        self.question_edit.textChanged.connect(lambda: self._clear_error("question"))
        self.question_edit.textChanged.connect(
            lambda: self.suggestions.question_changed(self.question_edit.toPlainText(), self.site_id)
        )
        self.answer_edit.textChanged.connect(edited)
        self.answer_edit.textChanged.connect(lambda: self._clear_error("answer"))
        self.outcome_group.buttonToggled.connect(self._outcome_toggled)
        self.transferred_edit.textChanged.connect(edited)
        self.transferred_edit.textChanged.connect(lambda: self._clear_error("transferred_to"))
        self.duration_edit.textChanged.connect(edited)
        self.duration_edit.textChanged.connect(lambda: self._clear_error("duration"))

    # --- reading the form ---------------------------------------------------------------------------

    def outcome(self) -> str:
        for value, button in self.outcome_buttons.items():
            if button.isChecked():
                return value
        return Outcome.ANSWERED.value

    def set_outcome(self, value: str) -> None:
        button = self.outcome_buttons.get(value) or self.outcome_buttons[Outcome.ANSWERED.value]
        button.setChecked(True)

    @property
    def contact_id(self) -> str | None:
        return self._contact_id

    def org_id(self) -> str | None:
        return self._org_ids.get(_clean(self.unit_combo.currentText()))

    def elapsed_seconds(self) -> int:
        if self._timer_stopped_s is not None:
            return self._timer_stopped_s
        return max(int((dt.datetime.now(dt.UTC) - self.started_at).total_seconds()), 0)

    def has_content(self) -> bool:
        texts = (
            self.phone.text(),
            self.name_edit.text(),
            self.unit_combo.currentText(),
            self.transferred_edit.text(),
            self.duration_edit.text(),
        )
        if any(t.strip() for t in texts) or self._contact_id:
            return True
        if self.category_combo.currentIndex() >= 0 or self.module_combo.currentData():
            return True
        if self.outcome() != Outcome.ANSWERED.value:
            return True
        return bool(self.question_edit.toPlainText().strip() or self.answer_edit.toPlainText().strip())

    def draft_fields(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "caller_phone": self.phone.text(),
            "caller_name": self.name_edit.text(),
            "unit_name": self.unit_combo.currentText(),
            "org_id": self.org_id(),
            "contact_id": self._contact_id,
            "system_id": self.system_combo.currentData(),
            "module_id": self.module_combo.currentData(),
            "category_id": self.category_combo.currentData(),
            "question": self.question_edit.toPlainText(),
            "answer": self.answer_edit.toPlainText(),
            "outcome": self.outcome(),
            "transferred_to": self.transferred_edit.text(),
            "duration_text": self.duration_edit.text(),
            "timer_stopped_s": self._timer_stopped_s,
            "articles": list(self.used_articles),
        }

    def call_input(self) -> CallInput:
        """What will be saved. Raises ``ValidationError`` for a duration that cannot be read."""
        try:
            typed = parse_duration(self.duration_edit.text())
        except ValueError:
            raise ValidationError({"duration": _("Type the duration as mm:ss or as minutes.")}) from None
        outcome = self.outcome()
        return CallInput(
            site_id=self.site_id,
            started_at=self.started_at,
            engineer=self.mw.ctx.engineer,
            caller_phone=self.phone.text().strip(),
            caller_name=_clean(self.name_edit.text()),
            contact_id=self._contact_id,
            org_id=self.org_id(),
            unit_name=_clean(self.unit_combo.currentText()),
            system_id=self.system_combo.currentData(),
            module_id=self.module_combo.currentData(),
            category_id=self.category_combo.currentData(),
            question=self.question_edit.toPlainText().strip(),
            answer=self.answer_edit.toPlainText().strip(),
            outcome=outcome,
            transferred_to=self.transferred_edit.text().strip()
            if outcome == Outcome.TRANSFERRED.value
            else "",
            duration_s=typed if typed is not None else min(self.elapsed_seconds(), MAX_DURATION_S),
        )

    # --- restoring a draft --------------------------------------------------------------------------

    def _restore(self, fields: dict[str, Any]) -> None:
        self._restoring = True
        try:
            self.phone.setText(str(fields.get("caller_phone") or ""))
            self.name_edit.setText(str(fields.get("caller_name") or ""))
            self.unit_combo.setEditText(str(fields.get("unit_name") or ""))
            unit = _clean(str(fields.get("unit_name") or ""))
            if fields.get("org_id") and unit:
                self._org_ids[unit] = str(fields["org_id"])
            self._contact_id = fields.get("contact_id") or None
            self._select_data(self.system_combo, fields.get("system_id"))
            self._fill_modules()
            self._select_data(self.module_combo, fields.get("module_id"))
            index = (
                self.category_combo.findData(fields.get("category_id")) if fields.get("category_id") else -1
            )
            self.category_combo.setCurrentIndex(index)
            self.question_edit.setPlainText(str(fields.get("question") or ""))
            self.answer_edit.setPlainText(str(fields.get("answer") or ""))
            self.set_outcome(str(fields.get("outcome") or Outcome.ANSWERED.value))
            self.transferred_edit.setText(str(fields.get("transferred_to") or ""))
            self.duration_edit.setText(str(fields.get("duration_text") or ""))
            stopped = fields.get("timer_stopped_s")
            if isinstance(stopped, int):
                self._timer_stopped_s = stopped
                self._show_timer_state()
        finally:
            self._restoring = False
        self._draft_timer.stop()  # restoring is not an edit
        self._tick()

    @staticmethod
    def _select_data(combo: QComboBox, value: Any) -> None:
        index = combo.findData(value) if value else 0
        combo.setCurrentIndex(max(index, 0))

    # --- reacting to edits --------------------------------------------------------------------------

    def _edited(self, *_args: Any) -> None:
        if not self._restoring and not self._saved:
            self._draft_timer.start()

    def _clear_error(self, key: str) -> None:
        label = self.errors.get(key)
        if label is None or not label.isVisible():
            return
        label.hide()
        for widget in self._error_widgets(key):
            widget.setStyleSheet("")

    def _error_widgets(self, key: str) -> list[QWidget]:
        widgets: dict[str, list[QWidget]] = {
            "caller": [self.phone.edit, self.name_edit],
            "module": [self.module_combo],
            "category": [self.category_combo],
            "question": [self.question_edit],
            "answer": [self.answer_edit],
            "transferred_to": [self.transferred_edit],
            "duration": [self.duration_edit],
        }
        return widgets.get(key, [])

    def _outcome_toggled(self, _button: QAbstractButton, checked: bool) -> None:
        if not checked:
            return
        transferred = self.outcome() == Outcome.TRANSFERRED.value
        self.transferred_edit.setEnabled(transferred)
        if not transferred:
            self._clear_error("transferred_to")
        self._edited()

    def _fill_modules(self, *_args: Any) -> None:
        system_id = self.system_combo.currentData()
        current = self.module_combo.currentData()
        modules: list[tuple[str, str]] = []
        if system_id:
            with self.mw.ctx.db.session() as session:
                modules = [(m.id, m.name) for m in reference.list_modules(session, str(system_id))]
        self.module_combo.blockSignals(True)
        self.module_combo.clear()
        self.module_combo.addItem(_("(not specified)"), None)
        for module_id, name in modules:
            self.module_combo.addItem(name, module_id)
        self._select_data(self.module_combo, current)
        self.module_combo.setEnabled(bool(modules))
        self.module_combo.blockSignals(False)

    def _tick(self) -> None:
        self.timer_label.setText(_("Call time {time}").format(time=format_elapsed(self.elapsed_seconds())))

    def toggle_timer(self) -> None:
        if self._timer_stopped_s is None:
            self._timer_stopped_s = self.elapsed_seconds()
        else:
            self._timer_stopped_s = None  # the call was not over after all: count from its start again
        self._show_timer_state()
        self._tick()
        self._edited()

    def _show_timer_state(self) -> None:
        stopped = self._timer_stopped_s is not None
        self.stop_timer_button.setText(_("Resume timer") if stopped else _("Stop timer"))
        self.timer_label.setStyleSheet("color: #5f6368;" if stopped else "")

    def showEvent(self, event: QShowEvent) -> None:  # Qt API
        super().showEvent(event)
        # Ctrl+N means "I am on the phone now": typing must land in the number field at once.
        self.raise_()
        self.activateWindow()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt API
        # Enter in a one-line field moves on instead of saving half a call; Ctrl+Enter saves.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers() & ~(
            Qt.KeyboardModifier.KeypadModifier
        ):
            focused = self.focusWidget()
            if isinstance(focused, QLineEdit | QComboBox):
                self.focusNextChild()
                return
        super().keyPressEvent(event)

    # --- the knowledge base -------------------------------------------------------------------------

    def insert_article_answer(self, article_id: str, text: str) -> None:
        """Put an article's answer into the call's answer (after what is there) and remember the
        article, so the call links it when saved."""
        current = self.answer_edit.toPlainText().rstrip()
        self.answer_edit.setPlainText(f"{current}\n{text}" if current else text)
        self.answer_edit.moveCursor(QTextCursor.MoveOperation.End)
        if article_id not in self.used_articles:
            self.used_articles.append(article_id)
        self.answer_edit.setFocus()

    # --- the caller ---------------------------------------------------------------------------------

    def _phone_changed(self, info: PhoneInfo) -> None:
        self._clear_error("caller")
        if info.key == self._phone_key:
            return
        self._phone_key = info.key
        self.last_lookup = None
        if not self._restoring:
            self._contact_id = None  # the link was to the owner of the number typed before
        if info.key:
            self._lookup_timer.start()
        else:
            self._lookup_timer.stop()
            self.panel.show_idle()

    def _run_lookup(self) -> None:
        key = self._phone_key
        if not key or self._closed:
            return
        self.panel.show_loading()

        def work(_ctx: OpContext) -> CallerLookup:
            with self.mw.ctx.uow() as uow:
                return calls.lookup_caller(uow.session, key)

        self.mw.op(work).success(self._lookup_done).failure(self._lookup_failed).run()

    def lookup_now(self) -> None:
        self._lookup_timer.stop()
        self._run_lookup()

    def _lookup_done(self, lookup: CallerLookup) -> None:
        if self._closed or lookup.phone_key != self._phone_key:
            return  # the number changed while we looked: a newer lookup is on its way
        self.last_lookup = lookup
        for contact in lookup.contacts:
            if contact.org_id and contact.org_name:
                self._org_ids.setdefault(_clean(contact.org_name), contact.org_id)
        ids = [c.id for c in lookup.contacts]
        if self._contact_id is None and len(lookup.contacts) == 1:
            self._link(lookup.contacts[0])
        self.panel.show_lookup(lookup, self.area_code, self._contact_id if self._contact_id in ids else None)

    def _lookup_failed(self, error: BaseException) -> None:
        if self._closed:
            return
        if isinstance(error, UserFacingError):
            self.panel.show_idle()
            self.panel.status_label.setText(
                _("The number could not be looked up: {error}").format(error=error.message)
            )
        else:
            self.panel.show_idle()
            show_error(self, error)

    def _contact_picked(self, contact: ContactSummary) -> None:
        self._link(contact)

    def _link(self, contact: ContactSummary) -> None:
        self._contact_id = contact.id
        if contact.org_id and contact.org_name:
            self._org_ids[_clean(contact.org_name)] = contact.org_id
        name = self.name_edit.text().strip()
        if not name or name == self._autofilled["name"]:
            self.name_edit.setText(contact.name)
            self._autofilled["name"] = contact.name
        unit = self.unit_combo.currentText().strip()
        if contact.org_name and (not unit or unit == self._autofilled["unit"]):
            self.unit_combo.setEditText(contact.org_name)
            self._autofilled["unit"] = contact.org_name
        self._edited()

    def add_to_directory(self) -> None:
        from ui.directory.contact_dialog import ContactDialog

        dialog = ContactDialog(
            self.mw,
            prefill_phone=self.phone.text().strip(),
            prefill_name=_clean(self.name_edit.text()),
            prefill_unit=_clean(self.unit_combo.currentText()),
            parent=self,
        )
        self.contact_dialog = dialog
        dialog.accepted.connect(lambda: self._contact_added(dialog))
        dialog.finished.connect(lambda _result: self._contact_dialog_closed(dialog))
        dialog.open()

    def _contact_added(self, dialog: ContactDialog) -> None:
        if self._closed or dialog.contact_id is None:
            return
        self._contact_id = dialog.contact_id
        unit = _clean(dialog.unit_combo.currentText())
        if dialog.org_id and unit:
            self._org_ids[unit] = dialog.org_id
            if not self.unit_combo.currentText().strip():
                self.unit_combo.setEditText(unit)
        if not self.name_edit.text().strip():
            self.name_edit.setText(_clean(dialog.name_edit.text()))
        self._edited()
        self.lookup_now()

    def _contact_dialog_closed(self, dialog: ContactDialog) -> None:
        if self.contact_dialog is dialog:
            self.contact_dialog = None
        dialog.deleteLater()
        if not self._closed:
            self.activateWindow()  # back to the call, wherever the window manager would send focus

    # --- units --------------------------------------------------------------------------------------

    def _load_units(self) -> None:
        site_id = self.site_id

        def work(_ctx: OpContext) -> list[tuple[str, str]]:
            with self.mw.ctx.uow() as uow:
                return [(o.id, o.name) for o in directory.search_organisations(uow.session, site_id=site_id)]

        self.mw.op(work).success(self._units_loaded).failure(self._units_failed).run()

    def _units_loaded(self, units: list[tuple[str, str]]) -> None:
        if self._closed:
            return
        for org_id, name in units:
            self._org_ids.setdefault(_clean(name), org_id)
        line = self.unit_line
        text, cursor = line.text(), line.cursorPosition()
        self.unit_combo.blockSignals(True)
        self.unit_combo.clear()
        for org_id, name in units:
            self.unit_combo.addItem(name, org_id)
        self.unit_combo.setCurrentIndex(-1)
        self.unit_combo.setEditText(text)
        line.setCursorPosition(cursor)
        self.unit_combo.blockSignals(False)

    def _units_failed(self, error: BaseException) -> None:
        if not isinstance(error, UserFacingError):
            show_error(self, error)  # a bug; a storage problem only costs the completion list
        else:
            log.warning("units not loaded: %s", error.message)

    def _on_changes(self, changes: OpChanges) -> None:
        if changes.directory and not self._closed:
            self._load_units()

    # --- drafts -------------------------------------------------------------------------------------

    def save_draft_now(self) -> None:
        """Write the draft at once (only if something was typed). Never raises: it runs while crashing."""
        self._draft_timer.stop()
        if self._saved or self._closed:
            return
        try:
            if not self.has_content():
                self.mw.ctx.drafts.discard()
                return
            now = dt.datetime.now(dt.UTC)
            self.mw.ctx.drafts.save(Draft(self.call_id, self.started_at, now, self.draft_fields()))
        except OSError as exc:
            log.warning("draft not written: %s", exc)
            self.mw.status_message(
                _("The draft could not be written: {error}").format(error=exc.strerror or exc)
            )

    # --- saving -------------------------------------------------------------------------------------

    def save(self) -> None:
        if self._saving or self._saved or self._closed:
            return
        self._clear_all_errors()
        try:
            data = self.call_input()
        except ValidationError as exc:
            self.show_errors(exc.fields)
            return
        call_id, articles = self.call_id, list(self.used_articles)

        def work(_ctx: OpContext) -> str:
            with self.mw.ctx.uow() as uow:
                return calls.record_call(uow, data, call_id=call_id, articles=articles).id

        self._saving = True
        self._focus_before_save = self.focusWidget()
        self.save_button.setEnabled(False)
        self.fields_widget.setEnabled(False)
        self.mw.op(work).success(self._saved_ok).failure(self._save_failed).changes(
            OpChanges(calls=True)
        ).run()

    def _end_saving(self) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        self.fields_widget.setEnabled(True)

    def _saved_ok(self, _call_id: str) -> None:
        self._saving = False
        self._saved = True
        self._draft_timer.stop()
        try:
            self.mw.ctx.drafts.discard()
        except OSError as exc:
            log.warning("draft not removed: %s", exc)
        self.mw.status_message(_("Call saved"))
        if not self._closed:
            self.accept()

    def _save_failed(self, error: BaseException) -> None:
        self._end_saving()
        if self._closed:
            return
        self.save_draft_now()  # whatever went wrong, what was typed is on disk
        if isinstance(error, ValidationError):
            self.show_errors(error.fields)
            return
        if self._focus_before_save is not None:
            self._focus_before_save.setFocus()
        show_error(self, error)  # environment problems as a message; bugs to the crash handler

    def _clear_all_errors(self) -> None:
        for key in list(self.errors):
            self._clear_error(key)
        self.general_error.hide()

    def show_errors(self, fields: dict[str, str]) -> None:
        """Show validation messages next to their fields and move focus to the first one."""
        general: list[str] = []
        for key, message in fields.items():
            label = self.errors.get(key)
            if label is None or key == "general":
                general.append(message)
                continue
            label.setText(message)
            label.show()  # also for a key with no field to mark (e.g. a system retired meanwhile)
            for widget in self._error_widgets(key):
                widget.setStyleSheet(ERROR_STYLE)
        if general:
            self.general_error.setText("\n".join(general))
            self.general_error.show()
        for key in FIELD_ORDER:
            if key in fields:
                self._error_widgets(key)[0].setFocus()
                break

    # --- closing ------------------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed

    def reject(self) -> None:
        if self._saving:
            return  # the save under way decides
        if self.has_content() and not dialogs.ask(self, _("Discard this call? What you typed will be lost.")):
            self.save_draft_now()
            return
        try:
            self.mw.ctx.drafts.discard()
        except OSError as exc:
            log.warning("draft not removed: %s", exc)
        self._saved = True  # nothing more to keep
        super().reject()

    def done(self, result: int) -> None:
        if not self._closed:
            self._closed = True
            self._tick_timer.stop()
            self._draft_timer.stop()
            self._lookup_timer.stop()
            crash_handler.remove_emergency_save(self.save_draft_now)
            self.mw.taskman.operation_did_execute.disconnect(self._on_changes)
            self._save_geometry()
        super().done(result)
        self.deleteLater()

    def _restore_geometry(self) -> None:
        geometry = self.mw.qsettings.value("call_form/geometry")
        if isinstance(geometry, QByteArray | bytes) and self.restoreGeometry(geometry):
            pass
        else:
            self.resize(1180, 760)
        splitter = self.mw.qsettings.value("call_form/splitter")
        if isinstance(splitter, QByteArray | bytes):
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([680, 480])

    def _save_geometry(self) -> None:
        self.mw.qsettings.setValue("call_form/geometry", self.saveGeometry())
        self.mw.qsettings.setValue("call_form/splitter", self.splitter.saveState())
