"""Local settings of this desktop, declared once (Picard's options.py and config_upgrade.py).

Stored as JSON in the data folder. Each option is declared in ``OPTIONS`` with its default; reading an
unknown or mistyped value falls back to the default. ``UPGRADES`` maps a settings version to a function
that upgrades older files. Secrets never go here (the server password lives in the system keyring).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.i18n import DEFAULT_LANGUAGE

log = logging.getLogger("hotline.settings")

SETTINGS_VERSION = 1

OPTIONS: dict[str, Any] = {
    "language": DEFAULT_LANGUAGE,
    "engineer_name": "",
    "site_id": "",
    "draft_autosave_ms": 800,
    "caller_lookup_delay_ms": 250,
    # the shared server (app.sync.config); the password is in the system keyring, never here
    "server_host": "",
    "server_port": 5432,
    "server_database": "hotline",
    "server_user": "",
    "server_sslmode": "prefer",
    "sync_interval_s": 60,
    # printouts, as earlier versions kept them on one desktop: site id -> {"text", "signatures"};
    # moved into the synced site_letterheads at start (app.reports.letterhead.adopt_local_settings)
    "letterheads": {},
}

UPGRADES: dict[int, Callable[[dict[str, Any]], None]] = {}


class Settings:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._values: dict[str, Any] = {}
        self.load()

    def load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("settings file is not an object")
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            log.warning("settings file %s unreadable (%s); using defaults", self.path, exc)
            raw = {}
        version = int(raw.get("version", SETTINGS_VERSION)) if isinstance(raw.get("version"), int) else 0
        for target in sorted(v for v in UPGRADES if v > version):
            UPGRADES[target](raw)
        self._values = {k: v for k, v in raw.items() if k in OPTIONS}

    def __getitem__(self, name: str) -> Any:
        default = OPTIONS[name]
        value = self._values.get(name, default)
        # bool is a subclass of int, but ``true`` is no number of milliseconds
        if isinstance(value, type(default)) and isinstance(value, bool) == isinstance(default, bool):
            return value
        return default

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in OPTIONS:
            raise KeyError(name)
        self._values[name] = value

    def save(self) -> None:
        """Write atomically (temp file + rename), so a power cut leaves the old or the new file."""
        data = {"version": SETTINGS_VERSION, **self._values}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, indent=2))


def atomic_write_text(path: Path, content: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
