"""Logging set-up and crash reports.

One named logger per area (``hotline.storage``, ``hotline.calls``, ``hotline.ui`` ...). The log goes to
``<data>/logs/hotline.log`` (rotated). A bug of ours writes a crash report next to it; the user is told
in plain words where it is, never shown the traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import platform
import sys
import traceback
from pathlib import Path
from types import TracebackType

import app

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_dir: Path, level: int = logging.INFO) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("hotline")
    root.setLevel(level)
    if any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        return
    try:
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_dir / "hotline.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError:
        handler = logging.StreamHandler(sys.stderr)  # a read-only data folder must not stop the app
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)


def write_crash_report(
    crash_dir: Path,
    exc_type: type[BaseException],
    exc_value: BaseException,
    exc_tb: TracebackType | None,
    context: str = "",
) -> Path | None:
    """Write a crash report; returns its path, or None when even that is impossible (full disk)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    text = "\n".join(
        [
            f"Hotline Console {app.__version__} crash report",
            f"time: {dt.datetime.now().isoformat()}",
            f"python: {sys.version.split()[0]}  platform: {platform.platform()}",
            f"context: {context}" if context else "",
            "",
            "".join(traceback.format_exception(exc_type, exc_value, exc_tb)),
        ]
    )
    try:
        crash_dir.mkdir(parents=True, exist_ok=True)
        path = crash_dir / f"crash-{stamp}.txt"
        path.write_text(text, encoding="utf-8")
    except OSError:
        logging.getLogger("hotline.crash").exception("could not write crash report")
        return None
    logging.getLogger("hotline.crash").error("crash report written to %s", path)
    return path
