"""A site's letterhead in the database: moved in from an earlier version's desktop settings without
losing it, refused to a login that is not a supervisor's, and printable even when a row is damaged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app import i18n
from app.context import AppContext, open_context
from app.errors import UserFacingError
from app.reports import letterhead as letterheads
from app.reports.letterhead import LetterheadSettings, letterhead_for
from app.services import reference
from app.storage.models import OutboxOp, SiteLetterhead
from app.sync import local
from tests.helpers.kb_files import png


def site_ids(ctx: AppContext) -> dict[str, str]:
    with ctx.db.session() as session:
        return {site.code: site.id for site in reference.list_sites(session)}


def queued(ctx: AppContext) -> int:
    """Letterhead changes waiting in the outbox for the shared server."""
    with ctx.db.session() as session:
        return len(session.scalars(select(OutboxOp).where(OutboxOp.table_name == "site_letterheads")).all())


def write_old_settings(data_dir: Path, entries: dict[str, Any], logos: dict[str, bytes]) -> None:
    """What an earlier version left: letterheads in settings.json and a logo file per site."""
    ctx = open_context(str(data_dir))
    ctx.settings["letterheads"] = entries
    ctx.settings.save()
    for site_id, data in logos.items():
        path = letterheads._legacy_logo_path(ctx, site_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    ctx.close()


def test_an_earlier_desktops_letterheads_move_into_the_database_and_sync(data_dir: Path) -> None:
    first = open_context(str(data_dir))
    ids = site_ids(first)
    first.close()
    old = {ids["changzhou"]: {"text": "常州市财政局 财政信息化运维服务", "signatures": ["经办人", "日期"]}}
    write_old_settings(data_dir, old, {ids["changzhou"]: png()})

    ctx = open_context(str(data_dir))  # the start of the new version
    try:
        printed = letterhead_for(ctx, ids["changzhou"])
        assert (printed.text, printed.signatures, printed.logo) == (
            "常州市财政局 财政信息化运维服务",
            ("经办人", "日期"),
            png(),
        )
        assert queued(ctx) == 1  # waiting to go to the shared server
        settings_file = json.loads(ctx.paths.settings_file.read_text(encoding="utf-8"))
        assert settings_file["letterheads"] == {}
        assert not letterheads._legacy_logo_path(ctx, ids["changzhou"]).exists()
        assert letterhead_for(ctx, ids["zhanjiang"]).text == "湛江市财政局 运维服务"
    finally:
        ctx.close()

    again = open_context(str(data_dir))  # nothing left to move: the same letterhead, no new change
    try:
        assert letterhead_for(again, ids["changzhou"]).logo == png()
        with again.db.session() as session:
            assert (
                len(session.scalars(select(OutboxOp).where(OutboxOp.table_name == "site_letterheads")).all())
                == 1
            )
    finally:
        again.close()


def test_a_letterhead_already_in_the_database_wins_over_a_stale_local_one(data_dir: Path) -> None:
    ctx = open_context(str(data_dir))
    site = site_ids(ctx)["changzhou"]
    with ctx.uow() as uow:
        letterheads.save_settings(uow, site, LetterheadSettings("来自主管的抬头"))
        uow.commit()
    ctx.close()
    write_old_settings(data_dir, {site: {"text": "本机旧抬头", "signatures": []}}, {})

    ctx = open_context(str(data_dir))
    try:
        assert letterhead_for(ctx, site).text == "来自主管的抬头"
        assert ctx.settings["letterheads"] == {}
    finally:
        ctx.close()


def test_a_login_that_is_not_a_supervisors_may_not_change_a_letterhead(ctx: AppContext) -> None:
    i18n.set_language("zh_CN")
    site = site_ids(ctx)["changzhou"]
    with ctx.uow() as uow:
        local.write_meta(uow.session, local.SUPERVISOR, "0")  # what the shared server said of this login
        uow.commit()
    with ctx.uow() as uow, pytest.raises(UserFacingError) as refused:
        letterheads.save_settings(uow, site, LetterheadSettings("自拟抬头"))
    assert refused.value.message.startswith("只有主管可以修改打印抬头")
    assert letterhead_for(ctx, site).text == "常州市财政局 运维服务"


@pytest.mark.allow_warnings  # the unprintable logo is logged
def test_a_damaged_row_still_prints_with_the_documents_own_labels_and_no_logo(ctx: AppContext) -> None:
    site = site_ids(ctx)["changzhou"]
    with ctx.uow() as uow:
        letterheads.save_settings(uow, site, LetterheadSettings("常州市财政局", ("经办人",), png()))
        uow.commit()
    with ctx.uow() as uow:  # as a server answering oddly could leave it
        uow.session.execute(
            update(SiteLetterhead)
            .where(SiteLetterhead.site_id == site)
            .values(signatures="{not json", logo="%%%")
        )
        uow.commit()
    printed = letterhead_for(ctx, site)
    assert (printed.text, printed.signatures, printed.logo) == ("常州市财政局", (), None)
    with ctx.uow() as uow:
        uow.session.execute(
            update(SiteLetterhead)
            .where(SiteLetterhead.site_id == site)
            .values(signatures='["经办人"]', logo="bm90IGEgcGljdHVyZQ==")  # base64, but not a picture
        )
        uow.commit()
    printed = letterhead_for(ctx, site)
    assert (printed.signatures, printed.logo) == (("经办人",), None)
