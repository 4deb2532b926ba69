"""The small questions a ticket action asks first: why it is put on hold, how it was resolved, the new
severity, the agreed deadline, the note.

An ``ActionPrompt`` does not close itself when OK is pressed: it emits ``submitted`` and the ticket
window runs the action. It closes (``finish``) once the action is saved; a refusal is shown inside it
(``show_error``) with everything typed still there, so the engineer can correct it or cancel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _
from ui.widgets.field_errors import error_label


class ActionPrompt(QDialog):
    submitted = Signal()

    def __init__(self, parent: QWidget, title: str, message: str, ok_text: str) -> None:
        super().__init__(parent)
        self.setObjectName("ticketActionPrompt")
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(420)
        self.busy = False
        self.message_label = QLabel(message, self)
        self.message_label.setWordWrap(True)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.error = error_label(self)
        self.error.setObjectName("promptError")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText(_("Cancel"))
        cancel.setObjectName("promptCancel")
        self.ok_button = QPushButton(ok_text, self)
        self.ok_button.setObjectName("promptOk")
        self.ok_button.setDefault(True)
        self.buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message_label)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        for sequence in (QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")):
            QShortcut(sequence, self, self._submit)

    # --- fields -------------------------------------------------------------------------------------

    def add_text(self, label: str, placeholder: str = "", name: str = "promptText") -> QPlainTextEdit:
        edit = QPlainTextEdit(self)
        edit.setObjectName(name)
        edit.setTabChangesFocus(True)
        edit.setPlaceholderText(placeholder)
        edit.setMinimumHeight(90)
        edit.textChanged.connect(self.clear_error)
        self._add(label, edit)
        return edit

    def add_combo(self, label: str, items: list[tuple[str, str]], name: str = "promptChoice") -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        for value, text in items:
            combo.addItem(text, value)
        combo.currentIndexChanged.connect(self.clear_error)
        self._add(label, combo)
        return combo

    def add_widget(self, label: str, widget: QWidget) -> None:
        self._add(label, widget)
        if isinstance(widget, QDateTimeEdit):
            widget.dateTimeChanged.connect(self.clear_error)
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(self.clear_error)

    def _add(self, label: str, widget: QWidget) -> None:
        if label:
            caption = QLabel(label, self)
            caption.setBuddy(widget)
            self.form.addRow(caption, widget)
        else:
            self.form.addRow(widget)

    # --- the exchange with the ticket window --------------------------------------------------------

    def _submit(self) -> None:
        if self.busy:
            return
        self.clear_error()
        self.submitted.emit()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.ok_button.setEnabled(not busy)

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error.setText(message)
        self.error.show()

    def clear_error(self) -> None:
        self.error.hide()

    def finish(self) -> None:
        self.set_busy(False)
        self.accept()
