"""Alembic environment for the shared PostgreSQL server's schema (``hotline``).

Run through ``app.sync.admin`` with an administrator's connection; never by desktops, whose role may
not create or alter anything. The version table lives in the ``hotline`` schema beside the data.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from app.sync.protocol import SERVER_SCHEMA

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the app always passes one
    raise RuntimeError("run server migrations through app.sync.admin")

connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SERVER_SCHEMA}"))
context.configure(
    connection=connection,
    target_metadata=None,
    version_table="schema_version",
    version_table_schema=SERVER_SCHEMA,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
