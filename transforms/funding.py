"""core.funding_daily: perpetual funding per trading day, 8h-equivalent, APR, z-score, basis, composite.

Pure Polars + numpy: raw.funding_rates rows and an XNYS session list in, table rows out. No I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from transforms.rolling import trailing_pctile, trailing_z

NEW_YORK = "America/New_York"
COMPOSITE_VENUE = "composite"
ALL_SYMBOLS = "ALL"
HOURS_PER_YEAR = 8760.0


class FundingParams(BaseModel):
    """Parameters of core.funding_daily."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    close_time_et: time = Field(time(16, 0), description="session close in New York time that "
                                "ends a funding day (used unless sessions carry close_ts)")
    z_window: int = Field(90, ge=2, description="trailing window of the z-score/percentile, in "
                          "trading days (sessions, gaps included)")
    z_min_periods: int = Field(20, ge=2, description="fewest valid days in the window for a z-score")
    z_include_today: bool = Field(False, description="False: the window is the z_window sessions "
                                  "strictly before the row (a spike is not part of its own baseline)")
    z_std_floor_apr: float = Field(0.01, ge=0, description="floor on the window's std of "
                                   "funding_apr (decimal APR) so flat regimes do not give z = inf")
    spike_z: float = Field(2.0, description="funding_spike = funding_apr_z > spike_z")
    composite_per_symbol: bool = Field(True, description="also emit venue='composite', "
                                       "symbol=<each symbol> rows (the ALL row is always emitted)")


SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "date": pl.Date(),
    "n_events": pl.Int64(),
    "hours_covered": pl.Int64(),
    "window_h": pl.Float64(),
    "interval_h": pl.Int64(),
    "funding_paid_bps": pl.Float64(),
    "funding_8h_bps": pl.Float64(),
    "funding_apr": pl.Float64(),
    "funding_apr_z": pl.Float64(),
    "funding_apr_pctile": pl.Float64(),
    "funding_spike": pl.Boolean(),
    "basis_bps": pl.Float64(),
    "basis_source": pl.String(),
    "mark_price": pl.Float64(),
    "index_price": pl.Float64(),
    "open_interest_usd": pl.Float64(),
    "members": pl.Int64(),
    "weighting": pl.String(),
}

_OPTIONAL = ("mark_price", "index_price", "premium", "open_interest_usd")


def sessions_frame(
    sessions: Sequence[date] | pl.Series | pl.DataFrame, close_time_et: time = time(16, 0)
) -> pl.DataFrame:
    """(idx, date, close_ts) for the sessions, ascending; close_ts is naive UTC.

    `sessions` is a list of session dates, a Series of them, or a frame with `date` and optionally
    `close_ts` (UTC) to override the nominal close (e.g. 13:00 on early-close days).
    """
    if isinstance(sessions, pl.DataFrame):
        df = sessions
    else:
        df = pl.DataFrame({"date": pl.Series(list(sessions), dtype=pl.Date)})
    df = df.with_columns(pl.col("date").cast(pl.Date))
    nominal = (
        pl.col("date").dt.combine(close_time_et)
        .dt.replace_time_zone(NEW_YORK, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    )
    close = _naive_utc(df, "close_ts") if "close_ts" in df.columns else nominal
    return (
        df.select("date", close.dt.cast_time_unit("us").alias("close_ts"))
        .unique("date", keep="first").sort("date")
        .with_row_index("idx").with_columns(pl.col("idx").cast(pl.Int64))
    )


def _naive_utc(df: pl.DataFrame, col: str) -> pl.Expr:
    dtype = df.schema[col]
    e = pl.col(col)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        e = e.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return e


def assign_sessions(
    funding: pl.DataFrame, sessions: Sequence[date] | pl.Series | pl.DataFrame,
    close_time_et: time = time(16, 0),
) -> pl.DataFrame:
    """Funding events with the trading `date` they belong to.

    An event belongs to the session whose close it precedes: previous close < funding_ts <= close
    (an event exactly at the close is that session's). The first session only opens the window
    (its own window start is unknown), so events at or before its close are dropped, as are events
    after the last session's close (their session is not in the list yet).
    """
    s = sessions_frame(sessions, close_time_et)
    ev = funding.with_columns(
        [pl.lit(None, dtype=pl.Float64).alias(c) for c in _OPTIONAL if c not in funding.columns]
    ).select(
        pl.col("venue").cast(pl.String),
        pl.col("symbol").cast(pl.String),
        _naive_utc(funding, "funding_ts").dt.cast_time_unit("us").alias("funding_ts"),
        pl.col("interval_h").cast(pl.Int64),
        pl.col("rate").cast(pl.Float64),
        *[pl.col(c).cast(pl.Float64) for c in _OPTIONAL],
    )
    if ev.is_empty() or s.height < 2:
        return ev.with_columns(date=pl.lit(None, dtype=pl.Date), idx=pl.lit(None, dtype=pl.Int64)).head(0)
    ev = ev.sort("funding_ts").join_asof(
        s.rename({"close_ts": "_close"}), left_on="funding_ts", right_on="_close", strategy="forward",
    )
    return ev.filter(pl.col("idx") >= 1).drop("_close")


def _trailing_stats(x: np.ndarray, params: FundingParams) -> tuple[np.ndarray, np.ndarray]:
    """z-score and mid-rank percentile (0-100) of each value against its trailing window
    (the z_window values before it, or ending with it when z_include_today): transforms/rolling."""
    kw = {"include_today": params.z_include_today}
    z = trailing_z(x, params.z_window, params.z_min_periods, params.z_std_floor_apr, **kw)
    pct = trailing_pctile(x, params.z_window, params.z_min_periods, **kw)
    return z, np.where(np.isnan(z), np.nan, pct)


def _with_stats(df: pl.DataFrame, params: FundingParams) -> pl.DataFrame:
    parts = []
    for g in df.sort("venue", "symbol", "date").partition_by("venue", "symbol", maintain_order=True):
        z, pct = _trailing_stats(g["funding_apr"].fill_null(np.nan).to_numpy().astype(float), params)
        parts.append(g.with_columns(
            funding_apr_z=pl.Series(z).fill_nan(None),
            funding_apr_pctile=pl.Series(pct).fill_nan(None),
        ))
    out = pl.concat(parts)
    return out.with_columns(funding_spike=pl.col("funding_apr_z") > params.spike_z)


def _regrid(df: pl.DataFrame, s: pl.DataFrame) -> pl.DataFrame:
    """Every session between a series' first and last day (gap days get n_events = 0, nulls)."""
    span = df.group_by("venue", "symbol").agg(lo=pl.col("idx").min(), hi=pl.col("idx").max())
    grid = (
        span.select("venue", "symbol", idx=pl.int_ranges("lo", pl.col("hi") + 1, dtype=pl.Int64))
        .explode("idx")
        .join(s.select("idx", "date"), on="idx", how="left")
    )
    return grid.join(df.drop("date"), on=["venue", "symbol", "idx"], how="left").with_columns(
        pl.col("n_events").fill_null(0)
    )


def _per_venue(ev: pl.DataFrame, s: pl.DataFrame) -> pl.DataFrame:
    basis = pl.coalesce(pl.col("mark_price") / pl.col("index_price") - 1.0, pl.col("premium"))
    source = (
        pl.when((pl.col("mark_price") / pl.col("index_price")).is_not_null()).then(pl.lit("mark_index"))
        .when(pl.col("premium").is_not_null()).then(pl.lit("premium"))
    )
    ev = ev.with_columns(_basis=basis, _basis_source=source)
    # Per-hour rate over the day, time-weighted: sum(rate) / sum(interval_h). With one interval
    # length this is the plain mean of rate / interval_h; with a mid-day switch (8 h -> 4 h) each
    # event weighs by the hours it covers.
    per_hour = pl.col("rate").sum() / pl.col("interval_h").sum()
    g = (
        ev.sort("funding_ts")
        .group_by("venue", "symbol", "idx", "date")
        .agg(
            n_events=pl.len().cast(pl.Int64),
            hours_covered=pl.col("interval_h").sum().cast(pl.Int64),
            interval_h=pl.col("interval_h").last(),
            funding_paid_bps=pl.col("rate").sum() * 1e4,
            funding_8h_bps=per_hour * 8.0 * 1e4,
            funding_apr=per_hour * HOURS_PER_YEAR,
            basis_bps=pl.col("_basis").drop_nulls().last() * 1e4,
            basis_source=pl.col("_basis_source").drop_nulls().last(),
            mark_price=pl.col("mark_price").drop_nulls().last(),
            index_price=pl.col("index_price").drop_nulls().last(),
            open_interest_usd=pl.col("open_interest_usd").drop_nulls().last(),
        )
    )
    return _regrid(g, s).with_columns(
        members=pl.lit(None, dtype=pl.Int64), weighting=pl.lit(None, dtype=pl.String)
    )


def _composite(venue_rows: pl.DataFrame, keys: list[str], symbol: pl.Expr) -> pl.DataFrame:
    """OI-weighted mean across members when every member has OI that day, else equal weight."""
    m = venue_rows.filter(pl.col("n_events") > 0, pl.col("funding_apr").is_not_null())
    oi = pl.col("open_interest_usd")
    m = m.with_columns(_oi_ok=(oi.is_not_null() & (oi > 0)).all().over(keys)).with_columns(
        _w=pl.when(pl.col("_oi_ok")).then(oi).otherwise(1.0)
    )

    def wmean(c: str) -> pl.Expr:
        ok = pl.col(c).is_not_null()
        return (pl.col(c) * pl.col("_w")).filter(ok).sum() / pl.col("_w").filter(ok).sum()

    # Members in a fixed order: a float sum depends on it (joins above do not keep row order).
    return (
        m.sort([*keys, "venue", "symbol"])
        .group_by(keys)
        .agg(
            n_events=pl.col("n_events").sum(),
            funding_paid_bps=wmean("funding_paid_bps"),
            funding_8h_bps=wmean("funding_8h_bps"),
            funding_apr=wmean("funding_apr"),
            basis_bps=pl.when(pl.col("basis_bps").is_not_null().any()).then(wmean("basis_bps")),
            open_interest_usd=pl.when(pl.col("_oi_ok").first()).then(oi.sum()),
            members=pl.len().cast(pl.Int64),
            weighting=pl.when(pl.col("_oi_ok").first()).then(pl.lit("oi")).otherwise(pl.lit("equal")),
            basis_source=pl.when(pl.col("basis_bps").is_not_null().any()).then(pl.lit("composite")),
        )
        .with_columns(venue=pl.lit(COMPOSITE_VENUE), symbol=symbol)
    )


def funding_daily(
    funding: pl.DataFrame, sessions: Sequence[date] | pl.Series | pl.DataFrame,
    params: FundingParams | None = None,
) -> pl.DataFrame:
    """core.funding_daily: one row per (venue, symbol, date), plus composite rows.

    funding: raw.funding_rates rows (venue, symbol, funding_ts UTC, interval_h, rate; optional
    mark_price, index_price, premium, open_interest_usd). sessions: the XNYS sessions covering the
    funding data (the first one only opens the window). Composite rows: venue 'composite' with
    symbol 'ALL' (every venue x symbol) and, by default, one per symbol across venues.
    Ordered by venue, symbol, date.
    """
    params = params or FundingParams()
    s = sessions_frame(sessions, params.close_time_et)
    ev = assign_sessions(funding, s, params.close_time_et)
    if ev.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    venue = _per_venue(ev, s)
    window = s.select("idx", window_h=(pl.col("close_ts") - pl.col("close_ts").shift(1))
                      .dt.total_seconds() / 3600.0)
    venue = venue.join(window, on="idx", how="left")

    comps = [_composite(venue, ["idx"], pl.lit(ALL_SYMBOLS))]
    if params.composite_per_symbol:
        comps.append(_composite(venue, ["idx", "symbol"], pl.col("symbol")))
    comp = pl.concat(comps, how="diagonal_relaxed").join(s.select("idx", "date"), on="idx")
    comp = _regrid(comp, s).join(window, on="idx", how="left")

    out = pl.concat([venue, comp], how="diagonal_relaxed")
    out = _with_stats(out, params)
    return out.select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).sort("venue", "symbol", "date")
