"""core.vol_daily: VIX term structure, VX1/VX2 roll, SPX realized vol, RSI(14), funding vol premium.

Pure Polars + numpy: raw.index_bars, raw.vx_futures and core.funding_daily in, one row per date out.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from transforms.funding import ALL_SYMBOLS, COMPOSITE_VENUE


class VolParams(BaseModel):
    """Parameters of core.vol_daily."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spx_symbol: str = "SPX"
    vix_symbol: str = "VIX"
    vix9d_symbol: str = "VIX9D"
    vix3m_symbol: str = "VIX3M"
    rv_short: int = Field(10, ge=2, description="short realized-vol window, in returns")
    rv_long: int = Field(20, ge=2, description="long realized-vol window (IV-RV spread, premium)")
    periods_per_year: int = Field(252, ge=1, description="annualisation: sqrt(periods_per_year)")
    rsi_period: int = Field(14, ge=2, description="Wilder RSI length")
    cm_days: int = Field(30, ge=1, description="constant maturity of the interpolated VX, calendar days")
    include_weeklies: bool = Field(False, description="let weekly VX contracts be VX1/VX2")
    funding_venue: str = COMPOSITE_VENUE
    funding_symbol: str = Field(ALL_SYMBOLS, description="funding_daily symbol of the premium")


SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "vix": pl.Float64(),
    "vix9d": pl.Float64(),
    "vix3m": pl.Float64(),
    "vix9d_vix_ratio": pl.Float64(),
    "vix_vix3m_ratio": pl.Float64(),
    "vix9d_vix_inverted": pl.Boolean(),
    "vix_vix3m_inverted": pl.Boolean(),
    "vx1": pl.Float64(),
    "vx1_expiry": pl.Date(),
    "vx1_dte_days": pl.Int64(),
    "vx2": pl.Float64(),
    "vx2_expiry": pl.Date(),
    "vx2_dte_days": pl.Int64(),
    "vx_cm30": pl.Float64(),
    "vx1_roll_yield": pl.Float64(),
    "vx2_vx1_roll_yield": pl.Float64(),
    "spx_close": pl.Float64(),
    "spx_rv10_vol_pts": pl.Float64(),
    "spx_rv20_vol_pts": pl.Float64(),
    "iv_rv_spread_vol_pts": pl.Float64(),
    "spx_rsi14": pl.Float64(),
    "funding_apr": pl.Float64(),
    "funding_vol_premium": pl.Float64(),
}


def wilder_rsi(closes: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's RSI: the first average gain/loss is the simple mean of the first n changes, then
    avg = (avg x (n - 1) + change) / n. NaN for the first n closes. 100 when there are no losses
    (50 when the window is flat)."""
    out = np.full(len(closes), np.nan)
    if len(closes) <= n:
        return out
    ch = np.diff(closes)
    gain, loss = np.clip(ch, 0, None), np.clip(-ch, 0, None)
    ag, al = gain[:n].mean(), loss[:n].mean()
    for i in range(n, len(closes)):
        if i > n:
            ag = (ag * (n - 1) + gain[i - 1]) / n
            al = (al * (n - 1) + loss[i - 1]) / n
        out[i] = 50.0 if ag == 0 and al == 0 else 100.0 if al == 0 else 100.0 - 100.0 / (1.0 + ag / al)
    return out


def _closes(index_bars: pl.DataFrame, symbol: str, name: str) -> pl.DataFrame:
    return (
        index_bars.filter(pl.col("symbol") == symbol)
        .select(pl.col("date").cast(pl.Date), pl.col("close").cast(pl.Float64).alias(name))
        .drop_nulls()
        .unique("date", keep="last")
        .sort("date")
    )


def _spx(index_bars: pl.DataFrame, params: VolParams) -> pl.DataFrame:
    spx = _closes(index_bars, params.spx_symbol, "spx_close")
    ann = math.sqrt(params.periods_per_year) * 100.0
    r = (pl.col("spx_close") / pl.col("spx_close").shift(1)).log()
    rsi = wilder_rsi(spx["spx_close"].to_numpy().astype(float), params.rsi_period)
    return spx.with_columns(_r=r).with_columns(
        spx_rv10_vol_pts=pl.col("_r").rolling_std(params.rv_short, min_samples=params.rv_short) * ann,
        spx_rv20_vol_pts=pl.col("_r").rolling_std(params.rv_long, min_samples=params.rv_long) * ann,
        spx_rsi14=pl.Series(rsi).fill_nan(None),
    ).drop("_r")


def _vx_curve(vx_futures: pl.DataFrame, params: VolParams) -> pl.DataFrame:
    """Eligible contracts per trade date: settle > 0, expiry strictly after the date."""
    vx = vx_futures.select(
        pl.col("trade_date").cast(pl.Date).alias("date"),
        pl.col("expiry").cast(pl.Date),
        pl.col("settle").cast(pl.Float64),
        pl.col("weekly").cast(pl.Boolean) if "weekly" in vx_futures.columns else pl.lit(False).alias("weekly"),
    )
    if not params.include_weeklies:
        vx = vx.filter(~pl.col("weekly").fill_null(False))
    return (
        vx.filter(pl.col("settle") > 0, pl.col("expiry") > pl.col("date"))
        .unique(["date", "expiry"], keep="last")
        .with_columns(dte=(pl.col("expiry") - pl.col("date")).dt.total_days().cast(pl.Int64))
        .sort("date", "expiry")
    )


def _vx_front(curve: pl.DataFrame) -> pl.DataFrame:
    ranked = curve.with_columns(k=pl.int_range(pl.len()).over("date"))
    one = ranked.filter(pl.col("k") == 0).select(
        "date", vx1="settle", vx1_expiry="expiry", vx1_dte_days="dte")
    two = ranked.filter(pl.col("k") == 1).select(
        "date", vx2="settle", vx2_expiry="expiry", vx2_dte_days="dte")
    return one.join(two, on="date", how="left")


def _vx_cm(curve: pl.DataFrame, vix: pl.DataFrame, cm: int) -> pl.DataFrame:
    """Constant-maturity VX: linear in calendar days to expiry between the two curve points that
    bracket `cm` days. VIX spot is the day-0 point (a VX future settles to VIX at expiry), so the
    value exists right after a roll, when even VX1 is more than `cm` days out."""
    pts = pl.concat([
        vix.select("date", dte=pl.lit(0, dtype=pl.Int64), px=pl.col("vix")),
        curve.select("date", "dte", px="settle"),
    ]).sort("date", "dte")
    lo = pts.filter(pl.col("dte") <= cm).group_by("date").agg(pl.all().last()).rename(
        {"dte": "lo_d", "px": "lo_p"})
    hi = pts.filter(pl.col("dte") >= cm).group_by("date").agg(pl.all().first()).rename(
        {"dte": "hi_d", "px": "hi_p"})
    w = (pl.col("hi_d") - cm) / (pl.col("hi_d") - pl.col("lo_d"))
    return lo.join(hi, on="date").select(
        "date",
        vx_cm30=pl.when(pl.col("hi_d") == pl.col("lo_d")).then(pl.col("lo_p"))
        .otherwise(w * pl.col("lo_p") + (1 - w) * pl.col("hi_p")),
    )


def vol_daily(
    index_bars: pl.DataFrame, vx_futures: pl.DataFrame, funding_daily: pl.DataFrame | None,
    params: VolParams | None = None,
) -> pl.DataFrame:
    """core.vol_daily: one row per date with an SPX or VIX close, ordered by date.

    index_bars: raw.index_bars (symbol, date, close). vx_futures: raw.vx_futures (trade_date,
    expiry, settle, weekly). funding_daily: core.funding_daily (the composite row of
    params.funding_symbol supplies funding_apr); None or empty leaves the funding columns null.
    """
    params = params or VolParams()
    spx = _spx(index_bars, params)
    vix = _closes(index_bars, params.vix_symbol, "vix")
    dates = pl.concat([spx.select("date"), vix.select("date")]).unique().sort("date")
    if dates.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    curve = _vx_curve(vx_futures, params)
    out = (
        dates.join(vix, on="date", how="left")
        .join(_closes(index_bars, params.vix9d_symbol, "vix9d"), on="date", how="left")
        .join(_closes(index_bars, params.vix3m_symbol, "vix3m"), on="date", how="left")
        .join(_vx_front(curve), on="date", how="left")
        .join(_vx_cm(curve, vix, params.cm_days), on="date", how="left")
        .join(spx, on="date", how="left")
    )
    if funding_daily is not None and not funding_daily.is_empty():
        f = funding_daily.filter(
            pl.col("venue") == params.funding_venue, pl.col("symbol") == params.funding_symbol
        ).select(pl.col("date").cast(pl.Date), pl.col("funding_apr").cast(pl.Float64))
        out = out.join(f, on="date", how="left")
    else:
        out = out.with_columns(funding_apr=pl.lit(None, dtype=pl.Float64))
    rv_long = pl.col("spx_rv20_vol_pts")
    out = out.with_columns(
        vix9d_vix_ratio=pl.col("vix9d") / pl.col("vix"),
        vix_vix3m_ratio=pl.col("vix") / pl.col("vix3m"),
        vx1_roll_yield=(pl.col("vx1") - pl.col("vix")) / pl.col("vix"),
        vx2_vx1_roll_yield=pl.col("vx2") / pl.col("vx1") - 1.0,
        iv_rv_spread_vol_pts=pl.col("vix") - rv_long,
        # carry paid per unit of risk: funding APR (decimal) / SPX RV (decimal), see market-tables.md
        funding_vol_premium=pl.when(rv_long > 0).then(pl.col("funding_apr") / (rv_long / 100.0)),
    ).with_columns(
        vix9d_vix_inverted=pl.col("vix9d_vix_ratio") > 1.0,
        vix_vix3m_inverted=pl.col("vix_vix3m_ratio") > 1.0,
    )
    return out.select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).sort("date")
