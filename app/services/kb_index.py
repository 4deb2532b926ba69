"""Keeping the knowledge-base search index (``kb_fts``, ``app.search.kb``) in step with the articles
and tickets: written with every local save, by the sync's apply step for pulled rows, and rebuilt
whole when :data:`app.search.kb.INDEX_VERSION` changes (or on demand: ``hotline kb reindex``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.search import kb as search
from app.search.text import TOKENIZER_VERSION
from app.storage.db import Database

VERSION_KEY = "kb.index_version"
_VERSION = f"{search.INDEX_VERSION}.{TOKENIZER_VERSION}"
BATCH = 500


def _conn(where: Session | Connection) -> Connection:
    return where.connection() if isinstance(where, Session) else where


def split_tags(text: str) -> list[str]:
    """Tags as stored (comma-separated) -> a list, in order, without blanks or repeats."""
    return list(
        dict.fromkeys(t.strip() for t in text.replace("，", ",").replace("、", ",").split(",") if t.strip())
    )


def _names(conn: Connection, table: str, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for row_id, name in conn.exec_driver_sql(
            f"SELECT id, name FROM {table} WHERE id IN ({marks})", tuple(chunk)
        ):
            found[str(row_id)] = str(name)
    return found


_ARTICLE_COLUMNS = (
    "id, site_id, title, symptom, cause, solution, system_id, module_id, tags, kind, status, deleted"
)
_TICKET_COLUMNS = (
    "id, site_id, number, title, description, notes, unit_name, caller_name, system_id, module_id, deleted"
)


def index_articles(where: Session | Connection, ids: Iterable[str]) -> None:
    """Write (or drop, for deleted ones) the index rows of these articles."""
    conn = _conn(where)
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), BATCH):
        _index_rows(conn, search.ARTICLE, "kb_articles", _ARTICLE_COLUMNS, wanted[start : start + BATCH])


def index_tickets(where: Session | Connection, ids: Iterable[str]) -> None:
    """Write (or drop, for deleted ones) the index rows of these tickets."""
    conn = _conn(where)
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), BATCH):
        _index_rows(conn, search.TICKET, "tickets", _TICKET_COLUMNS, wanted[start : start + BATCH])


def _index_rows(conn: Connection, kind: str, table: str, columns: str, ids: Sequence[str]) -> None:
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    rows = [
        dict(r._mapping)
        for r in conn.exec_driver_sql(f"SELECT {columns} FROM {table} WHERE id IN ({marks})", tuple(ids))
    ]
    gone = [r["id"] for r in rows if r["deleted"]]
    live = [r for r in rows if not r["deleted"]]
    search.drop_rows(conn, gone)
    systems = _names(conn, "systems", (r["system_id"] for r in live))
    modules = _names(conn, "modules", (r["module_id"] for r in live))
    made = [
        search.IndexRow(
            str(r["id"]),
            _row(kind, r, systems, modules),
            str(r["site_id"] or ""),
            str(r["status"]) if kind == search.ARTICLE else "ticket",
        )
        for r in live
    ]
    search.put_rows(conn, kind, made)


def _row(
    kind: str, r: dict[str, Any], systems: dict[str, str], modules: dict[str, str]
) -> tuple[str, str, str, str]:
    place = [systems.get(r["system_id"] or "", ""), modules.get(r["module_id"] or "", "")]
    facets: list[tuple[str, str | None]] = [
        ("k", kind),
        ("s", r["site_id"] or "all"),
        ("y", r["system_id"]),
        ("m", r["module_id"]),
    ]
    if kind == search.ARTICLE:
        tags = split_tags(r["tags"])
        facets += [("t", r["kind"]), ("st", r["status"])] + [("g", tag) for tag in tags]
        return search.article_row(r["title"], tags, [r["symptom"], r["cause"], r["solution"], *place], facets)
    facets.append(("st", "ticket"))
    title = f"{r['number']} {r['title']}"
    texts = [r["description"], r["notes"], r["unit_name"], r["caller_name"], *place]
    return search.article_row(title, [], texts, facets)


def current_version() -> str:
    """What ``local_meta[VERSION_KEY]`` holds once the index is complete for this version of the app."""
    return _VERSION


def needs_rebuild(where: Session | Connection) -> bool:
    conn = _conn(where)
    stored = conn.exec_driver_sql("SELECT value FROM local_meta WHERE key = ?", (VERSION_KEY,)).scalar()
    return stored != _VERSION


def rebuild(
    where: Session | Connection,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> bool:
    """Index every article and ticket again. Returns False when cancelled (the version stays unset,
    so the next start finishes the job). Run in one transaction by the caller, or batch by batch."""
    conn = _conn(where)
    conn.exec_driver_sql("DELETE FROM kb_fts")
    conn.exec_driver_sql("DELETE FROM kb_search")
    articles = [str(r[0]) for r in conn.exec_driver_sql("SELECT id FROM kb_articles WHERE deleted = 0")]
    tickets = [str(r[0]) for r in conn.exec_driver_sql("SELECT id FROM tickets WHERE deleted = 0")]
    total = len(articles) + len(tickets)
    done = 0
    for kind, ids in ((search.ARTICLE, articles), (search.TICKET, tickets)):
        for start in range(0, len(ids), BATCH):
            if cancelled is not None and cancelled():
                return False
            chunk = ids[start : start + BATCH]
            if kind == search.ARTICLE:
                index_articles(conn, chunk)
            else:
                index_tickets(conn, chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    # a rebuild gives every document a new key: merge away the old entries, or the index stays a
    # third larger and slower until SQLite merges it by itself (0.5 s for 20,000 articles)
    conn.exec_driver_sql("INSERT INTO kb_fts(kb_fts) VALUES ('optimize')")
    conn.exec_driver_sql(
        "INSERT INTO local_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (VERSION_KEY, _VERSION),
    )
    return True


def rebuild_database(
    db: Database,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> bool:
    """``rebuild`` in one write transaction of its own: searches meanwhile see the old index, a
    cancelled or failed rebuild leaves it as it was. Returns False when cancelled."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            done = rebuild(conn, progress, cancelled)
        except BaseException:
            conn.rollback()
            raise
        if done:
            conn.commit()
        else:
            conn.rollback()
    return done
