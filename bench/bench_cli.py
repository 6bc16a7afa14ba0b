"""Wall time of the ad-hoc `alvh` commands, run as a user runs them (subprocesses, a small home).

Prints one line per command: the figure recorded on the commit before issue 17 (a Prefect server
per command) beside the time measured now. `--before DIR` also runs another checkout (a
`git archive` of an older commit) in the same run, alternating with this one command by command,
and prints now/before as a ratio: on a shared machine only a ratio of the same run compares.
Run: .venv/bin/python bench/bench_cli.py [--repeat 3] [--before DIR] [--code DIR]
Never asserted; the targets (issue 17) are printed beside. Warm cache, as the targets say: the
commands run with bytecode caching on (PYTHONDONTWRITEBYTECODE dropped) and a warmed home.
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


def run(argv: list[str], home: Path, code: Path | None) -> tuple[float, float]:
    """(wall s, CPU s of the command and its children) of one `alvh` run."""
    env = {**os.environ, "ALVH_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # warm cache: a user's Python keeps its .pyc files
    if code is not None:
        env["PYTHONPATH"] = str(code)
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "from flows.cli import main; main()", *argv],
                   env=env, cwd=home, capture_output=True, timeout=600)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t0, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime


def _uncompiled() -> list[str]:
    """Installed packages the commands import that have no bytecode (each process then compiles
    them: ~0.6 s more per command; `make setup` compiles at install, UV_COMPILE_BYTECODE=1)."""
    import importlib.util

    out = []
    for name in ("polars", "duckdb", "typer", "pandera", "pandas", "pydantic", "rich"):
        spec = importlib.util.find_spec(name)
        if spec and spec.origin and not (Path(spec.origin).parent / "__pycache__").is_dir():
            out.append(name)
    return out


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "" if x is None else format(x, spec)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--code", type=Path, default=None, help="run this checkout instead of the repo")
    ap.add_argument("--before", type=Path, default=None,
                    help="also run this older checkout in the same run (own home) and print ratios")
    args = ap.parse_args()
    missing = _uncompiled()
    if missing:
        print(f"warning: no bytecode for {', '.join(missing)} in this environment: every command "
              "compiles them (run `make setup`, or python -m compileall on them)")
    print(f"(load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        data = _index_file(Path(tmp))
        codes = {"now": args.code} | ({"before": args.before} if args.before else {})
        homes = {k: Path(tmp) / f"home-{k}" for k in codes}
        for k, code in codes.items():
            homes[k].mkdir()
            run(["ingest", str(data)], homes[k], code)  # warm the home (schema, first landing)
        print(f"{'command':<18} {'a50bad6':>8} {'cpu':>6} | {'before':>7} {'cpu':>6} | "
              f"{'now s':>7} {'cpu':>6} | {'now/before':>10} {'cpu':>6} | {'target':>6}")
        for name, argv in commands(data):
            got: dict[str, list[tuple[float, float]]] = {k: [] for k in codes}
            for _ in range(args.repeat):  # alternate: both see the same load
                for k, code in codes.items():
                    got[k].append(run(argv, homes[k], code))
            med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
                   for k, v in got.items()}
            now, before = med["now"], med.get("before")
            ratio = None if before is None else (now[0] / before[0], now[1] / before[1])
            print(f"{name:<18} {_fmt(BEFORE.get(name)):>8} {_fmt(BEFORE_CPU.get(name)):>6} | "
                  f"{_fmt(before and before[0]):>7} {_fmt(before and before[1]):>6} | "
                  f"{now[0]:>7.2f} {now[1]:>6.2f} | {_fmt(ratio and ratio[0]):>10} "
                  f"{_fmt(ratio and ratio[1]):>6} | {_fmt(TARGETS.get(name), '.1f'):>6}", flush=True)
    print(f"(load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; seconds are "
          f"medians of {args.repeat} runs; a50bad6: recorded, see BEFORE)")


if __name__ == "__main__":
    main()
