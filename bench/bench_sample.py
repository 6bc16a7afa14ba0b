"""Sample market speed: path simulation, one vendor drop per source, a demo-sized run, bootstrap.

Prints wall and CPU milliseconds (CPU time counts every thread; on a busy shared machine wall time
inflates, CPU time does not). Run: .venv/bin/python bench/bench_sample.py [--days 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sources.sample import SampleMarket, write_bootstrap, write_drop  # noqa: E402
from sources.sample import expiries as ex  # noqa: E402
from sources.sample.drop import DROP_WRITERS  # noqa: E402


class Clock:
    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = (time.perf_counter() - self.w) * 1000
        self.cpu = (time.process_time() - self.c) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20))
    a = ap.parse_args()
    ex.all_sessions()  # exchange_calendars import and build (~2 s): paid once per process

    m = SampleMarket(a.seed)
    with Clock() as t:
        m.path(date(2016, 1, 4), date(2027, 12, 31))
    print(f"path simulation to {ex.HORIZON} ({len(m._sim.dates)} sessions): {t.wall:.0f} ms wall, {t.cpu:.0f} ms cpu")

    days = m.sessions(date(2016, 1, 4), a.end)[-a.days:]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_drop(m, ex.previous_session(days[0]), out / "warm")  # first-use caches
        per: dict[str, list[float]] = {k: [0.0, 0.0] for k in DROP_WRITERS}
        sizes: dict[str, int] = {}
        with Clock() as total:
            for d in days:
                for name, fn in DROP_WRITERS.items():
                    with Clock() as t:
                        paths = fn(m, d, out / d.isoformat())
                    per[name][0] += t.wall
                    per[name][1] += t.cpu
                    for p in paths:
                        sizes[p.name if "quotedata" in p.name else name] = p.stat().st_size
        n = len(days)
        print(f"\nwrite_drop over {n} sessions ending {days[-1]}: "
              f"{total.wall / n:.1f} ms wall, {total.cpu / n:.1f} ms cpu per drop")
        for name, (w, c) in per.items():
            print(f"  {name:20s} {w / n:7.2f} ms wall {c / n:7.2f} ms cpu")
        print("  last drop file sizes (bytes):", ", ".join(f"{k}={v}" for k, v in sizes.items()))
        with Clock() as t:
            paths = write_bootstrap(m, days[0], out / "boot", years=2.0)
        mb = sum(p.stat().st_size for p in paths) / 1e6
        print(f"\nwrite_bootstrap 2 years before {days[0]}: {len(paths)} files, {mb:.1f} MB, "
              f"{t.wall:.0f} ms wall, {t.cpu:.0f} ms cpu")
        with Clock() as t:
            write_drop(SampleMarket(a.seed), days[-1], out / "cold")
        print(f"cold drop (new market object: path + caches): {t.wall:.0f} ms wall, {t.cpu:.0f} ms cpu")


if __name__ == "__main__":
    main()
