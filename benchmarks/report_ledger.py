"""Benchmark of the call ledger printout, 来电登记台账 (issue: printing and reports).

    .venv/bin/python -m benchmarks.report_ledger [--calls 10000] [--runs 3]
                                                 [--out benchmarks/report_ledger_results.json]

A fresh desktop database in a temporary folder gets realistic calls from ``app.demo`` (units,
contacts, numbers and call texts as the hotline has them, three months of them), enough that one
site (常州市财政局, which gets some 60 % of the demo calls) has at least N. The ledger's period runs
from that site's first call's day to the day of its N-th call, so the ledger lists N calls or a few
more (the rest of that day). Then, ``--runs`` times each, in the Chinese interface:

1. the ledger end to end (target ≤ 5 s for 10,000 calls): ``ledger_rows`` in a new session (the
   call list's search, names resolved, rows formatted, totals) and ``render_ledger`` to a PDF file
   (landscape A4, header row on every page, totals, signatures). Beside it the two parts alone;
2. the spreadsheet export of the same data: ``ledger_sheets`` and ``write_xlsx`` (openpyxl), and
   ``write_csv``.

The p50 of the runs is reported, with the pages and the file sizes. The bundled font is registered
once per process before the runs (its cost, about a quarter of a second, is reported apart: the
window pays it at the first printout only).

Results go to ``benchmarks/report_ledger_results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import log  # noqa: E402

TARGETS = {"ledger_end_to_end_s": 5.0}
MONTHS = 3


def fill(ctx: Any, calls: int) -> tuple[str, dt.date, dt.date, int]:
    """Demo calls enough for ``calls`` at Changzhou; its id and the period holding the first N."""
    from sqlalchemy import select

    from app import demo
    from app.reports.ledger import LOCAL_TZ
    from app.storage.models import Call, Site

    share = demo.SITE_SHARE["changzhou"]
    total = int(calls / share * 1.08) + 100
    log(f"generating {total:,} demo calls over {MONTHS} months …")
    began = time.perf_counter()
    demo.generate_demo(ctx, total, max(50, total // 20), months=MONTHS)
    log(f"  done in {time.perf_counter() - began:.1f} s")
    with ctx.db.session() as session:
        site_id = session.scalar(select(Site.id).where(Site.code == "changzhou"))
        assert site_id is not None
        times = session.scalars(
            select(Call.started_at).where(Call.site_id == site_id, Call.deleted.is_(False)).order_by(Call.key)
        ).all()
    if len(times) < calls:
        raise SystemExit(f"only {len(times)} calls at Changzhou; raise the demo size")
    first = times[0].astimezone(LOCAL_TZ).date()
    last = times[calls - 1].astimezone(LOCAL_TZ).date()
    return site_id, first, last, len(times)


def bench_ledger(ctx: Any, flt: Any, out: Path, runs: int) -> dict[str, Any]:
    from app.reports.layout import Letterhead
    from app.reports.ledger import ledger_rows, render_ledger

    letterhead = Letterhead("常州市财政局 运维服务")
    totals: list[float] = []
    data_s: list[float] = []
    render_s: list[float] = []
    pages = rows = 0
    for run in range(runs):
        started = time.perf_counter()
        with ctx.db.session() as session:
            data = ledger_rows(session, flt)
        read = time.perf_counter()
        pages = render_ledger(data, out, letterhead, "2026-12-01 09:30")
        done = time.perf_counter()
        rows = len(data.rows)
        totals.append(done - started)
        data_s.append(read - started)
        render_s.append(done - read)
        log(f"  run {run + 1}: {done - started:.2f} s (data {read - started:.2f} s, PDF {done - read:.2f} s)")
    return {
        "calls": rows,
        "pages": pages,
        "pdf_bytes": out.stat().st_size,
        "end_to_end_s": {"p50": round(statistics.median(totals), 3), "runs": [round(t, 3) for t in totals]},
        "ledger_rows_s": round(statistics.median(data_s), 3),
        "render_ledger_s": round(statistics.median(render_s), 3),
        "per_call_ms": round(statistics.median(totals) / max(rows, 1) * 1000, 3),
    }


def bench_sheets(ctx: Any, flt: Any, folder: Path, runs: int) -> dict[str, Any]:
    from app.reports.ledger import ledger_rows, ledger_sheets
    from app.reports.tables import write_csv, write_xlsx

    with ctx.db.session() as session:
        data = ledger_rows(session, flt)
    xlsx: list[float] = []
    csv: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        write_xlsx(ledger_sheets(data), folder / "ledger.xlsx")
        xlsx.append(time.perf_counter() - started)
        started = time.perf_counter()
        write_csv(ledger_sheets(data), folder / "ledger.csv")
        csv.append(time.perf_counter() - started)
    return {
        "xlsx_s": round(statistics.median(xlsx), 3),
        "xlsx_bytes": (folder / "ledger.xlsx").stat().st_size,
        "csv_s": round(statistics.median(csv), 3),
        "csv_bytes": (folder / "ledger.csv").stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "report_ledger_results.json")
    args = parser.parse_args(argv)

    from app import i18n
    from app.context import open_context
    from app.reports.fonts import report_fonts
    from app.reports.ledger import LedgerFilter

    work = Path(tempfile.mkdtemp(prefix="hotline-ledger-bench-"))
    ctx = open_context(str(work / "data"))
    i18n.set_language("zh_CN")
    try:
        site_id, first, last, at_site = fill(ctx, args.calls)
        flt = LedgerFilter(first, last, site_id)
        started = time.perf_counter()
        report_fonts()
        fonts_s = time.perf_counter() - started
        log(f"1. the ledger of {first} to {last} ({args.calls:,}+ calls), {args.runs} runs …")
        ledger = bench_ledger(ctx, flt, work / "ledger.pdf", args.runs)
        log(f"  p50 {ledger['end_to_end_s']['p50']} s for {ledger['calls']:,} calls, {ledger['pages']} pages")
        log("2. the same data as .xlsx and CSV …")
        sheets = bench_sheets(ctx, flt, work, args.runs)
        log(f"  xlsx {sheets['xlsx_s']} s, CSV {sheets['csv_s']} s")
        results = {
            "when": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average": list(os.getloadavg()),
            },
            "data": {
                "calls_at_site": at_site,
                "period": [first.isoformat(), last.isoformat()],
                "font_registration_s": round(fonts_s, 3),
            },
            "ledger": ledger,
            "spreadsheet": sheets,
        }
        value = ledger["end_to_end_s"]["p50"]
        target = TARGETS["ledger_end_to_end_s"]
        results["targets"] = {
            "ledger_end_to_end_s": {"value": value, "target": target, "met": value <= target}
        }
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(results["targets"], ensure_ascii=False, indent=2))
        return 0 if value <= target else 1
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
