"""Settings → reference data (基础数据): sites → systems → modules, and call categories.

Every change is saved at once through ``reference.*`` in ``mw.op`` and announced with
``OpChanges(reference=True)``, so the main window's site picker and the call form follow. Entries are
never deleted, only retired: calls that used them keep showing them, new calls cannot pick them.
The tables are small (a few dozen rows), so this page reads them on the GUI thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError, ValidationError
from app.i18n import _
from app.services import reference
from app.storage.uow import UnitOfWork
from ui import dialogs
from ui.changes import OpChanges
from ui.operations import OpContext, show_error
from ui.widgets.field_errors import error_label, show_field_error, stacked

AREA_CODE_RE = re.compile(r"0\d{2,3}")
ROW_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # site | system | module | category
    id: str
    name: str
    active: bool
    area_code: str = ""


def entry_text(entry: Entry) -> str:
    return entry.name if entry.active else _("{name} (retired)").format(name=entry.name)


def check_area_code(text: str) -> str:
    """The message for a bad area code, or "" if it is fine (0 and 2–3 more digits, e.g. 0519)."""
    if not AREA_CODE_RE.fullmatch(text.strip()):
        return _("An area code is 0 followed by 2 or 3 digits, e.g. 0519.")
    return ""


Submit = Callable[[UnitOfWork, str, str], object]  # (uow, name, area code) → saved row


class ReferenceItemDialog(QDialog):
    """Name (and, for a site, area code) of a new or renamed entry; saves through ``mw.op``."""

    def __init__(
        self,
        mw: Any,
        parent: QWidget,
        title: str,
        submit: Submit,
        name: str = "",
        area_code: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.mw = mw
        self.setObjectName("ReferenceItemDialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(380)
        self._submit = submit
        self.saved_id: str | None = None

        self.name_edit = QLineEdit(name, self)
        self.name_edit.setObjectName("referenceName")
        self.name_edit.setMaxLength(100)
        self.name_error = error_label(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        name_label = QLabel(_("&Name:"), self)
        name_label.setBuddy(self.name_edit)
        form.addRow(name_label, stacked(self.name_edit, self.name_error))
        self.area_edit: QLineEdit | None = None
        self.area_error = error_label(self)
        if area_code is not None:
            self.area_edit = QLineEdit(area_code, self)
            self.area_edit.setObjectName("referenceAreaCode")
            self.area_edit.setMaxLength(8)
            self.area_edit.setPlaceholderText("0519")
            area_label = QLabel(_("&Area code:"), self)
            area_label.setBuddy(self.area_edit)
            form.addRow(area_label, stacked(self.area_edit, self.area_error))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.name_edit.selectAll()

    def save(self) -> None:
        name = self.name_edit.text().strip()
        area = self.area_edit.text().strip() if self.area_edit is not None else ""
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = _("A name is required.")
        if self.area_edit is not None and check_area_code(area):
            errors["area_code"] = check_area_code(area)
        self._show_errors(errors)
        if errors:
            return
        submit = self._submit
        ctx = self.mw.ctx

        def work(_op: OpContext) -> str:
            with ctx.uow() as uow:
                row = submit(uow, name, area)
            return str(getattr(row, "id", ""))

        self.buttons.setEnabled(False)
        self.mw.op(work).success(self._saved).failure(self._failed).changes(OpChanges(reference=True)).run()

    def _saved(self, row_id: str) -> None:
        self.buttons.setEnabled(True)
        self.saved_id = row_id or None
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(error, ValidationError):
            known = {k: v for k, v in error.fields.items() if k in ("name", "area_code")}
            self._show_errors(known)
            other = [v for k, v in error.fields.items() if k not in known]
            if other:
                dialogs.warn(self, "\n".join(other))
        elif isinstance(error, UserFacingError):
            dialogs.warn(self, error.message)
        else:
            show_error(self, error)

    def _show_errors(self, errors: dict[str, str]) -> None:
        fields: list[tuple[str, QLineEdit | None, QLabel]] = [
            ("name", self.name_edit, self.name_error),
            ("area_code", self.area_edit, self.area_error),
        ]
        focused = False
        for key, field, label in fields:
            if field is None:
                continue
            message = errors.get(key, "")
            show_field_error(field, label, message)
            if message and not focused:
                field.setFocus()
                focused = True


def _button(action: QAction, parent: QWidget) -> QPushButton:
    button = QPushButton(action.text(), parent)
    button.setAutoDefault(False)
    button.setEnabled(action.isEnabled())
    button.clicked.connect(action.trigger)

    def sync() -> None:
        button.setEnabled(action.isEnabled())
        button.setText(action.text())

    action.changed.connect(sync)
    return button


class ReferenceEditor(QWidget):
    """The options page for reference data. Changes are saved as they are made, so check/save do nothing."""

    changed = Signal()

    def __init__(self, mw: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self.setObjectName("ReferenceEditor")
        self.item_dialog: ReferenceItemDialog | None = None

        intro = QLabel(
            _(
                "Changes here are saved at once and used by every new call. Retired entries can no longer "
                "be picked for new calls; calls already recorded keep them."
            ),
            self,
        )
        intro.setWordWrap(True)

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("referenceTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([_("Site / system / module"), _("Area code")])
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.tree.itemSelectionChanged.connect(self._update_actions)
        self.tree.itemDoubleClicked.connect(lambda *_a: self.rename_tree_item())

        self.add_site_action = self._action(_("Add site…"), self.add_site, self.tree)
        self.add_system_action = self._action(_("Add s&ystem…"), self.add_system, self.tree)
        self.add_module_action = self._action(_("Add &module…"), self.add_module, self.tree)
        self.rename_tree_action = self._action(_("&Rename…"), self.rename_tree_item, self.tree, "F2")
        self.toggle_tree_action = self._action(_("Re&tire"), self.toggle_tree_item, self.tree)

        tree_box = QGroupBox(_("Sites, systems and modules"), self)
        tree_layout = QVBoxLayout(tree_box)
        tree_layout.addWidget(self.tree, 1)
        tree_buttons = QHBoxLayout()
        for action in (
            self.add_site_action,
            self.add_system_action,
            self.add_module_action,
            self.rename_tree_action,
            self.toggle_tree_action,
        ):
            tree_buttons.addWidget(_button(action, tree_box))
        tree_buttons.addStretch(1)
        tree_layout.addLayout(tree_buttons)

        self.categories = QListWidget(self)
        self.categories.setObjectName("categoryList")
        self.categories.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.categories.itemSelectionChanged.connect(self._update_actions)
        self.categories.itemDoubleClicked.connect(lambda *_a: self.rename_category())
        self.add_category_action = self._action(_("Add &category…"), self.add_category, self.categories)
        self.rename_category_action = self._action(_("Re&name…"), self.rename_category, self.categories, "F2")
        self.toggle_category_action = self._action(_("Retir&e"), self.toggle_category, self.categories)

        category_box = QGroupBox(_("Call categories"), self)
        category_layout = QVBoxLayout(category_box)
        category_layout.addWidget(self.categories, 1)
        for action in (self.add_category_action, self.rename_category_action, self.toggle_category_action):
            category_layout.addWidget(_button(action, category_box))

        columns = QHBoxLayout()
        columns.addWidget(tree_box, 3)
        columns.addWidget(category_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addLayout(columns, 1)
        self.load()

    def _action(
        self, text: str, slot: Callable[[], None], view: QWidget, shortcut: str | None = None
    ) -> QAction:
        action = QAction(text, view)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        view.addAction(action)
        return action

    # --- the options-page contract ------------------------------------------------------------------

    def load(self, select: tuple[str, str] | None = None) -> None:
        """(Re)fill the tree and the list, keeping what was expanded and selected."""
        current = select or self._selected_key()
        expanded = {
            (e.kind, e.id)
            for item in self._all_tree_items()
            if item.isExpanded() and (e := self.entry_of(item)) is not None
        }
        first_load = self.tree.topLevelItemCount() == 0
        with self.mw.ctx.db.session() as session:
            sites = reference.list_sites(session, include_inactive=True)
            tree = [
                (
                    Entry("site", site.id, site.name, site.active, site.area_code),
                    [
                        (
                            Entry("system", system.id, system.name, system.active),
                            [
                                Entry("module", module.id, module.name, module.active)
                                for module in reference.list_modules(
                                    session, system.id, include_inactive=True
                                )
                            ],
                        )
                        for system in reference.list_systems(session, site.id, include_inactive=True)
                    ],
                )
                for site in sites
            ]
            categories = [
                Entry("category", c.id, c.name, c.active)
                for c in reference.list_categories(session, include_inactive=True)
            ]
        self.tree.clear()
        for site, systems in tree:
            site_item = self._tree_item(site, None)
            for system, modules in systems:
                system_item = self._tree_item(system, site_item)
                for module in modules:
                    self._tree_item(module, system_item)
                system_item.setExpanded((system.kind, system.id) in expanded)
            site_item.setExpanded(first_load or (site.kind, site.id) in expanded)
        self.categories.clear()
        for category in categories:
            item = QListWidgetItem(entry_text(category))
            item.setData(ROW_ROLE, category)
            self._grey(item, category.active)
            self.categories.addItem(item)
        if current is not None:
            self._select(current)
        self._update_actions()

    def check(self) -> bool:
        return True

    def save(self) -> None:
        """Nothing to do: every change was saved when it was made."""

    # --- tree helpers -------------------------------------------------------------------------------

    def _tree_item(self, entry: Entry, parent: QTreeWidgetItem | None) -> QTreeWidgetItem:
        item = QTreeWidgetItem([entry_text(entry), entry.area_code if entry.kind == "site" else ""])
        item.setData(0, ROW_ROLE, entry)
        self._grey(item, entry.active)
        if parent is None:
            self.tree.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def _grey(self, item: QTreeWidgetItem | QListWidgetItem, active: bool) -> None:
        if active:
            return
        brush = QBrush(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        if isinstance(item, QTreeWidgetItem):
            for column in range(2):
                item.setForeground(column, brush)
        else:
            item.setForeground(brush)

    def _all_tree_items(self) -> list[QTreeWidgetItem]:
        items: list[QTreeWidgetItem] = []
        stack = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while stack:
            item = stack.pop()
            if item is None:
                continue
            items.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return items

    @staticmethod
    def entry_of(item: QTreeWidgetItem | QListWidgetItem | None) -> Entry | None:
        if item is None:
            return None
        data = item.data(0, ROW_ROLE) if isinstance(item, QTreeWidgetItem) else item.data(ROW_ROLE)
        return data if isinstance(data, Entry) else None

    def tree_entry(self) -> Entry | None:
        return self.entry_of(self.tree.currentItem()) if self.tree.selectedItems() else None

    def category_entry(self) -> Entry | None:
        return self.entry_of(self.categories.currentItem()) if self.categories.selectedItems() else None

    def find_tree_item(self, kind: str, row_id: str) -> QTreeWidgetItem | None:
        for item in self._all_tree_items():
            entry = self.entry_of(item)
            if entry is not None and entry.kind == kind and entry.id == row_id:
                return item
        return None

    def find_tree_item_by_name(self, kind: str, name: str) -> QTreeWidgetItem | None:
        for item in self._all_tree_items():
            entry = self.entry_of(item)
            if entry is not None and entry.kind == kind and entry.name == name:
                return item
        return None

    def find_category_item(self, name: str) -> QListWidgetItem | None:
        for row in range(self.categories.count()):
            entry = self.entry_of(self.categories.item(row))
            if entry is not None and entry.name == name:
                return self.categories.item(row)
        return None

    def _selected_key(self) -> tuple[str, str] | None:
        entry = self.tree_entry() or self.category_entry()
        return (entry.kind, entry.id) if entry is not None else None

    def _select(self, key: tuple[str, str]) -> None:
        kind, row_id = key
        if kind == "category":
            for row in range(self.categories.count()):
                entry = self.entry_of(self.categories.item(row))
                if entry is not None and entry.id == row_id:
                    self.categories.setCurrentRow(row)
            return
        item = self.find_tree_item(kind, row_id)
        if item is not None:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)

    def _update_actions(self) -> None:
        entry = self.tree_entry()
        self.add_system_action.setEnabled(entry is not None)
        self.add_module_action.setEnabled(entry is not None and entry.kind in ("system", "module"))
        self.rename_tree_action.setEnabled(entry is not None)
        self.toggle_tree_action.setEnabled(entry is not None)
        self.toggle_tree_action.setText(
            _("Res&tore") if entry is not None and not entry.active else _("Re&tire")
        )
        category = self.category_entry()
        self.rename_category_action.setEnabled(category is not None)
        self.toggle_category_action.setEnabled(category is not None)
        self.toggle_category_action.setText(
            _("Restor&e") if category is not None and not category.active else _("Retir&e")
        )

    def _site_of(self, item: QTreeWidgetItem) -> Entry | None:
        parent = item.parent()
        while parent is not None:
            item, parent = parent, parent.parent()
        return self.entry_of(item)

    def _system_of(self, item: QTreeWidgetItem) -> Entry | None:
        entry = self.entry_of(item)
        if entry is not None and entry.kind == "module" and item.parent() is not None:
            return self.entry_of(item.parent())
        return entry if entry is not None and entry.kind == "system" else None

    # --- actions ------------------------------------------------------------------------------------

    def _open_dialog(
        self, title: str, submit: Submit, kind: str, name: str = "", area: str | None = None
    ) -> None:
        dialog = ReferenceItemDialog(self.mw, self, title, submit, name, area)
        dialog.accepted.connect(lambda: self._saved(kind, dialog.saved_id))
        dialog.finished.connect(lambda _r: self._forget(dialog))
        self.item_dialog = dialog
        dialog.open()

    def _forget(self, dialog: ReferenceItemDialog) -> None:
        if self.item_dialog is dialog:
            self.item_dialog = None
        dialog.deleteLater()

    def _saved(self, kind: str, row_id: str | None) -> None:
        self.load(select=(kind, row_id) if row_id else None)
        self.changed.emit()

    def add_site(self) -> None:
        self._open_dialog(
            _("Add site"), lambda uow, name, area: reference.add_site(uow, name, area), "site", "", ""
        )

    def add_system(self) -> None:
        item = self.tree.currentItem()
        site = self._site_of(item) if item is not None and self.tree.selectedItems() else None
        if site is None:
            return
        site_id = site.id
        self._open_dialog(
            _("Add a system to {site}").format(site=site.name),
            lambda uow, name, _area: reference.add_system(uow, site_id, name),
            "system",
        )

    def add_module(self) -> None:
        item = self.tree.currentItem()
        system = self._system_of(item) if item is not None and self.tree.selectedItems() else None
        if system is None:
            return
        system_id = system.id
        self._open_dialog(
            _("Add a module to {system}").format(system=system.name),
            lambda uow, name, _area: reference.add_module(uow, system_id, name),
            "module",
        )

    def rename_tree_item(self) -> None:
        entry = self.tree_entry()
        if entry is None:
            return
        kind, row_id = entry.kind, entry.id
        if kind == "site":

            def submit(uow: UnitOfWork, name: str, area: str) -> Entry:
                reference.rename(uow, kind, row_id, name, area_code=area)
                return entry

            self._open_dialog(_("Edit site"), submit, kind, entry.name, entry.area_code)
            return

        def submit_name(uow: UnitOfWork, name: str, _area: str) -> Entry:
            reference.rename(uow, kind, row_id, name)
            return entry

        self._open_dialog(_("Rename"), submit_name, kind, entry.name)

    def toggle_tree_item(self) -> None:
        entry = self.tree_entry()
        if entry is not None:
            self._set_active(entry, not entry.active)

    def add_category(self) -> None:
        self._open_dialog(
            _("Add category"), lambda uow, name, _area: reference.add_category(uow, name), "category"
        )

    def rename_category(self) -> None:
        entry = self.category_entry()
        if entry is None:
            return
        row_id = entry.id

        def submit(uow: UnitOfWork, name: str, _area: str) -> Entry:
            reference.rename(uow, "category", row_id, name)
            return entry

        self._open_dialog(_("Rename category"), submit, "category", entry.name)

    def toggle_category(self) -> None:
        entry = self.category_entry()
        if entry is not None:
            self._set_active(entry, not entry.active)

    def _set_active(self, entry: Entry, active: bool) -> None:
        ctx = self.mw.ctx

        def work(_op: OpContext) -> None:
            with ctx.uow() as uow:
                reference.set_active(uow, entry.kind, entry.id, active)

        def failed(error: BaseException) -> None:
            if isinstance(error, ValidationError):
                dialogs.warn(self, "\n".join(error.fields.values()))
            else:
                show_error(self, error)

        self.mw.op(work).success(lambda _r: self._saved(entry.kind, entry.id)).failure(failed).changes(
            OpChanges(reference=True)
        ).run()
