"""Where Hotline Console keeps its files.

The data folder is chosen once at start-up: ``--data-dir`` beats ``HOTLINE_DATA_DIR`` beats the
platform's user data folder. Everything the app writes lives below it, so a test or a second profile
only needs another folder.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_DIR_NAME = "HotlineConsole"
ENV_DATA_DIR = "HOTLINE_DATA_DIR"


@dataclass(frozen=True, slots=True)
class DataPaths:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "hotline.sqlite3"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def crash_reports(self) -> Path:
        return self.root / "logs" / "crash"

    @property
    def drafts(self) -> Path:
        return self.root / "drafts"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    def ensure(self) -> None:
        for folder in (self.root, self.backups, self.logs, self.crash_reports, self.drafts):
            folder.mkdir(parents=True, exist_ok=True)


def resolve_data_dir(cli_value: str | os.PathLike[str] | None = None) -> DataPaths:
    if cli_value:
        return DataPaths(Path(cli_value).expanduser().resolve())
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return DataPaths(Path(env).expanduser().resolve())
    return DataPaths(Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)))


def resource_dir() -> Path:
    """The top-level ``resources/`` folder, in a source checkout and in a PyInstaller bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
