"""Writing an article: title, type, status, site, system and module, tags, and three Markdown texts that
take images pasted from the clipboard (stored in the database with the article, so they sync)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import ValidationError
from app.i18n import _
from app.ids import uuid7
from app.services import kb, reference
from ui.changes import OpChanges
from ui.kb.view import ArticleData, ArticleView
from ui.operations import OpContext, show_error
from ui.widgets.field_errors import error_label, show_field_error

MAX_IMAGE_WIDTH = 1600  # pasted screenshots wider than this are scaled down before they are kept


class MarkdownEdit(QPlainTextEdit):
    """A Markdown text that turns a pasted image into ``![图片](kbimg:<id>)`` and keeps its bytes."""

    image_pasted = Signal(object)  # kb.NewImage

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasImage():
            image = QImage(source.imageData())
            if not image.isNull():
                self.paste_image(image)
                return
        super().insertFromMimeData(source)

    def paste_image(self, image: QImage) -> kb.NewImage:
        if image.width() > MAX_IMAGE_WIDTH:
            image = image.scaledToWidth(MAX_IMAGE_WIDTH, Qt.TransformationMode.SmoothTransformation)
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide6 takes a str here
        buffer.close()
        pasted = kb.NewImage(uuid7(), "image/png", bytes(data.data()))
        self.insertPlainText(f"![{_('image')}](kbimg:{pasted.id})")
        self.image_pasted.emit(pasted)
        return pasted


class ArticleEditor(QDialog):
    """A new article (optionally prefilled and linked to a call or ticket) or an edit of one."""

    saved = Signal(str)  # the article's id

    def __init__(
        self,
        mw: Any,
        article_id: str | None = None,
        prefill: kb.ArticleInput | None = None,
        call_id: str | None = None,
        ticket_id: str | None = None,
    ) -> None:
        super().__init__(mw)
        self.mw = mw
        self.article_id = article_id
        self.call_id, self.ticket_id = call_id, ticket_id
        self.images: dict[str, kb.NewImage] = {}
        self._known_images: dict[str, tuple[str, bytes]] = {}
        self._saving = False
        self.setWindowTitle(_("Edit article") if article_id else _("New article"))
        self.setObjectName("ArticleEditor")
        self.resize(980, 720)
        self._build()
        self._load(prefill)

    # --- construction -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.title_edit = QLineEdit(self)
        self.title_edit.setMaxLength(kb.MAX_TITLE)
        self.title_edit.setPlaceholderText(_("A short sentence a caller would say, e.g. 开票提示证书过期"))
        self.kind_combo = QComboBox(self)
        for code, label in kb.ARTICLE_TYPES.items():
            self.kind_combo.addItem(_(label), code)
        self.status_combo = QComboBox(self)
        for code, label in kb.ARTICLE_STATUSES.items():
            self.status_combo.addItem(_(label), code)
        self.site_combo = QComboBox(self)
        self.system_combo = QComboBox(self)
        self.module_combo = QComboBox(self)
        self.tags_edit = QLineEdit(self)
        self.tags_edit.setPlaceholderText(_("Separated by commas, e.g. UKey, 证书"))
        self.site_combo.currentIndexChanged.connect(self._site_changed)
        self.system_combo.currentIndexChanged.connect(self._system_changed)

        self.errors: dict[str, QLabel] = {name: error_label(self) for name in ("title", "solution", "module")}
        form = QFormLayout()
        title_box = QVBoxLayout()
        title_box.setSpacing(2)
        title_box.addWidget(self.title_edit)
        title_box.addWidget(self.errors["title"])
        form.addRow(_("&Title"), title_box)
        row = QHBoxLayout()
        for label, widget in (
            (_("Type"), self.kind_combo),
            (_("Status"), self.status_combo),
            (_("Site"), self.site_combo),
        ):
            row.addWidget(QLabel(label, self))
            row.addWidget(widget, 1)
        form.addRow(row)
        row = QHBoxLayout()
        for label, widget in ((_("System"), self.system_combo), (_("Module"), self.module_combo)):
            row.addWidget(QLabel(label, self))
            row.addWidget(widget, 1)
        form.addRow(row)
        form.addRow(self.errors["module"])
        form.addRow(_("T&ags"), self.tags_edit)

        self.texts: dict[str, MarkdownEdit] = {}
        self.tabs = QTabWidget(self)
        for name, label in (
            ("symptom", _("Symptom / question")),
            ("cause", _("Cause")),
            ("solution", _("Solution")),
        ):
            edit = MarkdownEdit(self)
            edit.setObjectName(f"{name}Edit")
            edit.setPlaceholderText(_("Markdown: **bold**, 1. steps, `code`; paste screenshots with Ctrl+V."))
            edit.image_pasted.connect(self._image_pasted)
            edit.textChanged.connect(self._preview_later)
            self.texts[name] = edit
            self.tabs.addTab(edit, label)
        self.preview = ArticleView(self)
        splitter = QSplitter(self)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.preview)
        splitter.setSizes([520, 440])

        self.general_error = error_label(self)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(_("Save"))  # Qt's own button texts are not translated here
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.errors["solution"])
        layout.addWidget(self.general_error)
        layout.addWidget(buttons)
        QShortcut(QKeySequence("Ctrl+S"), self, self.save)
        from PySide6.QtCore import QTimer

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(250)
        self._preview_timer.timeout.connect(self._update_preview)

    # --- loading ------------------------------------------------------------------------------------

    def _load(self, prefill: kb.ArticleInput | None) -> None:
        ctx, article_id, site_id = self.mw.ctx, self.article_id, self.mw.site_id

        def work(_op: OpContext) -> tuple[Any, kb.ArticleInput | None, dict[str, tuple[str, bytes]]]:
            with ctx.db.session() as session:
                sites = [(s.id, s.name) for s in reference.list_sites(session)]
                systems = {
                    s.id: (s.name, [(y.id, y.name) for y in reference.list_systems(session, s.id)])
                    for s in reference.list_sites(session)
                }
                modules = {
                    y.id: [(m.id, m.name) for m in reference.list_modules(session, y.id)]
                    for y in reference.list_systems(session, None)
                }
                data = None
                images: dict[str, tuple[str, bytes]] = {}
                if article_id is not None:
                    article = kb.get_article(session, article_id)
                    if article is None:
                        raise ValidationError(
                            {"article": _("This article no longer exists (another computer deleted it).")}
                        )
                    data = kb.input_from_article(article)
                    images = kb.images_of(session, article_id)
                return (sites, systems, modules), data, images

        def loaded(result: tuple[Any, kb.ArticleInput | None, dict[str, tuple[str, bytes]]]) -> None:
            (sites, systems, modules), data, images = result
            self._systems, self._modules = systems, modules
            self.site_combo.blockSignals(True)
            self.site_combo.addItem(_("Every site"), None)
            for sid, name in sites:
                self.site_combo.addItem(name, sid)
            self.site_combo.blockSignals(False)
            self._known_images = images
            self.preview.set_images(images)
            self.fill(data or prefill or kb.ArticleInput(site_id=site_id))

        self.mw.op(work).success(loaded).failure(self._load_failed).run()

    def _load_failed(self, error: BaseException) -> None:
        show_error(self, error)
        self.reject()

    def fill(self, data: kb.ArticleInput) -> None:
        self.title_edit.setText(data.title)
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(data.kind)))
        self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(data.status)))
        self.site_combo.setCurrentIndex(max(0, self.site_combo.findData(data.site_id)))
        self._site_changed()
        self.system_combo.setCurrentIndex(max(0, self.system_combo.findData(data.system_id)))
        self._system_changed()
        self.module_combo.setCurrentIndex(max(0, self.module_combo.findData(data.module_id)))
        self.tags_edit.setText(", ".join(data.tags))
        for name, edit in self.texts.items():
            edit.setPlainText(getattr(data, name))
        self._update_preview()

    def _site_changed(self, _index: int = 0) -> None:
        site_id = self.site_combo.currentData()
        keep = self.system_combo.currentData()
        self.system_combo.blockSignals(True)
        self.system_combo.clear()
        self.system_combo.addItem(_("(none)"), None)
        sites = [site_id] if site_id else list(getattr(self, "_systems", {}))
        for sid in sites:
            name, systems = getattr(self, "_systems", {}).get(sid, ("", []))
            for system_id, system_name in systems:
                self.system_combo.addItem(system_name if site_id else f"{system_name}（{name}）", system_id)
        self.system_combo.setCurrentIndex(max(0, self.system_combo.findData(keep)))
        self.system_combo.blockSignals(False)
        self._system_changed()

    def _system_changed(self, _index: int = 0) -> None:
        keep = self.module_combo.currentData()
        self.module_combo.clear()
        self.module_combo.addItem(_("(none)"), None)
        for module_id, name in getattr(self, "_modules", {}).get(self.system_combo.currentData(), []):
            self.module_combo.addItem(name, module_id)
        self.module_combo.setCurrentIndex(max(0, self.module_combo.findData(keep)))

    # --- images and preview -------------------------------------------------------------------------

    def _image_pasted(self, image: kb.NewImage) -> None:
        self.images[image.id] = image
        self.preview.set_images({image.id: (image.mime, image.data)})

    def _preview_later(self) -> None:
        self._preview_timer.start()

    def _update_preview(self) -> None:
        data = self.value()
        self.preview.show_article(
            ArticleData(
                id="",
                title=data.title or _("(no title)"),
                symptom=data.symptom,
                cause=data.cause,
                solution=data.solution,
                meta=[],
                images={**self._known_images, **{i.id: (i.mime, i.data) for i in self.images.values()}},
            )
        )

    # --- saving -------------------------------------------------------------------------------------

    def value(self) -> kb.ArticleInput:
        return kb.ArticleInput(
            title=self.title_edit.text(),
            symptom=self.texts["symptom"].toPlainText(),
            cause=self.texts["cause"].toPlainText(),
            solution=self.texts["solution"].toPlainText(),
            site_id=self.site_combo.currentData(),
            system_id=self.system_combo.currentData(),
            module_id=self.module_combo.currentData(),
            tags=[t for t in self.tags_edit.text().replace("，", ",").split(",")],
            kind=str(self.kind_combo.currentData()),
            status=str(self.status_combo.currentData()),
        )

    def save(self) -> None:
        if self._saving:
            return
        self._saving = True
        self.save_button.setEnabled(False)
        for name, label in self.errors.items():
            show_field_error(self._field(name), label, "")
        self.general_error.hide()
        data, images = self.value(), list(self.images.values())
        ctx, article_id, engineer = self.mw.ctx, self.article_id, self.mw.ctx.engineer or ""
        call_id, ticket_id = self.call_id, self.ticket_id

        def work(_op: OpContext) -> str:
            now = dt.datetime.now(dt.UTC)
            with ctx.uow() as uow:
                if article_id is None:
                    return kb.create_article(
                        uow, data, engineer, now, images, call_id=call_id, ticket_id=ticket_id
                    ).id
                kb.save_article(uow, article_id, data, engineer, now, images)
                return article_id

        self.mw.op(work).success(self._saved).failure(self._failed).changes(OpChanges(kb=True)).run()

    def _field(self, name: str) -> QWidget:
        return {"title": self.title_edit, "solution": self.texts["solution"], "module": self.module_combo}[
            name
        ]

    def _saved(self, article_id: str) -> None:
        self._saving = False
        self.saved.emit(article_id)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        if isinstance(error, ValidationError):
            rest = []
            for name, message in error.fields.items():
                if name in self.errors:
                    show_field_error(self._field(name), self.errors[name], message)
                else:
                    rest.append(message)
            if rest:
                self.general_error.setText("\n".join(rest))
                self.general_error.show()
            return
        show_error(self, error)
