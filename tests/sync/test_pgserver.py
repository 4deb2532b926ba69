"""The throwaway PostgreSQL server (tests/helpers/pgserver.py) and the fixtures built on it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import psycopg
import pytest

from tests.helpers import pgserver
from tests.helpers.pgserver import PgBinariesNotFound, PgDatabase, PgServer
from tests.sync.conftest import MakePgDatabase, database_name, no_binaries


def test_admin_connects_to_postgresql_13_or_newer(pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.admin_url()) as conn:
        row = conn.execute("SELECT version()").fetchone()
        assert row is not None
        match = re.match(r"PostgreSQL (\d+)", row[0])
        assert match is not None, row[0]
        assert int(match.group(1)) >= 13
        assert conn.info.server_version >= 130000
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        assert conn.execute("SELECT current_user").fetchone() == ("hotline_admin",)
    # the kwargs form reaches the same server
    with psycopg.connect(**pg_server.admin_kwargs("postgres")) as conn:
        assert conn.info.port == pg_server.port
        assert conn.info.host == "127.0.0.1"


def test_tcp_needs_the_password(pg_server: PgServer) -> None:
    kwargs = {**pg_server.admin_kwargs(), "password": "wrong"}
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**kwargs)


def test_runs_unprivileged(pg_server: PgServer) -> None:
    """initdb/postgres refuse root: as root the server runs as another user, else as ourselves."""
    pid = pg_server.pid
    assert pid is not None
    owner = Path(f"/proc/{pid}").stat().st_uid
    assert owner != 0
    if os.geteuid() == 0:
        assert pg_server.run_as in ("postgres", "nobody")
    else:
        assert pg_server.run_as is None
        assert owner == os.geteuid()


def test_settings_for_speed(pg_server: PgServer) -> None:
    names = ["fsync", "synchronous_commit", "full_page_writes", "max_connections", "listen_addresses"]
    query = "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)"
    settings = dict(pg_server.execute(query, params=[names]))
    assert settings == {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "100",
        "listen_addresses": "127.0.0.1",
    }
    assert "database system is ready to accept connections" in pg_server.log_tail(200)


def test_create_a_table_in_the_test_database(pg_database: PgDatabase) -> None:
    assert pg_database.name.startswith("t_test_create_a_table")
    assert pg_database.url.endswith(f"/{pg_database.name}")
    with psycopg.connect(pg_database.url) as conn:
        conn.execute("CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO note (body) VALUES (%s)", ["热线 ✓"])
    with pg_database.connect() as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (pg_database.name,)
        assert conn.execute("SELECT body FROM note").fetchall() == [("热线 ✓",)]


def test_terminate_backends_ends_another_connection(pg_server: PgServer, pg_database: PgDatabase) -> None:
    victim = pg_database.connect(autocommit=True, application_name="victim")
    bystander = pg_database.connect(autocommit=True, application_name="bystander")
    try:
        victim.execute("SELECT 1")
        assert pg_server.terminate_backends(application_name="nobody-uses-this") == 0
        assert pg_server.terminate_backends(database=pg_database.name, application_name="victim") == 1
        with pytest.raises(psycopg.OperationalError):
            victim.execute("SELECT 1")
        assert victim.closed or victim.broken
        assert bystander.execute("SELECT 1").fetchone() == (1,)
        # by database alone: the bystander goes too; the connection doing it never does
        assert pg_server.terminate_backends(database=pg_database.name) == 1
        with pytest.raises(psycopg.OperationalError):
            bystander.execute("SELECT 1")
    finally:
        victim.close()
        bystander.close()


def test_restart_keeps_committed_data(pg_server: PgServer, pg_database: PgDatabase) -> None:
    port = pg_server.port
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept SELECT generate_series(1, 1000)")
    pg_server.stop()
    assert not pg_server.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg_database.url)
    pg_server.start()
    assert pg_server.is_running()
    assert pg_server.port == port  # the same URL works again
    with pg_database.connect() as conn:
        assert conn.execute("SELECT count(*), sum(n) FROM kept").fetchone() == (1000, 500500)

    pg_server.restart()
    assert pg_server.execute("SELECT count(*) FROM kept", database=pg_database.name) == [(1000,)]


def test_second_database_is_isolated(
    pg_server: PgServer, pg_database: PgDatabase, make_pg_database: MakePgDatabase
) -> None:
    other = make_pg_database("other")
    assert other.name != pg_database.name
    assert {pg_database.name, other.name} <= set(pg_server.databases())
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE only_here (x int)")
        conn.execute("INSERT INTO only_here VALUES (1)")
    with other.connect() as conn:
        assert conn.execute("SELECT to_regclass('only_here')").fetchone() == (None,)
        conn.execute("CREATE TABLE only_here (x int)")  # same name, no clash
        assert conn.execute("SELECT count(*) FROM only_here").fetchone() == (0,)


def test_databases_of_earlier_tests_are_gone(pg_server: PgServer, pg_database: PgDatabase) -> None:
    assert [name for name in pg_server.databases() if name.startswith("t_")] == [pg_database.name]


def test_drop_database_with_open_connections(pg_server: PgServer) -> None:
    db = pg_server.create_database(database_name("drop me"))
    conn = db.connect(autocommit=True)
    try:
        conn.execute("SELECT 1")
        pg_server.drop_database(db.name)
        assert db.name not in pg_server.databases()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()
    pg_server.drop_database(db.name)  # already gone: fine


def test_database_names_are_valid_and_unique() -> None:
    long = database_name("test_x[" + "参数" * 40 + "-" + "y" * 80 + "]")
    assert len(long.encode()) <= 63
    assert re.fullmatch(r"[a-z0-9_]+", long)
    assert database_name("a") != database_name("a")
    assert re.fullmatch(r"t_[0-9a-f]{12}", database_name("中文"))


def test_private_server_durable_immediate_stop_and_cleanup() -> None:
    """A durable (fsync=True) server of our own, as a context manager: an immediate stop loses nothing,
    and leaving the block stops the server and removes its folder."""
    try:
        server = PgServer.temporary(fsync=True)
    except PgBinariesNotFound as exc:
        no_binaries(str(exc))
    with server:
        assert server.is_running()
        assert server.execute("SHOW fsync") == [("on",)]
        server.execute("CREATE TABLE t (n int)")
        server.execute("INSERT INTO t VALUES (42)")
        server.stop("immediate")
        server.start()
        assert server.execute("SELECT n FROM t") == [(42,)]
        base, pid = server.base_dir, server.pid
    assert pid is not None
    assert not base.exists()
    assert not server.is_running()
    assert not pgserver._pid_alive(pid)


def test_stale_servers_of_dead_processes_are_reaped(tmp_path: Path) -> None:
    stale = tmp_path / f"{pgserver.TEMP_PREFIX}stale"
    (stale / "data").mkdir(parents=True)
    (stale / pgserver.OWNER_FILE).write_text("999999999\n")  # no such process
    mine = tmp_path / f"{pgserver.TEMP_PREFIX}mine"
    mine.mkdir()
    (mine / pgserver.OWNER_FILE).write_text(f"{os.getpid()}\n")
    unrelated = tmp_path / f"{pgserver.TEMP_PREFIX}unrelated"  # no owner file: not ours to judge
    unrelated.mkdir()
    assert pgserver.reap_stale_servers(tmp_path) == [stale]
    assert not stale.exists() and mine.exists() and unrelated.exists()


def test_missing_binaries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_PG_BIN", str(tmp_path))
    with pytest.raises(PgBinariesNotFound, match="HOTLINE_PG_BIN"):
        pgserver.find_pg_bin()
    with pytest.raises(PgBinariesNotFound):
        PgServer(tmp_path / "server")

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        no_binaries("none here")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="none here"):
        no_binaries("none here")


def test_an_untraversable_folder_is_refused_as_root(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another user")
    if os.stat(tmp_path.parent).st_mode & 0o001:
        pytest.skip("the pytest tmp folder is traversable here")
    try:
        server = PgServer(tmp_path / "server")
    except PgBinariesNotFound as exc:
        no_binaries(str(exc))
    with pytest.raises(pgserver.PgServerError, match="cannot enter"):
        server.init()
