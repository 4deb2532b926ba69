"""Alembic migrations (app/storage/migrations): the schema they build is exactly the models' schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, inspect, text

from app.storage import db as db_module
from app.storage.db import HEAD_REVISION, current_revision, make_engine, run_migrations
from app.storage.models import SYNCED_TABLES, Base, SyncedMixin

MIGRATIONS = Path(db_module.__file__).parent / "migrations"
FTS_TABLES = ("calls_fts", "kb_fts")


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(tmp_path / "migrations.sqlite3")
    yield eng
    eng.dispose()


def _not_fts(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # The FTS5 table and its shadow tables are created by raw SQL in the migration, not by a model.
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLES))


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _not_fts})
        return list(compare_metadata(context, Base.metadata))


def upgrade(engine: Engine, target: str = "head") -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), target)


def downgrade(engine: Engine, target: str) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), target)


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars())


def test_head_revision_constant_matches_alembic() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD_REVISION]  # one head: no unmerged branches


def test_upgrade_from_empty_produces_exactly_the_models_schema(engine: Engine) -> None:
    assert current_revision(engine) is None
    run_migrations(engine)
    assert current_revision(engine) == HEAD_REVISION
    assert schema_differences(engine) == []
    assert set(Base.metadata.tables) <= table_names(engine)


def test_the_schema_comparison_can_fail(engine: Engine) -> None:
    """The check above is meaningful: a drifted column, type or index is reported."""
    run_migrations(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE outbox ADD COLUMN stray INTEGER"))
        conn.execute(text("DROP INDEX ix_calls_org_id"))
        conn.execute(text("ALTER TABLE calls RENAME COLUMN updated_at TO updated_old"))
        conn.execute(text("ALTER TABLE calls ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0"))
    kinds = set()
    for diff in schema_differences(engine):
        first = diff[0] if isinstance(diff, tuple) else diff[0][0]
        kinds.add(first)
    assert {"remove_column", "add_index", "modify_type"} <= kinds


def test_full_text_table_exists_and_works(engine: Engine) -> None:
    run_migrations(engine)
    with engine.begin() as conn:
        sql = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:n"), {"n": FTS_TABLES[0]}
        ).scalar()
        assert sql is not None
        assert "fts5" in sql.lower()
        conn.execute(text("INSERT INTO calls_fts(rowid, body) VALUES (7, '核销 销销 销毁 毁')"))
        hits = conn.execute(text("SELECT rowid FROM calls_fts WHERE calls_fts MATCH '\"核销\"'")).scalars()
        assert list(hits) == [7]


def test_every_synced_model_has_the_sync_columns(engine: Engine) -> None:
    run_migrations(engine)
    inspector = inspect(engine)
    for table in SYNCED_TABLES:
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert {"id", "origin", "hlc", "server_version", "deleted"} <= columns, table
    synced_models = {
        mapped.name
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, SyncedMixin) and isinstance(mapped := mapper.local_table, Table)
    }
    assert synced_models == set(SYNCED_TABLES)


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    upgrade(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    leftovers = table_names(engine) - {"alembic_version"}
    assert leftovers == set()
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION
    assert schema_differences(engine) == []
    assert set(FTS_TABLES) <= set(table_names(engine))


def test_migrations_keep_pragmas_on(engine: Engine) -> None:
    run_migrations(engine)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []


def test_known_revisions_are_alembics_revisions_oldest_first() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.storage.db import KNOWN_REVISIONS

    config = Config()
    config.set_main_option(
        "script_location", str(Path(__file__).parents[3] / "app" / "storage" / "migrations")
    )
    script = ScriptDirectory.from_config(config)
    newest_first = [rev.revision for rev in script.walk_revisions()]
    assert list(KNOWN_REVISIONS) == list(reversed(newest_first))


def test_database_from_a_newer_app_is_refused_and_left_untouched(tmp_path: Path) -> None:
    import sqlite3

    from app import i18n
    from app.errors import StorageError, StorageProblem
    from app.storage.db import open_database

    path = tmp_path / "hotline.sqlite3"
    open_database(path).dispose()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    i18n.set_language("zh_CN")
    with pytest.raises(StorageError) as raised:
        open_database(path, tmp_path / "backups")
    assert raised.value.problem is StorageProblem.NEWER_SCHEMA
    assert "更新版本" in raised.value.message
    assert path.read_bytes() == before
    assert not (tmp_path / "backups").exists()


def call_index_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'")
        )
        return {str(name) for name in rows.scalars() if not str(name).startswith("sqlite_")}


def test_0005_drops_the_unread_call_indexes_even_those_a_cut_short_load_remembered(engine: Engine) -> None:
    """A database at 0004 whose large first sync was cut short by a crash: its calls have no secondary
    indexes and local_meta remembers them to build again. After 0005 the remembered list holds only the
    indexes that remain, so the restore on opening builds those and not the dropped ones."""
    from app.storage.bulk import drop_secondary_indexes, restore_deferred_indexes

    upgrade(engine, "0004")
    at_0004 = call_index_names(engine)
    assert {"ix_calls_engineer", "ix_calls_hlc", "ix_calls_site_id"} <= at_0004
    drop_secondary_indexes(engine, "calls")
    upgrade(engine, "0005")
    assert restore_deferred_indexes(engine) == 4  # live, caller, contact and unit
    dropped = {
        "ix_calls_site_id", "ix_calls_system_id", "ix_calls_module_id", "ix_calls_category_id",
        "ix_calls_outcome", "ix_calls_engineer", "ix_calls_hlc",
    }  # fmt: skip
    assert call_index_names(engine) == at_0004 - dropped
    upgrade(engine)
    assert schema_differences(engine) == []
    downgrade(engine, "0004")
    assert call_index_names(engine) == at_0004


def test_0010_gives_an_existing_index_the_site_and_status_its_filters_read(tmp_path: Path) -> None:
    """A desktop at 0009 with articles and a ticket in its search index: after 0010 the filters on
    site and status find the same documents the index's facet words did."""
    import datetime as dt

    from app.context import open_context
    from app.search import kb as search
    from app.services import kb, reference, tickets

    ctx = open_context(str(tmp_path / "data"))
    now = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
    with ctx.db.session() as session:
        sites = {s.code: s.id for s in reference.list_sites(session)}
    with ctx.uow() as uow:
        made = [("常州核销", sites["changzhou"], "published"), ("通用核销", None, "draft"),
                ("旧的核销", sites["zhanjiang"], "archived")]  # fmt: skip
        for title, site, status in made:
            data = kb.ArticleInput(title=title, symptom="核销时报错", site_id=site, status=status)
            kb.create_article(uow, data, "张工", now)
    with ctx.uow() as uow:
        tickets.create_ticket(
            uow, tickets.TicketInput(site_id=sites["zhanjiang"], title="核销报错"), "张工", now
        )
    engine = ctx.db.engine
    downgrade(engine, "0009")
    assert "site" not in {c["name"] for c in inspect(engine).get_columns("kb_search")}
    upgrade(engine)
    assert schema_differences(engine) == []

    def found(**filters: Any) -> list[str]:
        with ctx.db.session() as session:
            query = search.build_query("核销")
            return sorted(
                h.doc_id for h in search.search(session.connection(), query, search.KbFilters(**filters))
            )

    with engine.connect() as conn:
        sql = (
            "SELECT d.title, s.kind, s.site, s.status FROM kb_search s JOIN kb_articles d ON d.id = s.doc_id"
        )
        rows = {str(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in conn.execute(text(sql))}
    assert rows == {
        "常州核销": ("a", sites["changzhou"], "published"),
        "通用核销": ("a", "", "draft"),
        "旧的核销": ("a", sites["zhanjiang"], "archived"),
    }
    assert len(found(site_id=sites["zhanjiang"])) == 1  # 通用核销: every site; 旧的核销 is archived
    assert len(found(site_id=sites["zhanjiang"], kinds=(search.TICKET,))) == 1
    assert len(found(site_id=sites["changzhou"], kinds=(search.TICKET,))) == 0
    assert len(found(statuses=("archived",))) == 1
    ctx.close()
