"""Alembic environment: always run against the connection the app hands over (no ini file)."""

from __future__ import annotations

from alembic import context

from app.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the app always passes one
    raise RuntimeError("run migrations through app.storage.db.run_migrations")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables safely
)
with context.begin_transaction():
    context.run_migrations()
