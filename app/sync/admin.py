"""What an administrator does to the shared server: create or upgrade its schema (Alembic, like the
desktop's own database) and create the logins desktops use.

The schema, its tables and functions belong to the administrator's role. Desktops log in as members
of ``hotline_app``, which may only EXECUTE the sync functions: it cannot read, alter or drop a table.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from app.errors import UserFacingError
from app.i18n import _
from app.sync.config import ServerConfig
from app.sync.engine import SESSION_OPTIONS, classify
from app.sync.protocol import APP_ROLE, SERVER_SCHEMA, SERVER_SCHEMA_HEAD, SUPERVISOR_ROLE

log = logging.getLogger("hotline.sync.admin")

_USER_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _engine(config: ServerConfig) -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import URL

    url = URL.create(
        "postgresql+psycopg",
        username=config.user or None,
        password=config.password,
        host=config.host,
        port=config.port,
        database=config.database,
        query={"sslmode": config.sslmode, "connect_timeout": str(5)},
    )
    return create_engine(url)


def server_schema_status(config: ServerConfig) -> tuple[str | None, str]:
    """The server's schema revision (None when it has none yet) and the one this app brings."""
    try:
        with psycopg.connect(**config.connect_kwargs("hotline-admin"), autocommit=True) as conn:
            row = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (f"{SERVER_SCHEMA}.schema_version",)
            ).fetchone()
            if not row or not row[0]:
                return None, SERVER_SCHEMA_HEAD
            version = conn.execute(f"SELECT version_num FROM {SERVER_SCHEMA}.schema_version").fetchone()
            return (str(version[0]) if version else None), SERVER_SCHEMA_HEAD
    except psycopg.Error as exc:
        raise classify(exc) from exc


def init_or_upgrade(config: ServerConfig) -> str:
    """Create the sync schema on the server, or upgrade it to this app's revision. Idempotent."""
    from alembic import command
    from alembic.config import Config

    engine = _engine(config)
    try:
        alembic_config = Config()
        alembic_config.set_main_option("script_location", str(Path(__file__).parent / "server_migrations"))
        with engine.begin() as conn:
            alembic_config.attributes["connection"] = conn
            command.upgrade(alembic_config, "head")
    except Exception as exc:
        original = getattr(exc, "orig", None)
        if isinstance(original, psycopg.Error):
            raise classify(original) from exc
        if isinstance(exc, psycopg.Error):
            raise classify(exc) from exc
        raise
    finally:
        engine.dispose()
    log.info("server schema at %s on %s", SERVER_SCHEMA_HEAD, config.display())
    return SERVER_SCHEMA_HEAD


def create_app_user(config: ServerConfig, user: str, password: str, supervisor: bool = False) -> None:
    """A login for one desktop (or engineer): member of the app role, with session time limits; a
    supervisor's is also a member of ``hotline_supervisor`` (may change service-level policies and the
    calendar). Run again for an existing login, it sets the password and the supervisor membership."""
    if not _USER_NAME.match(user):
        raise UserFacingError(
            _("A user name is lower-case letters, digits and _ and starts with a letter, e.g. engineer_li.")
        )
    if len(password) < 8:
        raise UserFacingError(_("The password must have at least 8 characters."))
    try:
        with psycopg.connect(**config.connect_kwargs("hotline-admin"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_ROLE), sql.Identifier(user)))
            membership = "GRANT {} TO {}" if supervisor else "REVOKE {} FROM {}"
            conn.execute(sql.SQL(membership).format(sql.Identifier(SUPERVISOR_ROLE), sql.Identifier(user)))
            for option in SESSION_OPTIONS.replace("-c ", "").split():
                name, value = option.split("=")
                conn.execute(
                    sql.SQL("ALTER ROLE {} SET {} = {}").format(
                        sql.Identifier(user), sql.Identifier(name), sql.Literal(value)
                    )
                )
    except psycopg.Error as exc:
        raise classify(exc) from exc
    log.info("desktop login %s ready on %s", user, config.display())


def mark_restored(config: ServerConfig) -> str:
    """After restoring the server from a backup: a new epoch, so every desktop resyncs and sends again
    what the backup lacks."""
    try:
        with psycopg.connect(**config.connect_kwargs("hotline-admin"), autocommit=True) as conn:
            row = conn.execute(f"SELECT {SERVER_SCHEMA}.new_epoch()").fetchone()
    except psycopg.Error as exc:
        raise classify(exc) from exc
    return str(row[0]) if row else ""
