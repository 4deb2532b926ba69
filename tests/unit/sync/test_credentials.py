"""The server password store (app.sync.credentials): the keyring when there is one, else memory.

A real keyring backend (in memory) stands in for the system's; keyring's ``fail`` backend stands for a
computer without one. The previous backend is put back after every test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail, null

from app.settings import Settings
from app.sync.config import ServerConfig
from app.sync.credentials import SERVICE, PasswordStore
from tests.helpers.keyrings import MemoryKeyring

SECRET = "s3cret-密码"


class BrokenKeyring(MemoryKeyring):
    """A keyring that is there but fails on every call (a locked keychain, D-Bus gone)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringError("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("D-Bus went away")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringError("locked")


@pytest.fixture(autouse=True)
def _restore_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def no_keyring() -> None:
    keyring.set_keyring(fail.Keyring())


CONFIG = ServerConfig(host="db.example.cn", port=5433, database="hotline", user="zhang")


def test_a_real_backend_is_available_and_keeps_the_password(memory_keyring: MemoryKeyring) -> None:
    store = PasswordStore()
    assert store.available()
    assert store.get(CONFIG) is None
    assert store.set(CONFIG, SECRET) is True
    assert memory_keyring.secrets == {(SERVICE, "zhang@db.example.cn:5433/hotline"): SECRET}
    assert store.get(CONFIG) == SECRET
    assert PasswordStore().get(CONFIG) == SECRET  # survives the session: a new store reads it too
    assert not store.in_session(CONFIG)


def test_each_server_account_has_its_own_password(memory_keyring: MemoryKeyring) -> None:
    store = PasswordStore()
    other = ServerConfig(host="db.example.cn", port=5433, database="hotline", user="li")
    store.set(CONFIG, "one")
    store.set(other, "two")
    assert (store.get(CONFIG), store.get(other)) == ("one", "two")


def test_forget_removes_it_from_the_keyring(memory_keyring: MemoryKeyring) -> None:
    store = PasswordStore()
    store.set(CONFIG, SECRET)
    store.forget(CONFIG)
    assert memory_keyring.secrets == {}
    assert store.get(CONFIG) is None
    store.forget(CONFIG)  # forgetting twice is fine


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring])
def test_without_a_backend_the_password_is_kept_for_this_session_only(backend: type) -> None:
    keyring.set_keyring(backend())
    store = PasswordStore()
    assert not store.available()
    assert store.set(CONFIG, SECRET) is False
    assert store.get(CONFIG) == SECRET
    assert store.in_session(CONFIG)
    assert PasswordStore().get(CONFIG) is None  # a restart asks again
    store.forget(CONFIG)
    assert store.get(CONFIG) is None


def test_the_keyring_comes_before_the_session_memory(memory_keyring: MemoryKeyring) -> None:
    store = PasswordStore()
    memory_keyring.set_password(SERVICE, CONFIG.keyring_account, "from keyring")
    keyring.set_keyring(fail.Keyring())
    store.set(CONFIG, "typed this session")
    keyring.set_keyring(memory_keyring)
    assert store.get(CONFIG) == "from keyring"
    store.forget_session(CONFIG)
    assert store.get(CONFIG) == "from keyring"


def test_a_failing_keyring_never_raises_and_falls_back_to_memory() -> None:
    keyring.set_keyring(BrokenKeyring())
    store = PasswordStore()
    assert store.available()
    assert store.get(CONFIG) is None
    assert store.set(CONFIG, SECRET) is False
    assert store.get(CONFIG) == SECRET
    store.forget(CONFIG)
    assert store.get(CONFIG) is None


def test_a_backend_lookup_that_fails_counts_as_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise keyring.errors.InitError("no backend could be loaded")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    store = PasswordStore()
    assert not store.available()
    assert store.set(CONFIG, SECRET) is False
    assert store.get(CONFIG) == SECRET


def test_the_password_is_never_logged_nor_written(
    memory_keyring: MemoryKeyring, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(tmp_path / "settings.json")
    CONFIG.to_settings(settings)
    settings.save()
    store = PasswordStore()
    store.set(CONFIG, SECRET)
    keyring.set_keyring(BrokenKeyring())
    store.get(CONFIG)
    store.set(CONFIG, SECRET)
    store.forget(CONFIG)
    assert SECRET not in caplog.text
    assert SECRET not in (tmp_path / "settings.json").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]
