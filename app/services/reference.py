"""Reference data: service sites, their systems and modules, call categories.

Seeded on first start from the two contracts (../shared/seeds). Seeded rows get ids derived from
their names (UUIDv5), so every desktop seeds the *same* rows and the first sync does not duplicate
them; rows added later by a person get ordinary UUIDv7 ids. Each contract's service-level policy is
seeded with its site (``app.services.sla_config.seed_default_policies``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.i18n import _
from app.ids import uuid7
from app.services import sla_config
from app.storage.models import Category, Module, Site, System
from app.storage.uow import UnitOfWork

_SEED_NAMESPACE = uuid.UUID("6b1f3f7e-4c1a-4d5e-9a51-2f0c8f1d7a10")


def seed_id(*parts: str) -> str:
    return str(uuid.uuid5(_SEED_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class SeedSite:
    code: str
    name: str
    area_code: str
    systems: tuple[tuple[str, tuple[str, ...]], ...]


SEED_SITES: tuple[SeedSite, ...] = (
    SeedSite(
        "changzhou",
        "常州市财政局",
        "0519",
        (
            ("智慧云财平台/统一公共支付平台", ("缴费管理", "支付渠道", "对账管理", "单位管理", "统计查询")),
            ("财政电子票据", ("票据开具", "票据冲红", "票据查验", "票据领用", "电子票据交付")),
            ("工资统发系统", ("工资编制", "工资审核", "银行代发", "个税申报", "人员信息")),
            ("财政一体化信息管理系统", ("预算管理", "指标管理", "国库支付", "会计核算", "年度结转")),
        ),
    ),
    SeedSite(
        "zhanjiang",
        "湛江市财政局",
        "0759",
        (
            (
                "财政票据管理系统",
                (
                    "计划和印制",
                    "票据发放管理",
                    "库存管理",
                    "核销销毁",
                    "统计报表",
                    "系统设置管理",
                    "系统管理",
                ),
            ),
        ),
    ),
)

SEED_CATEGORIES: tuple[str, ...] = ("咨询", "故障报修", "需求建议", "投诉", "其他")


def seed_reference_data(uow: UnitOfWork) -> bool:
    """Insert the contracts' reference data if the database has no sites yet, and each contract's
    service-level policy if its site has none (a database made before tickets existed). Returns True if
    it added anything."""
    session = uow.session
    if session.scalar(select(func.count()).select_from(Site)):
        return sla_config.seed_default_policies(uow) > 0
    for site_order, seed in enumerate(SEED_SITES):
        site_id = seed_id("site", seed.code)
        session.add(
            Site(id=site_id, code=seed.code, name=seed.name, area_code=seed.area_code, sort_order=site_order)
        )
        for system_order, (system_name, modules) in enumerate(seed.systems):
            system_id = seed_id("system", seed.code, system_name)
            session.add(System(id=system_id, site_id=site_id, name=system_name, sort_order=system_order))
            session.flush()
            for module_order, module_name in enumerate(modules):
                session.add(
                    Module(
                        id=seed_id("module", seed.code, system_name, module_name),
                        system_id=system_id,
                        name=module_name,
                        sort_order=module_order,
                    )
                )
    for order, name in enumerate(SEED_CATEGORIES):
        session.add(Category(id=seed_id("category", name), name=name, sort_order=order))
    uow.commit()
    sla_config.seed_default_policies(uow)
    return True


# --- reading --------------------------------------------------------------------------------------


def list_sites(session: Session, include_inactive: bool = False) -> list[Site]:
    query = select(Site).where(Site.deleted.is_(False)).order_by(Site.sort_order, Site.name)
    if not include_inactive:
        query = query.where(Site.active.is_(True))
    return list(session.scalars(query))


def list_systems(session: Session, site_id: str | None, include_inactive: bool = False) -> list[System]:
    query = select(System).where(System.deleted.is_(False)).order_by(System.sort_order, System.name)
    if site_id is not None:
        query = query.where(System.site_id == site_id)
    if not include_inactive:
        query = query.where(System.active.is_(True))
    return list(session.scalars(query))


def list_modules(session: Session, system_id: str | None, include_inactive: bool = False) -> list[Module]:
    query = select(Module).where(Module.deleted.is_(False)).order_by(Module.sort_order, Module.name)
    if system_id is not None:
        query = query.where(Module.system_id == system_id)
    if not include_inactive:
        query = query.where(Module.active.is_(True))
    return list(session.scalars(query))


def list_categories(session: Session, include_inactive: bool = False) -> list[Category]:
    query = select(Category).where(Category.deleted.is_(False)).order_by(Category.sort_order, Category.name)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return list(session.scalars(query))


# --- editing (Settings → reference data) ----------------------------------------------------------

ReferenceRow = Site | System | Module | Category


def _clean_name(name: str, limit: int) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationError({"name": _("A name is required.")})
    if len(cleaned) > limit:
        raise ValidationError(
            {"name": _("The name is too long (at most {limit} characters).").format(limit=limit)}
        )
    return cleaned


def _clean_area_code(area_code: str) -> str:
    area = "".join(ch for ch in area_code if ch.isdigit())
    if area and not (area.startswith("0") and 3 <= len(area) <= 4):
        raise ValidationError({"area_code": _("An area code is 3 or 4 digits starting with 0, e.g. 0519.")})
    return area


def add_site(uow: UnitOfWork, name: str, area_code: str) -> Site:
    area = _clean_area_code(area_code)
    site_id = uuid7()
    order = (uow.session.scalar(select(func.max(Site.sort_order))) or 0) + 1
    site = Site(id=site_id, code=site_id, name=_clean_name(name, 100), area_code=area, sort_order=order)
    uow.session.add(site)
    uow.commit()
    return site


def add_system(uow: UnitOfWork, site_id: str, name: str) -> System:
    order = (
        uow.session.scalar(select(func.max(System.sort_order)).where(System.site_id == site_id)) or 0
    ) + 1
    system = System(id=uuid7(), site_id=site_id, name=_clean_name(name, 100), sort_order=order)
    uow.session.add(system)
    uow.commit()
    return system


def add_module(uow: UnitOfWork, system_id: str, name: str) -> Module:
    order = (
        uow.session.scalar(select(func.max(Module.sort_order)).where(Module.system_id == system_id)) or 0
    ) + 1
    module = Module(id=uuid7(), system_id=system_id, name=_clean_name(name, 100), sort_order=order)
    uow.session.add(module)
    uow.commit()
    return module


def add_category(uow: UnitOfWork, name: str) -> Category:
    order = (uow.session.scalar(select(func.max(Category.sort_order))) or 0) + 1
    category = Category(id=uuid7(), name=_clean_name(name, 50), sort_order=order)
    uow.session.add(category)
    uow.commit()
    return category


_KINDS: dict[str, type[ReferenceRow]] = {
    "site": Site,
    "system": System,
    "module": Module,
    "category": Category,
}


def _get_reference_row(uow: UnitOfWork, kind: str, row_id: str) -> ReferenceRow | None:
    return cast("ReferenceRow | None", uow.session.get(_KINDS[kind], row_id))


def rename(uow: UnitOfWork, kind: str, row_id: str, name: str, area_code: str | None = None) -> None:
    row = _get_reference_row(uow, kind, row_id)
    if row is None:
        raise ValidationError({"name": _("This entry no longer exists.")})
    row.name = _clean_name(name, 50 if kind == "category" else 100)
    if isinstance(row, Site) and area_code is not None:
        row.area_code = _clean_area_code(area_code)
    uow.commit()


def set_active(uow: UnitOfWork, kind: str, row_id: str, active: bool) -> None:
    """Retire (or bring back) an entry. Calls that used it keep showing it; new calls cannot pick it."""
    row = _get_reference_row(uow, kind, row_id)
    if row is None:
        raise ValidationError({"name": _("This entry no longer exists.")})
    row.active = active
    uow.commit()
