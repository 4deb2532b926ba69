"""Settings → 工作日历: which days are working days, year by year.

A year's special days — statutory holidays, adjusted working weekends (调休上班), the dates a supervisor
set — are listed, and coloured in a month grid, with where each comes from: the holiday library the app
ships (a published year), the library's *estimate* (a year whose State Council notice is not known yet:
statutory dates only, no working weekends), or a supervisor. A year that neither the library nor a
supervisor has confirmed says so in red, with what it means for deadlines: never a silent guess.

Every change is saved at once through ``sla_config`` in ``mw.op`` (it recomputes the deadlines of open
tickets) and announced with ``OpChanges(tickets=True)``; ``check``/``save`` have nothing to do.

Confirming a year makes the list as shown the year's truth: for a confirmed year the library is
ignored (``sla_config.set_year_confirmed``), so the estimated dates still in the list are saved as
entered dates first — otherwise confirming would silently turn 元旦 into a working day.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QLocale, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QTextCharFormat
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCalendarWidget,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session

from app import i18n
from app.errors import UserFacingError, ValidationError
from app.i18n import N_, _
from app.services import sla_config
from app.services.sla_config import NoticeImportError, YearStatus
from app.sla.calendar import DayKind, OverrideKind
from app.sla.formatting import weekday_name
from app.sla.wall_time import SHANGHAI
from app.sync import local
from ui import dialogs
from ui.changes import OpChanges
from ui.operations import OpContext, show_error
from ui.widgets.field_errors import ERROR_TEXT_STYLE
from ui.widgets.forms import add_row

YEAR_RANGE = (1990, 2200)  # what sla_config accepts
NOTICE_MAX_BYTES = 1_000_000  # a year's notice is a few dozen lines
PROBLEMS_SHOWN = 200
LEFT_COLUMN_WIDTH = 310  # the month grid and the selected date's form

NOTE_STYLE = "color: palette(mid);"
OK_STYLE = "color: #2e7d32;"
STATUS_STYLES = {
    YearStatus.PUBLISHED: "color: #2e7d32; font-weight: bold;",
    YearStatus.CONFIRMED: "color: #2e7d32; font-weight: bold;",
    YearStatus.UNCONFIRMED: "color: #c9302c; font-weight: bold;",
}
_STATUS_WORDS = {
    YearStatus.PUBLISHED: N_("Published (shipped with the app)"),
    YearStatus.CONFIRMED: N_("Confirmed by a supervisor"),
    YearStatus.UNCONFIRMED: N_("Not confirmed"),
}
_STATUS_NOTES = {
    YearStatus.PUBLISHED: N_(
        "The State Council's holiday arrangements for {year} ship with the app. Single dates can still "
        "be changed below."
    ),
    YearStatus.CONFIRMED: N_(
        "A supervisor entered or imported the State Council's notice for {year}: only the dates listed "
        "here differ from a normal Monday–Friday week."
    ),
    YearStatus.UNCONFIRMED: N_(
        "The arrangements for {year} are not published yet, or nobody has entered them. The list is the "
        "app's estimate — statutory dates only, no adjusted working weekends — so deadlines counted in "
        "business time in {year} may be wrong until the year is confirmed. Import the State Council's "
        "notice, or check the list and confirm the year."
    ),
}
# What a supervisor can say about a date, in the order the choice offers it.
_OVERRIDE_LABELS = {
    OverrideKind.HOLIDAY: N_("Holiday (day off, with its name)"),
    OverrideKind.REST_DAY: N_("Day off (no holiday)"),
    OverrideKind.WORKDAY: N_("Working day (on a weekend: adjusted working day 调休上班)"),
}
_OVERRIDE_SHORT = {
    OverrideKind.HOLIDAY: N_("holiday"),
    OverrideKind.REST_DAY: N_("day off"),
    OverrideKind.WORKDAY: N_("working day"),
}
# Colours of the month grid: days off red, worked weekends blue, other days off grey.
_GRID_COLOURS = {
    DayKind.HOLIDAY: ("#c9302c", "#fde8e7"),
    DayKind.ADJUSTED_WORKDAY: ("#1f5fae", "#e3eefb"),
    DayKind.REST_DAY: ("#555555", "#ececec"),
}
NOTICE_EXAMPLE = "2027-10-01,休,国庆节"


@dataclass(frozen=True, slots=True)
class SpecialDay:
    """A date that is not a plain working day or weekend, or one a supervisor set."""

    day: dt.date
    kind: DayKind
    name: str
    entered: OverrideKind | None  # what a supervisor set for the date; None: the library's


@dataclass(frozen=True, slots=True)
class YearView:
    year: int
    status: YearStatus
    days: tuple[SpecialDay, ...]

    def find(self, day: dt.date) -> SpecialDay | None:
        return next((d for d in self.days if d.day == day), None)

    def source(self, special: SpecialDay) -> str:
        """Where a listed date comes from, in words."""
        if special.entered is not None:
            return _("Entered by a supervisor")
        if self.status is YearStatus.PUBLISHED:
            return _("Shipped with the app")
        if self.status is YearStatus.UNCONFIRMED:
            return _("Estimate (not confirmed)")
        return _("Weekend inside a holiday period")


def read_year(session: Session, year: int) -> YearView:
    """The special days of ``year`` and its status (runs in the background)."""
    calendar = sla_config.build_calendar(session)
    entered = {entry.day: entry.kind for entry in sla_config.calendar_days(session, year)}
    days = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        kind = calendar.day_kind(day)
        if day in entered or kind in (DayKind.HOLIDAY, DayKind.ADJUSTED_WORKDAY, DayKind.REST_DAY):
            days.append(SpecialDay(day, kind, calendar.holiday_name(day) or "", entered.get(day)))
        day += dt.timedelta(days=1)
    return YearView(year, sla_config.year_status(session, year), tuple(days))


def read_notice_file(path: str) -> str:
    """The text of a notice file: UTF-8 (with or without BOM) or, as Excel saves CSV in China, GBK."""
    name = Path(path).name
    try:
        with open(path, "rb") as handle:
            raw = handle.read(NOTICE_MAX_BYTES + 1)
    except OSError as exc:
        raise UserFacingError(
            _("The file {name} cannot be read: {error}").format(name=name, error=exc.strerror or exc)
        ) from exc
    if len(raw) > NOTICE_MAX_BYTES:
        raise UserFacingError(
            _("{name} is too large for a holiday notice; choose the CSV file with the year's dates.").format(
                name=name
            )
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserFacingError(  # pragma: no cover - gb18030 decodes almost any bytes
        _("{name} is not a text file; save the notice as CSV (UTF-8) and try again.").format(name=name)
    )


def _same_day_in(day: dt.date, year: int) -> dt.date:
    return day.replace(year=year, day=min(day.day, 28)) if day.month == 2 else day.replace(year=year)


def _to_qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _from_qdate(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


def _button(text: str, parent: QWidget) -> QPushButton:
    button = QPushButton(text, parent)
    button.setAutoDefault(False)  # Return in a field presses the dialog's OK, not this button
    return button


def _note(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setStyleSheet(NOTE_STYLE)
    return label


class CalendarPage(QWidget):
    """工作日历. Changes are saved as they are made, so check/save do nothing."""

    def __init__(self, mw: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self.setObjectName("CalendarPage")
        self.view: YearView | None = None
        self._busy = False

        self.year_spin = QSpinBox(self)
        self.year_spin.setObjectName("calendarYear")
        self.year_spin.setRange(*YEAR_RANGE)
        self.year_spin.setMinimumWidth(90)
        self.year_spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.year_spin.setValue(mw.ticker.now().astimezone(SHANGHAI).year)
        self.year_spin.valueChanged.connect(lambda _year: self.load())
        self.status_label = QLabel(self)
        self.status_label.setObjectName("yearStatus")
        self.confirm_button = _button(_("&Confirm this year…"), self)
        self.confirm_button.setObjectName("confirmYear")
        self.confirm_button.clicked.connect(lambda _c=False: self.toggle_confirmed())
        self.import_button = _button(_("&Import State Council notice…"), self)
        self.import_button.setObjectName("importNotice")
        self.import_button.clicked.connect(lambda _c=False: self.import_notice())
        year_label = QLabel(_("&Year:"), self)
        year_label.setBuddy(self.year_spin)
        top = QHBoxLayout()
        top.addWidget(year_label)
        top.addWidget(self.year_spin)
        top.addSpacing(12)
        top.addWidget(QLabel(_("Status:"), self))
        top.addWidget(self.status_label)
        top.addStretch(1)
        top.addWidget(self.confirm_button)
        top.addWidget(self.import_button)
        self.status_note = QLabel(self)
        self.status_note.setObjectName("yearStatusNote")
        self.status_note.setWordWrap(True)

        self.month = QCalendarWidget(self)
        self.month.setObjectName("monthGrid")
        self.month.setFirstDayOfWeek(Qt.DayOfWeek.Monday)
        self.month.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        if i18n.current_language() == "zh_CN":
            self.month.setLocale(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
        self.month.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.month.selectionChanged.connect(self._date_picked)

        self.day_box = QGroupBox(_("Selected date"), self)
        self.day_label = QLabel(self.day_box)
        self.day_label.setObjectName("dayLabel")
        self.day_label.setWordWrap(True)
        self.kind_combo = QComboBox(self.day_box)
        # as wide as the column allows, not as the longest choice (the list still shows it all)
        self.kind_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind_combo.setMinimumContentsLength(10)
        self.kind_combo.setObjectName("dayKind")
        for kind, label in _OVERRIDE_LABELS.items():
            self.kind_combo.addItem(_(label), kind.value)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._update_buttons())
        self.name_edit = QLineEdit(self.day_box)
        self.name_edit.setObjectName("dayName")
        self.name_edit.setMaxLength(100)
        self.name_edit.setPlaceholderText(_("e.g. 国庆节"))
        self.set_button = _button(_("&Set"), self.day_box)
        self.set_button.setObjectName("setDay")
        self.set_button.clicked.connect(lambda _c=False: self.set_day())
        self.clear_button = _button(_("C&lear what was set"), self.day_box)
        self.clear_button.setObjectName("clearDay")
        self.clear_button.setToolTip(_("The date goes back to the holiday library's data."))
        self.clear_button.clicked.connect(lambda _c=False: self.clear_day())
        day_form = QFormLayout()
        day_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(day_form, self.day_box, _("Mar&k as:"), self.kind_combo)
        add_row(day_form, self.day_box, _("&Name:"), self.name_edit)
        day_buttons = QHBoxLayout()
        day_buttons.addWidget(self.set_button)
        day_buttons.addWidget(self.clear_button)
        day_buttons.addStretch(1)
        day_layout = QVBoxLayout(self.day_box)
        day_layout.addWidget(self.day_label)
        day_layout.addLayout(day_form)
        day_layout.addLayout(day_buttons)
        left_column = QWidget(self)
        # one width whatever the selected date's text: the list beside it does not jump
        left_column.setFixedWidth(max(self.month.sizeHint().width(), LEFT_COLUMN_WIDTH))
        left = QVBoxLayout(left_column)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.month)
        left.addWidget(self.day_box)
        left.addStretch(1)

        self.days_table = QTableWidget(0, 4, self)
        self.days_table.setObjectName("specialDays")
        self.days_table.setHorizontalHeaderLabels([_("Date"), _("Kind"), _("Holiday name"), _("Source")])
        self.days_table.verticalHeader().hide()
        self.days_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.days_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.days_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.days_table.setWordWrap(False)
        header = self.days_table.horizontalHeader()
        for column in (0, 1, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.days_table.currentCellChanged.connect(lambda row, *_a: self._row_picked(row))
        self.empty_label = _note(_("No special days in this year."), self)
        self.empty_label.hide()
        right = QVBoxLayout()
        right.addWidget(QLabel(_("Special days of the year:"), self))
        right.addWidget(self.days_table, 1)
        right.addWidget(self.empty_label)

        body = QHBoxLayout()
        body.addWidget(left_column)
        body.addLayout(right, 1)

        self.result_label = QLabel(self)
        self.result_label.setObjectName("calendarResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # a file with many bad lines scrolls here (5 lines high) instead of squeezing the calendar
        self.result_area = QScrollArea(self)
        self.result_area.setWidgetResizable(True)
        self.result_area.setFrameShape(QFrame.Shape.NoFrame)
        self.result_area.setWidget(self.result_label)
        self.result_area.hide()
        help_text = _(
            "Importing a notice: a CSV file with one date per line, “date,kind,name”; the kind is 休 "
            "(a day off) or 班 (a worked weekend, 调休上班), the name may be left out. The file's dates "
            "replace the selected year's; if any line is wrong, nothing is imported. For example:"
        )
        self.help_label = _note("", self)
        self.help_label.setObjectName("noticeHelp")
        self.help_label.setTextFormat(Qt.TextFormat.RichText)
        self.help_label.setText(f"{html.escape(help_text)} <code>{html.escape(NOTICE_EXAMPLE)}</code>")

        self._may_change = True
        self.role_note = QLabel(sla_config.not_a_supervisor_message(), self)
        self.role_note.setObjectName("roleNote")
        self.role_note.setWordWrap(True)
        self.role_note.setStyleSheet("QLabel { color: #b35c00; }")
        self.role_note.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.role_note)
        layout.addWidget(self.status_note)
        layout.addLayout(body, 1)
        layout.addWidget(self.result_area)
        layout.addWidget(self.help_label)
        self.setEnabled(False)  # until the first read arrives
        self.load()

    # --- the options-page contract ------------------------------------------------------------------

    def check(self) -> bool:
        return True

    def save(self) -> None:
        """Nothing to do: every change was saved when it was made."""

    # --- loading ------------------------------------------------------------------------------------

    def load(self, select: dt.date | None = None, result: str = "") -> None:
        """Read the year of the year field in the background; ``result`` is said once it is shown."""
        year = self.year_spin.value()
        db = self.mw.ctx.db

        def work(_op: OpContext) -> YearView:
            with db.session() as session:
                return read_year(session, year)

        self.mw.op(work).success(lambda view: self._loaded(view, select, result)).failure(self._failed).run()

    def _loaded(self, view: YearView, select: dt.date | None, result: str) -> None:
        if not isValid(self) or view.year != self.year_spin.value():
            return  # the year was changed again meanwhile; that read follows
        self.view = view
        self.setEnabled(True)
        with self.mw.ctx.db.session() as session:
            self._may_change = local.may_change_service_rules(session)
        self.role_note.setVisible(not self._may_change)
        self.status_label.setText(_(_STATUS_WORDS[view.status]))
        self.status_label.setStyleSheet(STATUS_STYLES[view.status])
        self.status_note.setText(_(_STATUS_NOTES[view.status]).format(year=view.year))
        unconfirmed = view.status is YearStatus.UNCONFIRMED
        self.status_note.setStyleSheet(ERROR_TEXT_STYLE if unconfirmed else NOTE_STYLE)
        self._fill_table(view)
        self._fill_grid(view)
        if select is None or select.year != view.year:
            today = self.mw.ticker.now().astimezone(SHANGHAI).date()
            previous = _from_qdate(self.month.selectedDate())  # another year: keep its month and day
            select = today if today.year == view.year else _same_day_in(previous, view.year)
        self.month.setDateRange(QDate(view.year, 1, 1), QDate(view.year, 12, 31))
        self.month.setSelectedDate(_to_qdate(select))
        self._date_picked()
        self._show_result(result, ok=True)
        self._update_buttons()

    def _failed(self, error: BaseException) -> None:
        if not isValid(self):
            return
        self._set_busy(False)
        if isinstance(error, NoticeImportError):
            lines = [error.message]
            lines += [_("• {problem}").format(problem=p) for p in error.problems[:PROBLEMS_SHOWN]]
            hidden = len(error.problems) - PROBLEMS_SHOWN
            if hidden > 0:
                lines.append(_("… and {count} more problems.").format(count=hidden))
            self._show_result("\n".join(lines), ok=False)
        elif isinstance(error, ValidationError):
            self._show_result("\n".join(error.fields.values()), ok=False)
        elif isinstance(error, UserFacingError):
            self._show_result(error.message, ok=False)
        else:
            self._show_result("", ok=True)
            show_error(self, error)

    def _fill_table(self, view: YearView) -> None:
        self.days_table.blockSignals(True)
        self.days_table.clearSelection()
        self.days_table.setRowCount(len(view.days))
        for row, special in enumerate(view.days):
            date_text = _("{date} {weekday}").format(
                date=special.day.isoformat(), weekday=weekday_name(special.day)
            )
            texts = (date_text, special.kind.label(), special.name, view.source(special))
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setData(Qt.ItemDataRole.UserRole, special.day)
                colours = _GRID_COLOURS.get(special.kind)
                if colours is not None and column == 1:
                    item.setForeground(QBrush(QColor(colours[0])))
                if column == 3 and special.entered is None and view.status is YearStatus.UNCONFIRMED:
                    item.setForeground(QBrush(QColor("#c9302c")))
                self.days_table.setItem(row, column, item)
        self.days_table.blockSignals(False)
        self.empty_label.setVisible(not view.days)

    def _fill_grid(self, view: YearView) -> None:
        self.month.setDateTextFormat(QDate(), QTextCharFormat())  # forget the last year's colours
        for special in view.days:
            colours = _GRID_COLOURS.get(special.kind)
            text_format = QTextCharFormat()
            if colours is not None:
                text_format.setForeground(QBrush(QColor(colours[0])))
                text_format.setBackground(QBrush(QColor(colours[1])))
            else:
                text_format.setForeground(QBrush(self.palette().text().color()))
            if special.entered is not None:
                text_format.setFontWeight(QFont.Weight.Bold)
            tip = special.kind.label() + (f" · {special.name}" if special.name else "")
            text_format.setToolTip(tip)
            self.month.setDateTextFormat(_to_qdate(special.day), text_format)

    # --- picking a date -----------------------------------------------------------------------------

    def selected_day(self) -> dt.date:
        return _from_qdate(self.month.selectedDate())

    def select_day(self, day: dt.date) -> None:
        self.month.setSelectedDate(_to_qdate(day))

    def _row_picked(self, row: int) -> None:
        item = self.days_table.item(row, 0) if row >= 0 else None
        day = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if isinstance(day, dt.date) and day != self.selected_day():
            self.month.setSelectedDate(_to_qdate(day))

    def _date_picked(self) -> None:
        view = self.view
        if view is None:
            return
        day = self.selected_day()
        special = view.find(day)
        kind = special.kind.label() if special is not None else self._plain_kind(day)
        text = _("{date} ({weekday}): {kind}").format(
            date=day.isoformat(), weekday=weekday_name(day), kind=kind
        )
        if special is not None:
            if special.name:
                text = _("{text} — {name}").format(text=text, name=special.name)
            text = _("{text} ({source})").format(text=text, source=view.source(special))
        self.day_label.setText(text)
        # offer what would change the day: a working day can become a holiday, a day off can be worked
        if special is not None and special.entered is not None:
            offered = special.entered
        elif special is not None and special.kind is DayKind.HOLIDAY:
            offered = OverrideKind.WORKDAY
        else:
            offered = OverrideKind.WORKDAY if day.weekday() >= 5 else OverrideKind.HOLIDAY
        self.kind_combo.setCurrentIndex(max(self.kind_combo.findData(offered.value), 0))
        self.name_edit.setText(special.name if special is not None else "")
        row = next((r for r, d in enumerate(view.days) if d.day == day), -1)
        self.days_table.blockSignals(True)
        if row >= 0:
            self.days_table.selectRow(row)
            self.days_table.setCurrentCell(row, 0)
            item = self.days_table.item(row, 0)
            if item is not None:
                self.days_table.scrollToItem(item)
        else:
            self.days_table.clearSelection()
            self.days_table.setCurrentCell(-1, -1)
        self.days_table.blockSignals(False)
        self._update_buttons()

    @staticmethod
    def _plain_kind(day: dt.date) -> str:
        return (DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WORKDAY).label()

    def _update_buttons(self) -> None:
        view = self.view
        special = view.find(self.selected_day()) if view is not None else None
        holiday = self.kind_combo.currentData() == OverrideKind.HOLIDAY.value
        may = self._may_change  # a login that may not change the calendar reads it
        self.kind_combo.setEnabled(may)
        self.name_edit.setEnabled(holiday and may)
        self.set_button.setEnabled(view is not None and not self._busy and may)
        self.clear_button.setEnabled(
            special is not None and special.entered is not None and not self._busy and may
        )
        self.import_button.setEnabled(view is not None and not self._busy and may)
        if view is not None and view.status is YearStatus.CONFIRMED:
            self.confirm_button.setText(_("Take back &confirmation…"))
            self.confirm_button.setToolTip("")
        else:
            self.confirm_button.setText(_("&Confirm this year…"))
            self.confirm_button.setToolTip(
                _("The arrangements for this year ship with the app; there is nothing to confirm.")
                if view is not None and view.status is YearStatus.PUBLISHED
                else ""
            )
        self.confirm_button.setEnabled(
            view is not None and view.status is not YearStatus.PUBLISHED and not self._busy and may
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.year_spin.setEnabled(not busy)
        self._update_buttons()

    def _show_result(self, text: str, ok: bool) -> None:
        self.result_label.setStyleSheet(OK_STYLE if ok else ERROR_TEXT_STYLE)
        self.result_label.setText(text)
        lines = text.count("\n") + 1
        self.result_area.setFixedHeight(min(lines, 5) * self.fontMetrics().lineSpacing() + 6)
        self.result_area.setVisible(bool(text))

    # --- changing -----------------------------------------------------------------------------------

    def _run(self, work: Any, select: dt.date | None, done: Any) -> None:
        """Run a change in the background; on success read the year again and say ``done(result)``."""
        self._set_busy(True)
        self._show_result("", ok=True)

        def succeeded(result: Any) -> None:
            if not isValid(self):
                return
            self._set_busy(False)
            self.load(select, done(result))

        self.mw.op(work).success(succeeded).failure(self._failed).changes(OpChanges(tickets=True)).run()

    def set_day(self) -> None:
        if self.view is None or self._busy:
            return
        day = self.selected_day()
        kind = OverrideKind(self.kind_combo.currentData())
        name = " ".join(self.name_edit.text().split()) if kind is OverrideKind.HOLIDAY else ""
        ctx, now = self.mw.ctx, self.mw.ticker.now()

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                sla_config.set_calendar_day(uow, day, kind, name, now)

        said = _(_OVERRIDE_SHORT[kind])
        if name:
            said = _("{kind} ({name})").format(kind=said, name=name)
        self._run(
            work, day, lambda _r: _("Saved: {date} is a {kind}.").format(date=day.isoformat(), kind=said)
        )

    def clear_day(self) -> None:
        if self.view is None or self._busy:
            return
        day = self.selected_day()
        ctx, now = self.mw.ctx, self.mw.ticker.now()

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                sla_config.clear_calendar_day(uow, day, now)

        self._run(work, day, lambda _r: _("What was set for {date} is cleared.").format(date=day.isoformat()))

    def toggle_confirmed(self) -> None:
        view = self.view
        if view is None or self._busy or view.status is YearStatus.PUBLISHED:
            return
        year = view.year
        confirm = view.status is not YearStatus.CONFIRMED
        estimated = [d for d in view.days if d.entered is None] if confirm else []
        if confirm:
            question = _(
                "Confirm that the list for {year} matches the State Council's notice? From then on only "
                "the dates listed here differ from a normal Monday–Friday week in {year}."
            ).format(year=year)
            if estimated:
                question += "\n\n" + _(
                    "{count} of the listed dates are the app's estimate; they are kept as entered dates."
                ).format(count=len(estimated))
        else:
            question = _(
                "Take back the confirmation of {year}? The dates entered for it stay; the year shows as "
                "not confirmed again."
            ).format(year=year)
        if not dialogs.ask(self, question):
            return
        ctx, now, who = self.mw.ctx, self.mw.ticker.now(), self.mw.ctx.engineer
        source = _("confirmed in the settings by {name}").format(name=who) if confirm else ""

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                for special in estimated:  # the list as shown becomes the year's truth
                    kind = {
                        DayKind.HOLIDAY: OverrideKind.HOLIDAY,
                        DayKind.ADJUSTED_WORKDAY: OverrideKind.WORKDAY,
                    }.get(special.kind, OverrideKind.REST_DAY)
                    sla_config.set_calendar_day(uow, special.day, kind, special.name, now)
                sla_config.set_year_confirmed(uow, year, confirm, source, now)

        done = (
            _("{year} is confirmed.").format(year=year)
            if confirm
            else _("The confirmation of {year} is taken back.").format(year=year)
        )
        self._run(work, self.selected_day(), lambda _r: done)

    def import_notice(self) -> None:
        view = self.view
        if view is None or self._busy:
            return
        year = view.year
        path, _chosen = QFileDialog.getOpenFileName(
            self,
            _("Import the State Council's notice for {year}").format(year=year),
            "",
            _("CSV files (*.csv *.txt);;All files (*)"),
        )
        if not path:
            return
        entered = [d for d in view.days if d.entered is not None]
        if entered and not dialogs.ask(
            self,
            _(
                "The file's dates replace the {count} dates entered for {year}, and {year} is marked as "
                "confirmed. Import it?"
            ).format(count=len(entered), year=year),
        ):
            return
        ctx, now, source = self.mw.ctx, self.mw.ticker.now(), Path(path).name

        def work(_op: OpContext) -> int:
            text = read_notice_file(path)
            with ctx.uow() as uow:
                return sla_config.import_notice(uow, year, text, source, now)

        self._run(
            work,
            None,
            lambda count: _("{count} dates imported from {file}; {year} is confirmed.").format(
                count=count, file=source, year=year
            ),
        )
