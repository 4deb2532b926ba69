"""Start-up of the core: data folder, logging, language, database, reference data.

Shared by the window and the command line so both open the data the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import i18n
from app.drafts import DraftStore
from app.logs import setup_logging
from app.paths import DataPaths, resolve_data_dir
from app.services.reference import list_sites, seed_reference_data
from app.settings import Settings
from app.storage.db import Database, open_database
from app.storage.uow import UnitOfWork

log = logging.getLogger("hotline.context")


@dataclass
class AppContext:
    paths: DataPaths
    settings: Settings
    db: Database
    drafts: DraftStore

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db)

    @property
    def engineer(self) -> str:
        return str(self.settings["engineer_name"])

    def current_site_id(self) -> str:
        """The site this engineer serves; the first site if none was chosen yet."""
        site_id = str(self.settings["site_id"])
        with self.db.session() as session:
            sites = list_sites(session)
        if any(s.id == site_id for s in sites):
            return site_id
        return sites[0].id if sites else ""

    def close(self) -> None:
        self.db.dispose()


def open_context(data_dir: str | None = None) -> AppContext:
    """Open everything. Raises ``StorageError`` (with a user message) when the data cannot be opened."""
    paths = resolve_data_dir(data_dir)
    try:
        paths.ensure()
    except OSError as exc:
        from app.errors import StorageError, StorageProblem

        raise StorageError(StorageProblem.CANNOT_OPEN, str(exc)) from exc
    setup_logging(paths.logs)
    settings = Settings(paths.settings_file)
    i18n.set_language(str(settings["language"]))
    db = open_database(paths.database, paths.backups)
    with UnitOfWork(db) as uow:
        if seed_reference_data(uow):
            log.info("reference data seeded")
    ctx = AppContext(paths, settings, db, DraftStore(paths.drafts))
    if settings["letterheads"]:  # an earlier version's per-desktop letterheads (imports the printouts)
        from app.reports.letterhead import adopt_local_settings

        try:
            adopt_local_settings(ctx)
        except Exception:  # a full disk, say: tried again at the next start; nothing is removed before
            log.warning("the letterheads of this desktop's settings were not moved yet", exc_info=True)
    return ctx
