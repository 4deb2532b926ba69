"""A phone number field that says, as the user types, what the number is (or that it is not one).

Shared by the new-call form and the contact dialog: the number is parsed with ``app.phone.parse_phone``
against the site's area code and described beneath the field ("0759-222 1234 · 广东省湛江市",
"139 1234 5678 · 手机 · 江苏省常州市", "12345 · 服务号码"). An unrecognised number is only flagged:
it is saved exactly as typed.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from app import phone_places
from app.i18n import N_, _
from app.phone import PhoneInfo, parse_phone

KIND_LABELS: dict[str, str] = {
    "mobile": N_("Mobile"),
    "service": N_("Service number"),
    "internal": N_("Internal extension"),
}

HINT_STYLE = "color: #5f6368;"
INVALID_STYLE = "color: #c25e00;"  # orange: a warning, not an error — the number is still saved


def describe_phone(info: PhoneInfo) -> str:
    """The one-line description shown under a phone field ("" for an empty field)."""
    if info.kind == "empty":
        return ""
    if info.kind == "invalid":
        return _("Number format not recognised; it will be saved as typed")
    parts = [info.display]
    if info.kind in KIND_LABELS:
        parts.append(_(KIND_LABELS[info.kind]))
    if info.location:
        parts.append(info.location)
    return " · ".join(parts)


def style_hint(label: QLabel, info: PhoneInfo) -> None:
    label.setText(describe_phone(info))
    label.setStyleSheet(INVALID_STYLE if info.kind == "invalid" else HINT_STYLE)
    label.setProperty("phoneKind", info.kind)


class PhoneField(QWidget):
    """A line edit with the parsed description beneath it. ``info_changed`` carries a ``PhoneInfo``."""

    info_changed = Signal(object)

    def __init__(self, area_code: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._area_code = area_code
        self.edit = QLineEdit(self)
        self.edit.setMaxLength(64)
        self.hint = QLabel(self)
        self.hint.setObjectName("phoneHint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.edit)
        layout.addWidget(self.hint)
        self.setFocusProxy(self.edit)
        self._info = parse_phone("", area_code)
        phone_places.preload_in_background()  # place names ready before a number is typed
        self.edit.textChanged.connect(self._reparse)
        style_hint(self.hint, self._info)

    @property
    def info(self) -> PhoneInfo:
        return self._info

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # mirrors QLineEdit
        self.edit.setText(text)

    def set_area_code(self, area_code: str) -> None:
        self._area_code = area_code
        self._reparse(self.edit.text())

    def _reparse(self, text: str) -> None:
        self._info = parse_phone(text, self._area_code)
        style_hint(self.hint, self._info)
        self.info_changed.emit(self._info)
