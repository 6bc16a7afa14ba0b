"""core.pcf_daily: the index-level price-to-cash-flow ratio of the major constituents and its change
over 20 / 60 sessions, from raw.constituent_fundamentals rows.

Pure polars: frames in, frames out. No I/O. Formulas: docs/fundamentals.md.
"""

from __future__ import annotations

import polars as pl

SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(), "constituents": pl.Int64(), "weight_covered_pct": pl.Float64(),
    "pcf_index": pl.Float64(), "pcf_median": pl.Float64(), "cf_yield_pct": pl.Float64(),
    "pcf_chg_20d_pct": pl.Float64(), "pcf_chg_60d_pct": pl.Float64(),
}
CHANGE_SESSIONS = (20, 60)


def pcf_daily(fundamentals: pl.DataFrame) -> pl.DataFrame:
    """One row per date of the input (its whole history up to the last date built).

    With cap weights w_i (shares_i x price_i / index cap), the index's market cap over its cash flow
    is sum(w) / sum(w x OCF_i / price_i): the weighted harmonic mean of the constituents' P/CF (a
    negative cash flow lowers the aggregate instead of blowing a ratio up). Null when that weighted
    cash-flow yield is <= 0. Changes: pcf_index / its value N rows (stored dates) earlier - 1, %."""
    if fundamentals.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    f = fundamentals.filter(pl.col("price") > 0).with_columns(
        _y=pl.col("ocf_per_share_ttm") / pl.col("price"))
    d = f.group_by("date").agg(
        constituents=pl.len().cast(pl.Int64),
        weight_covered_pct=pl.col("index_weight").sum() * 100.0,
        _wy=(pl.col("index_weight") * pl.col("_y")).sum(), _w=pl.col("index_weight").sum(),
        pcf_median=(pl.col("price") / pl.col("ocf_per_share_ttm")).filter(pl.col("ocf_per_share_ttm") > 0).median(),
    ).sort("date")
    d = d.with_columns(pcf_index=pl.when((pl.col("_wy") > 0) & (pl.col("_w") > 0)).then(pl.col("_w") / pl.col("_wy")))
    d = d.with_columns(cf_yield_pct=100.0 / pl.col("pcf_index"),
                       **{f"pcf_chg_{n}d_pct": 100.0 * (pl.col("pcf_index") / pl.col("pcf_index").shift(n) - 1.0)
                          for n in CHANGE_SESSIONS})
    return d.select([pl.col(c).cast(t) for c, t in SCHEMA.items()])
