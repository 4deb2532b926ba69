"""Make Chinese render on any machine: register the bundled CJK font as a fallback for the UI font."""

from __future__ import annotations

import logging

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from app.paths import resource_dir

log = logging.getLogger("hotline.ui.fonts")

BUNDLED_CJK_FONT = "wqy-microhei.ttc"


def install_cjk_font(app: QApplication) -> str | None:
    """Load the bundled font and put it after the system UI font; returns the family name."""
    path = resource_dir() / "fonts" / BUNDLED_CJK_FONT
    font_id = QFontDatabase.addApplicationFont(str(path)) if path.exists() else -1
    if font_id < 0:
        log.info("bundled CJK font not loaded from %s; relying on system fonts", path)
        return None
    families = QFontDatabase.applicationFontFamilies(font_id)
    if not families:
        return None
    base = app.font()
    font = QFont(base)
    font.setFamilies([base.family(), families[0]])
    app.setFont(font)
    return families[0]
