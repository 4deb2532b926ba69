"""Each site's letterhead for printouts (``app.reports.layout.Letterhead``), set in Settings → 打印.

The text and the signature labels are local settings of this desktop (``letterheads``: site id →
``{"text": ..., "signatures": [...]}``); the logo is a file of its own in the data folder
(``letterheads/<site id>.logo``), written atomically. A site without settings prints its name and
"运维服务", with each document's own signature labels.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.context import AppContext
from app.errors import UserFacingError
from app.i18n import _
from app.reports.layout import Letterhead
from app.services.reference import list_sites

MAX_LOGO_BYTES = 1_000_000
MAX_TEXT = 80
MAX_SIGNATURES = 6
_SEPARATORS = re.compile(r"[,，、;；\n]+")


@dataclass(frozen=True)
class LetterheadSettings:
    """What the settings page edits for one site."""

    text: str = ""  # empty: the default (the site's name and 运维服务)
    signatures: tuple[str, ...] = ()  # empty: each document's own labels
    logo: bytes | None = None


def _logo_path(ctx: AppContext, site_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", site_id)
    return ctx.paths.root / "letterheads" / f"{safe}.logo"


def split_signatures(text: str) -> tuple[str, ...]:
    """Signature labels as typed: separated by commas (, ，), 、 or ;, blanks and repeats dropped."""
    return tuple(dict.fromkeys(part.strip() for part in _SEPARATORS.split(text) if part.strip()))


def default_text(site_name: str) -> str:
    return _("{site} hotline service").format(site=site_name)


def load_settings(ctx: AppContext, site_id: str) -> LetterheadSettings:
    stored = ctx.settings["letterheads"].get(site_id)
    stored = stored if isinstance(stored, dict) else {}
    text = stored.get("text")
    signatures = stored.get("signatures")
    try:
        logo: bytes | None = _logo_path(ctx, site_id).read_bytes()
    except OSError:
        logo = None
    return LetterheadSettings(
        text=text if isinstance(text, str) else "",
        signatures=tuple(s for s in signatures if isinstance(s, str)) if isinstance(signatures, list) else (),
        logo=logo,
    )


def letterhead_for(ctx: AppContext, site_id: str | None) -> Letterhead:
    """The letterhead a printout of ``site_id`` carries (no site: the first site's name)."""
    with ctx.db.session() as session:
        sites = {site.id: site.name for site in list_sites(session)}
    if site_id not in sites:
        site_id = next(iter(sites), "")
    chosen = load_settings(ctx, site_id) if site_id else LetterheadSettings()
    return Letterhead(
        text=chosen.text or default_text(sites.get(site_id, "")),
        logo=chosen.logo,
        signatures=chosen.signatures,
    )


def check_logo(data: bytes) -> str:
    """Why ``data`` cannot be a logo ("" when it can): a PNG or JPEG picture of at most 1 MB."""
    if len(data) > MAX_LOGO_BYTES:
        return _("The logo is larger than 1 MB; please use a smaller picture.")
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        return _("The logo must be a PNG or JPEG picture.")
    try:
        from reportlab.lib.utils import ImageReader

        width, height = ImageReader(io.BytesIO(data)).getSize()
    except Exception:  # PIL raises many kinds for a damaged picture
        return _("The logo picture is damaged and cannot be read.")
    if not width or not height:
        return _("The logo picture is damaged and cannot be read.")
    return ""


def check_settings(value: LetterheadSettings) -> dict[str, str]:
    """Problems by field ("text", "signatures", "logo"), each a sentence for the person typing."""
    problems: dict[str, str] = {}
    if len(value.text) > MAX_TEXT:
        problems["text"] = _("The letterhead may have at most {n} characters.").format(n=MAX_TEXT)
    if len(value.signatures) > MAX_SIGNATURES:
        problems["signatures"] = _("At most {n} signature lines.").format(n=MAX_SIGNATURES)
    elif any(len(label) > 12 for label in value.signatures):
        problems["signatures"] = _("A signature label may have at most 12 characters.")
    if value.logo is not None:
        problem = check_logo(value.logo)
        if problem:
            problems["logo"] = problem
    return problems


def save_settings(ctx: AppContext, site_id: str, value: LetterheadSettings) -> None:
    """Keep ``value`` for the site (the caller saves ``ctx.settings`` afterwards)."""
    path = _logo_path(ctx, site_id)
    try:
        if value.logo is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".logo-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(value.logo)
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
    except OSError as exc:
        raise UserFacingError(
            _("The logo could not be saved: {error}").format(error=exc.strerror or exc)
        ) from exc
    letterheads = dict(ctx.settings["letterheads"])
    letterheads[site_id] = {"text": value.text.strip(), "signatures": list(value.signatures)}
    ctx.settings["letterheads"] = letterheads
