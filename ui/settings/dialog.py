"""Settings (设置) and the first-run questions.

The pages share Picard's options-page contract: ``load()`` fills the widgets from the settings,
``check()`` shows problems next to the fields and returns False, ``save()`` writes the values into
``mw.ctx.settings``. The dialog writes the file once, after every page checked and saved.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import i18n
from app.i18n import _
from app.services import reference
from app.settings import OPTIONS
from app.sync.config import ServerConfig
from ui import dialogs
from ui.changes import OpChanges
from ui.settings.calendar_page import CalendarPage
from ui.settings.printing_page import PrintingPage
from ui.settings.reference_editor import ReferenceEditor
from ui.settings.sla_page import PolicyPage
from ui.sync.settings_page import ServerPage
from ui.widgets.field_errors import error_label, show_field_error, stacked
from ui.widgets.forms import add_row

ENGINEER_MAX = 100
LOOKUP_DELAY_RANGE = (0, 2000)  # ms after the last typed digit before the caller is looked up
AUTOSAVE_RANGE = (200, 10_000)  # ms between draft saves while a call is typed


class OptionsPage(Protocol):
    def load(self) -> None: ...

    def check(self) -> bool: ...

    def save(self) -> None: ...


def _fill_sites(combo: QComboBox, mw: Any, selected: str) -> None:
    with mw.ctx.db.session() as session:
        sites = [(s.id, s.name) for s in reference.list_sites(session)]
    combo.blockSignals(True)
    combo.clear()
    for site_id, name in sites:
        combo.addItem(name, site_id)
    combo.setCurrentIndex(max(combo.findData(selected), 0))
    combo.blockSignals(False)


def _engineer_problem(name: str) -> str:
    if not name.strip():
        return _("Please enter your name: it is recorded on every call.")
    if len(name.strip()) > ENGINEER_MAX:
        return _("Too long: at most {limit} characters.").format(limit=ENGINEER_MAX)
    return ""


class GeneralPage(QWidget):
    """常规: who is on duty, which site this desktop serves, language, timings."""

    def __init__(self, mw: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self.setObjectName("GeneralPage")
        settings = mw.ctx.settings

        self.engineer_edit = QLineEdit(self)
        self.engineer_edit.setObjectName("engineerName")
        self.engineer_edit.setMaxLength(ENGINEER_MAX)
        self.engineer_edit.setPlaceholderText(_("Your name, as it should appear on calls"))
        self.engineer_error = error_label(self)
        self.engineer_edit.textEdited.connect(
            lambda: show_field_error(self.engineer_edit, self.engineer_error, "")
        )
        self.site_combo = QComboBox(self)
        self.site_combo.setObjectName("siteChoice")
        self.language_combo = QComboBox(self)
        self.language_combo.setObjectName("languageChoice")
        for code, name in i18n.LANGUAGES.items():
            self.language_combo.addItem(name, code)
        language_note = QLabel(_("A new language takes effect after Hotline Console is restarted."), self)
        language_note.setWordWrap(True)
        language_note.setStyleSheet("color: palette(mid);")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(
            form,
            self,
            _("&Engineer on duty:"),
            self.engineer_edit,
            stacked(self.engineer_edit, self.engineer_error),
        )
        add_row(form, self, _("&Service site:"), self.site_combo)
        add_row(form, self, _("&Language:"), self.language_combo, stacked(self.language_combo, language_note))

        self.lookup_spin = QSpinBox(self)
        self.lookup_spin.setObjectName("lookupDelay")
        self.lookup_spin.setRange(*LOOKUP_DELAY_RANGE)
        self.lookup_spin.setSingleStep(50)
        self.lookup_spin.setSuffix(_(" ms"))
        self.lookup_spin.setToolTip(
            _("How long after the last typed digit the caller's number is looked up in the directory.")
        )
        self.autosave_spin = QSpinBox(self)
        self.autosave_spin.setObjectName("autosaveInterval")
        self.autosave_spin.setRange(*AUTOSAVE_RANGE)
        self.autosave_spin.setSingleStep(100)
        self.autosave_spin.setSuffix(_(" ms"))
        self.autosave_spin.setToolTip(
            _(
                "How often an unfinished call is saved as a draft while you type. "
                "Shorter loses less in a crash."
            )
        )
        for spin in (self.lookup_spin, self.autosave_spin):
            spin.setMinimumWidth(140)
            spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        advanced = QGroupBox(_("Advanced"), self)
        advanced_form = QFormLayout(advanced)
        add_row(advanced_form, self, _("Caller look-up &delay:"), self.lookup_spin)
        add_row(advanced_form, self, _("Draft &autosave interval:"), self.autosave_spin)
        advanced_note = QLabel(
            _("The defaults suit most computers; change them only if typing feels slow."), advanced
        )
        advanced_note.setWordWrap(True)
        advanced_form.addRow(advanced_note)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(advanced)
        layout.addStretch(1)
        self._settings = settings
        self.load()

    def load(self) -> None:
        settings = self._settings
        self.engineer_edit.setText(str(settings["engineer_name"]))
        _fill_sites(self.site_combo, self.mw, self.mw.site_id)
        self.language_combo.setCurrentIndex(max(self.language_combo.findData(settings["language"]), 0))
        self.lookup_spin.setValue(
            _clamp(settings["caller_lookup_delay_ms"], "caller_lookup_delay_ms", LOOKUP_DELAY_RANGE)
        )
        self.autosave_spin.setValue(
            _clamp(settings["draft_autosave_ms"], "draft_autosave_ms", AUTOSAVE_RANGE)
        )

    def refresh_sites(self) -> None:
        _fill_sites(self.site_combo, self.mw, str(self.site_combo.currentData() or self.mw.site_id))

    def check(self) -> bool:
        problem = _engineer_problem(self.engineer_edit.text())
        show_field_error(self.engineer_edit, self.engineer_error, problem)
        if problem:
            self.engineer_edit.setFocus()
        return not problem

    def save(self) -> None:
        settings = self._settings
        settings["engineer_name"] = " ".join(self.engineer_edit.text().split())
        if self.site_combo.currentData():
            settings["site_id"] = str(self.site_combo.currentData())
        settings["language"] = str(self.language_combo.currentData())
        settings["caller_lookup_delay_ms"] = self.lookup_spin.value()
        settings["draft_autosave_ms"] = self.autosave_spin.value()


def _clamp(value: int, name: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return value if low <= value <= high else int(OPTIONS[name])


SAVED_KEYS = (
    "letterheads",
    "engineer_name",
    "site_id",
    "language",
    "caller_lookup_delay_ms",
    "draft_autosave_ms",
    "server_host",
    "server_port",
    "server_database",
    "server_user",
    "server_sslmode",
    "sync_interval_s",
)


def _save_settings(parent: QWidget, settings: Any, before: dict[str, Any]) -> bool:
    """Write the settings file; on failure say so, put the old values back and return False."""
    try:
        settings.save()
    except OSError as exc:
        for key, value in before.items():
            settings[key] = value
        dialogs.warn(
            parent,
            _("The settings could not be saved: {error}. Check that the data folder is writable.").format(
                error=exc.strerror or exc
            ),
        )
        return False
    return True


def _apply_to_window(mw: Any, before: dict[str, Any]) -> None:
    """Tell the window what changed: the site picker follows, the status bar shows the engineer."""
    settings = mw.ctx.settings
    site_changed = settings["site_id"] != mw.site_id
    if site_changed:
        index = mw.site_combo.findData(settings["site_id"])
        if index >= 0:
            mw.site_combo.setCurrentIndex(index)  # runs the window's own site handling
    if site_changed or settings["engineer_name"] != before["engineer_name"]:
        mw.taskman.operation_did_execute.emit(OpChanges(settings=True))


class SettingsDialog(QDialog):
    def __init__(self, mw: Any) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setObjectName("SettingsDialog")
        self.setWindowTitle(_("Settings"))

        self.general_page = GeneralPage(mw, self)
        self.reference_page = ReferenceEditor(mw, self)
        self.reference_page.changed.connect(self.general_page.refresh_sites)
        self.server_page = ServerPage(mw, self)
        self.policy_page = PolicyPage(mw, self)
        self.calendar_page = CalendarPage(mw, self)
        self.printing_page = PrintingPage(mw, self)
        self.pages: list[tuple[str, QWidget]] = [
            (_("General"), self.general_page),
            (_("Reference data"), self.reference_page),
            (_("Shared server"), self.server_page),
            (_("Service levels"), self.policy_page),
            (_("Working-day calendar"), self.calendar_page),
            (_("Printing"), self.printing_page),
        ]
        self.page_list = QListWidget(self)
        self.page_list.setObjectName("settingsPages")
        self.stack = QStackedWidget(self)
        for title, page in self.pages:
            self.page_list.addItem(title)
            self.stack.addWidget(page)
        self.page_list.setFixedWidth(max(120, self.page_list.sizeHintForColumn(0) + 24))
        self.page_list.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.page_list.setCurrentRow(0)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("OK"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        body = QHBoxLayout()
        body.addWidget(self.page_list)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        self.resize(860, 560)

    def show_page(self, page: QWidget) -> None:
        for row, (_title, candidate) in enumerate(self.pages):
            if candidate is page:
                self.page_list.setCurrentRow(row)

    def accept(self) -> None:
        pages = [cast(OptionsPage, page) for _title, page in self.pages]
        for page in pages:
            if not page.check():
                self.show_page(cast(QWidget, page))
                return
        settings = self.mw.ctx.settings
        before = {key: settings[key] for key in SAVED_KEYS}
        server_before = ServerConfig.from_settings(settings)
        for page in pages:
            page.save()
        if not _save_settings(self, settings, before):
            return
        # the password goes to the keyring (or this session's memory), never into the settings file
        self.mw.sync.apply_server_settings(server_before, self.server_page.typed_password())
        if settings["language"] != before["language"]:
            dialogs.inform(
                self,
                _("The language will change to {language} the next time Hotline Console starts.").format(
                    language=i18n.LANGUAGES.get(str(settings["language"]), settings["language"])
                ),
            )
        _apply_to_window(self.mw, before)
        super().accept()


class FirstRunDialog(QDialog):
    """Shown once, when no engineer name is set: who is on duty and which site this desktop serves."""

    def __init__(self, mw: Any) -> None:
        super().__init__(mw)
        self.mw = mw
        self.setObjectName("FirstRunDialog")
        self.setWindowTitle(_("Welcome to Hotline Console"))
        self.setMinimumWidth(440)

        heading = QLabel(_("Welcome to Hotline Console"), self)
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        heading.setFont(font)
        intro = QLabel(
            _(
                "Before the first call, tell us who you are and which finance bureau this computer serves. "
                "Your name is recorded on every call; both can be changed later in Settings."
            ),
            self,
        )
        intro.setWordWrap(True)

        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("firstRunName")
        self.name_edit.setMaxLength(ENGINEER_MAX)
        self.name_edit.setPlaceholderText(_("e.g. 张伟"))
        self.name_error = error_label(self)
        self.name_edit.textEdited.connect(lambda: show_field_error(self.name_edit, self.name_error, ""))
        self.site_combo = QComboBox(self)
        self.site_combo.setObjectName("firstRunSite")
        _fill_sites(self.site_combo, mw, mw.site_id)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        name_label = QLabel(_("Your &name:"), self)
        name_label.setBuddy(self.name_edit)
        form.addRow(name_label, stacked(self.name_edit, self.name_error))
        site_label = QLabel(_("&Service site:"), self)
        site_label.setBuddy(self.site_combo)
        form.addRow(site_label, self.site_combo)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok, self)
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText(_("&Start"))
        self.buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(self.buttons, alignment=Qt.AlignmentFlag.AlignRight)
        self.name_edit.setFocus()

    def accept(self) -> None:
        problem = _engineer_problem(self.name_edit.text())
        show_field_error(self.name_edit, self.name_error, problem)
        if problem:
            self.name_edit.setFocus()
            return
        settings = self.mw.ctx.settings
        before = {key: settings[key] for key in SAVED_KEYS}
        settings["engineer_name"] = " ".join(self.name_edit.text().split())
        if self.site_combo.currentData():
            settings["site_id"] = str(self.site_combo.currentData())
        if not _save_settings(self, settings, before):
            return
        _apply_to_window(self.mw, before)
        super().accept()
