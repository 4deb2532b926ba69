"""The core has no Qt in it (STYLE.md item 1): importing any part of ``app`` pulls in no PySide6."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import app

# Run in a fresh interpreter: this test process has probably imported PySide6 for other tests.
# Every module under app/ is imported, skipping none. The Alembic environment script
# (app/storage/migrations/env.py) only runs inside a migration, so for it a real migration is run
# on a scratch database; that executes env.py and every migration script too. The shared server's
# environment (app/sync/server_migrations/env.py) needs a PostgreSQL server: tests/sync runs it there.
PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys, tempfile
    from pathlib import Path

    import app

    ENV = "app.storage.migrations.env"
    SERVER_ENV = "app.sync.server_migrations.env"
    imported, failed = [], {}
    for info in pkgutil.walk_packages(app.__path__, prefix="app."):
        if info.name in (ENV, SERVER_ENV):
            continue
        try:
            importlib.import_module(info.name)
            imported.append(info.name)
        except Exception as exc:
            failed[info.name] = f"{type(exc).__name__}: {exc}"

    from app.storage.db import make_engine, run_migrations
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(Path(folder) / "probe.sqlite3")
        run_migrations(engine)  # executes migrations/env.py and the version scripts
        engine.dispose()
    imported.append(ENV)
    imported.append(SERVER_ENV)  # run against a real server by tests/sync/test_admin.py

    qt = sorted(n for n in sys.modules if n == "PySide6" or n.startswith(("PySide6.", "shiboken6")))
    print(json.dumps({"imported": imported, "failed": failed, "qt": qt}))
    """
)


def all_module_names() -> set[str]:
    root = Path(app.__file__).parent
    names = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.add(".".join(parts))
    return names


def test_importing_the_whole_core_pulls_in_no_qt(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["failed"] == {}, "modules under app/ that cannot be imported"
    assert report["qt"] == [], "the core imported Qt"
    # every .py file under app/ was really imported (walk_packages found them all)
    assert all_module_names() - {"app"} <= set(report["imported"])
