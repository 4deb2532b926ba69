"""Start-up measurement for benchmarks/run.py (active only when HOTLINE_BENCH_READY is set).

"Usable" means: the window is shown and the call list's first search has finished, with its first
page of rows fetched. Then every call is listed (the worst case for memory), the process's peak
resident memory is printed with the start-up time, and the app quits.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from PySide6.QtWidgets import QApplication

from app.services import calls


def peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:  # Windows: the benchmark runs on Linux
        return 0.0
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def install(mw: Any) -> None:
    t0 = float(os.environ.get("HOTLINE_BENCH_T0", "0")) or time.time()
    model = mw.calls_page.model
    state: dict[str, float] = {}

    def on_first_page() -> None:
        if "ready_ms" in state:
            return
        if model.rowCount():
            model.data(model.index(0, 0))  # the first visible page is fetched: the list is usable
        state["ready_ms"] = (time.time() - t0) * 1000

    def on_finished(count: int) -> None:
        if "all_listed" not in state:
            state["all_listed"] = 1
            model.search(calls.CallQuery())  # then list every call, for the memory figure
            return
        print(
            f"HOTLINE_READY ready_ms={state['ready_ms']:.1f} peak_rss_mb={peak_rss_mb():.1f} listed={count}",
            flush=True,
        )
        QApplication.quit()

    model.first_page_shown.connect(on_first_page)
    model.search_finished.connect(on_finished)
