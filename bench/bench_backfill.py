"""A year of sample sessions through `alvh backfill`: wall time, phases, rows/s and peak RSS,
threads vs Dask worker processes.

Run: .venv/bin/python bench/bench_backfill.py [--start 2025-01-02] [--end 2025-12-31]
         [--workers 2] [--runners threads,dask] [--audit last|all]

Starts `alvh server` (a real Prefect server: Dask process workers need one) on a free port in a
temporary home, then runs `/usr/bin/time -v alvh backfill ...` for each runner on a fresh
ALVH_HOME (the 2-year sample history is loaded first, inside the measured run). Peak RSS is
reported twice: the largest single process (GNU time) and the whole process tree (the backfill
plus its Dask workers, sampled with psutil every 0.5 s). `--audit last` (default here) keeps the
per-night audit (sequential, ~2-4 s a night) out of the runner comparison; `--audit all` is what
`alvh backfill` does by default.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
ALVH = Path(sys.executable).with_name("alvh")


def gnu_time() -> str | None:
    """/usr/bin/time (Debian's `time` package), installed with apt when missing and we are root."""
    if Path("/usr/bin/time").exists():
        return "/usr/bin/time"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], capture_output=True)
        if Path("/usr/bin/time").exists():
            return "/usr/bin/time"
    print("note: /usr/bin/time not available; peak RSS from psutil only")
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TreeRSS(threading.Thread):
    """Peak of the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            self.stop.wait(0.5)


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    from flows.deploy import check_api

    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    p = subprocess.Popen([str(ALVH), "server", "--port", str(port), "--home", str(home)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while check_api(url, timeout_s=1.0) is not None:
        if p.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the Prefect server did not start")
        time.sleep(1)
    return p, url


def run(runner: str, args, url: str, tmp: Path, timer: str | None) -> dict:
    home = tmp / f"home-{runner}"
    cmd = [str(ALVH), "backfill", "--start", args.start, "--end", args.end, "--runner", runner,
           "--workers", str(args.workers), "--audit", args.audit, "--pages", "1", "--home", str(home)]
    if timer:
        cmd = [timer, "-v", *cmd]
    env = {**os.environ, "PREFECT_API_URL": url}
    env.pop("ALVH_HOME", None)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = TreeRSS(p.pid)
    tree.start()
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    tree.stop.set()
    if p.returncode not in (0, 1):
        raise SystemExit(f"{runner}: exit {p.returncode}\n{out[-2000:]}\n{err[-3000:]}")
    line = next((ln for ln in out.splitlines() if ln.startswith("backfill ")), "")
    timing = next((ln for ln in out.splitlines() if ln.startswith("time: ")), "")
    rows = int(re.search(r"([\d,]+) rows", line).group(1).replace(",", "")) if line else 0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    return {"runner": runner, "wall": wall, "line": line, "timing": timing, "rows": rows,
            "rss_max_proc_mb": int(m.group(1)) / 1024 if m else None,
            "rss_tree_mb": tree.peak / 2**20, "home": home,
            "db_mb": (home / "warehouse.duckdb").stat().st_size / 2**20}


def parquet_layout(home: Path, out: Path) -> None:
    """The scale-out storage path (docs/scaling.md): raw.option_quotes as one Parquet file per
    session in a hive layout, read back by DuckDB with partition pruning."""
    from warehouse.db import Warehouse

    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        n = wh.scalar("select count(*) from raw.option_quotes")
        t0 = time.perf_counter()
        wh.execute(f"copy (select * from raw.option_quotes) to '{out}' "
                   "(format parquet, partition_by (quote_date), compression zstd)")
        t_write = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in out.rglob("*.parquet"))
        files = len(list(out.rglob("*.parquet")))
        src = f"read_parquet('{out}/*/*.parquet', hive_partitioning = true)"
        t0 = time.perf_counter()
        wh.execute(f"select quote_date, sum(open_interest * gamma) from {src} group by 1")
        t_all = time.perf_counter() - t0
        last = wh.scalar("select max(quote_date) from raw.option_quotes")
        t0 = time.perf_counter()
        wh.execute(f"select count(*) from {src} where quote_date = ?", [last])
        t_one = time.perf_counter() - t0
    db = (home / "warehouse.duckdb").stat().st_size
    print(f"\nParquet (hive, one file per session, zstd): {n:,} option rows in {files} files, "
          f"{size / 2**20:,.0f} MB ({size / n:.0f} B/row; the whole DuckDB file is "
          f"{db / 2**20:,.0f} MB), written in {t_write:.1f} s; DuckDB reads it back: a "
          f"per-session aggregate over all sessions {t_all:.2f} s, one session (pruned) {t_one:.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", default="2025-01-02")
    ap.add_argument("--end", default="2025-12-31")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runners", default="threads,dask")
    ap.add_argument("--audit", default="last", choices=("last", "all"))
    args = ap.parse_args()

    timer = gnu_time()
    tmp = Path(tempfile.mkdtemp(prefix="alvh-bench-backfill-"))
    server, url = start_server(tmp / "server-home")
    print(f"Prefect server {url}; {os.cpu_count()} CPUs; load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = []
    try:
        for runner in args.runners.split(","):
            r = run(runner, args, url, tmp, timer)
            results.append(r)
            print(f"\n{runner} x{args.workers} (--audit {args.audit}): {r['wall']:.1f} s wall")
            print(f"  {r['line']}")
            print(f"  {r['timing']}")
            print(f"  {r['rows'] / r['wall']:,.0f} rows/s end to end; peak RSS "
                  f"{r['rss_max_proc_mb'] or float('nan'):,.0f} MB largest process, "
                  f"{r['rss_tree_mb']:,.0f} MB whole tree; warehouse {r['db_mb']:,.0f} MB")
        if results:
            parquet_layout(results[0]["home"], tmp / "parquet")
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server group we started
        server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
