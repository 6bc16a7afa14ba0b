"""The backfill writer alone: seconds per session in `flows.writer.apply_day`, and the tables it
leaves (checksums, to compare two versions of the writer).

Run: .venv/bin/python bench/bench_writer.py [--start 2026-10-01] [--end 2026-10-30] [--workers 2]
         [--base-from 2026-09-24] [--profile out.prof] [--checksums out.json] [--repeat 2]

The first run builds a base home with `alvh backfill --start <base-from> --end <start - 1 day>`
(the sample history plus those sessions; default: the week before --start) and pickles the
prepared days (the workers' half: fetch + parse + gamma) next to it, so later runs time only the
writer. Each run applies the days, in order, to a fresh copy of the base warehouse in one process
(no Prefect server), as the backfill's writer does. `--workers 2` keeps two threads simulating
and preparing later sessions meanwhile, as `alvh backfill --workers 2` does: they compete with
the writer for the cores and the GIL, which roughly doubles its time (as in a real backfill).
A base of a year (--base-from a year earlier, ~10 min to build once) shows what grows with the
tables (a full table scan per write cost ~70 ms there). The machine may be shared: compare runs
by the median and the CPU seconds as well as the mean (with --workers, CPU includes theirs).

Measured on 2 cores (2026-11): per-file writes 0.40-0.58 s/session alone, ~0.97 with
--workers 2; batched per table 0.09 alone, ~0.15 with --workers 2 (same checksums).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ALVH = Path(sys.executable).with_name("alvh")


def build_base(base: Path, base_from: date, start: date) -> None:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("ALVH_HOME", None)
    first = base_from.isoformat()
    last = (start - timedelta(days=1)).isoformat()
    subprocess.run([str(ALVH), "backfill", "--start", first, "--end", last, "--audit", "last",
                    "--pages", "0", "--home", str(base)], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def prepared_days(base: Path, start: date, end: date) -> list:
    from flows.build import gamma_conventions
    from flows.settings import load_settings
    from flows.workers import fetch_day, prepare_day
    from sources import calendar

    cache = base / f"days-{start}-{end}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    settings = load_settings(home=base)
    conventions = gamma_conventions(settings)
    out = []
    for day in calendar.sessions_between(start, end):
        folder = settings.drops / day.isoformat()
        landed = fetch_day.fn(day, "sample", folder, settings.root, settings.seed)
        out.append(prepare_day.fn(day, landed, settings.root, conventions,
                                  settings.max_reject_ratio))
        shutil.rmtree(folder, ignore_errors=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def keep_preparing(home: Path, after: date, i: int, n: int, stop: threading.Event) -> None:
    """A backfill worker's loop (fetch-day + prepare-day) over the sessions after `after`."""
    from flows.build import gamma_conventions
    from flows.settings import load_settings
    from flows.workers import fetch_day, prepare_day
    from sources import calendar

    settings = load_settings(home=home)
    conventions = gamma_conventions(settings)
    days = calendar.sessions_between(after + timedelta(days=1), after + timedelta(days=120))[i::n]
    for day in days:
        if stop.is_set():
            return
        folder = home / "worker-drops" / day.isoformat()
        landed = fetch_day.fn(day, "sample", folder, settings.root, settings.seed)
        prepare_day.fn(day, landed, settings.root, conventions, settings.max_reject_ratio)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", default="2026-10-01")
    ap.add_argument("--end", default="2026-10-30")
    ap.add_argument("--base-from", help="first session of the base home (default: --start - 7 days)")
    ap.add_argument("--base", help="where the base home is kept (default: in the temp folder)")
    ap.add_argument("--profile", help="write a cProfile of the writer (after its first session)")
    ap.add_argument("--checksums", help="write the tables' checksums after the run here (JSON)")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the days (later passes: every file known)")
    ap.add_argument("--workers", type=int, default=0,
                    help="threads simulating and preparing later sessions meanwhile, as a backfill's "
                         "workers do (they compete with the writer for the GIL and the cores)")
    args = ap.parse_args()
    start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    base_from = (date.fromisoformat(args.base_from) if args.base_from
                 else start - timedelta(days=7))
    base = Path(args.base or Path(tempfile.gettempdir()) / f"alvh-bench-writer-{base_from}-{start}")
    if not (base / "READY").exists():
        shutil.rmtree(base, ignore_errors=True)
        print(f"building the base home {base} (backfill {base_from} .. {start - timedelta(days=1)})"
              " ...")
        build_base(base, base_from, start)
        (base / "READY").touch()

    from flows.backfill import table_checksums
    from flows.build import gamma_conventions
    from flows.settings import load_settings
    from flows.writer import apply_day
    from warehouse.db import Warehouse

    works = prepared_days(base, start, end)
    with tempfile.TemporaryDirectory(prefix="alvh-bench-writer-") as tmp:
        home = Path(tmp)
        shutil.copy(base / "warehouse.duckdb", home / "warehouse.duckdb")
        shutil.copytree(base / "landing", home / "landing")
        settings = load_settings(home=home)
        conventions = gamma_conventions(settings)
        prof = cProfile.Profile() if args.profile else None
        stop = threading.Event()
        busy = [threading.Thread(target=keep_preparing, args=(home, end, i, args.workers, stop),
                                 daemon=True) for i in range(args.workers)]
        for t in busy:
            t.start()
        with Warehouse.open(settings.warehouse_path) as wh:
            for rep in range(args.repeat):
                times, cpu, statuses = [], [], {}
                for i, work in enumerate(pickle.loads(pickle.dumps(works))):
                    t0, c0 = time.perf_counter(), time.process_time()
                    if prof and (i or rep):  # the first session pays one-off imports
                        prof.enable()
                    out = apply_day(wh, settings, work, conventions)
                    if prof:
                        prof.disable()
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    statuses[out.status] = statuses.get(out.status, 0) + 1
                    if out.errors:
                        print(f"  {work.day}: {out.errors}")
                files = sum(len(w.landed) for w in works)
                rest = times[1:] or times
                print(f"pass {rep + 1}: {len(works)} sessions, {files} files, writer "
                      f"{sum(times):.2f} s = {sum(times) / len(works):.3f} s/session; after the "
                      f"first session (imports, contract compiles) {sum(rest) / len(rest):.3f} "
                      f"s/session (median {sorted(rest)[len(rest) // 2]:.3f}, max {max(rest):.3f}); "
                      f"CPU {sum(cpu[1:] or cpu) / len(rest):.3f} s/session; {statuses}")
            t0 = time.perf_counter()
            wh.execute("checkpoint")  # what the run left in the WAL: paid later, at the latest on close
            print(f"then a checkpoint of what is left in the WAL: {time.perf_counter() - t0:.2f} s")
            if args.checksums:
                Path(args.checksums).write_text(json.dumps(table_checksums(wh), indent=1,
                                                           sort_keys=True))
        stop.set()
        for t in busy:
            t.join()
        if prof:
            prof.dump_stats(args.profile)


if __name__ == "__main__":
    main()
