"""Each site's letterhead for printouts (``app.reports.layout.Letterhead``), set in Settings → 打印.

The heading line, the signature labels and the logo of a site are one synced row
(``app.storage.models.SiteLetterhead``, id derived from the site), so every desktop prints the same
heading; like the service-level rules, only a supervisor changes it once a shared server says who is
one. A site without a row prints its name and "运维服务", with each document's own signature labels.

Earlier versions kept letterheads as settings of one desktop (``letterheads`` in settings.json and a
logo file in ``letterheads/``); ``adopt_local_settings`` moves those into the rows once, where the site
has none yet, so nothing typed there is lost.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.context import AppContext
from app.errors import UserFacingError
from app.i18n import _
from app.reports.layout import Letterhead
from app.services.reference import list_sites
from app.storage.models import SiteLetterhead
from app.storage.uow import UnitOfWork

log = logging.getLogger("hotline.reports")

MAX_LOGO_BYTES = 1_000_000
MAX_TEXT = 80
MAX_SIGNATURES = 6
_SEPARATORS = re.compile(r"[,，、;；\n]+")
_NAMESPACE = uuid.UUID("5b0f3c1e-7d2a-4e8b-9a61-3c4d2e1f0a7b")


@dataclass(frozen=True)
class LetterheadSettings:
    """What the settings page edits for one site."""

    text: str = ""  # empty: the default (the site's name and 运维服务)
    signatures: tuple[str, ...] = ()  # empty: each document's own labels
    logo: bytes | None = None


def letterhead_id(site_id: str) -> str:
    """The id of a site's letterhead row: the same on every desktop."""
    return str(uuid.uuid5(_NAMESPACE, f"site_letterhead/{site_id}"))


def split_signatures(text: str) -> tuple[str, ...]:
    """Signature labels as typed: separated by commas (, ，), 、 or ;, blanks and repeats dropped."""
    return tuple(dict.fromkeys(part.strip() for part in _SEPARATORS.split(text) if part.strip()))


def default_text(site_name: str) -> str:
    return _("{site} hotline service").format(site=site_name)


def not_a_supervisor_message() -> str:
    return _(
        "Only a supervisor may change the letterheads, which every desktop prints. This computer's "
        "login on the shared server is not a supervisor's; the administrator can make it one."
    )


def may_change(session: Session) -> bool:
    """Whether this desktop may change letterheads (as the shared server last said of its login)."""
    from app.sync import local

    return local.may_change_service_rules(session)


def _from_row(row: SiteLetterhead | None) -> LetterheadSettings:
    if row is None or row.deleted:
        return LetterheadSettings()
    try:
        signatures = json.loads(row.signatures or "[]")
    except ValueError:  # a damaged row prints the documents' own labels
        signatures = []
    try:
        logo: bytes | None = base64.b64decode(row.logo, validate=True) if row.logo else None
    except (binascii.Error, ValueError):
        logo = None
    if logo is not None and check_logo(logo):  # a picture that cannot print is left out, not fatal
        log.warning("the letterhead logo of site %s cannot be printed; printing without it", row.site_id)
        logo = None
    return LetterheadSettings(
        text=row.text if isinstance(row.text, str) else "",
        signatures=_labels(signatures),
        logo=logo,
    )


def _labels(stored: object) -> tuple[str, ...]:
    return tuple(x for x in stored if isinstance(x, str)) if isinstance(stored, list) else ()


def read_settings(session: Session, site_id: str) -> LetterheadSettings:
    return _from_row(session.get(SiteLetterhead, letterhead_id(site_id)))


def load_settings(ctx: AppContext, site_id: str) -> LetterheadSettings:
    with ctx.db.session() as session:
        return read_settings(session, site_id)


def letterhead_for(ctx: AppContext, site_id: str | None) -> Letterhead:
    """The letterhead a printout of ``site_id`` carries (no site: the first site's name)."""
    with ctx.db.session() as session:
        sites = {site.id: site.name for site in list_sites(session)}
        if site_id not in sites:
            site_id = next(iter(sites), "")
        chosen = read_settings(session, site_id) if site_id else None
    chosen = chosen or LetterheadSettings()
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


def save_settings(uow: UnitOfWork, site_id: str, value: LetterheadSettings) -> None:
    """Keep ``value`` for the site (the caller commits). Refused for a login that is not a supervisor's."""
    if not may_change(uow.session):
        raise UserFacingError(not_a_supervisor_message())
    _write(uow.session, site_id, value)


def _write(session: Session, site_id: str, value: LetterheadSettings) -> None:
    fields = {
        "text": value.text.strip(),
        "signatures": json.dumps(list(value.signatures), ensure_ascii=False),
        "logo": base64.b64encode(value.logo).decode("ascii") if value.logo else "",
    }
    row = session.get(SiteLetterhead, letterhead_id(site_id))
    if row is None:
        session.add(SiteLetterhead(id=letterhead_id(site_id), site_id=site_id, **fields))
        return
    for name, new in fields.items():  # only what changed: the outbox carries changed fields, merged by field
        if getattr(row, name) != new:
            setattr(row, name, new)
    if row.deleted:
        row.deleted = False


# --- the settings of one desktop, from before letterheads synced -----------------------------------------


def _legacy_logo_path(ctx: AppContext, site_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", site_id)
    return ctx.paths.root / "letterheads" / f"{safe}.logo"


def adopt_local_settings(ctx: AppContext) -> int:
    """Move letterheads kept as this desktop's settings into the synced rows, for each site that has no
    row yet (one made elsewhere wins: it is what the other desktops print). Returns how many moved. The
    settings and logo files are removed only once the rows are committed."""
    stored = ctx.settings["letterheads"]
    if not isinstance(stored, dict) or not stored:
        return 0
    moved: list[str] = []
    with ctx.uow() as uow:
        known = {site.id for site in list_sites(uow.session)}
        for site_id, entry in stored.items():
            if site_id not in known or not isinstance(entry, dict):
                continue
            if uow.session.scalar(select(SiteLetterhead.id).where(SiteLetterhead.site_id == site_id)):
                moved.append(site_id)  # already there: the local copy is stale
                continue
            text, signatures = entry.get("text"), entry.get("signatures")
            try:
                logo: bytes | None = _legacy_logo_path(ctx, site_id).read_bytes()
            except OSError:
                logo = None
            value = LetterheadSettings(
                text=text if isinstance(text, str) else "",
                signatures=tuple(x for x in signatures if isinstance(x, str))
                if isinstance(signatures, list)
                else (),
                logo=logo if logo is not None and not check_logo(logo) else None,
            )
            _write(uow.session, site_id, value)
            moved.append(site_id)
        uow.commit()
    remaining = {k: v for k, v in stored.items() if k not in moved}
    ctx.settings["letterheads"] = remaining
    ctx.settings.save()
    for site_id in moved:
        with contextlib.suppress(OSError):
            _legacy_logo_path(ctx, site_id).unlink()
    if moved:
        log.info(
            "moved the letterheads of %d site(s) from this desktop's settings into the database", len(moved)
        )
    return len(moved)
