"""Fixtures shared by every test: isolated folders, a real database in tmp_path, watched logging.

Nothing here touches the real user folder: HOME, the XDG folders and ``HOTLINE_DATA_DIR`` point at
temporary directories for every test. A WARNING (or worse) from a ``hotline`` logger fails the test
unless the test is marked ``@pytest.mark.allow_warnings`` (STYLE.md item 6).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # Qt tests elsewhere need it in CI

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app import i18n
from app.context import AppContext, open_context
from app.services import calls, reference
from app.storage.models import Call
from tests.helpers.factories import BASE_TIME, MakeInput, Record, Refs
from tests.helpers.messagemock import message_mock  # noqa: F401  (a fixture, used by name)

# --- isolation ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_folders(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for name, sub in (
        ("XDG_DATA_HOME", "share"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_RUNTIME_DIR", "runtime"),
    ):
        (home / sub).mkdir(mode=0o700)
        monkeypatch.setenv(name, str(home / sub))
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(home / "hotline-data"))


@pytest.fixture(autouse=True)
def _restore_language() -> Iterator[None]:
    """``open_context`` switches the language from the settings; each test starts where it was."""
    before = i18n.current_language()
    yield
    i18n.set_language(before)


@pytest.fixture(autouse=True)
def _restore_hotline_logger() -> Iterator[None]:
    """``setup_logging`` adds a file handler into one test's folder; remove it after that test."""
    logger = logging.getLogger("hotline")
    handlers, level = list(logger.handlers), logger.level
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)


@pytest.fixture(autouse=True)
def _fail_on_hotline_warnings(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("allow_warnings") is not None:
        return
    # With message_mock in use, the bridge's own log lines are checked by the mock instead.
    mocked_messages = "message_mock" in request.fixturenames
    unexpected = [
        record
        for record in caplog.get_records("setup") + caplog.get_records("call")
        if record.levelno >= logging.WARNING
        and (record.name == "hotline" or record.name.startswith("hotline."))
        and not (mocked_messages and record.name == "hotline.messages")
    ]
    if unexpected:
        lines = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in unexpected)
        pytest.fail(f"unexpected warning(s) logged:\n{lines}", pytrace=False)


# --- data -----------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def ctx(data_dir: Path) -> Iterator[AppContext]:
    context = open_context(str(data_dir))
    yield context
    context.close()


@pytest.fixture
def refs(ctx: AppContext) -> Refs:
    with ctx.db.session() as session:
        sites = reference.list_sites(session)
        systems = reference.list_systems(session, None)
        system_names = {s.id: s.name for s in systems}
        return Refs(
            sites={s.code: s.id for s in sites},
            area_codes={s.code: s.area_code for s in sites},
            systems={s.name: s.id for s in systems},
            modules={
                (system_names[m.system_id], m.name): m.id for m in reference.list_modules(session, None)
            },
            categories={c.name: c.id for c in reference.list_categories(session)},
        )


@pytest.fixture
def make_input(refs: Refs) -> MakeInput:
    """A valid ``CallInput`` for a seeded site (Changzhou by default); keyword arguments override."""

    def build(site: str = "changzhou", **overrides: Any) -> calls.CallInput:
        if site == "zhanjiang":
            system, module = Refs.ZJ_BILLS, "核销销毁"
        else:
            system, module = Refs.CZ_EBILLS, "票据开具"
        data = calls.CallInput(
            site_id=refs.sites[site],
            started_at=BASE_TIME,
            engineer="张工",
            caller_phone="0519-86661234" if site == "changzhou" else "0759-2221234",
            caller_name="王会计",
            unit_name="常州市第一中学" if site == "changzhou" else "湛江市第二中学",
            system_id=refs.systems[system],
            module_id=refs.modules[(system, module)],
            category_id=refs.categories["咨询"],
            question="电子票据开具后无法打印",
            answer="请更新打印控件后重试",
        )
        return replace(data, **overrides)

    return build


@pytest.fixture
def record(ctx: AppContext, make_input: MakeInput) -> Record:
    """Record a call through the service (one unit of work each); returns the saved ``Call``."""

    def save(site: str = "changzhou", **overrides: Any) -> Call:
        with ctx.uow() as uow:
            return calls.record_call(uow, make_input(site, **overrides))

    return save
