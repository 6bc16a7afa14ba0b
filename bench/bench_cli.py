"""Wall time of the ad-hoc `alvh` commands, run as a user runs them (subprocesses, a small home).

Prints one line per command: the BEFORE figure measured on the commit before issue 17 (Prefect
server per command) beside the time measured now. Run: .venv/bin/python bench/bench_cli.py
[--repeat 3] [--code DIR] (`--code` runs another checkout of the package, e.g. a `git archive` of
the old commit, to re-measure the before column). Never asserted; the targets are in issue 17.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Measured at a50bad6 with `--code /tmp/h17-before` (a `git archive` of that commit) on this 2-core
# machine at 17:14 UTC on 2026-12-03 while other agents kept the load average at 10-16, one run
# each, seconds; the "now" column of the run just after (load 10-14) was: --help 1.41, ingest
# 4.49 (2.85 CPU), status 2.37 (1.22), nightly holiday 5.27 (2.22), report unbuilt 1.40 (1.23),
# gex 3.16 (2.37). An idle machine is several times faster in wall time for both.
BEFORE: dict[str, float] = {"--help": 1.23, "ingest": 50.39, "status": 6.02,
                            "nightly holiday": 52.32, "report unbuilt": 57.92, "gex": 6.87}
BEFORE_CPU: dict[str, float] = {"--help": 0.58, "ingest": 19.74, "status": 1.59,
                                "nightly holiday": 18.06, "report unbuilt": 19.59, "gex": 2.29}

TARGETS = {"ingest": 1.5, "status": 1.0}
CPU: dict[str, list[float]] = {}  # CPU seconds (user + sys) of the command and its children


def _index_file(folder: Path, rows: int = 505) -> Path:
    """A Cboe index-history CSV of `rows` sessions (the layout of VIX_History.csv)."""
    out = folder / "VIX_History.csv"
    day, lines = date(2024, 1, 2), ["DATE,OPEN,HIGH,LOW,CLOSE"]
    while len(lines) <= rows:
        if day.weekday() < 5:
            v = 15 + (len(lines) % 17) * 0.3
            lines.append(f"{day:%m/%d/%Y},{v:.6f},{v + 1:.6f},{v - 1:.6f},{v + 0.2:.6f}")
        day += timedelta(days=1)
    out.write_text("\n".join(lines) + "\n")
    return out


def commands(data: Path) -> list[tuple[str, list[str]]]:
    return [
        ("--help", ["--help"]),
        ("ingest", ["ingest", str(data), "--force"]),
        ("status", ["status"]),
        ("nightly holiday", ["nightly", "--as-of", "2026-12-25"]),
        ("report unbuilt", ["report", "--as-of", "2026-11-20"]),
        ("gex", ["gex", str(REPO / "tests/fixtures/gamma/spx_mini_quotedata.csv")]),
        ("config show", ["config", "show"]),
    ]


def run(argv: list[str], home: Path, code: Path | None) -> float:
    env = {**os.environ, "ALVH_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "from flows.cli import main; main()", *argv],
                   env=env, cwd=home, capture_output=True, timeout=600)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(argv[0], []).append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--code", type=Path, default=None, help="run this checkout instead of the repo")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        data = _index_file(Path(tmp))
        run(["ingest", str(data)], home, args.code)  # warm the home (schema, first landing)
        print(f"{'command':<18} {'before s':>9} {'cpu s':>7} {'now s':>9} {'cpu s':>7} {'target s':>9}")
        for name, argv in commands(data):
            CPU.pop(argv[0], None)
            times = [run(argv, home, args.code) for _ in range(args.repeat)]
            now, cpu = statistics.median(times), statistics.median(CPU[argv[0]])
            before = BEFORE.get(name)
            target = TARGETS.get(name)
            bcpu = BEFORE_CPU.get(name)
            print(f"{name:<18} {'' if before is None else f'{before:.2f}':>9} "
                  f"{'' if bcpu is None else f'{bcpu:.2f}':>7} {now:>9.2f} {cpu:>7.2f} "
                  f"{'' if target is None else f'{target:.1f}':>9}", flush=True)
    print(f"(load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
