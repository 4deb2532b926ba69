"""Settings → 服务时限规则: the service-level policy of each site, edited by a supervisor.

The editor works on the policy's JSON form (``Policy.to_dict``), so whatever is typed — a 0-minute
target, an empty severity name — stays in the fields until the model (``Policy.from_dict``) accepts it.
Its problems are listed under the rules, translated, the rules and the tab they concern are marked,
and nothing is saved while there are any. Saving runs ``sla_config.save_policy`` (or ``add_policy`` for
a site without a policy) in the background; it recomputes the deadlines of open tickets, and
``OpChanges(tickets=True)`` tells the ticket views.

The rules are a table (first matching rule wins, so rows move up and down) whose "preview" column says
each rule in words; the selected rule is edited in the form under it.

Page contract: ``check()`` refuses an unsaved edit the model rejects, ``save()`` saves an unsaved edit
when the dialog's OK is pressed. The page's own Save button saves without closing the dialog.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session

from app.errors import UserFacingError, ValidationError
from app.i18n import N_, _
from app.services import reference, sla_config
from app.sla.formatting import format_amount, join_labels
from app.sla.policy import (
    FORMAT_VERSION,
    MAX_TARGET_MINUTES,
    Anchor,
    Counting,
    Policy,
    PolicyError,
    Rule,
    Target,
    TargetKind,
    TimeWindow,
)
from app.sync import local
from ui import dialogs
from ui.changes import OpChanges
from ui.operations import OpContext, show_error
from ui.widgets.field_errors import ERROR_STYLE, ERROR_TEXT_STYLE
from ui.widgets.forms import add_row

JsonDict = dict[str, Any]

NOTE_STYLE = "color: palette(mid);"
OK_STYLE = "color: #2e7d32;"
PROBLEM_ROW = QColor("#fbe3e2")

# How a rule's report-time window reads in a preview ("工作时间内报修 → 1小时内响应").
_WINDOW_CONDITIONS = {
    TimeWindow.WORKING_HOURS: N_("Reported inside working hours"),
    TimeWindow.OUTSIDE_WORKING_HOURS: N_("Reported outside working hours"),
    TimeWindow.NON_WORKING_DAY: N_("Reported on a non-working day"),
    TimeWindow.HOLIDAY: N_("Reported on a statutory holiday"),
}
_WITHIN = {
    TargetKind.RESPONSE: N_("respond within {amount}"),
    TargetKind.ON_SITE: N_("on site within {amount}"),
    TargetKind.RESOLUTION: N_("resolved within {amount}"),
}
_BY_AGREEMENT = {
    TargetKind.RESPONSE: N_("response time by agreement"),
    TargetKind.ON_SITE: N_("on-site arrival by agreement"),
    TargetKind.RESOLUTION: N_("resolution time by agreement"),
}
_ANCHOR_LABELS = {
    Anchor.REPORTED: N_("from the report"),
    Anchor.ON_SITE_DECISION: N_("from the on-site decision"),
}
_STARTER_MINUTES = {TargetKind.RESPONSE: 30, TargetKind.ON_SITE: 480, TargetKind.RESOLUTION: 120}


# --- what the background read hands over ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SitePolicy:
    """A site and the policy its editor shows: the one new tickets of the site get (or, if every policy
    of the site is retired, the first of them); ``policy_id`` None when the site has none yet."""

    site_id: str
    site_name: str
    site_code: str
    policy_id: str | None
    active: bool
    body: JsonDict  # the policy's JSON form; a starting point when there is none or it is unreadable
    problems: tuple[str, ...]  # why the stored policy cannot be read

    @property
    def has_contract(self) -> bool:
        return self.site_code in sla_config.DEFAULT_POLICIES


@dataclass(frozen=True, slots=True)
class EditorData:
    sites: tuple[SitePolicy, ...]
    categories: tuple[str, ...]  # names of the call categories in use (what rules match on)


def starter_policy(site_code: str, site_name: str) -> JsonDict:
    """A first policy for a site: its contract's, if the app ships one, else one plain rule."""
    factory = sla_config.DEFAULT_POLICIES.get(site_code)
    if factory is not None:
        return factory().to_dict()
    return Policy(
        site=site_code,
        name=_("{site} service").format(site=site_name),
        rules=(Rule(_("Every report"), (Target(TargetKind.RESPONSE, 60),)),),
    ).to_dict()


def read_editor_data(session: Session) -> EditorData:
    """Sites, their policies and the category names (runs in the background)."""
    entries = sla_config.list_policies(session)
    sites = []
    for site in reference.list_sites(session):
        mine = [e for e in entries if e.site_id == site.id]
        chosen_id = sla_config.site_policy_id(session, site.id)
        entry = next((e for e in mine if e.id == chosen_id), mine[0] if mine else None)
        starter = starter_policy(site.code, site.name)
        if entry is None:
            sites.append(SitePolicy(site.id, site.name, site.code, None, True, starter, ()))
            continue
        body = entry.policy.to_dict() if entry.policy is not None else starter
        sites.append(SitePolicy(site.id, site.name, site.code, entry.id, entry.active, body, entry.problems))
    categories = tuple(c.name for c in reference.list_categories(session))
    return EditorData(tuple(sites), categories)


# --- the policy in words --------------------------------------------------------------------------


def _minutes_text(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return format_amount(dt.timedelta(minutes=value))
    return str(value)


def describe_target(target: Mapping[str, Any]) -> str:
    """One target in words: "1小时内响应", "确定需上门后8小时内到达现场", "响应时间按约定"."""
    try:
        kind = TargetKind(str(target.get("kind")))
    except ValueError:
        return "?"
    minutes = target.get("minutes")
    if minutes is None:
        return _(_BY_AGREEMENT[kind])
    amount = _minutes_text(minutes)
    if target.get("counting") == Counting.BUSINESS.value:
        amount = _("{amount} of working time").format(amount=amount)
    text = _(_WITHIN[kind]).format(amount=amount)
    if target.get("anchor") == Anchor.ON_SITE_DECISION.value:
        text = _("after the on-site decision, {target}").format(target=text)
    return text


def describe_rule(rule: Mapping[str, Any], severity_names: Mapping[str, str]) -> str:
    """A rule in words: "工作时间内报修 → 1小时内响应，确定需上门后8小时内到达现场"."""
    conditions: list[str] = []
    try:
        window = TimeWindow(rule.get("window", TimeWindow.ANY.value))
    except ValueError:
        window = TimeWindow.ANY
    if window is not TimeWindow.ANY:
        conditions.append(_(_WINDOW_CONDITIONS[window]))
    keys = list(rule.get("severities") or [])
    if keys:
        names = "/".join(severity_names.get(key, key) for key in keys)
        conditions.append(_("severity {severity}").format(severity=names))
    categories = list(rule.get("categories") or [])
    if categories:
        conditions.append(_("category {category}").format(category="/".join(categories)))
    targets = list(rule.get("targets") or [])
    said = join_labels(describe_target(t) for t in targets) if targets else _("no deadline")
    return _("{conditions} → {targets}").format(
        conditions=join_labels(conditions) if conditions else _("Every report"), targets=said
    )


def _split_list(text: str) -> list[str]:
    return [piece.strip() for piece in re.split(r"[,，、;；\s]+", text) if piece.strip()]


def _numbers(text: str) -> list[int | str]:
    """Whole numbers where they are ("25, 50"); anything else is passed on for the model to name."""
    values: list[int | str] = []
    for piece in _split_list(unicodedata.normalize("NFKC", text)):
        values.append(int(piece) if piece.isascii() and piece.isdigit() else piece)
    return values


def validate(data: JsonDict) -> tuple[Policy | None, tuple[str, ...]]:
    """The policy, or the model's problems with it."""
    try:
        return Policy.from_dict(copy.deepcopy(data)), ()
    except PolicyError as exc:
        return None, exc.problems


def locate_problems(data: JsonDict) -> tuple[bool, list[bool]]:
    """Whether the general part (hours, severities, warnings, call-back) has problems, and which rules
    do: each part checked by the model on its own, so no message text needs to be read."""
    plain_rule = {"name": "", "severities": [], "categories": [], "window": "any", "targets": []}
    # the policy's name is above the tabs and marked there
    general_bad = validate({**data, "name": "-", "rules": [plain_rule]})[0] is None
    # rules only need the severities' codes: a severity's own problems belong to the general part
    keys = {str(s.get("key", "")).strip() for s in data.get("severities", []) if isinstance(s, dict)}
    severities = [{"key": key, "name": "-"} for key in sorted(keys - {""})] or [{"key": "-", "name": "-"}]
    base = {
        **data,
        "name": "-",
        "site": "-",
        "working_hours": ["08:00-18:00"],
        "severities": severities,
        "callback": None,
        "warnings": {"percent_left": [], "minutes_left": []},
    }
    rules_bad = [validate({**base, "rules": [rule]})[0] is None for rule in data.get("rules", [])]
    return general_bad, rules_bad


# --- widgets --------------------------------------------------------------------------------------


def _note(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setStyleSheet(NOTE_STYLE)
    return label


def _plain_button(text: str, parent: QWidget, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(text, parent)
    button.setAutoDefault(False)  # Return in a field presses the dialog's OK, not this button
    button.clicked.connect(lambda _checked=False: slot())
    return button


def _minutes_spin(parent: QWidget) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(0, MAX_TARGET_MINUTES)  # 0 can be typed: the model says why it cannot be saved
    spin.setSuffix(_(" min"))
    spin.setSingleStep(10)
    spin.setMinimumWidth(86)
    spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return spin


def _compact(combo: QComboBox, characters: int = 8) -> QComboBox:
    """A combo as wide as a few characters, not as its longest entry (the list still shows all)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    return combo


def _select(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(index if index >= 0 else 0)


class TargetRow:
    """One target of the selected rule: whether the rule sets it, how long, how counted, from when."""

    def __init__(self, kind: TargetKind, parent: QWidget, grid: QGridLayout, row: int) -> None:
        self.kind = kind
        self.enabled = QCheckBox(kind.label(), parent)
        self.enabled.setObjectName(f"target_{kind.value}")
        self.minutes = _minutes_spin(parent)
        self.minutes.setObjectName(f"minutes_{kind.value}")
        self.agreement = QCheckBox(_("By agreement"), parent)
        self.agreement.setToolTip(
            _("No automatic deadline: the engineer agrees one with the caller and may enter it by hand.")
        )
        self.counting = _compact(QComboBox(parent), 6)
        for counting in Counting:
            self.counting.addItem(counting.label(), counting.value)
        self.anchor = _compact(QComboBox(parent), 9)
        for anchor in Anchor:
            self.anchor.addItem(_(_ANCHOR_LABELS[anchor]), anchor.value)
        self.pausable = QCheckBox(_("Pauses"), parent)
        self.pausable.setToolTip(
            _("The countdown stops while the ticket waits for the user or a third party.")
        )
        for column, widget in enumerate(
            (self.enabled, self.minutes, self.agreement, self.counting, self.anchor, self.pausable)
        ):
            grid.addWidget(widget, row, column)
        self.enabled.toggled.connect(lambda _on: self._update_enabled())
        self.agreement.toggled.connect(lambda _on: self._update_enabled())

    def widgets(self) -> tuple[QWidget, ...]:
        return (self.enabled, self.minutes, self.agreement, self.counting, self.anchor, self.pausable)

    def fill(self, target: Mapping[str, Any] | None) -> None:
        self.enabled.setChecked(target is not None)
        if target is None:  # what the row offers when it is ticked
            self.agreement.setChecked(False)
            self.minutes.setValue(_STARTER_MINUTES[self.kind])
            _select(self.counting, Counting.CLOCK.value)
            anchor = Anchor.ON_SITE_DECISION if self.kind is TargetKind.ON_SITE else Anchor.REPORTED
            _select(self.anchor, anchor.value)
            self.pausable.setChecked(self.kind is TargetKind.RESOLUTION)
        else:
            minutes = target.get("minutes")
            self.agreement.setChecked(minutes is None)
            if isinstance(minutes, int) and not isinstance(minutes, bool):
                self.minutes.setValue(minutes)
            _select(self.counting, target.get("counting"))
            _select(self.anchor, target.get("anchor"))
            self.pausable.setChecked(bool(target.get("pausable", self.kind is TargetKind.RESOLUTION)))
        self._update_enabled()

    def value(self) -> JsonDict | None:
        if not self.enabled.isChecked():
            return None
        return {
            "kind": self.kind.value,
            "minutes": None if self.agreement.isChecked() else self.minutes.value(),
            "counting": self.counting.currentData(),
            "anchor": self.anchor.currentData(),
            "pausable": self.pausable.isChecked(),
        }

    def _update_enabled(self) -> None:
        on = self.enabled.isChecked()
        for widget in (self.agreement, self.anchor, self.pausable):
            widget.setEnabled(on)
        timed = on and not self.agreement.isChecked()
        self.minutes.setEnabled(timed)
        self.counting.setEnabled(timed)


class PolicyPage(QWidget):
    """服务时限规则."""

    def __init__(self, mw: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self.setObjectName("PolicyPage")
        self.data: EditorData | None = None
        self._site: SitePolicy | None = None
        self._rules: list[JsonDict] = []
        self._snapshot: JsonDict | None = None  # what the fields held after they were filled
        self._filling = False
        self._busy = False
        self._live_check = False  # after a refused save, problems follow every edit
        self._site_index = -1
        self._site_code = ""
        self._tab_titles = (_("Rules"), _("Hours, severities and warnings"))

        intro = _note(
            _(
                "Saved changes apply at once to the open tickets here, and to every other computer after "
                "its next sync."
            ),
            self,
        )
        self.role_note = _note(sla_config.not_a_supervisor_message(), self)
        self.role_note.setObjectName("roleNote")
        self.role_note.setStyleSheet("QLabel { color: #b35c00; }")
        self.role_note.hide()
        self._may_change = True
        self._locked = False
        self._severity_triggers = QAbstractItemView.EditTrigger.NoEditTriggers
        self.site_combo = QComboBox(self)
        self.site_combo.setObjectName("policySite")
        self.site_combo.currentIndexChanged.connect(self._site_picked)
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("policyName")
        self.name_edit.setMaxLength(100)
        self.state_note = QLabel(self)
        self.state_note.setObjectName("policyState")
        self.state_note.setWordWrap(True)
        self.state_note.hide()
        self.activate_button = _plain_button(_("Use it again"), self, self.activate_policy)
        self.activate_button.hide()
        site_label = QLabel(_("S&ite:"), self)
        site_label.setBuddy(self.site_combo)
        name_label = QLabel(_("Policy &name:"), self)
        name_label.setBuddy(self.name_edit)
        top = QHBoxLayout()
        top.addWidget(site_label)
        top.addWidget(self.site_combo, 2)
        top.addSpacing(12)
        top.addWidget(name_label)
        top.addWidget(self.name_edit, 3)
        state_row = QHBoxLayout()
        state_row.addWidget(self.state_note, 1)
        state_row.addWidget(self.activate_button)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("policyTabs")
        for tab, title in zip(
            (self._build_rules_tab(), self._build_general_tab()), self._tab_titles, strict=True
        ):
            self.tabs.addTab(tab, title)

        self.problems_label = QLabel(self)
        self.problems_label.setObjectName("policyProblems")
        self.problems_label.setStyleSheet(ERROR_TEXT_STYLE)
        self.problems_label.setWordWrap(True)
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems_label.hide()
        self.save_button = _plain_button(_("&Save policy"), self, self.save_now)
        self.save_button.setObjectName("savePolicy")
        self.discard_button = _plain_button(_("&Discard changes"), self, self.discard)
        self.restore_button = _plain_button(_("Restore contract defaults…"), self, self.restore_defaults)
        self.restore_button.setObjectName("restoreContract")
        self.status_label = QLabel(self)
        self.status_label.setObjectName("policyStatus")
        self.status_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.discard_button)
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.status_label, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addWidget(self.role_note)
        layout.addLayout(top)
        layout.addLayout(state_row)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.problems_label)
        layout.addLayout(buttons)

        self._connect_changes()
        self.setEnabled(False)  # until the first read arrives
        mw.taskman.operation_did_execute.connect(self._on_changes)
        self.load()

    # --- building -----------------------------------------------------------------------------------

    def _build_rules_tab(self) -> QWidget:
        content = QWidget(self)
        order_note = _note(
            _("Rules are tried from the top: the first one that fits a ticket applies."), content
        )
        self.rules_table = QTableWidget(0, 3, content)
        self.rules_table.setObjectName("rulesTable")
        self.rules_table.setHorizontalHeaderLabels(["#", _("Rule name"), _("Preview")])
        self.rules_table.verticalHeader().hide()
        self.rules_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rules_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rules_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rules_table.setWordWrap(False)
        header = self.rules_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        # four rows, so that the selected rule's form below stays in sight
        rows_height = 4 * self.rules_table.verticalHeader().defaultSectionSize()
        self.rules_table.setFixedHeight(
            rows_height
            + self.rules_table.horizontalHeader().sizeHint().height()
            + 2 * self.rules_table.frameWidth()
        )
        self.rules_table.currentCellChanged.connect(lambda row, *_a: self._rule_selected(row))

        self.add_rule_button = _plain_button(_("&Add rule"), content, self.add_rule)
        self.remove_rule_button = _plain_button(_("Re&move"), content, self.remove_rule)
        self.up_button = _plain_button(_("Move &up"), content, lambda: self.move_rule(-1))
        self.down_button = _plain_button(_("Move do&wn"), content, lambda: self.move_rule(1))
        side = QVBoxLayout()
        for button in (self.add_rule_button, self.remove_rule_button, self.up_button, self.down_button):
            side.addWidget(button)
        side.addStretch(1)
        table_row = QHBoxLayout()
        table_row.addWidget(self.rules_table, 1)
        table_row.addLayout(side)

        self.rule_box = QGroupBox(_("Selected rule"), content)
        self.rule_name_edit = QLineEdit(self.rule_box)
        self.rule_name_edit.setObjectName("ruleName")
        self.rule_name_edit.setMaxLength(100)
        self.window_combo = _compact(QComboBox(self.rule_box), 8)
        self.window_combo.setObjectName("ruleWindow")
        for window in TimeWindow:
            self.window_combo.addItem(window.label(), window.value)
        self.severity_checks_row = QHBoxLayout()
        self.category_checks_row = QHBoxLayout()
        self.severity_checks: dict[str, QCheckBox] = {}
        self.category_checks: dict[str, QCheckBox] = {}
        targets = QGridLayout()
        targets.setHorizontalSpacing(10)
        self.target_rows = {
            kind: TargetRow(kind, self.rule_box, targets, row) for row, kind in enumerate(TargetKind)
        }
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        name_row = QHBoxLayout()
        name_row.addWidget(self.rule_name_edit, 1)
        window_label = QLabel(_("Re&ported:"), self.rule_box)
        window_label.setBuddy(self.window_combo)
        name_row.addSpacing(12)
        name_row.addWidget(window_label)
        name_row.addWidget(self.window_combo)
        name_label = QLabel(_("Na&me:"), self.rule_box)
        name_label.setBuddy(self.rule_name_edit)
        form.addRow(name_label, name_row)
        form.addRow(_("Severity:"), self.severity_checks_row)
        form.addRow(_("Category:"), self.category_checks_row)
        box_layout = QVBoxLayout(self.rule_box)
        box_layout.addLayout(form)
        box_layout.addLayout(targets)  # the full width: each row's tick box names its target

        layout = QVBoxLayout(content)
        layout.addWidget(order_note)
        layout.addLayout(table_row)
        layout.addWidget(self.rule_box)
        layout.addStretch(1)
        return self._scrolled(content)

    def _build_general_tab(self) -> QWidget:
        content = QWidget(self)
        self.hours_edit = QLineEdit(content)
        self.hours_edit.setObjectName("workingHours")
        self.hours_edit.setPlaceholderText("08:00-18:00")
        hours_note = _note(
            _(
                "On every working day. Several intervals are separated by commas, e.g. "
                "08:00-12:00, 13:30-18:00. Which days are working days is set in the working-day calendar."
            ),
            content,
        )

        self.severity_table = QTableWidget(0, 2, content)
        self.severity_table.setObjectName("severityTable")
        self.severity_table.setHorizontalHeaderLabels([_("Code"), _("Shown as")])
        self.severity_table.verticalHeader().hide()
        self.severity_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.severity_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.severity_table.horizontalHeader().setStretchLastSection(True)
        self.severity_table.setFixedHeight(
            3 * self.severity_table.verticalHeader().defaultSectionSize()
            + self.severity_table.horizontalHeader().sizeHint().height()
            + 2 * self.severity_table.frameWidth()
        )
        self.severity_table.itemChanged.connect(self._severity_edited)
        self.severity_table.currentCellChanged.connect(lambda *_a: self._update_buttons())
        self.add_severity_button = _plain_button(_("Add se&verity"), content, self.add_severity)
        self.remove_severity_button = _plain_button(_("Remove severit&y"), content, self.remove_severity)
        severity_side = QVBoxLayout()
        severity_side.addWidget(self.add_severity_button)
        severity_side.addWidget(self.remove_severity_button)
        severity_side.addStretch(1)
        severity_row = QHBoxLayout()
        severity_row.addWidget(self.severity_table, 1)
        severity_row.addLayout(severity_side)
        severity_note = _note(
            _("The code is stored on tickets, so a saved code cannot be changed; the name can."), content
        )

        self.percent_edit = QLineEdit(content)
        self.percent_edit.setObjectName("warnPercent")
        self.minutes_left_edit = QLineEdit(content)
        self.minutes_left_edit.setObjectName("warnMinutes")
        for edit in (self.percent_edit, self.minutes_left_edit):
            edit.setMaximumWidth(120)
        warn_percent = QHBoxLayout()
        warn_percent.addWidget(self.percent_edit)
        warn_percent.addWidget(QLabel(_("% of the time left"), content))
        warn_percent.addStretch(1)
        warn_minutes = QHBoxLayout()
        warn_minutes.addWidget(self.minutes_left_edit)
        warn_minutes.addWidget(QLabel(_("minutes left"), content))
        warn_minutes.addStretch(1)
        warn_note = _note(_("Several thresholds are separated by commas, e.g. 50, 25."), content)

        self.callback_check = QCheckBox(
            _("A missed or after-hours call becomes a call-back task with a countdown"), content
        )
        self.callback_check.setObjectName("callbackRule")
        self.callback_minutes = _minutes_spin(content)
        self.callback_minutes.setObjectName("callbackMinutes")
        self.callback_counting = _compact(QComboBox(content), 6)
        for counting in Counting:
            self.callback_counting.addItem(counting.label(), counting.value)
        self.callback_window = _compact(QComboBox(content), 8)
        for window in TimeWindow:
            self.callback_window.addItem(window.label(), window.value)
        self.callback_check.toggled.connect(lambda _on: self._update_callback_enabled())
        callback_row = QHBoxLayout()
        callback_row.addWidget(QLabel(_("Call back within"), content))
        callback_row.addWidget(self.callback_minutes)
        callback_row.addWidget(self.callback_counting)
        callback_row.addSpacing(12)
        callback_row.addWidget(QLabel(_("for calls:"), content))
        callback_row.addWidget(self.callback_window)
        callback_row.addStretch(1)

        form = QFormLayout()
        outer = QVBoxLayout(content)
        outer.addLayout(form)
        outer.addStretch(1)  # spare height below the form, not inside its rows
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        hours_field = QVBoxLayout()
        hours_field.setSpacing(2)
        hours_field.addWidget(self.hours_edit)
        hours_field.addWidget(hours_note)
        add_row(form, content, _("&Working hours:"), self.hours_edit, hours_field)
        severity_field = QVBoxLayout()
        severity_field.setSpacing(2)
        severity_field.addLayout(severity_row)
        severity_field.addWidget(severity_note)
        form.addRow(_("Severities:"), severity_field)
        warnings_field = QVBoxLayout()
        warnings_field.setSpacing(2)
        warnings_field.addLayout(warn_percent)
        warnings_field.addLayout(warn_minutes)
        warnings_field.addWidget(warn_note)
        add_row(form, content, _("Warn &when:"), self.percent_edit, warnings_field)
        callback_field = QVBoxLayout()
        callback_field.setSpacing(2)
        callback_field.addWidget(self.callback_check)
        callback_field.addLayout(callback_row)
        add_row(form, content, _("&Call-back:"), self.callback_check, callback_field)
        return self._scrolled(content)

    def _scrolled(self, content: QWidget) -> QScrollArea:
        area = QScrollArea(self)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidget(content)
        return area

    def _connect_changes(self) -> None:
        for edit in (self.name_edit, self.hours_edit, self.percent_edit, self.minutes_left_edit):
            edit.textChanged.connect(lambda _t: self._edited())
        self.callback_check.toggled.connect(lambda _on: self._edited())
        self.callback_minutes.valueChanged.connect(lambda _v: self._edited())
        for combo in (self.callback_counting, self.callback_window):
            combo.currentIndexChanged.connect(lambda _i: self._edited())
        self.rule_name_edit.textChanged.connect(lambda _t: self._rule_edited())
        self.window_combo.currentIndexChanged.connect(lambda _i: self._rule_edited())
        for row in self.target_rows.values():
            for widget in row.widgets():
                if isinstance(widget, QCheckBox):
                    widget.toggled.connect(lambda _on: self._rule_edited())
                elif isinstance(widget, QSpinBox):
                    widget.valueChanged.connect(lambda _v: self._rule_edited())
                elif isinstance(widget, QComboBox):
                    widget.currentIndexChanged.connect(lambda _i: self._rule_edited())

    # --- loading ------------------------------------------------------------------------------------

    def load(self, site_id: str | None = None, rule_row: int = 0, status: str = "") -> None:
        """Read the sites and their policies in the background and show ``site_id``'s (default: the
        one shown now, else the window's site); ``status`` is said once the fields are filled."""
        wanted = site_id or (self._site.site_id if self._site is not None else self.mw.site_id)
        db = self.mw.ctx.db

        def work(_op: OpContext) -> EditorData:
            with db.session() as session:
                return read_editor_data(session)

        self.mw.op(work).success(lambda data: self._loaded(data, wanted, rule_row, status)).failure(
            self._load_failed
        ).run()

    def _loaded(self, data: EditorData, site_id: str, rule_row: int, status: str) -> None:
        if not isValid(self):
            return
        self.data = data
        self.setEnabled(True)
        with self.mw.ctx.db.session() as session:
            self._may_change = local.may_change_service_rules(session)
        self.role_note.setVisible(not self._may_change)
        self.site_combo.blockSignals(True)
        self.site_combo.clear()
        for site in data.sites:
            self.site_combo.addItem(site.site_name, site.site_id)
        index = max(self.site_combo.findData(site_id), 0)
        self.site_combo.setCurrentIndex(index)
        self.site_combo.blockSignals(False)
        self._site_index = index
        self._show_site(data.sites[index] if data.sites else None, rule_row)
        if status:
            self._show_status(status, ok=True)

    def _load_failed(self, error: BaseException) -> None:
        if not isValid(self):
            return
        if isinstance(error, UserFacingError):
            self._show_status(error.message, ok=False)
        else:
            show_error(self, error)

    def _show_site(self, site: SitePolicy | None, rule_row: int = 0) -> None:
        self._site = site
        self._live_check = False
        self._show_problems(())
        self._show_status("", ok=True)
        if site is None:
            self.tabs.setEnabled(False)
            return
        self.tabs.setEnabled(True)
        self._fill(site.body, rule_row)
        self._snapshot = self.assemble()
        if site.problems:
            self._show_problems(
                site.problems,
                _(
                    "The saved policy cannot be read, so the site's starting policy is shown; saving it "
                    "replaces the saved one:"
                ),
            )
        if site.policy_id is None:
            self.state_note.setText(
                _(
                    "This site has no service-level policy yet, so its tickets get no deadlines. "
                    "Below is a starting point; it takes effect when saved."
                )
            )
        elif not site.active:
            self.state_note.setText(_("This policy is retired: new tickets of the site do not get it."))
        self.state_note.setStyleSheet(ERROR_TEXT_STYLE)
        self.state_note.setVisible(site.policy_id is None or not site.active)
        self.activate_button.setVisible(site.policy_id is not None and not site.active)
        self.restore_button.setEnabled(site.has_contract)
        self.restore_button.setToolTip(
            "" if site.has_contract else _("The app ships no contract for this site.")
        )
        self._update_buttons()

    def _fill(self, body: JsonDict, rule_row: int) -> None:
        self._filling = True
        try:
            self._site_code = str(body.get("site") or (self._site.site_code if self._site else ""))
            self.name_edit.setText(str(body.get("name", "")))
            self.hours_edit.setText(", ".join(str(h) for h in body.get("working_hours", [])))
            self.severity_table.blockSignals(True)
            self.severity_table.setRowCount(0)
            for severity in body.get("severities", []):
                self._append_severity(str(severity.get("key", "")), str(severity.get("name", "")), saved=True)
            self.severity_table.blockSignals(False)
            warnings = body.get("warnings") or {}
            self.percent_edit.setText(", ".join(str(v) for v in warnings.get("percent_left", [])))
            self.minutes_left_edit.setText(", ".join(str(v) for v in warnings.get("minutes_left", [])))
            callback = body.get("callback")
            self.callback_check.setChecked(callback is not None)
            callback = callback or {"minutes": 30, "counting": "clock", "window": "non_working_day"}
            self.callback_minutes.setValue(int(callback.get("minutes", 30)))
            _select(self.callback_counting, callback.get("counting"))
            _select(self.callback_window, callback.get("window"))
            self._update_callback_enabled()
            self._rules = [self._normalised_rule(rule) for rule in body.get("rules", [])]
            self._rebuild_checks()
            self._fill_rules_table()
        finally:
            self._filling = False
        row = min(max(rule_row, 0), len(self._rules) - 1)
        self.rules_table.blockSignals(True)
        self.rules_table.setCurrentCell(row, 1)
        self.rules_table.blockSignals(False)
        self._rule_selected(row)

    @staticmethod
    def _normalised_rule(rule: Mapping[str, Any]) -> JsonDict:
        """A rule as the editor writes it back (targets in a fixed order), so that an untouched rule
        compares equal to what was loaded."""
        targets = {t.get("kind"): dict(t) for t in rule.get("targets", [])}
        return {
            "name": str(rule.get("name", "")),
            "severities": sorted(rule.get("severities", [])),
            "categories": sorted(rule.get("categories", [])),
            "window": rule.get("window", TimeWindow.ANY.value),
            "targets": [targets[k.value] for k in TargetKind if k.value in targets],
        }

    # --- the policy as the fields say ---------------------------------------------------------------

    def severities(self) -> list[tuple[str, str]]:
        result = []
        for row in range(self.severity_table.rowCount()):
            key_item, name_item = self.severity_table.item(row, 0), self.severity_table.item(row, 1)
            result.append(
                (
                    key_item.text().strip() if key_item is not None else "",
                    name_item.text().strip() if name_item is not None else "",
                )
            )
        return result

    def assemble(self) -> JsonDict:
        """The policy's JSON form from the fields (valid or not)."""
        hours = [p.strip() for p in re.split(r"[,，;；]", self.hours_edit.text()) if p.strip()]
        callback = None
        if self.callback_check.isChecked():
            callback = {
                "minutes": self.callback_minutes.value(),
                "counting": self.callback_counting.currentData(),
                "window": self.callback_window.currentData(),
            }
        return {
            "format": FORMAT_VERSION,
            "site": self._site_code,
            "name": self.name_edit.text().strip(),
            "working_hours": hours,
            "severities": [{"key": key, "name": name} for key, name in self.severities()],
            "rules": copy.deepcopy(self._rules),
            "callback": callback,
            "warnings": {
                "percent_left": _numbers(self.percent_edit.text()),
                "minutes_left": _numbers(self.minutes_left_edit.text()),
            },
        }

    def is_dirty(self) -> bool:
        return self._site is not None and self._snapshot is not None and self.assemble() != self._snapshot

    def _edited(self) -> None:
        if self._filling:
            return
        self._show_status("", ok=True)
        if self._live_check:
            self._check_now(switch_tab=False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        site = self._site
        dirty = self.is_dirty()
        can_save = site is not None and (dirty or site.policy_id is None or bool(site.problems))
        self.save_button.setEnabled(can_save and not self._busy)
        self.discard_button.setEnabled(dirty and not self._busy)
        self.restore_button.setEnabled(site is not None and site.has_contract and not self._busy)
        row = self.rules_table.currentRow()
        has_rule = 0 <= row < len(self._rules)
        self.remove_rule_button.setEnabled(has_rule and len(self._rules) > 1)
        self.up_button.setEnabled(has_rule and row > 0)
        self.down_button.setEnabled(has_rule and row < len(self._rules) - 1)
        self.remove_severity_button.setEnabled(self.severity_table.currentRow() >= 0)
        self._apply_role()

    def _apply_role(self) -> None:
        """For a login that may not change the rules: every field and button greyed; the site, the
        rules and the tabs can still be picked, so everything can be read."""
        if self._may_change and not self._locked:
            return
        inputs: list[QWidget] = []
        for kind in (QLineEdit, QComboBox, QSpinBox, QCheckBox, QPushButton):
            inputs += self.findChildren(kind)
        if self._may_change:  # became a supervisor while the page was open
            self._locked = False
            for widget in inputs:
                widget.setEnabled(True)
            self.severity_table.setEditTriggers(self._severity_triggers)
            self._update_buttons()
            return
        if not self._locked:
            self._severity_triggers = self.severity_table.editTriggers()
        self._locked = True
        for widget in inputs:
            if widget is not self.site_combo:
                widget.setEnabled(False)
        self.severity_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

    # --- rules --------------------------------------------------------------------------------------

    def _severity_names(self) -> dict[str, str]:
        return {key: name or key for key, name in self.severities() if key}

    def _fill_rules_table(self) -> None:
        current = self.rules_table.currentRow()
        self.rules_table.blockSignals(True)
        self.rules_table.setRowCount(len(self._rules))
        for row in range(len(self._rules)):
            self._fill_rule_row(row)
        self.rules_table.blockSignals(False)
        if 0 <= current < len(self._rules):
            self.rules_table.setCurrentCell(current, 1)

    def _fill_rule_row(self, row: int) -> None:
        rule = self._rules[row]
        preview = describe_rule(rule, self._severity_names())
        for column, text in enumerate((str(row + 1), rule.get("name") or _("(no name)"), preview)):
            item = self.rules_table.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                self.rules_table.setItem(row, column, item)
            item.setText(text)
            item.setToolTip(preview)

    def rule_row_of(self, name: str) -> int:
        return next((row for row, rule in enumerate(self._rules) if rule.get("name") == name), -1)

    def select_rule(self, row: int) -> None:
        self.rules_table.setCurrentCell(row, 1)

    def _rule_selected(self, row: int) -> None:
        has_rule = 0 <= row < len(self._rules)
        self.rule_box.setEnabled(has_rule)
        self._filling, was_filling = True, self._filling
        try:
            rule = self._rules[row] if has_rule else self._normalised_rule({})
            self.rule_name_edit.setText(rule["name"])
            _select(self.window_combo, rule["window"])
            for key, check in self.severity_checks.items():
                check.setChecked(key in rule["severities"])
            for name, check in self.category_checks.items():
                check.setChecked(name in rule["categories"])
            targets = {t.get("kind"): t for t in rule["targets"]}
            for kind, target_row in self.target_rows.items():
                target_row.fill(targets.get(kind.value))
        finally:
            self._filling = was_filling
        self._update_buttons()

    def _rule_edited(self) -> None:
        if self._filling:
            return
        row = self.rules_table.currentRow()
        if not 0 <= row < len(self._rules):
            return
        rule = self._rules[row]
        rule["name"] = self.rule_name_edit.text().strip()
        rule["window"] = self.window_combo.currentData()
        rule["severities"] = sorted(key for key, check in self.severity_checks.items() if check.isChecked())
        rule["categories"] = sorted(name for name, check in self.category_checks.items() if check.isChecked())
        rule["targets"] = [t for t in (r.value() for r in self.target_rows.values()) if t is not None]
        self._fill_rule_row(row)
        self._edited()

    def _rebuild_checks(self) -> None:
        """The severity and category tick boxes of the rule form; a value a rule names that is not (or
        no longer) offered gets a box too, so it can be seen and unticked."""
        names = self._severity_names()
        used_keys = {k for rule in self._rules for k in rule.get("severities", [])}
        severity_items = [(key, name) for key, name in names.items()]
        severity_items += [
            (k, _("{key} (not defined)").format(key=k)) for k in sorted(used_keys - set(names))
        ]
        categories = list(self.data.categories) if self.data is not None else []
        used_categories = {c for rule in self._rules for c in rule.get("categories", [])}
        category_items = [(c, c) for c in categories]
        category_items += [
            (c, _("{name} (retired)").format(name=c)) for c in sorted(used_categories - set(categories))
        ]
        self.severity_checks = self._make_checks(self.severity_checks_row, severity_items)
        self.category_checks = self._make_checks(self.category_checks_row, category_items)
        self._rule_selected(self.rules_table.currentRow())

    def _make_checks(self, row: QHBoxLayout, items: Sequence[tuple[str, str]]) -> dict[str, QCheckBox]:
        while row.count():
            item = row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        checks: dict[str, QCheckBox] = {}
        for value, text in items:
            check = QCheckBox(text, self.rule_box)
            check.toggled.connect(lambda _on: self._rule_edited())
            row.addWidget(check)
            checks[value] = check
        hint = _note(_("(none ticked: any)"), self.rule_box)
        hint.setWordWrap(False)
        row.addWidget(hint)
        row.addStretch(1)
        return checks

    def add_rule(self) -> None:
        row = self.rules_table.currentRow()
        insert_at = row + 1 if 0 <= row < len(self._rules) else len(self._rules)
        self._rules.insert(
            insert_at,
            self._normalised_rule(
                {
                    "name": _("New rule"),
                    "targets": [
                        {
                            "kind": TargetKind.RESPONSE.value,
                            "minutes": 60,
                            "counting": Counting.CLOCK.value,
                            "anchor": Anchor.REPORTED.value,
                            "pausable": False,
                        }
                    ],
                }
            ),
        )
        self._fill_rules_table()
        self.rules_table.setCurrentCell(insert_at, 1)
        self.rule_name_edit.setFocus()
        self.rule_name_edit.selectAll()
        self._edited()

    def remove_rule(self) -> None:
        row = self.rules_table.currentRow()
        if not 0 <= row < len(self._rules) or len(self._rules) <= 1:
            return
        del self._rules[row]
        self._fill_rules_table()
        self.rules_table.setCurrentCell(min(row, len(self._rules) - 1), 1)
        self._edited()

    def move_rule(self, step: int) -> None:
        row = self.rules_table.currentRow()
        target = row + step
        if not (0 <= row < len(self._rules) and 0 <= target < len(self._rules)):
            return
        self._rules[row], self._rules[target] = self._rules[target], self._rules[row]
        self._fill_rules_table()
        self.rules_table.setCurrentCell(target, 1)
        self._edited()

    # --- severities ---------------------------------------------------------------------------------

    def _append_severity(self, key: str, name: str, saved: bool) -> int:
        row = self.severity_table.rowCount()
        self.severity_table.insertRow(row)
        key_item = QTableWidgetItem(key)
        key_item.setData(Qt.ItemDataRole.UserRole, key)
        if saved:
            key_item.setFlags(key_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            key_item.setToolTip(_("The code is stored on tickets, so a saved code cannot be changed."))
        self.severity_table.setItem(row, 0, key_item)
        self.severity_table.setItem(row, 1, QTableWidgetItem(name))
        return row

    def add_severity(self) -> None:
        keys = {key for key, _name in self.severities()}
        number = len(keys) + 1
        while f"level{number}" in keys:
            number += 1
        self.severity_table.blockSignals(True)
        row = self._append_severity(f"level{number}", "", saved=False)
        self.severity_table.blockSignals(False)
        self._severities_changed()
        self.severity_table.setCurrentCell(row, 1)
        name_item = self.severity_table.item(row, 1)
        if name_item is not None:
            self.severity_table.editItem(name_item)  # the new severity's name is typed next

    def remove_severity(self) -> None:
        row = self.severity_table.currentRow()
        if row < 0:
            return
        self.severity_table.removeRow(row)
        self._severities_changed()

    def _severity_edited(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:  # a new severity's code: rules that ticked it follow
            old, new = item.data(Qt.ItemDataRole.UserRole), item.text().strip()
            if old and new and old != new:
                for rule in self._rules:
                    if old in rule["severities"]:
                        rule["severities"] = sorted({*rule["severities"], new} - {old})
            self.severity_table.blockSignals(True)
            item.setData(Qt.ItemDataRole.UserRole, new)
            self.severity_table.blockSignals(False)
        self._severities_changed()

    def _severities_changed(self) -> None:
        if self._filling:
            return
        self._rebuild_checks()
        self._fill_rules_table()
        self._edited()

    def _update_callback_enabled(self) -> None:
        on = self.callback_check.isChecked()
        for widget in (self.callback_minutes, self.callback_counting, self.callback_window):
            widget.setEnabled(on)

    # --- checking -----------------------------------------------------------------------------------

    def _check_now(self, switch_tab: bool) -> Policy | None:
        data = self.assemble()
        policy, problems = validate(data)
        self._show_problems(problems)
        self.name_edit.setStyleSheet(ERROR_STYLE if problems and not data["name"] else "")
        general_bad, rules_bad = locate_problems(data) if problems else (False, [])
        for row in range(self.rules_table.rowCount()):
            bad = row < len(rules_bad) and rules_bad[row]
            for column in range(self.rules_table.columnCount()):
                item = self.rules_table.item(row, column)
                if item is not None:
                    item.setBackground(QBrush(PROBLEM_ROW) if bad else QBrush())
        for index, (title, bad) in enumerate(
            zip(self._tab_titles, (any(rules_bad), general_bad), strict=True)
        ):
            self.tabs.setTabText(index, _("{tab} (needs attention)").format(tab=title) if bad else title)
        if switch_tab and problems:
            if any(rules_bad):
                self.tabs.setCurrentIndex(0)
                self.select_rule(rules_bad.index(True))
            elif general_bad:
                self.tabs.setCurrentIndex(1)
        return policy

    def _show_problems(self, problems: Sequence[str], heading: str | None = None) -> None:
        if not problems:
            self.problems_label.clear()
            self.problems_label.hide()
            for index, title in enumerate(self._tab_titles):
                self.tabs.setTabText(index, title)
            return
        lines = [heading or _("The policy cannot be saved yet:")]
        lines += [_("• {problem}").format(problem=problem) for problem in problems]
        self.problems_label.setText("\n".join(lines))
        self.problems_label.show()

    def _show_status(self, text: str, ok: bool) -> None:
        self.status_label.setStyleSheet(OK_STYLE if ok else ERROR_TEXT_STYLE)
        self.status_label.setText(text)

    # --- the page contract --------------------------------------------------------------------------

    def check(self) -> bool:
        """An unsaved edit must be one the model accepts (it is saved by ``save``)."""
        if not self.is_dirty():
            return True
        self._live_check = True
        return self._check_now(switch_tab=True) is not None

    def save(self) -> None:
        """The dialog's OK: save an unsaved edit (already checked) in the background."""
        if not self.is_dirty():
            return
        policy = self._check_now(switch_tab=False)
        if policy is not None:
            self._start_save(policy, _("Saved."))

    # --- saving -------------------------------------------------------------------------------------

    def save_now(self) -> None:
        """The page's Save button: check with the model, then save in the background."""
        if self._site is None or self._busy:
            return
        self._live_check = True
        policy = self._check_now(switch_tab=True)
        if policy is None:
            self._show_status("", ok=True)
            return
        self._start_save(policy, _("Saved. The deadlines of open tickets follow the new policy."))

    def restore_defaults(self) -> None:
        site = self._site
        factory = sla_config.DEFAULT_POLICIES.get(site.site_code) if site is not None else None
        if site is None or factory is None or self._busy:
            return
        question = _(
            "Restore the contract's service levels for {site}? Every change made to its policy is "
            "replaced, and the deadlines of the site's open tickets are recomputed."
        ).format(site=site.site_name)
        if not dialogs.ask(self, question):
            return
        self._start_save(factory(), _("The contract's service levels are restored."))

    def _start_save(self, policy: Policy, done_text: str) -> None:
        site = self._site
        if site is None:
            return
        ctx, now = self.mw.ctx, self.mw.ticker.now()
        policy_id, site_id = site.policy_id, site.site_id
        rule_row = max(self.rules_table.currentRow(), 0)

        def work(_op: OpContext) -> str:
            with ctx.uow() as uow:
                if policy_id is None:
                    return str(sla_config.add_policy(uow, site_id, policy).id)
                sla_config.save_policy(uow, policy_id, policy, now)
                return policy_id

        self._set_busy(True)
        self._show_status(_("Saving…"), ok=True)
        (
            self.mw.op(work)
            .success(lambda _id: self._saved(site_id, rule_row, done_text))
            .failure(self._save_failed)
            .changes(OpChanges(tickets=True))
            .run()
        )

    def _set_busy(self, busy: bool) -> None:
        """While a save runs nothing can be typed: the fields are read again when it is done."""
        self._busy = busy
        for widget in (self.site_combo, self.name_edit, self.tabs):
            widget.setEnabled(not busy)
        self._update_buttons()

    def _saved(self, site_id: str, rule_row: int, text: str) -> None:
        if not isValid(self):
            return
        self._set_busy(False)
        self.load(site_id, rule_row, status=text)

    def _save_failed(self, error: BaseException) -> None:
        if not isValid(self):
            show_error(self.mw, error)
            return
        self._set_busy(False)
        if not self.isVisible():
            show_error(self.mw, error)  # the dialog was closed with OK meanwhile
            return
        if isinstance(error, PolicyError):
            self._show_problems(error.problems)
            self._show_status("", ok=True)
        elif isinstance(error, ValidationError):
            self._show_status("\n".join(error.fields.values()), ok=False)
        elif isinstance(error, UserFacingError):
            self._show_status(error.message, ok=False)  # what was typed stays
        else:
            self._show_status("", ok=True)
            show_error(self, error)

    def activate_policy(self) -> None:
        site = self._site
        if site is None or site.policy_id is None or self._busy:
            return
        ctx, policy_id, site_id = self.mw.ctx, site.policy_id, site.site_id

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                sla_config.set_policy_active(uow, policy_id, True)

        self._set_busy(True)
        (
            self.mw.op(work)
            .success(lambda _r: self._saved(site_id, 0, _("New tickets of the site get this policy again.")))
            .failure(self._save_failed)
            .changes(OpChanges(tickets=True))
            .run()
        )

    # --- switching sites, discarding ------------------------------------------------------------------

    def _site_picked(self, index: int) -> None:
        if self.data is None or index == self._site_index or not 0 <= index < len(self.data.sites):
            return
        if self.is_dirty():
            question = _("Discard the changes to the policy of {site}?").format(
                site=self._site.site_name if self._site is not None else ""
            )
            if not dialogs.ask(self, question):
                self.site_combo.blockSignals(True)
                self.site_combo.setCurrentIndex(self._site_index)
                self.site_combo.blockSignals(False)
                return
        self._site_index = index
        self._show_site(self.data.sites[index])

    def discard(self) -> None:
        if self._site is not None:
            self._show_site(self._site, self.rules_table.currentRow())

    def _on_changes(self, changes: OpChanges) -> None:
        """Sites or categories changed on the reference-data page: offer them (an edit in progress
        stays as it is)."""
        if not changes.reference or not isValid(self) or self._busy:
            return
        if self.is_dirty():
            return  # the lists are read again after the next save or discard
        self.load(rule_row=max(self.rules_table.currentRow(), 0))
