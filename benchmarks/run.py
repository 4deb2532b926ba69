"""Benchmarks for the call logger (issue: foundation and the call logger).

    .venv/bin/python -m benchmarks.run [--calls 1000000] [--contacts 50000] [--data DIR] [--out FILE]

Builds (once, then reuses) a demo database with the given number of calls and contacts, then measures
each target beside the same operation done directly in SQLite, as a ratio:

- start to a usable window (a subprocess: process start → window shown and the call list's first page
  loaded), and the peak memory of that process after it has also listed every call;
- saving a call (``calls.record_call`` through the unit of work: validation, outbox, FTS, fsync);
- caller look-up (``calls.lookup_caller``: contacts with the number and their call history);
- call search (``calls.search_keys`` for realistic queries + fetching the first visible page).

Results go to ``benchmarks/results.json``; docs/benchmarks.md holds the table of the last full run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.context import AppContext, open_context  # noqa: E402
from app.search.text import build_match, index_text  # noqa: E402
from app.services import calls, reference  # noqa: E402

TARGETS_MS = {"startup": 1500.0, "save_call": 10.0, "caller_lookup": 20.0, "search_p95": 50.0}
TARGET_MEMORY_MB = 300.0
FIRST_PAGE = 500  # as ui/calls/list_model.py shows first

SEARCH_QUERIES = [
    "核销",
    "票据",
    "冲红",
    "UKey",
    "E1003",
    "ORA-12541",
    "登录失败",
    "号段不连续",
    "工资",
    "年度结转",
    "银行代发",
    "打印",
    "证书",
    "库存",
    "密码",
    "导出",
    "开具",
    "财政",
    "核",
    "无法",
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(percentile(samples, 95), 3),
        "max_ms": round(max(samples), 3),
        "n": len(samples),
    }


def ensure_dataset(data_dir: Path, n_calls: int, n_contacts: int) -> AppContext:
    ctx = open_context(str(data_dir))
    if not ctx.engineer:  # the window would ask for a name first
        ctx.settings["engineer_name"] = "基准测试"
        ctx.settings.save()
    with ctx.db.session() as session:
        have = calls.count_calls(session, calls.CallQuery())
    if have < n_calls:
        from app.demo import generate_demo

        print(f"building dataset: {n_calls:,} calls, {n_contacts:,} contacts in {data_dir} …", flush=True)
        started = time.perf_counter()
        generate_demo(ctx, calls=n_calls - have, contacts=n_contacts if have == 0 else 0)
        print(f"dataset built in {time.perf_counter() - started:.0f} s", flush=True)
    return ctx


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def bench_save(ctx: AppContext, repeat: int) -> dict[str, Any]:
    with ctx.db.session() as session:
        site = reference.list_sites(session)[1]
        system = reference.list_systems(session, site.id)[0]
        module = reference.list_modules(session, system.id)[3]
        category = reference.list_categories(session)[1]

    def save() -> None:
        data = calls.CallInput(
            site_id=site.id,
            started_at=dt.datetime.now(dt.UTC),
            engineer="基准测试",
            caller_phone="0759-2221234",
            caller_name="王会计",
            unit_name="湛江市第一中学",
            system_id=system.id,
            module_id=module.id,
            category_id=category.id,
            question="票据核销时提示号段不连续，无法提交核销申请",
            answer="先在库存管理中盘点号段，补录缺失的作废票据后重新提交核销。",
            duration_s=185,
        )
        with ctx.uow() as uow:
            calls.record_call(uow, data)

    ours = timed(save, repeat)
    conn = raw_connection(ctx.paths.database)
    question = "票据核销时提示号段不连续，无法提交核销申请"
    answer = "先在库存管理中盘点号段，补录缺失的作废票据后重新提交核销。"
    body = index_text("王会计", "07592221234", "湛江市第一中学", question, answer)
    insert_call = (
        "INSERT INTO calls (key, id, site_id, started_at, duration_s, engineer, caller_name,"
        " caller_phone, caller_key, unit_name, system_id, module_id, category_id, question, answer,"
        " outcome, transferred_to, revision, updated_at, origin, hlc, deleted)"
        " VALUES (?, ?, ?, ?, 185, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'answered', '', 1, ?, 'bench', ?, 0)"
    )
    insert_outbox = (
        "INSERT INTO outbox (client_op_id, table_name, row_id, op, fields, hlc, created_at)"
        " VALUES (?, 'calls', ?, 'insert', ?, ?, ?)"
    )

    raw_keys: list[int] = []

    def raw_save() -> None:
        # The same rows our save writes (call, full-text entry, outbox op), straight through sqlite3.
        key = int(time.time() * 1000) * 1024 + random.randrange(1024)
        now = dt.datetime.now(dt.UTC).isoformat()
        call_id = f"raw-{key}"
        raw_keys.append(key)
        conn.execute("BEGIN")
        conn.execute(
            insert_call,
            (key, call_id, site.id, now, "基准", "王会计", "0759-2221234", "+867592221234", "湛江市第一中学",
             system.id, module.id, category.id, question, answer, now, now),
        )  # fmt: skip
        conn.execute("INSERT INTO calls_fts(rowid, body) VALUES (?, ?)", (key, body))
        conn.execute(insert_outbox, (call_id, call_id, json.dumps({"question": question}), now, now))
        conn.execute("COMMIT")

    raw = timed(raw_save, repeat)
    conn.execute("DELETE FROM outbox WHERE row_id LIKE 'raw-%'")
    conn.executemany(
        "INSERT INTO calls_fts(calls_fts, rowid, body) VALUES ('delete', ?, ?)", [(k, body) for k in raw_keys]
    )
    conn.execute("DELETE FROM calls WHERE origin = 'bench'")
    conn.commit()
    conn.close()
    return {"ours": summary(ours), "raw_sqlite": summary(raw)}


def bench_lookup(ctx: AppContext, repeat: int) -> dict[str, Any]:
    conn = raw_connection(ctx.paths.database)
    keys = [r[0] for r in conn.execute("SELECT key FROM contact_phones ORDER BY random() LIMIT ?", (repeat,))]

    def ours_one(key: str) -> None:
        with ctx.db.session() as session:
            calls.lookup_caller(session, key)

    def raw_one(key: str) -> None:
        conn.execute(
            "SELECT c.name, o.name FROM contact_phones p JOIN contacts c ON c.id = p.contact_id"
            " LEFT JOIN organisations o ON o.id = c.org_id WHERE p.key = ?",
            (key,),
        ).fetchall()
        conn.execute(
            "SELECT key, started_at, question, outcome FROM calls"
            " WHERE caller_key = ? ORDER BY key DESC LIMIT 50",
            (key,),
        ).fetchall()

    for key in keys:  # one untimed pass: both sides then read from a warm page cache
        ours_one(key)
        raw_one(key)
    ours = [timed(lambda k=k: ours_one(k), 1)[0] for k in keys]
    raw = [timed(lambda k=k: raw_one(k), 1)[0] for k in keys]
    conn.close()
    return {"ours": summary(ours), "raw_sqlite": summary(raw)}


def bench_search(ctx: AppContext, rounds: int) -> dict[str, Any]:
    """What the user waits for: the first page of keys (the list shows it at once) and its visible
    rows. The complete key list, which follows in the background, is timed beside it."""
    conn = raw_connection(ctx.paths.database)
    with ctx.db.session() as session:
        site_id = reference.list_sites(session)[0].id
    queries: list[calls.CallQuery] = []
    for text in SEARCH_QUERIES:
        queries.append(calls.CallQuery(text=text))
        queries.append(calls.CallQuery(text=text, site_id=site_id))
    ours: list[float] = []
    raw: list[float] = []
    full: list[float] = []
    hits: dict[str, int] = {}
    for _ in range(rounds):
        for query in queries:
            with ctx.db.session() as session:
                start = time.perf_counter()
                keys = calls.search_keys(session, query, limit=FIRST_PAGE)
                calls.fetch_rows(session, list(keys[:60]))
                ours.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                every = calls.search_keys(session, query)
                full.append((time.perf_counter() - start) * 1000)
            hits[f"{query.text}{' +site' if query.site_id else ''}"] = len(every)
            match = build_match(query.text) or ""
            if query.site_id:
                match += f' AND "{calls.facet_token("s", query.site_id)}"'
            start = time.perf_counter()
            conn.execute(
                "SELECT rowid FROM calls_fts WHERE calls_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                (match, FIRST_PAGE),
            ).fetchall()
            raw.append((time.perf_counter() - start) * 1000)
    conn.close()
    return {"ours": summary(ours), "raw_sqlite": summary(raw), "complete_list_background": summary(full),
            "hits_per_query": hits}  # fmt: skip


def bench_startup(data_dir: Path, repeat: int) -> dict[str, Any]:
    env = dict(
        os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), HOTLINE_BENCH_READY="1"
    )
    samples: list[float] = []
    memory: list[float] = []
    for _ in range(repeat):
        env["HOTLINE_BENCH_T0"] = repr(time.time())
        proc = subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("HOTLINE_READY")), None)
        if line is None:
            raise RuntimeError(f"app did not report ready: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        samples.append(float(fields["ready_ms"]))
        memory.append(float(fields["peak_rss_mb"]))
    return {"ours": summary(samples), "peak_rss_mb": max(memory), "all_calls_listed": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--data", type=Path, default=None, help="dataset folder (reused between runs)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    data_dir = args.data or ROOT / "benchmarks" / ".data" / f"calls-{args.calls}"
    ctx = ensure_dataset(data_dir, args.calls, args.contacts)
    results: dict[str, Any] = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
        },
        "dataset": {
            "calls": args.calls,
            "contacts": args.contacts,
            "db_size_mb": round(ctx.paths.database.stat().st_size / 1e6, 1),
        },
    }
    print("saving a call …", flush=True)
    results["save_call"] = bench_save(ctx, args.repeat)
    print("caller look-up …", flush=True)
    results["caller_lookup"] = bench_lookup(ctx, args.repeat)
    print("call search …", flush=True)
    results["search"] = bench_search(ctx, rounds=5)
    ctx.close()
    print("start-up …", flush=True)
    results["startup"] = bench_startup(data_dir, repeat=5)

    checks = {
        "startup": (results["startup"]["ours"]["p50_ms"], TARGETS_MS["startup"]),
        "save_call": (results["save_call"]["ours"]["p50_ms"], TARGETS_MS["save_call"]),
        "caller_lookup": (results["caller_lookup"]["ours"]["p95_ms"], TARGETS_MS["caller_lookup"]),
        "search_p95": (results["search"]["ours"]["p95_ms"], TARGETS_MS["search_p95"]),
        "memory_mb": (results["startup"]["peak_rss_mb"], TARGET_MEMORY_MB),
    }
    results["targets"] = {k: {"value": v, "target": t, "met": v <= t} for k, (v, t) in checks.items()}
    for name in ("save_call", "caller_lookup", "search"):
        ours, raw = results[name]["ours"], results[name]["raw_sqlite"]
        results[name]["ratio_p50"] = round(ours["p50_ms"] / max(raw["p50_ms"], 1e-6), 2)
        results[name]["ratio_p95"] = round(ours["p95_ms"] / max(raw["p95_ms"], 1e-6), 2)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(results["targets"], ensure_ascii=False, indent=2))
    print(f"results written to {args.out}")
    return 0 if all(t["met"] for t in results["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
