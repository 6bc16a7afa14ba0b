"""Real-chain figures of core.parity_daily: per file, arbitrage pairs and the best residual after
costs, and the implied carry / rate by tenor band. Prints; asserts nothing (docs/options.md).

Usage: .venv/bin/python bench/realdata_parity.py [chain.csv ...]  (default: ../shared/realdata SPX chains)
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sources.formats import parse_file  # noqa: E402
from transforms.parity import parity_daily  # noqa: E402

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "cboe_chains"
BANDS = ((7, 21), (28, 60), (90, 400), (401, 730))


def summary(path: Path) -> list[str]:
    t = parity_daily(parse_file(path).rows)
    near = t.filter(pl.col("dte_days") <= 730)
    arbs = int(near["parity_arb_conversions"].sum() + near["parity_arb_reversals"].sum())
    best = near.select(pl.max_horizontal("parity_residual_conversion_max_pts",
                                         "parity_residual_reversal_max_pts").max()).item()
    far = t.filter(pl.col("dte_days") > 730)
    far_arbs = int(far["parity_arb_conversions"].sum() + far["parity_arb_reversals"].sum())
    cells = []
    for lo, hi in BANDS:
        b = near.filter(pl.col("dte_days").is_between(lo, hi))
        carry, rate = b["carry_implied"].median(), b["rate_implied"].median()
        cells.append("–" if carry is None else f"{carry * 100:+.2f} % / "
                     + ("–" if rate is None else f"{rate * 100:.2f} %") + f" (n={b.height})")
    return [f"{path.name} ({t['quote_date'][0]})", str(t.height), str(arbs), f"{best:+.2f}",
            *cells, f"{far_arbs} in {far.height}"]


def main(paths: list[Path]) -> None:
    head = ["file (quote date)", "expiries", "arb pairs <= 2 y", "best residual <= 2 y, pts",
            *(f"{lo}-{hi} d carry / rate (median)" for lo, hi in BANDS), "arb pairs > 2 y"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p in paths:
        print("| " + " | ".join(summary(p)) + " |")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]] or sorted(REALDATA.glob("spx_*.csv")))
