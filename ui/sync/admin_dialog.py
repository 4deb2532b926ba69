"""The administrator's actions on the shared server: check and create / upgrade its schema, create a
login for the desktops. They need an administrator login of the PostgreSQL server (one allowed to create
schemas and roles); it is asked here, used for these actions only and never stored. Every action runs on
the network lane and answers inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.i18n import _
from app.sync.config import ServerConfig
from ui.operations import Op, OpContext, show_error
from ui.sync.settings_page import NAME_MAX, NOTE_STYLE, failure_text, show_result
from ui.widgets.field_errors import error_label, show_field_error, stacked
from ui.widgets.forms import add_row

T = TypeVar("T")


def _password_edit(parent: QWidget, name: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


class AdminDialog(QDialog):
    login_created = Signal(str, str)  # user, password: the settings page may use it for this desktop

    def __init__(self, parent: QWidget, mw: Any, config: ServerConfig) -> None:
        super().__init__(parent)
        self.mw = mw
        self.config = config
        self.setObjectName("ServerAdminDialog")
        self.setWindowTitle(_("Shared server administration"))
        self.setMinimumWidth(560)
        self._busy = False

        intro = QLabel(
            _(
                "Server {server}. Enter a login of the PostgreSQL server that may create schemas and "
                "roles (for example postgres). It is used for these actions only and is not saved."
            ).format(server=f"{config.host}:{config.port}/{config.database}"),
            self,
        )
        intro.setWordWrap(True)
        self.admin_user_edit = QLineEdit(self)
        self.admin_user_edit.setObjectName("adminUser")
        self.admin_user_edit.setMaxLength(NAME_MAX)
        self.admin_user_edit.setText("postgres")
        self.admin_user_error = error_label(self)
        self.admin_password_edit = _password_edit(self, "adminPassword")
        self.admin_user_edit.textEdited.connect(
            lambda: show_field_error(self.admin_user_edit, self.admin_user_error, "")
        )
        login_form = QFormLayout()
        add_row(
            login_form,
            self,
            _("Administrator &user:"),
            self.admin_user_edit,
            stacked(self.admin_user_edit, self.admin_user_error),
        )
        login_form.addRow(_("Administrator &password:"), self.admin_password_edit)

        self.check_button = QPushButton(_("&Check the server"), self)
        self.check_button.setObjectName("checkSchema")
        self.check_button.clicked.connect(self.check_schema)
        self.upgrade_button = QPushButton(_("Create / &upgrade server schema"), self)
        self.upgrade_button.setObjectName("upgradeSchema")
        self.upgrade_button.clicked.connect(self.upgrade_schema)
        self.schema_result = QLabel(self)
        self.schema_result.setObjectName("schemaResult")
        self.schema_result.setWordWrap(True)
        self.schema_result.hide()
        schema_box = QGroupBox(_("Server schema"), self)
        schema_layout = QVBoxLayout(schema_box)
        schema_buttons = QHBoxLayout()
        schema_buttons.addWidget(self.check_button)
        schema_buttons.addWidget(self.upgrade_button)
        schema_buttons.addStretch(1)
        schema_layout.addLayout(schema_buttons)
        schema_layout.addWidget(self.schema_result)

        self.new_user_edit = QLineEdit(self)
        self.new_user_edit.setObjectName("newLoginUser")
        self.new_user_edit.setMaxLength(NAME_MAX)
        self.new_user_edit.setPlaceholderText(_("e.g. zhangwei"))
        self.new_user_error = error_label(self)
        self.new_password_edit = _password_edit(self, "newLoginPassword")
        self.new_password_error = error_label(self)
        self.repeat_password_edit = _password_edit(self, "newLoginRepeat")
        self.repeat_error = error_label(self)
        for edit, label in (
            (self.new_user_edit, self.new_user_error),
            (self.new_password_edit, self.new_password_error),
            (self.repeat_password_edit, self.repeat_error),
        ):
            edit.textEdited.connect(lambda _text, e=edit, lbl=label: show_field_error(e, lbl, ""))
        self.supervisor_check = QCheckBox(
            _("&Supervisor: may change the service-level rules and the working-day calendar"), self
        )
        self.supervisor_check.setObjectName("newLoginSupervisor")
        self.create_login_button = QPushButton(_("Create &login"), self)
        self.create_login_button.setObjectName("createLogin")
        self.create_login_button.clicked.connect(self.create_login)
        self.login_result = QLabel(self)
        self.login_result.setObjectName("loginResult")
        self.login_result.setWordWrap(True)
        self.login_result.hide()
        login_note = QLabel(
            _("A login for the desktops: it may synchronise, nothing else. Give each engineer their own."),
            self,
        )
        login_note.setWordWrap(True)
        login_note.setStyleSheet(NOTE_STYLE)
        login_box = QGroupBox(_("Desktop login"), self)
        new_login_form = QFormLayout(login_box)
        new_login_form.addRow(login_note)
        add_row(
            new_login_form,
            login_box,
            _("New &login name:"),
            self.new_user_edit,
            stacked(self.new_user_edit, self.new_user_error),
        )
        add_row(
            new_login_form,
            login_box,
            _("Its pass&word:"),
            self.new_password_edit,
            stacked(self.new_password_edit, self.new_password_error),
        )
        add_row(
            new_login_form,
            login_box,
            _("&Repeat the password:"),
            self.repeat_password_edit,
            stacked(self.repeat_password_edit, self.repeat_error),
        )
        new_login_form.addRow("", self.supervisor_check)
        login_buttons = QHBoxLayout()
        login_buttons.addWidget(self.create_login_button)
        login_buttons.addWidget(self.login_result, 1)
        new_login_form.addRow(login_buttons)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(login_form)
        layout.addWidget(schema_box)
        layout.addWidget(login_box)
        layout.addWidget(buttons)
        self.admin_password_edit.setFocus()

    # --- helpers ----------------------------------------------------------------------------------

    def _admin_config(self) -> ServerConfig | None:
        user = self.admin_user_edit.text().strip()
        if not user:
            show_field_error(self.admin_user_edit, self.admin_user_error, _("Enter the administrator login."))
            self.admin_user_edit.setFocus()
            return None
        return ServerConfig(
            host=self.config.host,
            port=self.config.port,
            database=self.config.database,
            user=user,
            sslmode=self.config.sslmode,
            password=self.admin_password_edit.text(),
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for button in (self.check_button, self.upgrade_button, self.create_login_button):
            button.setEnabled(not busy)

    def _run(
        self,
        work: Callable[[OpContext], T],
        result_label: QLabel,
        on_success: Callable[[T], None],
    ) -> None:
        self._set_busy(True)
        show_result(result_label, _("Working…"), None)

        def succeeded(value: T) -> None:
            if not isValid(self):
                return
            self._set_busy(False)
            on_success(value)

        def failed(error: BaseException) -> None:
            if not isValid(self):
                return
            self._set_busy(False)
            text = failure_text(error)
            if text is None:
                show_result(result_label, "", None)
                show_error(self, error)
            else:
                show_result(result_label, text, False)

        Op(self, self.mw.taskman, work).on_network_lane().success(succeeded).failure(failed).run()

    # --- the server schema ------------------------------------------------------------------------

    def check_schema(self) -> None:
        config = self._admin_config()
        if config is None:
            return

        def work(_ctx: OpContext) -> tuple[str | None, str]:
            from app.sync.admin import server_schema_status

            return server_schema_status(config)

        self._run(work, self.schema_result, self._show_schema_status)

    def _show_schema_status(self, status: tuple[str | None, str]) -> None:
        server, head = status
        if server is None:
            text = _(
                "The server's database is not set up for Hotline Console yet. "
                "“Create / upgrade server schema” sets it up (revision {head})."
            ).format(head=head)
            ok = False
        elif server == head:
            text = _("The server schema is up to date (revision {revision}).").format(revision=server)
            ok = True
        else:
            text = _(
                "The server schema is at revision {revision}; this version of Hotline Console needs "
                "{head}. “Create / upgrade server schema” upgrades it."
            ).format(revision=server, head=head)
            ok = False
        show_result(self.schema_result, text, ok)

    def upgrade_schema(self) -> None:
        config = self._admin_config()
        if config is None:
            return

        def work(_ctx: OpContext) -> str:
            from app.sync.admin import init_or_upgrade

            return init_or_upgrade(config)

        self._run(
            work,
            self.schema_result,
            lambda revision: show_result(
                self.schema_result,
                _("Done: the server schema is at revision {revision}.").format(revision=revision),
                True,
            ),
        )

    # --- desktop logins ---------------------------------------------------------------------------

    def create_login(self) -> None:
        user = self.new_user_edit.text().strip()
        password = self.new_password_edit.text()
        problems = [
            (self.new_user_edit, self.new_user_error, "" if user else _("Enter a name for the new login.")),
            (
                self.new_password_edit,
                self.new_password_error,
                "" if password else _("Enter a password for the new login."),
            ),
            (
                self.repeat_password_edit,
                self.repeat_error,
                "" if self.repeat_password_edit.text() == password else _("The two passwords differ."),
            ),
        ]
        for field, label, problem in problems:
            show_field_error(field, label, problem)
        if any(problem for _field, _label, problem in problems):
            return
        config = self._admin_config()
        if config is None:
            return
        supervisor = self.supervisor_check.isChecked()

        def work(_ctx: OpContext) -> None:
            from app.sync.admin import create_app_user

            create_app_user(config, user, password, supervisor=supervisor)

        def created(_none: None) -> None:
            show_result(
                self.login_result,
                _("Supervisor login “{user}” created: desktops can now synchronise with it.").format(
                    user=user
                )
                if supervisor
                else _("Login “{user}” created: desktops can now synchronise with it.").format(user=user),
                True,
            )
            self.login_created.emit(user, password)
            self.new_password_edit.clear()
            self.repeat_password_edit.clear()

        self._run(work, self.login_result, created)
