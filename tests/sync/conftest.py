"""A real PostgreSQL server for the sync tests: one per test session, a fresh database per test.

``pg_server`` is a started ``PgServer`` (tests/helpers/pgserver.py) shared by the whole session and
removed at its end. ``pg_database`` is a new, uniquely named database on it for one test (dropped
afterwards); ``make_pg_database()`` makes more of them when a test needs several.

Without PostgreSQL server binaries the tests are skipped on a developer's machine, but fail in CI
(``CI`` set to anything non-empty): CI must never pass by skipping them.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest

from tests.helpers.pgserver import PgBinariesNotFound, PgDatabase, PgServer

MakePgDatabase = Callable[..., PgDatabase]  # make_pg_database(label: str = "") -> PgDatabase


def no_binaries(reason: str) -> NoReturn:
    """Fail (in CI) or skip (elsewhere) a test that needs the PostgreSQL binaries."""
    message = f"PostgreSQL server binaries are needed for this test: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


def database_name(label: str) -> str:
    """A unique, valid database name (≤ 63 bytes) that tells which test made it."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40].rstrip("_")
    return f"t_{slug}_{uuid.uuid4().hex[:8]}" if slug else f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A running throwaway server shared by the test session; stopped and removed at its end."""
    try:
        server = PgServer.temporary()
    except PgBinariesNotFound as exc:
        no_binaries(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def make_pg_database(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[MakePgDatabase]:
    """``make_pg_database(label="")`` → a new database for this test; all are dropped afterwards."""
    made: list[str] = []

    def make(label: str = "") -> PgDatabase:
        if not pg_server.is_running():  # an earlier test may have stopped the shared server
            pg_server.start()
        name = database_name(f"{request.node.name}_{label}" if label else request.node.name)
        made.append(name)
        return pg_server.create_database(name)

    yield make
    if made and not pg_server.is_running():
        pg_server.start()
    for name in made:
        pg_server.drop_database(name)


@pytest.fixture
def pg_database(make_pg_database: MakePgDatabase) -> PgDatabase:
    """A fresh database for one test: ``.name``, ``.url`` (admin), ``.kwargs``, ``.connect()``."""
    return make_pg_database()
