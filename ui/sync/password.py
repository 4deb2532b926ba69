"""Asking for the shared server's password when none is stored (no keyring on this computer)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.i18n import _
from app.sync.config import ServerConfig


class PasswordDialog(QDialog):
    def __init__(self, parent: QWidget | None, config: ServerConfig, keyring: bool) -> None:
        super().__init__(parent)
        self.setObjectName("SyncPasswordDialog")
        self.setWindowTitle(_("Shared server password"))
        self.setMinimumWidth(420)
        intro = QLabel(
            _("Enter the password of {user} on the shared server {host}.").format(
                user=config.user or "?", host=config.host
            ),
            self,
        )
        intro.setWordWrap(True)
        if keyring:
            text = _("The password will be kept in the system keyring.")
        else:
            text = _(
                "This computer has no system keyring, so the password is kept only until Hotline Console "
                "is closed."
            )
        note = QLabel(text, self)
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        self.password_edit = QLineEdit(self)
        self.password_edit.setObjectName("syncPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        label = QLabel(_("&Password:"), self)
        label.setBuddy(self.password_edit)
        form.addRow(label, self.password_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(_("Synchronise"))
        self.ok_button.setEnabled(False)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.password_edit.textChanged.connect(lambda text: self.ok_button.setEnabled(bool(text)))
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.password_edit.setFocus()

    def password(self) -> str:
        return self.password_edit.text()
