"""Choosing which of several duplicate records to keep: the candidates side by side, one radio each.

The dialog only chooses; the page runs the merge (``directory.merge_contacts`` / ``merge_organisations``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _

_BOX_STYLE = (
    "QGroupBox {{ border: 2px solid {color}; border-radius: 4px; margin-top: 1.4em; padding-top: 4px; }}"
    "QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {title}; }}"
)
_CHOSEN_STYLE = _BOX_STYLE.format(color="#2f6fd0", title="#2f6fd0")
_PLAIN_STYLE = _BOX_STYLE.format(color="#c8c8c8", title="palette(text)")


@dataclass(frozen=True, slots=True)
class MergeCandidate:
    id: str
    fields: tuple[tuple[str, str], ...]  # (translated label, value) in display order


class MergeDialog(QDialog):
    def __init__(
        self, parent: QWidget | None, title: str, intro: str, candidates: Sequence[MergeCandidate]
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MergeDialog")
        self.setWindowTitle(title)
        self.candidates = list(candidates)
        self.group = QButtonGroup(self)
        self.radios: list[QRadioButton] = []
        self._boxes: list[QGroupBox] = []

        intro_label = QLabel(intro, self)
        intro_label.setWordWrap(True)

        columns = QWidget(self)
        row = QHBoxLayout(columns)
        row.setContentsMargins(0, 0, 0, 0)
        for number, candidate in enumerate(self.candidates, start=1):
            box = QGroupBox(_("Record {number}").format(number=number), columns)
            box.setMinimumWidth(220)
            box.setStyleSheet(_PLAIN_STYLE)
            box_layout = QVBoxLayout(box)
            radio = QRadioButton(
                _("&{number} Keep this one").format(number=number) if number < 10 else _("Keep this one"), box
            )
            self.group.addButton(radio, number - 1)
            self.radios.append(radio)
            box_layout.addWidget(radio)
            form = QFormLayout()
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for label, value in candidate.fields:
                value_label = QLabel(value or "—", box)
                value_label.setWordWrap(True)
                value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                form.addRow(QLabel(label, box), value_label)
            box_layout.addLayout(form)
            box_layout.addStretch(1)
            row.addWidget(box)
            self._boxes.append(box)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(columns)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(_("Merge"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro_label)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.buttons)

        self.group.idToggled.connect(self._highlight)
        if self.radios:
            self.radios[0].setChecked(True)
        self.resize(min(260 * max(len(self.candidates), 2) + 60, 1100), 360)

    def _highlight(self, index: int, checked: bool) -> None:
        box = self._boxes[index]
        box.setStyleSheet(_CHOSEN_STYLE if checked else _PLAIN_STYLE)
        self.ok_button.setEnabled(self.group.checkedId() >= 0)

    def choose(self, candidate_id: str) -> None:
        for index, candidate in enumerate(self.candidates):
            if candidate.id == candidate_id:
                self.radios[index].setChecked(True)

    @property
    def survivor_id(self) -> str:
        index = self.group.checkedId()
        return self.candidates[index].id if index >= 0 else ""

    @property
    def duplicate_ids(self) -> list[str]:
        survivor = self.survivor_id
        return [c.id for c in self.candidates if c.id != survivor]
