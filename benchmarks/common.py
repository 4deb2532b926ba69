"""What every benchmark prints and records beside its figures: a timestamped log line, the machine's
load, and the commit measured."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_average() -> list[float]:
    """The machine's 1/5/15-minute load: other work on a 2-core machine moves every figure."""
    return [round(x, 2) for x in os.getloadavg()]


def app_version() -> dict[str, Any]:
    """The commit measured, and whether app/ had uncommitted edits (``HOTLINE_BENCH_COMMIT`` names it
    when the benchmark runs from an exported tree without git)."""
    if os.environ.get("HOTLINE_BENCH_COMMIT"):
        return {"commit": os.environ["HOTLINE_BENCH_COMMIT"], "app_dirty": False}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "app"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "app_dirty": None}
    return {"commit": commit, "app_dirty": bool(dirty)}
