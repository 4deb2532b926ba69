"""Settings → Shared server (共享服务器): where the server is, the password, how often to sync.

Follows the settings dialog's page contract (``load`` / ``check`` / ``save``). The password never goes
into the settings: ``SettingsDialog`` hands what was typed to the sync controller after the settings
were written, and the controller puts it in the keyring (or this session's memory) on the network
lane. "Test connection" and the administrator's actions run on the network lane too and answer inline.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.errors import UserFacingError, as_storage_error
from app.i18n import N_, _
from app.sync.config import DEFAULT_DATABASE, DEFAULT_PORT, SSL_MODES, ServerConfig
from app.sync.credentials import PasswordStore
from app.sync.protocol import Problem, SyncError
from ui.operations import Op, OpContext, show_error
from ui.widgets.field_errors import error_label, show_field_error, stacked
from ui.widgets.forms import add_row

INTERVAL_RANGE = (10, 3600)  # seconds between automatic syncs; 0 = only on demand
HOST_MAX = 253
NAME_MAX = 63  # PostgreSQL identifiers (database, user)

SSL_LABELS: dict[str, str] = {
    "disable": N_("Off — unencrypted (only inside a trusted network)"),
    "prefer": N_("Prefer — encrypt when the server offers it"),
    "require": N_("Require — always encrypt, certificate not checked"),
    "verify-ca": N_("Verify CA — encrypt and check the server's certificate"),
    "verify-full": N_("Verify full — check the certificate and the server's name"),
}

OK_STYLE = "color: #2e7d32;"
ERROR_STYLE = "color: #c9302c;"
NOTE_STYLE = "color: palette(mid);"


def host_problem(host: str) -> str:
    if any(ch.isspace() for ch in host) or "/" in host or "@" in host:
        return _("Enter only the server's name or address, e.g. db.czcz.gov.cn or 10.0.0.5.")
    if len(host) > HOST_MAX:
        return _("Too long: at most {limit} characters.").format(limit=HOST_MAX)
    return ""


def show_result(label: QLabel, text: str, ok: bool | None) -> None:
    """An inline answer: green when it worked, red when it did not, grey while waiting."""
    label.setStyleSheet(NOTE_STYLE if ok is None else OK_STYLE if ok else ERROR_STYLE)
    label.setText(text)
    label.setVisible(bool(text))


def failure_text(error: BaseException) -> str | None:
    """The message for an environment problem (server, network, disk); None for a bug of ours."""
    user_error = error if isinstance(error, UserFacingError) else as_storage_error(error)
    return user_error.message if user_error is not None else None


class ServerPage(QWidget):
    """共享服务器."""

    def __init__(self, mw: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self.setObjectName("ServerPage")
        self._settings = mw.ctx.settings
        self._password_stored = False

        self.host_edit = QLineEdit(self)
        self.host_edit.setObjectName("serverHost")
        self.host_edit.setMaxLength(HOST_MAX + 20)
        self.host_edit.setPlaceholderText(
            _("e.g. db.czcz.gov.cn — leave empty to work on this computer only")
        )
        self.host_error = error_label(self)
        self.port_spin = QSpinBox(self)
        self.port_spin.setObjectName("serverPort")
        self.port_spin.setRange(1, 65535)
        self.port_spin.setMinimumWidth(110)
        self.port_spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.database_edit = QLineEdit(self)
        self.database_edit.setObjectName("serverDatabase")
        self.database_edit.setMaxLength(NAME_MAX)
        self.database_error = error_label(self)
        self.user_edit = QLineEdit(self)
        self.user_edit.setObjectName("serverUser")
        self.user_edit.setMaxLength(NAME_MAX)
        self.user_edit.setPlaceholderText(_("The desktop login the administrator created"))
        self.user_error = error_label(self)
        self.password_edit = QLineEdit(self)
        self.password_edit.setObjectName("serverPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_note = QLabel(self)
        self.password_note.setObjectName("passwordNote")
        self.password_note.setWordWrap(True)
        self.password_note.setStyleSheet(NOTE_STYLE)
        self.password_note.hide()
        self.ssl_combo = QComboBox(self)
        self.ssl_combo.setObjectName("serverSslMode")
        for mode in SSL_MODES:
            self.ssl_combo.addItem(_(SSL_LABELS[mode]), mode)

        self.test_button = QPushButton(_("&Test connection"), self)
        self.test_button.setObjectName("testConnection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel(self)
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.hide()

        for edit, label in (
            (self.host_edit, self.host_error),
            (self.database_edit, self.database_error),
            (self.user_edit, self.user_error),
        ):
            edit.textEdited.connect(lambda _text, e=edit, lbl=label: show_field_error(e, lbl, ""))

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        add_row(form, self, _("Ser&ver:"), self.host_edit, stacked(self.host_edit, self.host_error))
        add_row(form, self, _("P&ort:"), self.port_spin)
        add_row(
            form, self, _("&Database:"), self.database_edit, stacked(self.database_edit, self.database_error)
        )
        add_row(form, self, _("&User:"), self.user_edit, stacked(self.user_edit, self.user_error))
        add_row(
            form, self, _("Pass&word:"), self.password_edit, stacked(self.password_edit, self.password_note)
        )
        add_row(form, self, _("&Encryption (TLS):"), self.ssl_combo)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        form.addRow("", test_row)

        self.interval_spin = QSpinBox(self)
        self.interval_spin.setObjectName("syncInterval")
        self.interval_spin.setRange(0, INTERVAL_RANGE[1])
        self.interval_spin.setSingleStep(30)
        self.interval_spin.setSuffix(_(" s"))
        self.interval_spin.setSpecialValueText(_("Only when I ask"))
        self.interval_spin.setMinimumWidth(140)
        self.interval_spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.interval_error = error_label(self)
        self.interval_spin.valueChanged.connect(
            lambda _value: show_field_error(self.interval_spin, self.interval_error, "")
        )
        interval_note = QLabel(
            _(
                "Changes are also sent a few seconds after you save them, and with Sync now (F5). "
                "0 syncs only when you ask."
            ),
            self,
        )
        interval_note.setWordWrap(True)
        interval_note.setStyleSheet(NOTE_STYLE)
        sync_box = QGroupBox(_("Synchronisation"), self)
        sync_form = QFormLayout(sync_box)
        add_row(
            sync_form,
            self,
            _("Sync &every:"),
            self.interval_spin,
            stacked(self.interval_spin, self.interval_error, interval_note),
        )

        self.admin_button = QPushButton(_("Administrator: create / upgrade server schema…"), self)
        self.admin_button.setObjectName("serverAdmin")
        self.admin_button.clicked.connect(self.open_admin)
        admin_note = QLabel(
            _(
                "Sets up the shared database and creates logins for the desktops. Needs an administrator "
                "login of the PostgreSQL server, which is not saved."
            ),
            self,
        )
        admin_note.setWordWrap(True)
        admin_note.setStyleSheet(NOTE_STYLE)
        admin_box = QGroupBox(_("Administration"), self)
        admin_layout = QVBoxLayout(admin_box)
        admin_layout.addWidget(admin_note)
        admin_layout.addWidget(self.admin_button, 0, Qt.AlignmentFlag.AlignLeft)

        intro = QLabel(
            _(
                "Several engineers can share one PostgreSQL server. This computer keeps its own copy and "
                "keeps working when the server or the network is down."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(sync_box)
        layout.addWidget(admin_box)
        layout.addStretch(1)
        self.admin_dialog: Any = None
        self.load()

    @property
    def passwords(self) -> PasswordStore:
        store: PasswordStore = self.mw.sync.passwords
        return store

    # --- the page contract ------------------------------------------------------------------------

    def load(self) -> None:
        settings = self._settings
        self.host_edit.setText(str(settings["server_host"]))
        port = int(settings["server_port"])
        self.port_spin.setValue(port if 1 <= port <= 65535 else DEFAULT_PORT)
        self.database_edit.setText(str(settings["server_database"]) or DEFAULT_DATABASE)
        self.user_edit.setText(str(settings["server_user"]))
        self.password_edit.clear()
        index = self.ssl_combo.findData(str(settings["server_sslmode"]))
        self.ssl_combo.setCurrentIndex(index if index >= 0 else self.ssl_combo.findData("prefer"))
        interval = int(settings["sync_interval_s"])
        valid = interval == 0 or INTERVAL_RANGE[0] <= interval <= INTERVAL_RANGE[1]
        self.interval_spin.setValue(interval if valid else 60)
        self._read_password_state(ServerConfig.from_settings(settings))

    def _read_password_state(self, config: ServerConfig | None) -> None:
        """Whether there is a keyring and a password stored, asked on the network lane (keyring calls
        can be slow: D-Bus, a locked keychain)."""
        passwords = self.passwords

        def work(_ctx: OpContext) -> tuple[bool, bool]:
            stored = config is not None and passwords.get(config) is not None
            return passwords.available(), stored

        (
            Op(self, self.mw.taskman, work)
            .on_network_lane()
            .success(self._show_password_state)
            .failure(lambda error: show_error(self, error))
            .run()
        )

    def _show_password_state(self, state: tuple[bool, bool]) -> None:
        if not isValid(self):
            return
        available, stored = state
        self._password_stored = stored
        self.password_edit.setPlaceholderText(
            _("Saved — leave empty to keep it") if stored else _("The password of this login")
        )
        if available:
            note = _("Kept in the system keyring, never in the settings file.")
        else:
            note = _(
                "This computer has no system keyring: the password is kept only until Hotline Console "
                "is closed, and asked again once after each start."
            )
        self.password_note.setText(note)
        self.password_note.show()

    def check(self) -> bool:
        problems = self._field_problems(require_host=False)
        first: QWidget | None = None
        for field, label, problem in problems:
            show_field_error(field, label, problem)
            if problem and first is None:
                first = field
        if first is not None:
            first.setFocus()
        return first is None

    def _field_problems(self, require_host: bool) -> list[tuple[QWidget, QLabel, str]]:
        host = self.host_edit.text().strip()
        if host:
            host_text = host_problem(host)
        elif require_host:
            host_text = _("Enter the server's name or address.")
        else:
            host_text = ""
        database = user = ""
        if host:
            if not self.database_edit.text().strip():
                database = _("Enter the database name (usually {name}).").format(name=DEFAULT_DATABASE)
            if not self.user_edit.text().strip():
                user = _("Enter the user name this desktop logs in with.")
        interval = self.interval_spin.value()
        interval_text = ""
        if 0 < interval < INTERVAL_RANGE[0]:
            interval_text = _("At least {low} seconds, or 0 to sync only when you ask.").format(
                low=INTERVAL_RANGE[0]
            )
        return [
            (self.host_edit, self.host_error, host_text),
            (self.database_edit, self.database_error, database),
            (self.user_edit, self.user_error, user),
            (self.interval_spin, self.interval_error, interval_text),
        ]

    def save(self) -> None:
        settings = self._settings
        settings["server_host"] = self.host_edit.text().strip()
        settings["server_port"] = self.port_spin.value()
        settings["server_database"] = self.database_edit.text().strip() or DEFAULT_DATABASE
        settings["server_user"] = self.user_edit.text().strip()
        settings["server_sslmode"] = str(self.ssl_combo.currentData())
        settings["sync_interval_s"] = self.interval_spin.value()

    def typed_password(self) -> str | None:
        """What was typed in the password field; None when it was left empty (keep the stored one)."""
        return self.password_edit.text() or None

    def form_config(self) -> ServerConfig:
        """The server as the fields say now (saved or not)."""
        return ServerConfig(
            host=self.host_edit.text().strip(),
            port=self.port_spin.value(),
            database=self.database_edit.text().strip() or DEFAULT_DATABASE,
            user=self.user_edit.text().strip(),
            sslmode=str(self.ssl_combo.currentData()),
        )

    # --- test connection --------------------------------------------------------------------------

    def test_connection(self) -> None:
        problems = [p for p in self._field_problems(require_host=True) if p[0] is not self.interval_spin]
        for field, label, problem in problems:
            show_field_error(field, label, problem)
        if any(problem for _field, _label, problem in problems):
            show_result(self.test_result, "", None)
            return
        config = self.form_config()
        typed = self.password_edit.text()
        passwords = self.passwords
        db = self.mw.ctx.db

        def work(_ctx: OpContext) -> Any:
            password = typed or passwords.get(config)
            if not password:
                raise SyncError(Problem.NO_PASSWORD)
            from app.sync.engine import SyncEngine

            engine = SyncEngine(db, config.with_password(password))
            try:
                return engine.test_connection()
            finally:
                engine.close()

        self.test_button.setEnabled(False)
        show_result(self.test_result, _("Connecting…"), None)
        (
            Op(self, self.mw.taskman, work)
            .on_network_lane()
            .success(self._tested)
            .failure(self._test_failed)
            .run()
        )

    def _tested(self, info: Any) -> None:
        if not isValid(self):
            return
        self.test_button.setEnabled(True)
        show_result(
            self.test_result,
            _("Connected: {version}, server schema revision {revision}.").format(
                version=info.server_version, revision=info.schema_revision
            ),
            True,
        )

    def _test_failed(self, error: BaseException) -> None:
        if not isValid(self):
            return
        self.test_button.setEnabled(True)
        if isinstance(error, SyncError) and error.problem is Problem.NO_PASSWORD:
            show_result(self.test_result, _("Enter the password to test the connection."), False)
            self.password_edit.setFocus()
            return
        text = failure_text(error)
        if text is None:
            show_result(self.test_result, "", None)
            show_error(self, error)
            return
        show_result(self.test_result, text, False)

    # --- administration ---------------------------------------------------------------------------

    def open_admin(self) -> None:
        from ui.sync.admin_dialog import AdminDialog

        problems = [
            p
            for p in self._field_problems(require_host=True)
            if p[0] is self.host_edit or p[0] is self.database_edit
        ]
        for field, label, problem in problems:
            show_field_error(field, label, problem)
        if any(problem for _field, _label, problem in problems):
            return
        self.admin_dialog = AdminDialog(self, self.mw, self.form_config())
        self.admin_dialog.login_created.connect(self._login_created)
        self.admin_dialog.open()

    def _login_created(self, user: str, password: str) -> None:
        """A desktop login was just made: use it here if this desktop has none yet."""
        if not self.user_edit.text().strip():
            self.user_edit.setText(user)
            self.password_edit.setText(password)
            show_field_error(self.user_edit, self.user_error, "")
