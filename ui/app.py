"""Starting the window: Qt application, fonts, translations, crash handler, data, main window."""

from __future__ import annotations

import logging
import os
import sys

from app import i18n
from app.errors import UserFacingError
from app.i18n import _

log = logging.getLogger("hotline.ui")


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    )


def run_gui(data_dir: str | None, language: str | None) -> int:
    if not _has_display():
        i18n.set_language(language or i18n.DEFAULT_LANGUAGE)
        print(
            _(
                "No graphical display was found. Start Hotline Console from a desktop session, "
                "or use the command line (hotline --help)."
            ),
            file=sys.stderr,
        )
        return 2

    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
    from PySide6.QtWidgets import QApplication

    from app.context import open_context
    from ui.crash import crash_handler, install_qt_message_logging
    from ui.dialogs import warn
    from ui.fonts import install_cjk_font
    from ui.main_window import MainWindow

    qt_app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(qt_app, QApplication)
    qt_app.setApplicationName("Hotline Console")
    qt_app.setOrganizationName("HotlineConsole")
    install_qt_message_logging()
    install_cjk_font(qt_app)

    try:
        ctx = open_context(data_dir)
    except UserFacingError as exc:
        i18n.set_language(language or i18n.DEFAULT_LANGUAGE)
        warn(None, exc.message)
        return 2
    if language:
        i18n.set_language(language)
    crash_handler.install(ctx.paths.crash_reports)

    if i18n.current_language() == "zh_CN":
        translator = QTranslator(qt_app)
        if translator.load(
            QLocale(QLocale.Language.Chinese, QLocale.Country.China),
            "qtbase",
            "_",
            QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath),
        ):
            qt_app.installTranslator(translator)

    window = MainWindow(ctx)
    if os.environ.get("HOTLINE_BENCH_READY"):
        from ui import bench_hook

        bench_hook.install(window)
    window.show()
    window.after_show()
    code = qt_app.exec()
    ctx.close()
    return int(code)
