"""A site's letterhead travels through the shared server (a real PostgreSQL): set once by a supervisor,
printed the same on every desktop; an engineer's login reads it but may not change it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app import i18n
from app.errors import UserFacingError
from app.reports import letterhead as letterheads
from app.reports.letterhead import LetterheadSettings
from app.services import reference
from app.sync import local
from tests.helpers.kb_files import png
from tests.helpers.pgserver import PgDatabase
from tests.sync.desktops import Desktop, SyncWorld, engineer_and_supervisor, make_world


@pytest.fixture(autouse=True)
def _chinese() -> None:
    i18n.set_language("zh_CN")


@pytest.fixture
def world(pg_database: PgDatabase, tmp_path: Path) -> Iterator[SyncWorld]:
    """Desktops whose login is a supervisor's."""
    made = make_world(pg_database, tmp_path, supervisor=True)
    yield made
    made.close()


def changzhou(desk: Desktop) -> str:
    with desk.db.session() as session:
        return next(s.id for s in reference.list_sites(session) if s.code == "changzhou")


def shown(desk: Desktop, site_id: str) -> LetterheadSettings:
    with desk.db.session() as session:
        return letterheads.read_settings(session, site_id)


def save(desk: Desktop, site_id: str, value: LetterheadSettings) -> None:
    with desk.uow() as uow:
        letterheads.save_settings(uow, site_id, value)
        uow.commit()


def test_a_supervisors_letterhead_reaches_every_desktop_and_edits_merge_by_field(world: SyncWorld) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    site = changzhou(a)
    value = LetterheadSettings("常州市财政局 财政信息化运维服务", ("经办人", "审核人", "日期"), png())
    save(a, site, value)
    a.sync()
    b.sync()
    assert shown(b, site) == value  # text, labels and the logo's bytes

    # offline, a changes the heading and b the signature labels: both survive the merge
    save(a, site, replace(value, text="常州市财政局 运维服务中心"))
    save(b, site, replace(value, signatures=("值班工程师", "科室负责人")))
    a.sync()
    b.sync()
    a.sync()
    merged = LetterheadSettings("常州市财政局 运维服务中心", ("值班工程师", "科室负责人"), png())
    assert shown(a, site) == shown(b, site) == merged
    assert len(world.server_rows("site_letterheads")) == 1  # one row per site on every desktop


def test_the_same_field_changed_on_two_desktops_is_a_readable_conflict_a_person_resolves(
    world: SyncWorld,
) -> None:
    a, b = world.desktop("a"), world.desktop("b")
    site = changzhou(a)
    save(a, site, LetterheadSettings("常州市财政局 运维服务", ("经办人",)))
    a.sync()
    b.sync()
    save(a, site, LetterheadSettings("常州市财政局 运维服务", ("经办人", "审核人"), png(b"\x00\x00\xff")))
    save(b, site, LetterheadSettings("常州市财政局 运维服务", ("值班工程师",), png()))  # later: wins
    b.sync()
    a.sync()
    b.sync()
    assert shown(a, site) == shown(b, site)
    assert shown(a, site).signatures == ("值班工程师",) and shown(a, site).logo == png()
    with a.db.session() as session:
        conflicts = {c.field: c for c in local.open_conflicts(session)}
    assert set(conflicts) == {"signatures", "logo"}
    labels = conflicts["signatures"]
    assert (labels.field_label, labels.kept_value, labels.lost_value) == (
        "签字栏",
        "值班工程师",
        "经办人、审核人",
    )
    assert labels.row_label == "站点的打印抬头 常州市财政局 运维服务"
    logo = conflicts["logo"]
    assert (logo.field_label, logo.kept_value, logo.lost_value) == (
        "徽标",
        "一张 1 KB 的图片",
        "一张 1 KB 的图片",
    )

    with a.uow() as uow:  # the person prefers the labels that lost
        local.resolve_conflict(uow, labels.id, use_lost=True)
    a.sync()
    b.sync()
    assert shown(b, site).signatures == ("经办人", "审核人")


def test_an_engineer_login_reads_the_letterhead_but_may_not_change_it(
    pg_database: PgDatabase, tmp_path: Path
) -> None:
    world, engineer, boss = engineer_and_supervisor(pg_database, tmp_path)
    try:
        site = changzhou(engineer)
        save(engineer, site, LetterheadSettings("工程师自拟的抬头"))  # alone, before any sync: allowed
        assert engineer.sync().rejected == 1  # the server refuses it and the desktop parks it
        with engineer.db.session() as session:
            [parked] = local.parked_ops(session)
            assert parked.table_name == "site_letterheads"
            assert parked.reason == "只有主管可以修改服务时限规则、工作日历和打印抬头。"
        assert world.server_rows("site_letterheads") == {}
        with pytest.raises(UserFacingError, match="只有主管可以修改打印抬头"):
            save(engineer, site, LetterheadSettings("再试一次"))

        boss.sync()
        save(boss, site, LetterheadSettings("常州市财政局 运维服务", ("经办人", "日期")))
        assert boss.sync().rejected == 0
        engineer.sync()
        assert shown(engineer, site).signatures == ("经办人", "日期")
    finally:
        world.close()
