"""Vendor readers benchmark: rows/s per format on the real files, against plain polars.read_csv of
the same bytes (which only splits and types columns: no checks, lineage, flags or rejects).

Two sizes per file: as shipped (small: fixed costs dominate), and its data lines repeated to about
200k lines (repeats are refused as duplicates, so every line is still read, checked and kept or
quarantined). Prints numbers only; nothing is asserted.

Run: .venv/bin/python bench/bench_formats.py [realdata dir]
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sources.formats import detect  # noqa: E402

REALDATA = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
    "ALVH_REALDATA", Path(__file__).resolve().parents[2] / "shared" / "realdata"))
TARGET_LINES = 200_000
# Another engineer's reader with its own benchmark (bench_ingest.py): timed as shipped only.
AS_SHIPPED_ONLY = {"cboe_quotedata"}


def timeit(fn, budget_s: float = 0.4, max_repeat: int = 15) -> float:
    """Median wall time of fn over as many runs as fit the budget (after one warm-up)."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeat and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def split(data: bytes) -> tuple[bytes, bytes]:
    """(preamble incl. header, data lines) - the preamble is whatever precedes the first line that
    starts with a digit (every layout here starts its data lines with a date or an epoch)."""
    lines = data.splitlines(keepends=True)
    i = next((k for k, ln in enumerate(lines) if ln[:1].isdigit()), len(lines))
    return b"".join(lines[:i]), b"".join(lines[i:])


def enlarge(data: bytes) -> bytes:
    head, body = split(data)
    n = max(body.count(b"\n"), 1)
    if not body.endswith(b"\n"):
        body += b"\r\n" if b"\r\n" in body else b"\n"
    return head + body * max(1, TARGET_LINES // n)


def baseline(data: bytes) -> float | None:
    head, _ = split(data)
    skip = max(head.count(b"\n") - 1, 0)  # keep the header line as the header
    has_header = bool(head)

    def read():
        return pl.read_csv(io.BytesIO(data), has_header=has_header, skip_rows=skip,
                           truncate_ragged_lines=True, infer_schema_length=10_000,
                           comment_prefix="#" if head.startswith(b"#") else None)

    try:
        read()
    except Exception:  # noqa: BLE001 - a layout plain read_csv cannot take is shown as n/a
        return None
    return timeit(read)


def main() -> None:
    files = sorted(p for p in REALDATA.rglob("*.csv"))
    if not files:
        print(f"no real files under {REALDATA}")
        return
    print(f"real files: {REALDATA}   (median wall time; rows = data lines read)")
    print(f"{'format':30} {'file':46} {'size':>5} {'rows':>8} {'reader':>9} {'rows/s':>11} "
          f"{'read_csv':>9} {'x':>5}")
    per_format: dict[str, list[float]] = {}
    for path in files:
        raw = path.read_bytes()
        fmt = detect(raw, path.name)
        sizes = [("real", raw)] + ([] if fmt.name in AS_SHIPPED_ONLY else [("200k", enlarge(raw))])
        for size, data in sizes:
            p = fmt.parse(data, str(path))
            # lines in, not rows out: snapshot files collapse many lines into one row per hour
            n = max(p.rows_read, split(data)[1].count(b"\n"))
            t = timeit(lambda data=data, fmt=fmt, name=str(path): fmt.parse(data, name))
            b = baseline(data)
            rate = n / t
            if size == "200k":
                per_format.setdefault(fmt.name, []).append(rate)
            print(f"{fmt.name:30} {path.name[:46]:46} {size:>5} {n:>8,} {t * 1e3:>7.1f}ms "
                  f"{rate:>11,.0f} " + (f"{b * 1e3:>7.1f}ms {t / b:>5.1f}" if b else f"{'n/a':>9} {'':>5}"))
    print("\nrows/s per format (200k-line inputs, median over its real files):")
    for name, rates in sorted(per_format.items()):
        print(f"  {name:30} {statistics.median(rates):>12,.0f}")


if __name__ == "__main__":
    main()
