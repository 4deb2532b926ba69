"""Reference data (app.services.reference): seeded sites, systems, modules and categories."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.context import AppContext, open_context
from app.errors import ValidationError
from app.services import reference
from app.storage.models import Base, Module, OutboxOp, Site

ZJ_MODULES = ["计划和印制", "票据发放管理", "库存管理", "核销销毁", "统计报表", "系统设置管理", "系统管理"]
CATEGORIES = ["咨询", "故障报修", "需求建议", "投诉", "其他"]


def snapshot_ids(ctx: AppContext) -> dict[str, list[tuple[str, str]]]:
    with ctx.db.session() as session:
        result: dict[str, list[tuple[str, str]]] = {}
        for name in ("sites", "systems", "modules", "categories"):
            table = Base.metadata.tables[name]
            result[name] = sorted((r.id, r.name) for r in session.execute(select(table.c.id, table.c.name)))
        return result


def test_seeding_creates_both_sites_with_area_codes(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        sites = reference.list_sites(session)
    assert [(s.name, s.area_code) for s in sites] == [("常州市财政局", "0519"), ("湛江市财政局", "0759")]
    assert [s.code for s in sites] == ["changzhou", "zhanjiang"]


def test_zhanjiang_bill_system_has_its_seven_modules_in_order(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        zhanjiang = next(s for s in reference.list_sites(session) if s.code == "zhanjiang")
        systems = reference.list_systems(session, zhanjiang.id)
        assert [s.name for s in systems] == ["财政票据管理系统"]
        modules = reference.list_modules(session, systems[0].id)
    assert [m.name for m in modules] == ZJ_MODULES


def test_changzhou_has_its_systems(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        changzhou = next(s for s in reference.list_sites(session) if s.code == "changzhou")
        systems = reference.list_systems(session, changzhou.id)
        assert "财政电子票据" in [s.name for s in systems]
        for system in systems:
            assert reference.list_modules(session, system.id), system.name


def test_the_five_categories(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        assert [c.name for c in reference.list_categories(session)] == CATEGORIES


def test_seeded_ids_are_identical_across_two_fresh_databases(tmp_path: Path) -> None:
    first = open_context(str(tmp_path / "desktop-a"))
    second = open_context(str(tmp_path / "desktop-b"))
    try:
        assert first.db.node_id != second.db.node_id
        a, b = snapshot_ids(first), snapshot_ids(second)
        assert a == b
        assert len(a["modules"]) == 5 * 4 + 7
    finally:
        first.close()
        second.close()


def test_seeding_twice_is_a_no_op(ctx: AppContext) -> None:
    before = snapshot_ids(ctx)
    with ctx.db.session() as session:
        ops_before = session.scalar(select(func.count()).select_from(OutboxOp))
    with ctx.uow() as uow:
        assert reference.seed_reference_data(uow) is False
    ctx.close()
    reopened = open_context(str(ctx.paths.root))
    try:
        assert snapshot_ids(reopened) == before
        with reopened.db.session() as session:
            assert session.scalar(select(func.count()).select_from(OutboxOp)) == ops_before
    finally:
        reopened.close()


def test_add_entries(ctx: AppContext) -> None:
    with ctx.uow() as uow:
        site = reference.add_site(uow, " 南通市财政局 ", "0513")
    with ctx.uow() as uow:
        system = reference.add_system(uow, site.id, "非税收入系统")
    with ctx.uow() as uow:
        reference.add_module(uow, system.id, "缴款书管理")
    with ctx.uow() as uow:
        reference.add_module(uow, system.id, "退付管理")
    with ctx.uow() as uow:
        reference.add_category(uow, "培训")
    with ctx.db.session() as session:
        sites = reference.list_sites(session)
        assert [(s.name, s.area_code) for s in sites][-1] == ("南通市财政局", "0513")
        assert [s.name for s in reference.list_systems(session, site.id)] == ["非税收入系统"]
        assert [m.name for m in reference.list_modules(session, system.id)] == ["缴款书管理", "退付管理"]
        assert [c.name for c in reference.list_categories(session)] == [*CATEGORIES, "培训"]
        # a person's additions get ordinary UUIDv7 ids
        assert site.id[14] == "7"


@pytest.mark.parametrize("area", ["519", "05", "051912", "abc1"])
def test_add_site_refuses_a_wrong_area_code(ctx: AppContext, area: str) -> None:
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        reference.add_site(uow, "某市财政局", area)
    assert "area_code" in info.value.fields


def test_a_name_is_required(ctx: AppContext) -> None:
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        reference.add_category(uow, "  ")
    assert "name" in info.value.fields
    with pytest.raises(ValidationError), ctx.uow() as uow:
        reference.add_category(uow, "类" * 51)


def test_rename_entries(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        zhanjiang = next(s for s in reference.list_sites(session) if s.code == "zhanjiang")
        module = reference.list_modules(session, reference.list_systems(session, zhanjiang.id)[0].id)[3]
        category = reference.list_categories(session)[0]
    with ctx.uow() as uow:
        reference.rename(uow, "module", module.id, "核销与销毁")
    with ctx.uow() as uow:
        reference.rename(uow, "category", category.id, "业务咨询")
    with ctx.uow() as uow:
        reference.rename(uow, "site", zhanjiang.id, "湛江市财政局（本部）", area_code="0759-")
    with ctx.db.session() as session:
        assert session.get(Module, module.id).name == "核销与销毁"  # type: ignore[union-attr]
        assert reference.list_categories(session)[0].name == "业务咨询"
        site = session.get(Site, zhanjiang.id)
        assert site is not None
        assert (site.name, site.area_code, site.code) == ("湛江市财政局（本部）", "0759", "zhanjiang")
    with pytest.raises(ValidationError), ctx.uow() as uow:
        reference.rename(uow, "category", "missing", "x")
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        reference.rename(uow, "site", zhanjiang.id, "湛江市财政局", area_code="759")
    assert "area_code" in info.value.fields
    with ctx.db.session() as session:
        assert session.get(Site, zhanjiang.id).area_code == "0759"  # type: ignore[union-attr]


def test_deactivated_entries_are_hidden_from_new_calls_but_kept(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        category = next(c for c in reference.list_categories(session) if c.name == "投诉")
    with ctx.uow() as uow:
        reference.set_active(uow, "category", category.id, False)
    with ctx.db.session() as session:
        assert "投诉" not in [c.name for c in reference.list_categories(session)]
        assert "投诉" in [c.name for c in reference.list_categories(session, include_inactive=True)]
    with ctx.uow() as uow:
        reference.set_active(uow, "category", category.id, True)
    with ctx.db.session() as session:
        assert [c.name for c in reference.list_categories(session)] == CATEGORIES
    with pytest.raises(ValidationError), ctx.uow() as uow:
        reference.set_active(uow, "site", "missing", False)


def test_a_deactivated_site_is_not_offered_as_the_current_site(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        changzhou, zhanjiang = reference.list_sites(session)
    ctx.settings["site_id"] = changzhou.id
    assert ctx.current_site_id() == changzhou.id
    with ctx.uow() as uow:
        reference.set_active(uow, "site", changzhou.id, False)
    assert ctx.current_site_id() == zhanjiang.id
