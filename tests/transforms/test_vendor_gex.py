"""transforms/vendor_gex.py: the vendor's daily GEX fills the sessions without a chain; a chain row
always wins; the MACD runs over the union."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.vendor_gex import gamma_with_vendor


def _chain(rows: list[tuple[date, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"date": pl.Date, "underlying": pl.String, "net_gex_usd_per_pct": pl.Float64},
                        orient="row").with_columns(preset=pl.lit("default"), spot=pl.lit(4500.0),
                                                   zero_gamma=pl.lit(4400.0))


def _dix(rows: list[tuple[date, float, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"date": pl.Date, "price": pl.Float64, "gex_usd": pl.Float64}, orient="row")


def test_vendor_rows_fill_sessions_without_a_chain_and_the_chain_wins():
    chain = _chain([(date(2022, 2, 4), "SPX", 1.2e9), (date(2022, 2, 4), "VIX", 5e6)])
    dix = _dix([(date(2022, 2, 2), 4589.4, 3.1e9), (date(2022, 2, 3), 4477.4, None),
                (date(2022, 2, 4), 4500.5, 2.9e9)])
    out = gamma_with_vendor(chain, dix, preset="default")
    spx = out.filter(pl.col("underlying") == "SPX").select("date", "spot", "net_gex_usd_per_pct", "zero_gamma",
                                                           "gex_source")
    assert spx.rows() == [(date(2022, 2, 2), 4589.4, 3.1e9, None, "history file"),  # 02-03: no GEX, no row
                          (date(2022, 2, 4), 4500.0, 1.2e9, 4400.0, "chain")]
    assert out.filter(pl.col("underlying") == "VIX")["gex_source"].to_list() == ["chain"]  # S&P 500 GEX: SPX only
    assert set(out["preset"]) == {"default"}


def test_the_macd_runs_over_the_vendor_history():
    days = pl.date_range(date(2021, 11, 1), date(2022, 1, 31), "1d", eager=True).to_list()[:40]
    dix = _dix([(d, 4500.0, 1e9 + 1e8 * i) for i, d in enumerate(days[:-1])])
    out = gamma_with_vendor(_chain([(days[-1], "SPX", 2e9)]), dix)
    night = out.filter(pl.col("date") == days[-1]).row(0, named=True)
    assert night["gex_source"] == "chain" and night["gex_macd_hist_usd"] is not None  # 40 sessions >= 26 + 9 - 1
    alone = gamma_with_vendor(_chain([(days[-1], "SPX", 2e9)]), None)
    assert alone["gex_macd_hist_usd"].to_list() == [None]  # one chain night: no MACD without the history
