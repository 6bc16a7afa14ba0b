"""One new night's wall time, split into Prefect overhead, simulate, land, parse, contracts, load,
build (per step), checks (the audit) and report.

Run: .venv/bin/python bench/bench_night.py [--nights 2] [--cli]

A temporary Prefect API server (a real server process on SQLite, as in the tests), a base home
with the sample history and one night (not measured), then each measured night runs in-process
with timers around the building blocks; "Prefect + other" is the rest of the flow's wall time
(flow/task run bookkeeping, the run record, the artifact). --cli also times `alvh nightly` as a
fresh process, with a temporary server of its own vs against a running server.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="alvh-bench-prefect-"))
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

BASE = date(2026, 3, 5)
NIGHTS = [date(2026, 3, d) for d in (6, 9, 10, 11, 12, 13)]

T: dict[str, float] = defaultdict(float)


def timed(label: str, fn):
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            T[label] += time.perf_counter() - t0
    return wrapper


def instrument() -> None:
    import flows.audit
    import flows.build
    import flows.ingest
    import flows.nightly
    import flows.report

    flows.nightly.write_sample_drop.fn = timed("simulate drop (sample vendor)",
                                               flows.nightly.write_sample_drop.fn)
    flows.ingest.land = timed("land (copy + sha256)", flows.ingest.land)
    flows.ingest.parse_bytes = timed("parse (readers)", flows.ingest.parse_bytes)
    flows.ingest.check_parsed = timed("contracts at parse (pandera)", flows.ingest.check_parsed)
    flows.ingest.load_many = timed("load (DuckDB writes + registry)", flows.ingest.load_many)
    for name, step in flows.build.steps():
        step.fn = timed(f"build {name} (transforms + reads/writes)", step.fn)
    flows.nightly.audit_and_regate = timed("checks (GE audit + regate)", flows.nightly.audit_and_regate)
    flows.report.render_night = timed("report (page)", flows.report.render_night)
    flows.report.render_index = timed("report (index)", flows.report.render_index)


def cli_night(home: Path, day: date, api_url: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    t0 = time.perf_counter()
    p = subprocess.run([str(Path(sys.executable).with_name("alvh")), "nightly", "--as-of",
                        day.isoformat(), "--home", str(home)], env=env, capture_output=True,
                       text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(p.stderr[-2000:])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nights", type=int, default=2, help="Nights to measure (1-3)")
    ap.add_argument("--cli", action="store_true", help="Also time `alvh nightly` processes")
    args = ap.parse_args()

    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly

    tmp = Path(tempfile.mkdtemp(prefix="alvh-bench-night-"))
    try:
        with prefect_test_harness(server_startup_timeout=120):
            api_url = str(PREFECT_API_URL.value())
            t0 = time.perf_counter()
            nightly(as_of=BASE, home=tmp / "base")
            print(f"base home (2 years of sample history + {BASE}): {time.perf_counter() - t0:.1f} s")
            home = Path(shutil.copytree(tmp / "base", tmp / "home"))
            instrument()
            rows = []
            for day in NIGHTS[: args.nights]:
                T.clear()
                t0 = time.perf_counter()
                s = nightly(as_of=day, home=home)
                total = time.perf_counter() - t0
                rows.append((day, total, dict(T), s))
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                T.clear()
                t0 = time.perf_counter()
                nightly(as_of=NIGHTS[args.nights], home=home)
                no_hb = time.perf_counter() - t0
            for day, total, parts, s in rows:
                print(f"\nnight {day}: {total:.2f} s wall ({s.files} files, {s.rows:,} rows, {s.status})")
                for label, sec in sorted(parts.items(), key=lambda kv: -kv[1]):
                    print(f"  {label:<46} {sec:7.2f} s  {100 * sec / total:5.1f} %")
                rest = total - sum(parts.values())
                print(f"  {'Prefect + other (flow/task runs, run record)':<46} {rest:7.2f} s  "
                      f"{100 * rest / total:5.1f} %")
            print(f"\nthe same night without the flow's ~1 s heartbeat wait "
                  f"(PREFECT_FLOWS_HEARTBEAT_FREQUENCY unset): {no_hb:.2f} s")
            if args.cli:  # alternate the two, best of two each: the machine may be shared
                day = NIGHTS[args.nights + 1]
                eph, srv = [], []
                for i in range(2):
                    eph.append(cli_night(Path(shutil.copytree(home, tmp / f"cli-e{i}")), day, None))
                    srv.append(cli_night(Path(shutil.copytree(home, tmp / f"cli-s{i}")), day, api_url))
                print(f"\n`alvh nightly --as-of {day}` as a new process (best of 2): {min(eph):.1f} s "
                      f"with its own temporary Prefect server, {min(srv):.1f} s against a running "
                      f"server (difference {min(eph) - min(srv):.1f} s: the temporary server's start)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
