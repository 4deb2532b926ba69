"""The shared server's password: in the system keyring, or in memory for this session only.

Settings never hold a password (STYLE.md item 10). When the computer has no usable keyring (a bare
Linux desktop without a Secret Service, a locked-down Windows profile), the password the engineer
types is kept in this process's memory and asked again after a restart.

Nothing here logs or writes the password: log lines name the keyring account and the error only.
Keyring backends raise all sorts of errors (D-Bus, Windows API, a locked keychain); every one of them
is caught and treated as "the keyring is not usable right now". ``keyring`` is imported on first use:
it costs about 0.1 s, which start-up does not pay.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType

from app.sync.config import ServerConfig

log = logging.getLogger("hotline.sync.credentials")

SERVICE = "HotlineConsole"


def _keyring() -> ModuleType:
    import keyring

    return keyring


class PasswordStore:
    """Get, set and forget the password of a ``ServerConfig``; safe to use from any thread."""

    def __init__(self) -> None:
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    def available(self) -> bool:
        """True when a real keyring backend is there to keep the password across restarts."""
        try:
            from keyring.backends import chainer, fail, null

            backend = _keyring().get_keyring()
            if isinstance(backend, fail.Keyring | null.Keyring):
                return False
            if isinstance(backend, chainer.ChainerBackend):
                return bool(backend.backends)
            return True
        except Exception as exc:  # any backend may fail while it is looked up
            log.info("no usable keyring: %s", type(exc).__name__)
            return False

    def get(self, config: ServerConfig) -> str | None:
        """The stored password: the keyring's first, then the one kept for this session."""
        account = config.keyring_account
        if self.available():
            try:
                password = _keyring().get_password(SERVICE, account)
            except Exception as exc:
                log.info("keyring could not be read for %s: %s", account, type(exc).__name__)
            else:
                if password is not None:
                    return str(password)
        with self._lock:
            return self._memory.get(account)

    def set(self, config: ServerConfig, password: str) -> bool:
        """Store the password. True when it went into the keyring; False when it is kept in memory
        for this session only (no usable keyring)."""
        account = config.keyring_account
        if self.available():
            try:
                _keyring().set_password(SERVICE, account, password)
            except Exception as exc:
                log.info("keyring could not store the password for %s: %s", account, type(exc).__name__)
            else:
                with self._lock:
                    self._memory.pop(account, None)
                return True
        with self._lock:
            self._memory[account] = password
        return False

    def forget(self, config: ServerConfig) -> None:
        """Remove the password from the keyring and from this session's memory."""
        account = config.keyring_account
        with self._lock:
            self._memory.pop(account, None)
        if not self.available():
            return
        try:
            store = _keyring()
            if store.get_password(SERVICE, account) is not None:
                store.delete_password(SERVICE, account)
        except Exception as exc:
            log.info("keyring could not forget the password for %s: %s", account, type(exc).__name__)

    def forget_session(self, config: ServerConfig) -> None:
        """Drop only the password kept in memory (e.g. after the server refused it)."""
        with self._lock:
            self._memory.pop(config.keyring_account, None)

    def in_session(self, config: ServerConfig) -> bool:
        """True when a password for this server is kept in memory for this session."""
        with self._lock:
            return config.keyring_account in self._memory
