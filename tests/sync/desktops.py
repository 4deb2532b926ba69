"""Desktops against one real server, for the sync tests: a server database with the sync schema, a
least-privilege login, and any number of desktops (own SQLite file, node id and engine)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg

from app.services import calls, directory
from app.services.reference import list_categories, list_sites, seed_reference_data
from app.storage.db import Database, open_database
from app.storage.models import Call, Contact
from app.storage.uow import UnitOfWork
from app.sync import admin
from app.sync.config import ServerConfig
from app.sync.engine import SyncEngine
from tests.helpers.pgserver import PgDatabase

APP_PASSWORD = "desk-secret-1"
_call_minutes = itertools.count()


@dataclass
class Desktop:
    name: str
    db: Database
    engine: SyncEngine

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db)

    def sync(self) -> Any:
        return self.engine.sync()

    def record_call(self, question: str = "票据核销失败", caller: str = "0519-88881234") -> Call:
        with self.db.session() as session:
            site = list_sites(session)[0].id
            category = list_categories(session)[0].id
        started = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=next(_call_minutes))
        data = calls.CallInput(
            site_id=site, started_at=started, engineer=self.name, caller_phone=caller, caller_name="李会计",
            category_id=category, question=question, answer="已指导重新登录",
        )  # fmt: skip
        with self.uow() as uow:
            return calls.record_call(uow, data)

    def add_contact(self, name: str, notes: str = "") -> Contact:
        with self.uow() as uow:
            return directory.save_contact(uow, directory.ContactInput(name=name, notes=notes))

    def edit_contact(self, contact_id: str, **changes: Any) -> None:
        with self.uow() as uow:
            contact = uow.session.get(Contact, contact_id)
            assert contact is not None
            for key, value in changes.items():
                setattr(contact, key, value)
            uow.commit()

    def contact(self, contact_id: str) -> Contact | None:
        with self.db.session() as session:
            return session.get(Contact, contact_id)

    def scalar(self, sql: str, **params: Any) -> Any:
        from sqlalchemy import text

        with self.db.session() as session:
            return session.execute(text(sql), params).scalar()

    def close(self) -> None:
        self.engine.close()
        self.db.dispose()


@dataclass
class SyncWorld:
    """One server database with the sync schema, and the desktops made against it."""

    database: PgDatabase
    folder: Path
    admin_config: ServerConfig
    app_config: ServerConfig
    desktops: list[Desktop] = field(default_factory=list)

    def desktop(self, name: str = "", config: ServerConfig | None = None) -> Desktop:
        name = name or f"desk{len(self.desktops)}"
        db = open_database(self.folder / f"{name}-{uuid.uuid4().hex[:6]}.sqlite3")
        with UnitOfWork(db) as uow:
            seed_reference_data(uow)
        desk = Desktop(name, db, SyncEngine(db, config or self.app_config, name))
        self.desktops.append(desk)
        return desk

    def admin(self) -> psycopg.Connection[Any]:
        return self.database.connect(autocommit=True)

    def server_rows(self, table: str) -> dict[str, dict[str, Any]]:
        with self.admin() as conn:
            rows = conn.execute("SELECT row_id, data FROM hotline.rows WHERE table_name = %s", (table,))
            return {row_id: data for row_id, data in rows}

    def close(self) -> None:
        for desk in self.desktops:
            desk.close()


def make_world(database: PgDatabase, folder: Path, login: str = "", supervisor: bool = False) -> SyncWorld:
    """The server set up, and one desktop login (a supervisor's with ``supervisor``) for the desktops."""
    admin_config = ServerConfig.from_url(database.url)
    admin.init_or_upgrade(admin_config)
    login = login or f"desk_{database.name}"[:60]
    admin.create_app_user(admin_config, login, APP_PASSWORD, supervisor=supervisor)
    app_config = ServerConfig(
        host=admin_config.host, port=admin_config.port, database=admin_config.database, user=login,
        sslmode="disable", password=APP_PASSWORD,
    )  # fmt: skip
    return SyncWorld(database, folder, admin_config, app_config)


def engineer_and_supervisor(database: PgDatabase, folder: Path) -> tuple[SyncWorld, Desktop, Desktop]:
    """A world whose desktops log in as an engineer (not a supervisor), and two desktops: the
    engineer's and one logged in as a supervisor."""
    world = make_world(database, folder, login=f"eng_{database.name}"[:60])
    supervisor_login = f"sup_{database.name}"[:60]
    admin.create_app_user(world.admin_config, supervisor_login, APP_PASSWORD, supervisor=True)
    engineer = world.desktop("engineer")
    boss = world.desktop("boss", replace(world.app_config, user=supervisor_login))
    return world, engineer, boss
