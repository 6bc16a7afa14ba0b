"""Row-contract check cost per call: pandera's `schema.validate` vs the one-query fast path of
`expectations.contracts.check_rows`, on every vendor file of one sample-market day (plus a 1-row
index bar, the common tiny file). Prints ms per call; nothing is asserted.

Run: .venv/bin/python bench/bench_contracts.py
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl
from pandera.errors import SchemaErrors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expectations import contracts as ct  # noqa: E402
from flows.gate import row_context  # noqa: E402
from sources.formats import parse_bytes  # noqa: E402
from sources.sample import SampleMarket, write_drop  # noqa: E402


def ms_per_call(fn, budget_s: float = 0.5, max_repeat: int = 200) -> float:
    """Median wall time of fn in ms (after one warm-up, which also fills the caches)."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeat and (len(times) < 5 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2] * 1e3


def _validate(schema, frame) -> None:
    with contextlib.suppress(SchemaErrors):
        schema.validate(frame, lazy=True)


def main() -> None:
    m = SampleMarket()
    day = m.sessions(date(2024, 5, 1), date(2024, 5, 31))[15]
    ctx = row_context()
    frames: list[tuple[str, str, pl.DataFrame]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in write_drop(m, day, Path(tmp)):
            parsed = parse_bytes(p.read_bytes(), str(p))
            frames.append((p.name, parsed.table, parsed.rows))
    bar = next(f for _, t, f in frames if t == "raw.index_bars").head(1)
    extra = [("(1 row of SPX_History.csv)", "raw.index_bars", bar),
             ("(the same row, close -1: refused)", "raw.index_bars", bar.with_columns(close=pl.lit(-1.0)))]

    print(f"sample day {day}; ms per call (median). pandera = schema.validate; fast = _all_pass_fast;")
    print("check_rows = fast path, then pandera when the fast path does not answer 'all pass'")
    print(f"{'file':<48}{'table':<20}{'rows':>7}{'pandera':>10}{'fast':>8}{'check_rows':>12}  verdict")
    totals = [0.0, 0.0]
    for name, table, frame in [*extra, *frames]:
        schema = ct.schema_for(ct.contract_for(table), frame.columns, ctx)
        t_pa = ms_per_call(lambda s=schema, f=frame: _validate(s, f))
        t_fast = ms_per_call(lambda s=schema, f=frame: ct._all_pass_fast(s, f))
        t_rows = ms_per_call(lambda t=table, f=frame: ct.check_rows(t, f, ctx))
        verdict = "all pass" if ct._all_pass_fast(schema, frame) else "-> pandera"
        print(f"{name:<48}{table:<20}{frame.height:>7}{t_pa:>10.2f}{t_fast:>8.2f}{t_rows:>12.2f}  {verdict}")
        if not name.startswith("("):
            totals[0] += t_pa
            totals[1] += t_rows
    print(f"{'one day of files':<75}{totals[0]:>10.1f}{'':>8}{totals[1]:>12.1f}")


if __name__ == "__main__":
    main()
