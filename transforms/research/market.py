"""The daily market frame the research books run on, from raw index bars and an optional T-bill
series; and CNDR tracking statistics. Pure polars; no I/O.

Missing inputs are stated, never invented: a T-bill series (FRED DTB4WK, TB4WK, DTB3 or TB3MS in
raw.macro_series) is used when present, else the built-in annual table below (flagged `approx`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from transforms import account

SURFACE_SYMBOLS = {"VIX9D": "vix9d", "VIX": "vix", "VIX3M": "vix3m", "VIX6M": "vix6m", "SKEW": "skew"}
TBILL_SERIES = ("DTB4WK", "TB4WK", "DTB3", "TB3MS")  # preferred first: one month, then three
# Approximate annual averages of the 3-month T-bill rate (Federal Reserve H.15, TB3MS), percent,
# rounded; used only when the history folder holds no T-bill series. One-month bills ran a few
# basis points below these. Years outside the table use the nearest year's value.
TBILL_ANNUAL_PCT: dict[int, float] = {
    1986: 5.97, 1987: 5.78, 1988: 6.67, 1989: 8.11, 1990: 7.50, 1991: 5.38, 1992: 3.43,
    1993: 3.00, 1994: 4.25, 1995: 5.49, 1996: 5.01, 1997: 5.06, 1998: 4.78, 1999: 4.64,
    2000: 5.82, 2001: 3.40, 2002: 1.61, 2003: 1.01, 2004: 1.37, 2005: 3.15, 2006: 4.73,
    2007: 4.36, 2008: 1.37, 2009: 0.15, 2010: 0.14, 2011: 0.05, 2012: 0.09, 2013: 0.06,
    2014: 0.03, 2015: 0.05, 2016: 0.32, 2017: 0.93, 2018: 1.94, 2019: 2.06, 2020: 0.37,
    2021: 0.05, 2022: 2.02, 2023: 5.07, 2024: 4.97,
}
DIV_YIELD = 0.02  # S&P 500 dividend yield for the forward, constant (1.1 %-3.7 % over 1990-2015)
STALE_DAYS = 5  # a VIX-family or SKEW close is carried over at most this many sessions


def _annual_rate(year: int) -> float:
    ys = sorted(TBILL_ANNUAL_PCT)
    y = min(max(year, ys[0]), ys[-1])
    return TBILL_ANNUAL_PCT[y] / 100.0


def market_frame(index_bars: pl.DataFrame, start: date, end: date,
                 tbill: pl.DataFrame | None = None, div_yield: float = DIV_YIELD) -> tuple[pl.DataFrame, str]:
    """raw.index_bars (symbol, date, close[, open]) -> one row per SPX session in [start, end]:
    date, spx, vix9d, vix, vix3m, vix6m, skew, rate, div_yield, and with an `open` column also
    spx_open, vix9d_open, vix_open, vix3m_open, vix6m_open (null where the file has no open or
    prints O = H = L = C, a close-only row); and the rate source in words.
    Sessions are the SPX closes; a session without any VIX point is dropped (no surface)."""
    has_open = "open" in index_bars.columns
    bars = index_bars.select("symbol", "date", "close",
                             open=pl.col("open") if has_open else pl.lit(None, pl.Float64))
    # a close-only row (open == close) has no opening print: the open is unknown, not the close
    bars = bars.with_columns(open=pl.when(pl.col("open") != pl.col("close")).then(pl.col("open")))
    spx = (bars.filter(pl.col("symbol") == "SPX").select("date", spx="close", spx_open="open")
           .unique("date").sort("date"))
    m = spx.filter(pl.col("date").is_between(start, end))
    for sym, col in SURFACE_SYMBOLS.items():
        s = bars.filter(pl.col("symbol") == sym).select("date", pl.col("close").alias(col),
                                                        pl.col("open").alias(f"{col}_open")).unique("date")
        m = m.join(s if col != "skew" else s.drop("skew_open"), on="date", how="left")
    m = m.sort("date").with_columns(pl.col(list(SURFACE_SYMBOLS.values())).forward_fill(limit=STALE_DAYS))
    if tbill is not None and not tbill.is_empty():
        series = tbill["series_id"][0]
        t = tbill.filter(pl.col("series_id") == series).select("date", rate=pl.col("value") / 100.0)
        m = m.join_asof(t.drop_nulls().sort("date"), on="date", strategy="backward")
        m = m.with_columns(pl.col("rate").fill_null(strategy="backward"))
        source = f"FRED {series} (as of each session)"
    else:
        m = m.with_columns(rate=pl.col("date").dt.year().map_elements(_annual_rate, return_dtype=pl.Float64))
        source = "approx: built-in annual averages of the 3-month T-bill (no T-bill series in the folder)"
    m = m.with_columns(div_yield=pl.lit(div_yield))
    return m.filter(pl.any_horizontal(pl.col(["vix9d", "vix", "vix3m", "vix6m"]).is_not_null())), source


def pick_tbill(macro_series: pl.DataFrame) -> pl.DataFrame | None:
    """The preferred T-bill series present in raw.macro_series, or None."""
    have = set(macro_series["series_id"].unique().to_list()) if macro_series.height else set()
    for s in TBILL_SERIES:
        if s in have:
            return macro_series.filter(pl.col("series_id") == s)
    return None


def tracking(replica: pl.DataFrame, index_levels: pl.DataFrame) -> tuple[dict, pl.DataFrame]:
    """Replica equity curve (date, daily_return) vs an index level series (date, close):
    correlation of monthly returns, mean absolute difference of calendar-year returns (points),
    years within 2 points, and the per-year table (year, replica, index, diff_pts). Only months and
    years the replica covers fully are compared (its first partial period is left out)."""
    first = replica["date"].min()
    mine = account.period_returns(replica, "1mo").filter(pl.col("period") > first.replace(day=1))
    ref = account.index_period_returns(index_levels, "1mo")
    mj = mine.select("period", replica="ret").join(ref.select("period", index="ret"), on="period").drop_nulls()
    my = account.period_returns(replica, "1y").filter(pl.col("period") > first.replace(month=1, day=1))
    ry = account.index_period_returns(index_levels, "1y")
    yj = (my.select("period", replica="ret").join(ry.select("period", index="ret"), on="period")
          .drop_nulls().with_columns(year=pl.col("period").dt.year(),
                                     diff_pts=(pl.col("replica") - pl.col("index")) * 100.0)
          .select("year", "replica", "index", "diff_pts").sort("year"))
    corr = float(np.corrcoef(mj["replica"], mj["index"])[0, 1]) if mj.height > 2 else None
    summary = {
        "months": mj.height, "monthly_corr": corr, "years": yj.height,
        "annual_mad_pts": float(yj["diff_pts"].abs().mean()) if yj.height else None,
        "years_within_2pts": int((yj["diff_pts"].abs() <= 2.0).sum()) if yj.height else 0,
    }
    return summary, yj


def spx_with_dix_closes(index_bars: pl.DataFrame, dix: pl.DataFrame | None) -> pl.DataFrame:
    """raw.index_bars plus SPX close-only rows from SqueezeMetrics' `price` (the S&P 500 close) on
    dates no SPX file covers (the DIX file runs to 2026 where the SPX downloads stop earlier)."""
    if dix is None or dix.is_empty():
        return index_bars
    have = index_bars.filter(pl.col("symbol") == "SPX").select("date")
    extra = (dix.select("date", close=pl.col("price").cast(pl.Float64)).join(have, on="date", how="anti")
             .with_columns(symbol=pl.lit("SPX"), open=pl.lit(None, pl.Float64)))
    return pl.concat([index_bars, extra.select(index_bars.columns)], how="vertical_relaxed") \
        if extra.height else index_bars

