"""The history steps of a build (`flows.build.build_sessions(..., prebuilt={"gamma"})`: the GEX
MACD, market, signals, alvh recommendations, backtest) over the last N sessions of a built home:
wall and CPU time per step. This is the tail a demo or backfill runs after the per-day gamma.

Run: .venv/bin/python bench/bench_build.py [--home DIR] [--days 260] [--repeat 1]
--home: a built ALVH_HOME (e.g. after `alvh demo`); it is copied, never written. Without it,
`alvh demo --days N --pages 1` builds one in a temporary directory first (minutes).
The steps run in-process as plain functions (no Prefect server or task-run bookkeeping), so the
numbers are the steps' own. CPU time counts every thread (DuckDB and polars use both cores);
on a shared machine wall time > CPU time means the process waited. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ALVH = Path(sys.executable).with_name("alvh")


def built_home(days: int, tmp: Path) -> Path:
    home = tmp / "built"
    t0 = time.perf_counter()
    subprocess.run([str(ALVH), "demo", "--days", str(days), "--pages", "1", "--home", str(home)],
                   check=True, cwd=REPO, env={**os.environ, "ALVH_HOME": str(home)},
                   stdout=subprocess.DEVNULL)
    print(f"alvh demo --days {days}: {time.perf_counter() - t0:.0f} s (home {home})")
    return home


def run_once(home: Path, days: int) -> None:
    from flows import build
    from flows.settings import load_settings
    from warehouse import reads
    from warehouse.db import Warehouse

    settings = load_settings(home=home)
    import expectations.contracts  # noqa: F401  (pandera: loaded before any step in a real run)
    import flows.gate

    flows.gate.row_context()  # the XNYS calendar, likewise
    timings: list[tuple[str, float, float, dict]] = []
    plain = build.steps

    def timed_steps():
        out = []
        for name, step in plain():
            def run(*a, _step=step, _name=name, **kw):
                w, c = time.perf_counter(), time.process_time()
                res = _step.fn(*a, **kw)
                timings.append((_name, time.perf_counter() - w, time.process_time() - c, res.rows))
                return res
            out.append((name, run))
        return out

    build.steps = timed_steps
    try:
        with Warehouse.open(settings.warehouse_path) as wh:
            sessions = reads.quote_dates(wh, "SPX")[-days:]
            w, c = time.perf_counter(), time.process_time()
            build.build_sessions(wh, settings, sessions, prebuilt=frozenset({"gamma"}), show=False)
            wall, cpu = time.perf_counter() - w, time.process_time() - c
    finally:
        build.steps = plain
    print(f"{len(sessions)} sessions, {sessions[0]} .. {sessions[-1]}")
    print(f"  {'step':<10} {'wall s':>7} {'cpu s':>7}  rows")
    for name, w, c, rows in timings:
        print(f"  {name:<10} {w:7.2f} {c:7.2f}  " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    print(f"  {'total':<10} {wall:7.2f} {cpu:7.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, help="a built ALVH_HOME (copied, never written)")
    ap.add_argument("--days", type=int, default=260, help="sessions to rebuild (the last N)")
    ap.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh copy")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        src = args.home or built_home(args.days, Path(tmp))
        import warnings

        warnings.filterwarnings("ignore")
        for i in range(args.repeat):
            home = Path(tmp) / f"run{i}"
            shutil.copytree(src, home, ignore=shutil.ignore_patterns("*.lock", "reports", "gx",
                                                                     "data_docs", "landing", "drops"))
            print(f"== run {i + 1}/{args.repeat}")
            run_once(home, args.days)
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
