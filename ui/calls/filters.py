"""The filters bar above the call list: period, site, unit, system → module, category, outcome, engineer
and a full-text search box. Together they make a ``calls.CallQuery``; ``query_changed`` says when it
changed (the search box after a short pause in typing, everything else at once).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QSettings, QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.i18n import N_, _
from app.services import calls, directory, reference
from app.storage.models import OUTCOME_LABELS
from ui.operations import show_error

if TYPE_CHECKING:
    from ui.main_window import MainWindow

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEARCH_DELAY_MS = 200
UNIT_COMPLETIONS = 50

# (id, label) of the quick period choices; "custom" shows the two date fields.
PERIODS: tuple[tuple[str, str], ...] = (
    ("all", N_("All time")),
    ("today", N_("Today")),
    ("7days", N_("Last 7 days")),
    ("month", N_("This month")),
    ("last_month", N_("Last month")),
    ("year", N_("This year")),
    ("custom", N_("Custom…")),
)
ALL_SITES = "*"
SETTINGS_PREFIX = "calls/filters/"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def period_range(
    period: str, today: dt.date, custom_from: dt.date, custom_to: dt.date
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[from, to) of a quick period choice, in Shanghai time."""
    tomorrow = today + dt.timedelta(days=1)
    match period:
        case "today":
            return _midnight(today), _midnight(tomorrow)
        case "7days":
            return _midnight(today - dt.timedelta(days=6)), _midnight(tomorrow)
        case "month":
            return _midnight(today.replace(day=1)), _midnight(tomorrow)
        case "last_month":
            first = today.replace(day=1)
            previous = (first - dt.timedelta(days=1)).replace(day=1)
            return _midnight(previous), _midnight(first)
        case "year":
            return _midnight(today.replace(month=1, day=1)), _midnight(tomorrow)
        case "custom":
            start, end = sorted((custom_from, custom_to))
            return _midnight(start), _midnight(end + dt.timedelta(days=1))
    return None, None


def _to_qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _from_qdate(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())


class CallFilters(QWidget):
    query_changed = Signal()

    def __init__(self, mw: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self._org_id: str | None = None
        self._org_ids_by_name: dict[str, str] = {}
        self._quiet = 0  # > 0 while filling combos: no query_changed per intermediate step
        self._engineer_generation = 0
        self.loading_engineers = False
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._emit_changed)
        self._build()
        self.reload_choices()

    # --- construction -----------------------------------------------------------------------------

    def _combo(self, name: str, min_chars: int) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(min_chars)
        return combo

    def _build(self) -> None:
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("callSearch")
        self.search_edit.setPlaceholderText(_("Search question, answer, caller, number, unit… (Ctrl+F)"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._search_typed)
        self.search_edit.returnPressed.connect(self._search_now)

        self.period_combo = self._combo("periodCombo", 6)
        for period_id, label in PERIODS:
            self.period_combo.addItem(_(label), period_id)
        today = dt.datetime.now(SHANGHAI).date()
        self.date_from = QDateEdit(_to_qdate(today.replace(day=1)), self)
        self.date_to = QDateEdit(_to_qdate(today), self)
        for edit, name in ((self.date_from, "dateFrom"), (self.date_to, "dateTo")):
            edit.setObjectName(name)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self._changed)
        self.date_dash = QLabel("–", self)
        self.period_combo.currentIndexChanged.connect(self._period_picked)

        self.site_combo = self._combo("siteFilter", 8)
        self.site_combo.currentIndexChanged.connect(self._site_picked)
        self.unit_edit = QLineEdit(self)
        self.unit_edit.setObjectName("unitFilter")
        self.unit_edit.setPlaceholderText(_("All units"))
        self.unit_edit.setClearButtonEnabled(True)
        self.unit_edit.setMinimumWidth(160)
        self._unit_names = QStringListModel(self)
        self.unit_completer = QCompleter(self._unit_names, self)
        self.unit_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.unit_completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.unit_completer.setMaxVisibleItems(15)
        self.unit_edit.setCompleter(self.unit_completer)
        self.unit_edit.textEdited.connect(self._unit_typed)
        self.unit_completer.activated.connect(self._unit_completed)
        self.unit_edit.editingFinished.connect(self._unit_finished)

        self.system_combo = self._combo("systemFilter", 10)
        self.system_combo.currentIndexChanged.connect(self._system_picked)
        self.module_combo = self._combo("moduleFilter", 6)
        self.module_combo.currentIndexChanged.connect(self._changed)
        self.category_combo = self._combo("categoryFilter", 4)
        self.category_combo.currentIndexChanged.connect(self._changed)
        self.outcome_combo = self._combo("outcomeFilter", 7)
        self.outcome_combo.addItem(_("All outcomes"), "")
        for outcome, label in OUTCOME_LABELS.items():
            self.outcome_combo.addItem(_(label), outcome.value)
        self.outcome_combo.currentIndexChanged.connect(self._changed)
        self.engineer_combo = self._combo("engineerFilter", 6)
        self.engineer_combo.currentIndexChanged.connect(self._changed)

        self.clear_button = QPushButton(_("C&lear filters"), self)
        self.clear_button.setObjectName("clearFilters")
        self.clear_button.setToolTip(_("Show every call of the current site again"))
        self.clear_button.clicked.connect(self.clear)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(6)

        def labelled(text: str, widget: QWidget) -> QLabel:
            label = QLabel(text, self)
            label.setBuddy(widget)
            return label

        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(labelled(_("&Search:"), self.search_edit))
        top.addWidget(self.search_edit, 3)
        top.addSpacing(8)
        top.addWidget(labelled(_("&Period:"), self.period_combo))
        top.addWidget(self.period_combo)
        top.addWidget(self.date_from)
        top.addWidget(self.date_dash)
        top.addWidget(self.date_to)
        top.addSpacing(8)
        top.addWidget(labelled(_("Si&te:"), self.site_combo))
        top.addWidget(self.site_combo, 1)
        top.addSpacing(8)
        top.addWidget(self.clear_button)
        grid.addLayout(top, 0, 0)

        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        for text, widget, stretch in (
            (_("&Unit:"), self.unit_edit, 3),
            (_("S&ystem:"), self.system_combo, 3),
            (_("&Module:"), self.module_combo, 2),
            (_("Cate&gory:"), self.category_combo, 1),
            (_("&Handling:"), self.outcome_combo, 2),
            (_("&Engineer:"), self.engineer_combo, 1),
        ):
            bottom.addWidget(labelled(text, widget))
            bottom.addWidget(widget, stretch)
            bottom.addSpacing(4)
        grid.addLayout(bottom, 1, 0)
        self._show_dates()

        QWidget.setTabOrder(self.search_edit, self.period_combo)
        QWidget.setTabOrder(self.period_combo, self.date_from)
        QWidget.setTabOrder(self.date_from, self.date_to)
        QWidget.setTabOrder(self.date_to, self.site_combo)
        QWidget.setTabOrder(self.site_combo, self.clear_button)
        QWidget.setTabOrder(self.clear_button, self.unit_edit)
        QWidget.setTabOrder(self.unit_edit, self.system_combo)
        QWidget.setTabOrder(self.system_combo, self.module_combo)
        QWidget.setTabOrder(self.module_combo, self.category_combo)
        QWidget.setTabOrder(self.category_combo, self.outcome_combo)
        QWidget.setTabOrder(self.outcome_combo, self.engineer_combo)

    # --- choices ----------------------------------------------------------------------------------

    def reload_choices(self) -> None:
        """(Re)fill the combos from the reference data, keeping what is chosen where it still exists."""
        self._quiet += 1
        try:
            with self.mw.ctx.db.session() as session:
                sites = reference.list_sites(session, include_inactive=True)
                categories = reference.list_categories(session, include_inactive=True)
            site = self.site_combo.currentData() if self.site_combo.count() else self.mw.site_id
            self.site_combo.clear()
            self.site_combo.addItem(_("All sites"), ALL_SITES)
            for row in sites:
                self.site_combo.addItem(row.name, row.id)
            self._select(self.site_combo, site or self.mw.site_id)
            self._fill(self.category_combo, _("All categories"), [(c.id, c.name) for c in categories])
            if not self.engineer_combo.count():
                self.engineer_combo.addItem(_("All engineers"), "")
            self._fill_systems()
        finally:
            self._quiet -= 1
        self.reload_engineers()

    def reload_engineers(self) -> None:
        """Engineers come from the calls themselves (a scan of an index): read in the background."""
        self._engineer_generation += 1
        generation = self._engineer_generation
        self.loading_engineers = True
        mw = self.mw

        def work(_ctx: Any) -> list[str]:
            with mw.ctx.db.session() as session:
                return calls.distinct_engineers(session)

        def failed(error: BaseException) -> None:
            self.loading_engineers = False
            show_error(self, error)

        mw.op(work).success(lambda names: self._engineers_loaded(generation, names)).failure(failed).run()

    def _engineers_loaded(self, generation: int, names: list[str]) -> None:
        if generation != self._engineer_generation:
            return
        self.loading_engineers = False
        chosen = self.engineer_combo.currentData()
        if chosen and chosen not in names:
            names = sorted([*names, chosen])  # never drop a filter the user chose
        self._quiet += 1
        try:
            self._fill(self.engineer_combo, _("All engineers"), [(e, e) for e in names])
        finally:
            self._quiet -= 1

    def _select_engineer(self, name: str) -> None:
        if name and self.engineer_combo.findData(name) < 0:
            self.engineer_combo.addItem(name, name)  # the list may still be loading
        self._select(self.engineer_combo, name)

    def _fill(self, combo: QComboBox, all_label: str, items: list[tuple[str, str]]) -> None:
        chosen = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(all_label, "")
        for data, label in items:
            combo.addItem(label, data)
        combo.blockSignals(False)
        self._select(combo, chosen)

    @staticmethod
    def _select(combo: QComboBox, data: Any) -> None:
        index = combo.findData(data) if data is not None else -1
        combo.setCurrentIndex(max(index, 0))

    def _site_filter(self) -> str | None:
        site = self.site_combo.currentData()
        return None if not site or site == ALL_SITES else str(site)

    def _fill_systems(self) -> None:
        site = self._site_filter()
        with self.mw.ctx.db.session() as session:
            systems = reference.list_systems(session, site, include_inactive=True)
            names = {s.id: s.name for s in reference.list_sites(session, include_inactive=True)}
        if site is None:  # all sites: say whose system it is
            items = [(s.id, f"{s.name}（{names.get(s.site_id, '')}）") for s in systems]
        else:
            items = [(s.id, s.name) for s in systems]
        self._fill(self.system_combo, _("All systems"), items)
        self._fill_modules()

    def _fill_modules(self) -> None:
        system = self.system_combo.currentData()
        modules: list[tuple[str, str]] = []
        if system:
            with self.mw.ctx.db.session() as session:
                modules = [
                    (m.id, m.name) for m in reference.list_modules(session, system, include_inactive=True)
                ]
        self._fill(self.module_combo, _("All modules"), modules)
        self.module_combo.setEnabled(bool(system))

    # --- reacting ---------------------------------------------------------------------------------

    def _changed(self, *_args: Any) -> None:
        if not self._quiet:
            self._search_timer.stop()
            self.query_changed.emit()

    def _emit_changed(self) -> None:
        self.query_changed.emit()

    def _search_typed(self, _text: str) -> None:
        if not self._quiet:
            self._search_timer.start()

    def _search_now(self) -> None:
        if self._search_timer.isActive():
            self._search_timer.stop()
            self.query_changed.emit()

    def _period_picked(self, _index: int) -> None:
        self._show_dates()
        self._changed()

    def _show_dates(self) -> None:
        custom = self.period_combo.currentData() == "custom"
        for widget in (self.date_from, self.date_dash, self.date_to):
            widget.setVisible(custom)

    def _site_picked(self, _index: int) -> None:
        self._quiet += 1
        try:
            self._fill_systems()
        finally:
            self._quiet -= 1
        self._changed()

    def _system_picked(self, _index: int) -> None:
        self._quiet += 1
        try:
            self._fill_modules()
        finally:
            self._quiet -= 1
        self._changed()

    def follow_site(self, site_id: str) -> None:
        """The window's site changed: the list follows it unless "All sites" is chosen."""
        if self.site_combo.currentData() != ALL_SITES:
            self._select(self.site_combo, site_id)

    def _unit_typed(self, text: str) -> None:
        with self.mw.ctx.db.session() as session:
            orgs = directory.search_organisations(session, text, self._site_filter(), limit=UNIT_COMPLETIONS)
        self._org_ids_by_name = {o.name: o.id for o in orgs}
        self._unit_names.setStringList(list(self._org_ids_by_name))

    def _unit_completed(self, name: str) -> None:
        self._set_unit(name)

    def _unit_finished(self) -> None:
        self._set_unit(self.unit_edit.text())

    def _set_unit(self, name: str) -> None:
        name = " ".join(name.split())
        org_id: str | None = None
        if name:
            org_id = self._org_ids_by_name.get(name)
            if org_id is None:
                with self.mw.ctx.db.session() as session:
                    org = directory.find_organisation_by_name(session, name)
                org_id = org.id if org is not None else None
        unknown = bool(name) and org_id is None
        self.unit_edit.setProperty("unknown", unknown)
        self.unit_edit.setStyleSheet("QLineEdit { color: #b00020; }" if unknown else "")
        self.unit_edit.setToolTip(
            _("No unit of this name in the directory; not filtered.") if unknown else ""
        )
        if org_id != self._org_id:
            self._org_id = org_id
            self._changed()

    # --- the query --------------------------------------------------------------------------------

    def query(self) -> calls.CallQuery:
        today = dt.datetime.now(SHANGHAI).date()
        date_from, date_to = period_range(
            str(self.period_combo.currentData()),
            today,
            _from_qdate(self.date_from.date()),
            _from_qdate(self.date_to.date()),
        )
        return calls.CallQuery(
            text=self.search_edit.text().strip(),
            site_id=self._site_filter(),
            date_from=date_from,
            date_to=date_to,
            org_id=self._org_id,
            system_id=self.system_combo.currentData() or None,
            module_id=self.module_combo.currentData() or None,
            category_id=self.category_combo.currentData() or None,
            outcome=self.outcome_combo.currentData() or None,
            engineer=self.engineer_combo.currentData() or None,
        )

    def is_default(self) -> bool:
        query = self.query()
        return query == calls.CallQuery(site_id=self._site_filter()) and (
            self._site_filter() in (None, self.mw.site_id)
        )

    def clear(self) -> None:
        self._quiet += 1
        try:
            self._search_timer.stop()
            self.search_edit.clear()
            self.period_combo.setCurrentIndex(0)
            self._select(self.site_combo, self.mw.site_id)
            self._fill_systems()
            self.unit_edit.clear()
            self._set_unit("")
            for combo in (self.system_combo, self.category_combo, self.outcome_combo, self.engineer_combo):
                combo.setCurrentIndex(0)
            self._fill_modules()
        finally:
            self._quiet -= 1
        self._changed()

    def focus_search(self) -> None:
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    # --- memory -----------------------------------------------------------------------------------

    def save_state(self, qsettings: QSettings) -> None:
        values: dict[str, Any] = {
            "text": self.search_edit.text(),
            "period": self.period_combo.currentData(),
            "date_from": self.date_from.date().toString(Qt.DateFormat.ISODate),
            "date_to": self.date_to.date().toString(Qt.DateFormat.ISODate),
            "site": self.site_combo.currentData() or "",
            "unit": self.unit_edit.text(),
            "system": self.system_combo.currentData() or "",
            "module": self.module_combo.currentData() or "",
            "category": self.category_combo.currentData() or "",
            "outcome": self.outcome_combo.currentData() or "",
            "engineer": self.engineer_combo.currentData() or "",
        }
        for name, value in values.items():
            qsettings.setValue(SETTINGS_PREFIX + name, value)

    def restore_state(self, qsettings: QSettings) -> None:
        def value(name: str) -> str:
            raw = qsettings.value(SETTINGS_PREFIX + name, "")
            return str(raw) if raw is not None else ""

        if not qsettings.contains(SETTINGS_PREFIX + "period"):
            return
        self._quiet += 1
        try:
            for edit, name in ((self.date_from, "date_from"), (self.date_to, "date_to")):
                day = QDate.fromString(value(name), Qt.DateFormat.ISODate)
                if day.isValid():
                    edit.setDate(day)
            self._select(self.period_combo, value("period"))
            self._show_dates()
            self._select(self.site_combo, value("site") or self.mw.site_id)
            self._fill_systems()
            self._select(self.system_combo, value("system"))
            self._fill_modules()
            self._select(self.module_combo, value("module"))
            self._select(self.category_combo, value("category"))
            self._select(self.outcome_combo, value("outcome"))
            self._select_engineer(value("engineer"))
            self.unit_edit.setText(value("unit"))
            self._set_unit(value("unit"))
            self.search_edit.setText(value("text"))
            self._search_timer.stop()
        finally:
            self._quiet -= 1
