"""core.breadth_daily: A/D line, ratio-adjusted McClellan oscillator and summation, A/D divergence.

Pure Polars + numpy: raw.breadth rows and SPX closes in, one row per exchange x date out. No I/O.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

EmaSeed = Literal["sma", "first"]


class BreadthParams(BaseModel):
    """Parameters of core.breadth_daily (defaults: StockCharts' McClellan, 20-day divergence)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fast: int = Field(19, ge=1, description="fast EMA length of the McClellan oscillator")
    slow: int = Field(39, ge=2, description="slow EMA length of the McClellan oscillator")
    # StockCharts seeds an EMA with the simple average of its first n values ("sma"); the
    # alternative seeds with the first value ("first", what pandas ewm(adjust=False) does).
    ema_seed: EmaSeed = "sma"
    rana_scale: float = Field(1000.0, gt=0, description="RANA = (A - D) / (A + D) x rana_scale")
    summation_start: float = Field(0.0, description="summation index value before the first osc")
    divergence_days: int = Field(20, ge=2, description="N of the N-day high/low in the divergence test")
    corr_window: int = Field(20, ge=3, description="rows in the A/D-change vs SPX-return correlation")
    spx_symbol: str = Field("SPX", description="symbol kept when spx_close carries a symbol column")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> BreadthParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


SCHEMA: dict[str, pl.DataType] = {
    "exchange": pl.String(),
    "date": pl.Date(),
    "advances": pl.Int64(),
    "declines": pl.Int64(),
    "unchanged": pl.Int64(),
    "net_advances": pl.Int64(),
    "ad_line": pl.Int64(),
    "ad_pct": pl.Float64(),
    "rana": pl.Float64(),
    "rana_ema_fast": pl.Float64(),
    "rana_ema_slow": pl.Float64(),
    "mcclellan_osc": pl.Float64(),
    "mcclellan_sum": pl.Float64(),
    "mcclellan_osc_classic": pl.Float64(),
    "new_highs": pl.Int64(),
    "new_lows": pl.Int64(),
    "net_new_highs": pl.Int64(),
    "spx_close": pl.Float64(),
    "spx_ret": pl.Float64(),
    "spx_at_high": pl.Boolean(),
    "spx_at_low": pl.Boolean(),
    "ad_divergence_bearish": pl.Boolean(),
    "ad_divergence_bullish": pl.Boolean(),
    "ad_spx_corr": pl.Float64(),
}

_RAW_COLUMNS = ("advances", "declines", "unchanged", "new_highs", "new_lows")


def ema(values: np.ndarray, n: int, seed: EmaSeed = "sma") -> np.ndarray:
    """Exponential moving average with alpha = 2 / (n + 1), skipping NaN inputs.

    seed="sma": the first EMA value is the simple mean of the first n valid inputs (StockCharts);
    NaN until then. seed="first": the first EMA value is the first valid input. A NaN input gives
    a NaN output and leaves the running EMA untouched (a missing day is not a zero day).
    """
    alpha = 2.0 / (n + 1.0)
    out = np.full(len(values), np.nan)
    state = np.nan
    warm: list[float] = []
    for i, x in enumerate(values):
        if np.isnan(x):
            continue
        if np.isnan(state):
            if seed == "first":
                state = x
            else:
                warm.append(x)
                if len(warm) < n:
                    continue
                state = sum(warm) / n
        else:
            state = state + alpha * (x - state)
        out[i] = state
    return out


def _running_sum(values: np.ndarray, start: float = 0.0) -> np.ndarray:
    """Cumulative sum over valid values; NaN where the input is NaN (the level carries on)."""
    ok = ~np.isnan(values)
    out = start + np.cumsum(np.where(ok, values, 0.0))
    return np.where(ok, out, np.nan)


def _spx(spx_close: pl.DataFrame, params: BreadthParams) -> pl.DataFrame:
    """SPX close and close-to-close return per date, from its own consecutive rows."""
    df = spx_close
    if "symbol" in df.columns:
        df = df.filter(pl.col("symbol") == params.spx_symbol)
    return (
        df.select(pl.col("date").cast(pl.Date), pl.col("close").cast(pl.Float64).alias("spx_close"))
        .drop_nulls()
        .unique("date", keep="last")
        .sort("date")
        .with_columns(spx_ret=pl.col("spx_close") / pl.col("spx_close").shift(1) - 1.0)
    )


def _one_exchange(df: pl.DataFrame, params: BreadthParams) -> pl.DataFrame:
    a = df["advances"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    d = df["declines"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rana = np.where(a + d > 0, (a - d) / (a + d) * params.rana_scale, np.nan)
    net = a - d
    fast = ema(rana, params.fast, params.ema_seed)
    slow = ema(rana, params.slow, params.ema_seed)
    osc = fast - slow
    classic = ema(net, params.fast, params.ema_seed) - ema(net, params.slow, params.ema_seed)
    ad_line = _running_sum(net)
    return df.with_columns(
        rana=pl.Series(rana).fill_nan(None),
        rana_ema_fast=pl.Series(fast).fill_nan(None),
        rana_ema_slow=pl.Series(slow).fill_nan(None),
        mcclellan_osc=pl.Series(osc).fill_nan(None),
        mcclellan_sum=pl.Series(_running_sum(osc, params.summation_start)).fill_nan(None),
        mcclellan_osc_classic=pl.Series(classic).fill_nan(None),
        ad_line=pl.Series(ad_line).fill_nan(None).cast(pl.Int64),
    )


def breadth_daily(
    breadth: pl.DataFrame, spx_close: pl.DataFrame, params: BreadthParams | None = None
) -> pl.DataFrame:
    """core.breadth_daily for every (exchange, date) in `breadth`, ordered by exchange, date.

    breadth: raw.breadth rows (exchange, date, advances, declines, unchanged, new_highs, new_lows;
    missing optional columns are treated as null). spx_close: (date, close), optionally with a
    symbol column (params.spx_symbol is kept). Every value on a row uses rows up to its date only.
    """
    params = params or BreadthParams()
    b = breadth.with_columns(
        [pl.lit(None, dtype=pl.Int64).alias(c) for c in _RAW_COLUMNS if c not in breadth.columns]
    ).select(
        pl.col("exchange").cast(pl.String),
        pl.col("date").cast(pl.Date),
        *[pl.col(c).cast(pl.Int64) for c in _RAW_COLUMNS],
    )
    if b.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    b = b.sort("exchange", "date")
    parts = [_one_exchange(g, params) for g in b.partition_by("exchange", maintain_order=True)]
    out = pl.concat(parts).join(_spx(spx_close, params), on="date", how="left").sort("exchange", "date")

    n = params.divergence_days
    a, d, u = pl.col("advances"), pl.col("declines"), pl.col("unchanged").fill_null(0)
    over = "exchange"
    spx_hi = pl.col("spx_close").rolling_max(n, min_samples=n)
    spx_lo = pl.col("spx_close").rolling_min(n, min_samples=n)
    ad_hi = pl.col("ad_line").rolling_max(n, min_samples=n)
    ad_lo = pl.col("ad_line").rolling_min(n, min_samples=n)
    out = out.with_columns(
        net_advances=a - d,
        ad_pct=pl.when(a + d + u > 0).then((a - d) / (a + d + u) * 100.0),
        net_new_highs=pl.col("new_highs") - pl.col("new_lows"),
        spx_at_high=(pl.col("spx_close") >= spx_hi).over(over),
        spx_at_low=(pl.col("spx_close") <= spx_lo).over(over),
        _ad_below_high=(pl.col("ad_line") < ad_hi).over(over),
        _ad_above_low=(pl.col("ad_line") > ad_lo).over(over),
        ad_spx_corr=pl.rolling_corr(
            (a - d).cast(pl.Float64), pl.col("spx_ret"), window_size=params.corr_window,
            min_samples=params.corr_window,
        ).fill_nan(None).over(over),
    ).with_columns(
        ad_divergence_bearish=pl.col("spx_at_high") & pl.col("_ad_below_high"),
        ad_divergence_bullish=pl.col("spx_at_low") & pl.col("_ad_above_low"),
    )
    return out.select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).sort("exchange", "date")
