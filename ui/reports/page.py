"""报表: the documents a bureau files — the call ledger, the monthly and the annual service report, the
fault analysis — chosen with their period, site and filter, built in the background (progress,
Cancel) and shown in the print preview, from where they print, save as PDF or export to xlsx/CSV.
The single-record sheets (来电记录单, 工单处理单) print from the call's and the ticket's windows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.i18n import N_, _
from app.reports import documents
from app.reports.documents import BuiltReport, ReportKind, ReportRequest
from app.services import reference
from app.storage.models import OUTCOME_LABELS
from ui.changes import OpChanges
from ui.operations import Cancelled, OpContext
from ui.widgets.forms import add_row

SHANGHAI = documents.SHANGHAI


@dataclass(frozen=True)
class Choice:
    kind: ReportKind
    label: str
    period: str  # "month", "year" or "range"
    about: str


CHOICES = (
    Choice(
        ReportKind.LEDGER,
        N_("Call ledger (来电登记台账)"),
        "range",
        N_("Every call of the period at the site, filtered like the call list: a landscape table "
           "with its header on every page, for the supervisor's signature."),
    ),
    Choice(
        ReportKind.SUMMARY,
        N_("Monthly service report (服务月报)"),
        "month",
        N_("The month's totals, breakdowns by category, system, module and unit, deadline "
           "compliance, the trend, the most frequent problems and most used articles."),
    ),
    Choice(
        ReportKind.SUMMARY,
        N_("Annual service report (年度服务总结报告)"),
        "year",
        N_("The same for a whole year, month by month."),
    ),
    Choice(
        ReportKind.FAULTS,
        N_("Fault analysis (故障记录分析)"),
        "range",
        N_("The period's fault records with their causes, grouped and counted."),
    ),
)  # fmt: skip


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


class ReportsPage(QWidget):
    def __init__(self, mw: Any) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setObjectName("ReportsPage")
        self._build()
        self.reload_choices()
        self.choice_list.setCurrentRow(0)
        mw.taskman.operation_did_execute.connect(self._on_changes)

    def _build(self) -> None:
        today = dt.datetime.now(SHANGHAI).date()
        self.choice_list = QListWidget(self)
        self.choice_list.setObjectName("reportChoices")
        for choice in CHOICES:
            self.choice_list.addItem(_(choice.label))
        self.choice_list.setFixedWidth(max(220, self.choice_list.sizeHintForColumn(0) + 24))
        self.choice_list.currentRowChanged.connect(self._choice_changed)

        self.about_label = QLabel(self)
        self.about_label.setWordWrap(True)
        self.about_label.setStyleSheet("color: #555555;")
        self.site_combo = QComboBox(self)
        self.site_combo.setObjectName("reportSite")
        self.site_combo.currentIndexChanged.connect(lambda _i: self._fill_systems())
        # the period: a month, a year, or a range of days
        self.year_spin = QSpinBox(self)
        self.year_spin.setRange(2000, 2100)
        self.year_spin.setValue(today.year)
        self.month_combo = QComboBox(self)
        for month in range(1, 13):
            self.month_combo.addItem(_("{month} month").format(month=month), month)
        last_month = (today.replace(day=1) - dt.timedelta(days=1)) if today.day < 5 else today
        self.month_combo.setCurrentIndex(last_month.month - 1)
        if last_month.year != today.year:
            self.year_spin.setValue(last_month.year)
        self.date_from = QDateEdit(_qdate(today.replace(day=1)), self)
        self.date_to = QDateEdit(_qdate(today), self)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.to_label = QLabel(_("to"), self)
        period = QHBoxLayout()
        period.setContentsMargins(0, 0, 0, 0)
        for widget in (self.year_spin, self.month_combo, self.date_from, self.to_label, self.date_to):
            period.addWidget(widget)
        period.addStretch(1)
        # the ledger's filter
        self.system_combo = QComboBox(self)
        self.module_combo = QComboBox(self)
        self.category_combo = QComboBox(self)
        self.outcome_combo = QComboBox(self)
        self.text_edit = QLineEdit(self)
        self.text_edit.setPlaceholderText(_("Words in the question or answer (optional)"))
        self.system_combo.currentIndexChanged.connect(lambda _i: self._fill_modules())
        self.outcome_combo.addItem(_("All"), None)
        for outcome, label in OUTCOME_LABELS.items():
            self.outcome_combo.addItem(_(label), outcome.value)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, self, _("&Site:"), self.site_combo)
        form.addRow(QLabel(_("Period:"), self), period)
        self.filter_widgets: list[QWidget] = []
        row_widgets: tuple[tuple[str, QWidget], ...] = (
            (_("S&ystem:"), self.system_combo),
            (_("&Module:"), self.module_combo),
            (_("&Category:"), self.category_combo),
            (_("&Handling:"), self.outcome_combo),
            (_("&Words:"), self.text_edit),
        )
        for text, field in row_widgets:
            add_row(form, self, text, field)
            self.filter_widgets += [field, form.labelForField(field)]

        self.preview_button = QPushButton(_("&Preview and print…"), self)
        self.preview_button.setObjectName("reportPreview")
        self.preview_button.setDefault(True)
        self.preview_button.clicked.connect(self.preview)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.preview_button)

        right = QVBoxLayout()
        self.title_label = QLabel(self)
        self.title_label.setStyleSheet("font-size: 16px; font-weight: bold;")
        right.addWidget(self.title_label)
        right.addWidget(self.about_label)
        right.addSpacing(8)
        right.addLayout(form)
        right.addLayout(buttons)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(self.choice_list)
        layout.addLayout(right, 1)

    # --- choices -------------------------------------------------------------------------------------

    def reload_choices(self) -> None:
        """Sites, systems, modules and categories (a handful of rows: read at once)."""
        with self.mw.ctx.db.session() as session:
            self._sites = [(s.id, s.name) for s in reference.list_sites(session)]
            self._systems = {
                site_id: [(s.id, s.name) for s in reference.list_systems(session, site_id)]
                for site_id, _name in self._sites
            }
            self._modules = {
                system_id: [(m.id, m.name) for m in reference.list_modules(session, system_id)]
                for systems in self._systems.values()
                for system_id, _name in systems
            }
            self._categories = [(c.id, c.name) for c in reference.list_categories(session)]
        current = self.site_combo.currentData() or self.mw.site_id
        self.site_combo.blockSignals(True)
        self.site_combo.clear()
        for site_id, name in self._sites:
            self.site_combo.addItem(name, site_id)
        self.site_combo.setCurrentIndex(max(self.site_combo.findData(current), 0))
        self.site_combo.blockSignals(False)
        self.category_combo.clear()
        self.category_combo.addItem(_("All"), None)
        for category_id, name in self._categories:
            self.category_combo.addItem(name, category_id)
        self._fill_systems()

    def _fill_systems(self) -> None:
        self.system_combo.blockSignals(True)
        self.system_combo.clear()
        self.system_combo.addItem(_("All"), None)
        for system_id, name in self._systems.get(str(self.site_combo.currentData() or ""), []):
            self.system_combo.addItem(name, system_id)
        self.system_combo.blockSignals(False)
        self._fill_modules()

    def _fill_modules(self) -> None:
        self.module_combo.clear()
        self.module_combo.addItem(_("All"), None)
        for module_id, name in self._modules.get(str(self.system_combo.currentData() or ""), []):
            self.module_combo.addItem(name, module_id)
        self.module_combo.setEnabled(self.system_combo.currentData() is not None)

    @property
    def choice(self) -> Choice:
        return CHOICES[max(self.choice_list.currentRow(), 0)]

    def _choice_changed(self, _row: int) -> None:
        choice = self.choice
        self.title_label.setText(_(choice.label))
        self.about_label.setText(_(choice.about))
        self.year_spin.setVisible(choice.period in ("month", "year"))
        self.month_combo.setVisible(choice.period == "month")
        for range_widget in (self.date_from, self.to_label, self.date_to):
            range_widget.setVisible(choice.period == "range")
        for filter_widget in self.filter_widgets:
            if filter_widget is not None:
                filter_widget.setVisible(choice.kind is ReportKind.LEDGER)

    def request(self) -> ReportRequest:
        choice = self.choice
        if choice.period == "month":
            date_from, date_to = documents.month_period(
                self.year_spin.value(), int(self.month_combo.currentData())
            )
        elif choice.period == "year":
            date_from, date_to = documents.year_period(self.year_spin.value())
        else:
            date_from, date_to = _day(self.date_from.date()), _day(self.date_to.date())
        ledger = choice.kind is ReportKind.LEDGER
        return ReportRequest(
            choice.kind,
            site_id=str(self.site_combo.currentData() or ""),
            date_from=date_from,
            date_to=date_to,
            system_id=self.system_combo.currentData() if ledger else None,
            module_id=self.module_combo.currentData() if ledger else None,
            category_id=self.category_combo.currentData() if ledger else None,
            outcome=self.outcome_combo.currentData() if ledger else None,
            text=self.text_edit.text().strip() if ledger else "",
        )

    # --- building ------------------------------------------------------------------------------------

    def preview(self) -> None:
        show_report(self.mw, self.request(), self)

    def _on_changes(self, changes: OpChanges) -> None:
        if changes.reference:
            self.reload_choices()


def show_report(mw: Any, request: ReportRequest, parent: QWidget | None = None) -> Any:
    """Build ``request`` in the background (progress, Cancel) and open it in the print preview."""
    ctx = mw.ctx

    def work(op: OpContext) -> BuiltReport:
        try:
            return documents.build_report(
                ctx,
                request,
                dt.datetime.now(dt.UTC),
                lambda done, total: op.progress(done, total, ""),
                lambda: op.cancelled,
            )
        except documents.ReportCancelled as exc:
            raise Cancelled from exc

    def done(built: BuiltReport) -> None:
        from ui.reports.preview import PrintPreview

        PrintPreview(mw, built.title, built.pdf, built.file_name, built.sheets).show()

    return mw.op(work).on_reports_lane().with_progress(_("Preparing the document…")).success(done).run()
