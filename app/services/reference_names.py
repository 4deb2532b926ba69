"""Reference data looked up by the names people type in a spreadsheet (call ledger, ticket list).

Names are compared folded (full-width, case and spaces ignored); retired entries are found too, an
active one winning over a retired one of the same name, because old files use them. Problems are
translated sentences appended to the caller's list, naming the valid choices when there are few.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.i18n import _
from app.services.reference import list_categories, list_modules, list_sites, list_systems
from app.storage.models import Category, Module, Organisation, Site, System

MAX_LISTED_NAMES = 12  # more valid choices than this are not listed in a message


def name_key(name: str) -> str:
    """How names are compared: full-width folded, case and spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def not_found(template_with_list: str, template: str, names: list[str], **values: str) -> str:
    """A "not found" message, with the valid names when they are few enough to read."""
    if names and len(names) <= MAX_LISTED_NAMES:
        return template_with_list.format(names="、".join(names), **values)
    return template.format(**values)


def find_named(rows: Sequence[System] | Sequence[Module], name: str) -> System | Module | None:
    wanted = name_key(name)
    matches = sorted((r for r in rows if name_key(r.name) == wanted), key=lambda r: not r.active)
    return matches[0] if matches else None


class ReferenceNames:
    """The reference data of every site, looked up by name (inactive entries too)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sites = list_sites(session, include_inactive=True)
        self._site_by_key: dict[str, Site] = {}
        for site in self.sites:
            self._site_by_key.setdefault(name_key(site.code), site)
            self._site_by_key.setdefault(name_key(site.name), site)
        self.categories = list_categories(session, include_inactive=True)
        self._category_by_key = {name_key(c.name): c for c in reversed(self.categories)}
        self._systems: dict[str, list[System]] = {}
        self._modules: dict[str, list[Module]] = {}
        self._orgs: dict[tuple[str, str], str | None] = {}

    def site(self, name: str) -> Site | None:
        return self._site_by_key.get(name_key(name))

    def site_by_id(self, site_id: str) -> Site | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def systems(self, site_id: str) -> list[System]:
        if site_id not in self._systems:
            self._systems[site_id] = list_systems(self.session, site_id, include_inactive=True)
        return self._systems[site_id]

    def modules(self, system_id: str) -> list[Module]:
        if system_id not in self._modules:
            self._modules[system_id] = list_modules(self.session, system_id, include_inactive=True)
        return self._modules[system_id]

    def category(self, name: str) -> Category | None:
        return self._category_by_key.get(name_key(name))

    def organisation_id(self, site_id: str, unit_name: str) -> str | None:
        """The unit of that name at this site (or at no particular site), if the directory has one."""
        cleaned = " ".join(unit_name.split())
        if not cleaned:
            return None
        cache_key = (site_id, cleaned)
        if cache_key not in self._orgs:
            self._orgs[cache_key] = self.session.scalar(
                select(Organisation.id)
                .where(
                    Organisation.deleted.is_(False),
                    Organisation.name == cleaned,
                    or_(Organisation.site_id == site_id, Organisation.site_id.is_(None)),
                )
                .order_by(Organisation.site_id.is_(None))  # this site's unit before a shared one
                .limit(1)
            )
        return self._orgs[cache_key]

    def resolve_site(self, name: str, default_site_id: str, missing: str, problems: list[str]) -> Site | None:
        """The site named (or the default one when the cell is empty); ``missing`` is said when there
        is neither."""
        if name.strip():
            site = self.site(name)
            if site is None:
                problems.append(
                    not_found(
                        _("Unknown service site “{name}”. Valid sites: {names}."),
                        _("Unknown service site “{name}”."),
                        [s.name for s in self.sites],
                        name=name.strip(),
                    )
                )
            return site
        site = self.site_by_id(default_site_id) if default_site_id else None
        if site is None:
            problems.append(missing)
        return site

    def resolve_system_module(
        self, site: Site, system_name: str, module_name: str, problems: list[str]
    ) -> tuple[System | None, Module | None]:
        """The system and module named at this site. Without a system, a module name found in exactly
        one of the site's systems says which system it is."""
        system: System | None = None
        module: Module | None = None
        if system_name.strip():
            systems = self.systems(site.id)
            found = find_named(systems, system_name)
            if isinstance(found, System):
                system = found
            else:
                problems.append(
                    not_found(
                        _("Unknown system “{name}” at {site}. Valid systems: {names}."),
                        _("Unknown system “{name}” at {site}."),
                        [s.name for s in systems if s.active],
                        name=system_name.strip(),
                        site=site.name,
                    )
                )
        if not module_name.strip():
            return system, None
        if system is not None:
            modules = self.modules(system.id)
            found = find_named(modules, module_name)
            if isinstance(found, Module):
                module = found
            else:
                problems.append(
                    not_found(
                        _("Unknown module “{name}” in {system}. Valid modules: {names}."),
                        _("Unknown module “{name}” in {system}."),
                        [m.name for m in modules if m.active],
                        name=module_name.strip(),
                        system=system.name,
                    )
                )
        elif not system_name.strip():
            candidates = [
                m
                for s in self.systems(site.id)
                for m in self.modules(s.id)
                if name_key(m.name) == name_key(module_name)
            ]
            owners = {m.system_id for m in candidates}
            if len(owners) == 1:
                module = candidates[0]
                system = next(s for s in self.systems(site.id) if s.id == module.system_id)
            elif owners:
                problems.append(
                    _("The module “{name}” exists in several systems; fill in the system (系统).").format(
                        name=module_name.strip()
                    )
                )
            else:
                problems.append(
                    _("Unknown module “{name}” at {site}.").format(name=module_name.strip(), site=site.name)
                )
        return system, module
