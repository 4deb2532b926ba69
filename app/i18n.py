"""The one translation system, for the core and the Qt side alike.

Source strings are English; catalogs map them to another language. Catalogs are JSON files in
``resources/translations/<lang>/*.json`` (one file per area, merged at load), so parallel work on
different screens never edits the same file. A test checks that every string passed to ``_()`` in
``app/`` and ``ui/`` has a Simplified Chinese translation, so the default language is always complete.

Use ``_("...")`` at the point of display, never at import time; for module-level tables of labels use
``N_("...")`` to mark them and ``_()`` when they are shown.
"""

from __future__ import annotations

import json
import logging

from app.paths import resource_dir

log = logging.getLogger("hotline.i18n")

DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES: dict[str, str] = {"zh_CN": "简体中文", "en": "English"}

_catalog: dict[str, str] = {}
_language = "en"


def load_catalog(language: str) -> dict[str, str]:
    folder = resource_dir() / "translations" / language
    merged: dict[str, str] = {}
    if not folder.is_dir():
        return merged
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.error("translation file %s unreadable: %s", path, exc)
            continue
        merged.update({str(k): str(v) for k, v in data.items() if v})
    return merged


def set_language(language: str) -> None:
    global _catalog, _language
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    _language = language
    _catalog = {} if language == "en" else load_catalog(language)


def current_language() -> str:
    return _language


def _(message: str) -> str:
    return _catalog.get(message, message)


def N_(message: str) -> str:
    """Mark a string for translation without translating it now."""
    return message
