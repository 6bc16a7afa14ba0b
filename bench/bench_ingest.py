"""Chain ingest throughput: our CBOE reader (+ warehouse write) vs plain polars.read_csv.

Prints rows/s for the real chains in ../shared/realdata (when present) and for a year of sample
chains. Run: .venv/bin/python bench/bench_ingest.py [--days 252]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sources import calendar  # noqa: E402
from sources.cboe_chain import parse  # noqa: E402
from warehouse.db import Warehouse  # noqa: E402
from warehouse.files import land, load_file  # noqa: E402

REAL = REPO.parent / "shared" / "realdata" / "cboe_chains"


def _plain(data: bytes) -> int:
    # The baseline: read the same bytes as a CSV (header found by hand, no validation, no lineage).
    text = data.decode()
    start = text.index("Expiration Date")
    return pl.read_csv(io.StringIO(text[start:]), infer_schema_length=10000).height


def measure(files: list[tuple[str, bytes]], label: str) -> None:
    calendar.sessions()  # warm the calendar once, as a long-running ingest would
    t0 = time.perf_counter()
    lines = sum(_plain(d) for _, d in files)
    t_plain = time.perf_counter() - t0

    t0 = time.perf_counter()
    parsed = [parse(d, n) for n, d in files]
    t_parse = time.perf_counter() - t0
    rows = sum(p.rows.height for p in parsed)

    with tempfile.TemporaryDirectory() as tmp, Warehouse.open(Path(tmp) / "w.duckdb") as wh:
        t0 = time.perf_counter()
        for (name, data), p in zip(files, parsed, strict=True):
            lf = land(Path(tmp), Path(name), data, "cboe_chain")
            load_file(wh, lf, batch_id="bench", format=p.format, table=p.table, rows=p.rows,
                      rejects=p.rejects, partition_by=p.partition_by)
        t_write = time.perf_counter() - t0
    mb = sum(len(d) for _, d in files) / 1e6
    print(f"{label}: {len(files)} files, {mb:,.1f} MB, {lines:,} lines -> {rows:,} contract rows")
    print(f"  polars.read_csv (baseline, no checks) {t_plain:7.2f} s  {lines / t_plain:>12,.0f} lines/s")
    print(f"  alvh parse (validated, lineage)       {t_parse:7.2f} s  {lines / t_parse:>12,.0f} lines/s"
          f"  {rows / t_parse:>12,.0f} rows/s")
    print(f"  alvh parse + land + load into DuckDB  {t_parse + t_write:7.2f} s  "
          f"{rows / (t_parse + t_write):>12,.0f} rows/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=252)
    args = ap.parse_args()
    if REAL.is_dir():
        measure([(p.name, p.read_bytes()) for p in sorted(REAL.glob("*.csv"))], "real CBOE chains")
    else:
        print(f"real chains not found at {REAL}: skipped")

    from sources.sample import SampleMarket, write_drop

    m = SampleMarket(seed=7)
    days = calendar.sessions_between(date(2025, 1, 1), date(2026, 12, 31))[: args.days]
    files = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for d in days:
            out = Path(tmp) / d.isoformat()
            write_drop(m, d, out, sources=["spx_chain"])
            files.extend((f"{d}-{p.name}", p.read_bytes()) for p in sorted(out.glob("*quotedata*.csv")))
        print(f"(sample: {len(days)} SPX chains written in {time.perf_counter() - t0:.1f} s)")
    measure(files, f"sample SPX chains, {len(days)} sessions")


if __name__ == "__main__":
    main()
