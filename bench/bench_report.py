"""Seconds per nightly report page over the last nights of a home: the page and the index as
`render_report` draws them, without and with the night's quantstats tearsheet.

Run: .venv/bin/python bench/bench_report.py [--home PATH] [--nights 5] [--days 30]

--home: an existing ALVH home (e.g. one `alvh demo` or `alvh backfill` built). Its warehouse is
opened read-only and the pages go to a temporary directory: nothing is written into the home.
Without --home, a sample home of --days sessions is built first with the demo flow (a temporary
Prefect API server, as in the tests; not measured).

All passes run in this one process, as the demo and the backfill render their last N nights:
the first page also pays the process's one-off costs (compiling the templates, plotly's template
and subplot grids; the first tearsheet imports quantstats, seaborn and matplotlib), so it is
printed apart from the pages after it. CPU seconds (all threads of this process) are printed
beside wall seconds: on a shared machine they move less. Nothing is asserted; it prints numbers.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="alvh-bench-prefect-"))
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

SAMPLE_AS_OF = date(2026, 11, 23)  # the report tests' sample night (a Monday)
RUN = {"run_id": "bench-report", "flow_run_id": "", "code_version": "bench"}


def sample_home(root: Path, days: int) -> Path:
    from prefect.testing.utilities import prefect_test_harness

    from flows.demo import demo

    home = root / "home"
    t0 = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        demo(as_of=SAMPLE_AS_OF, days=days, pages=1, home=home)
    print(f"sample home: {days} sessions to {SAMPLE_AS_OF} in {time.perf_counter() - t0:.0f} s "
          "(not measured)")
    return home


def measure(wh, nights: list[date], out: Path, tearsheet: bool) -> list[tuple[float, float, float]]:
    """(wall seconds, CPU seconds, of which tearsheet wall) per night, rendering into `out` as
    render_report does."""
    import flows.report
    from flows.settings import load_settings

    spent = {"tearsheet": 0.0}
    write = flows.report.write_tearsheet

    @functools.wraps(write)
    def timed_tearsheet(*a, **kw):
        t0 = time.perf_counter()
        try:
            return write(*a, **kw)
        finally:
            spent["tearsheet"] += time.perf_counter() - t0

    settings = load_settings(home=out)
    flows.report.write_tearsheet = timed_tearsheet
    rows = []
    try:
        for d in nights:
            spent["tearsheet"] = 0.0
            t0, c0 = time.perf_counter(), time.process_time()
            flows.report.render_report.fn(wh, d, settings, RUN, tearsheet=tearsheet)
            rows.append((time.perf_counter() - t0, time.process_time() - c0, spent["tearsheet"]))
    finally:
        flows.report.write_tearsheet = write
    return rows


def show(label: str, nights: list[date], rows: list[tuple[float, float, float]]) -> None:
    print(f"\n{label}")
    for d, (sec, cpu, ts) in zip(nights, rows, strict=True):
        print(f"  {d}  {sec:6.2f} s wall  {cpu:6.2f} s CPU"
              + (f"   (tearsheet {ts:5.2f} s, page + index {sec - ts:5.2f} s wall)" if ts else ""))
    rest = rows[1:]
    if rest:
        print(f"  first page {rows[0][0]:.2f} s wall (one-off costs included); the {len(rest)} after "
              f"it: mean {statistics.mean(r[0] for r in rest):.2f} s wall "
              f"({statistics.mean(r[1] for r in rest):.2f} s CPU), max {max(r[0] for r in rest):.2f} s "
              "wall a page")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="An existing ALVH home (read only)")
    ap.add_argument("--nights", type=int, default=5, help="Last nights to render (default 5)")
    ap.add_argument("--days", type=int, default=30,
                    help="Sessions of the sample home built without --home (default 30)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="alvh-bench-report-"))
    try:
        home = args.home or sample_home(tmp, args.days)
        # Imports outside the timings. pandas too: a nightly, demo or backfill process has it
        # loaded (the audit) before it renders, and plotly's array checks then look for it.
        import pandas  # noqa: F401

        from flows.report import render_report  # noqa: F401
        from warehouse.db import Warehouse

        with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
            nights = wh.sql("select distinct date from core.gamma_daily order by 1"
                            )["date"].to_list()[-args.nights:]
            print(f"home {home}: rendering {len(nights)} nights {nights[0]} .. {nights[-1]} "
                  f"into a temporary directory")
            plain = measure(wh, nights, tmp / "plain", tearsheet=False)
            show("page + index, no tearsheet (what the demo draws for all but its last night):",
                 nights, plain)
            drawn = measure(wh, nights, tmp / "tearsheet", tearsheet=True)
            show("page + index + the night's quantstats tearsheet (the demo's last night; the "
                 "nightly flow's one page):", nights, drawn)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
