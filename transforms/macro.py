"""core.macro_daily (days to CPI/PPI/FOMC, event windows) and core.macro_event_study (funding vs REER).

Pure Polars + numpy: raw.macro_events, raw.macro_series, core.funding_daily and sessions in. No I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from transforms.funding import ALL_SYMBOLS, COMPOSITE_VENUE, sessions_frame


class MacroParams(BaseModel):
    """Parameters of core.macro_daily."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: tuple[str, ...] = Field(("CPI", "PPI", "FOMC"), description="raw.macro_events.event "
                                    "values that get columns (lower-cased in column names)")
    window_before: int = Field(2, ge=0, description="flag when the next event is within this many "
                               "trading days (0 = on the event day)")
    window_after: int = Field(1, ge=0, description="... or the last one was at most this many "
                              "trading days ago")

    @field_validator("events")
    @classmethod
    def _column_safe(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in v if not e.isidentifier()]
        if bad:
            raise ValueError(f"event names become column names; not identifiers: {bad}")
        return v


class EventStudyParams(BaseModel):
    """Parameters of core.macro_event_study."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: tuple[str, ...] = ("CPI", "PPI")
    k: int = Field(5, ge=1, description="window -k..+k trading days around the release session")
    reer_series_id: str = Field("RBUSBIS", description="REER series: RBUSBIS (BIS broad REER, "
                                "monthly) or DTWEXBGS (Fed broad dollar index, daily)")
    # When a value dated t can first be used: t + lag calendar days. RBUSBIS is a monthly average
    # dated the 1st and published mid next month; DTWEXBGS is released weekly (H.10, Mondays).
    publication_lag_days: dict[str, int] = Field(
        default_factory=lambda: {"RBUSBIS": 45, "DTWEXBGS": 7})
    default_publication_lag_days: int = Field(1, ge=0)
    funding_venue: str = COMPOSITE_VENUE
    funding_symbol: str = ALL_SYMBOLS


def _events(events: pl.DataFrame, names: Sequence[str]) -> dict[str, list[date]]:
    ev = events.select(pl.col("date").cast(pl.Date), pl.col("event").cast(pl.String).str.to_uppercase())
    return {
        n: sorted(set(ev.filter(pl.col("event") == n.upper())["date"].to_list())) for n in names
    }


def macro_daily(
    events: pl.DataFrame, sessions: Sequence[date] | pl.Series | pl.DataFrame,
    params: MacroParams | None = None,
) -> pl.DataFrame:
    """core.macro_daily: one row per session in `sessions`, ordered by date.

    For each event kind k: days_to_<k>_td / _cd (trading / calendar days to the next release on or
    after the date; 0 on the release day; null when no later release is scheduled in `events`, and
    _td null when it lies beyond the last session given - pass the calendar ahead of the dates),
    days_since_<k>_td (to the last release strictly before the date), <k>_window; event_window = any.
    A release on a non-session day is first traded the next session: days_to_<k>_td counts to that
    session, and on it days_since_<k>_td is 0.
    """
    params = params or MacroParams()
    s = sessions_frame(sessions).select("date")
    days: list[date] = s["date"].to_list()
    by_kind = _events(events, params.events)
    cols: dict[str, pl.Series] = {"date": s["date"]}
    flags = []
    for kind, ev_dates in by_kind.items():
        k = kind.lower()
        ev_idx = [bisect.bisect_left(days, e) for e in ev_dates]  # session index of each release
        to_td, to_cd, since_td = [], [], []
        for i, d in enumerate(days):
            j = bisect.bisect_left(ev_dates, d)  # first release on or after d
            if j < len(ev_dates):
                # a release beyond the last session given has no trading-day count (yet)
                to_td.append(ev_idx[j] - i if ev_idx[j] < len(days) else None)
                to_cd.append((ev_dates[j] - d).days)
            else:
                to_td.append(None)
                to_cd.append(None)
            # a release before the first session given has no trading-day count
            since_td.append(i - ev_idx[j - 1] if j > 0 and ev_dates[j - 1] >= days[0] else None)
        cols[f"days_to_{k}_td"] = pl.Series(to_td, dtype=pl.Int64)
        cols[f"days_to_{k}_cd"] = pl.Series(to_cd, dtype=pl.Int64)
        cols[f"days_since_{k}_td"] = pl.Series(since_td, dtype=pl.Int64)
        flag = (
            (pl.col(f"days_to_{k}_td") <= params.window_before).fill_null(False)
            | (pl.col(f"days_since_{k}_td") <= params.window_after).fill_null(False)
        )
        flags.append(flag.alias(f"{k}_window"))
    out = pl.DataFrame(cols)
    if flags:
        out = out.with_columns(flags)
        out = out.with_columns(event_window=pl.any_horizontal([f.meta.output_name() for f in flags]))
    else:
        out = out.with_columns(event_window=pl.lit(False))
    return out.sort("date")


EVENT_STUDY_SCHEMA: dict[str, pl.DataType] = {
    "event": pl.String(),
    "event_date": pl.Date(),
    "rel_day": pl.Int64(),
    "date": pl.Date(),
    "reer_series_id": pl.String(),
    "reer": pl.Float64(),
    "reer_asof": pl.Date(),
    "reer_chg_pct": pl.Float64(),
    "reer_day_chg_pct": pl.Float64(),
    "basis_bps": pl.Float64(),
    "basis_chg_bps": pl.Float64(),
    "funding_apr": pl.Float64(),
    "funding_apr_chg": pl.Float64(),
    "funding_measure": pl.String(),
    "funding_chg": pl.Float64(),
}


def _reer_asof(series: pl.DataFrame, axis: pl.DataFrame, sid: str, lag: int) -> pl.DataFrame:
    """The REER value usable on each axis date: the latest observation with date + lag <= date."""
    obs = (
        series.filter(pl.col("series_id") == sid)
        .select(pl.col("date").cast(pl.Date).alias("reer_asof"), pl.col("value").cast(pl.Float64))
        .drop_nulls()
        .unique("reer_asof", keep="last")
        .with_columns(_avail=pl.col("reer_asof") + timedelta(days=lag))
        .sort("_avail")
    )
    return axis.sort("date").join_asof(obs, left_on="date", right_on="_avail", strategy="backward") \
        .select("date", "reer_asof", reer="value")


def macro_event_study(
    events: pl.DataFrame, series: pl.DataFrame, funding_daily: pl.DataFrame,
    params: EventStudyParams | None = None,
    sessions: Sequence[date] | pl.Series | pl.DataFrame | None = None,
) -> pl.DataFrame:
    """core.macro_event_study: one row per (event, event_date, rel_day), rel_day in -k..+k.

    Trading-day axis: `sessions` when given (needed for point in time: a release whose session lies
    beyond the funding data is placed on the calendar), else the dates of the funding composite.
    Rows exist up to the last funding date. Changes are cumulative from the anchor, the session
    before the window opens (rel_day -k-1), so every row uses data up to its own date only.
    """
    params = params or EventStudyParams()
    f = funding_daily.filter(
        pl.col("venue") == params.funding_venue, pl.col("symbol") == params.funding_symbol
    ).select(pl.col("date").cast(pl.Date), pl.col("basis_bps").cast(pl.Float64),
             pl.col("funding_apr").cast(pl.Float64))
    if f.is_empty():
        return pl.DataFrame(schema=EVENT_STUDY_SCHEMA)
    last = f["date"].max()
    axis = (sessions_frame(sessions).select("date") if sessions is not None
            else f.select("date").unique().sort("date"))
    days: list[date] = axis["date"].to_list()
    lag = params.publication_lag_days.get(params.reer_series_id, params.default_publication_lag_days)
    panel = (
        axis.join(f, on="date", how="left")
        .join(_reer_asof(series, axis, params.reer_series_id, lag), on="date", how="left")
        .sort("date")
        .with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64))
    )
    rows = []
    k = params.k
    for kind, ev_dates in _events(events, params.events).items():
        for e in ev_dates:
            c = bisect.bisect_left(days, e)  # release session (a non-session day rolls forward)
            if c >= len(days):
                continue
            for rel in range(-k, k + 1):
                i = c + rel
                if 0 <= i < len(days) and days[i] <= last:
                    rows.append((kind, e, rel, i, c - k - 1))
    if not rows:
        return pl.DataFrame(schema=EVENT_STUDY_SCHEMA)
    grid = pl.DataFrame(rows, schema=["event", "event_date", "rel_day", "i", "anchor_i"],
                        orient="row").with_columns(pl.col("event_date").cast(pl.Date))
    row = panel.select("i", "date", "reer", "reer_asof", "basis_bps", "funding_apr")
    prev = panel.select(pl.col("i") + 1, _prev_reer="reer")
    anchor = panel.select(anchor_i="i", _a_reer="reer", _a_basis="basis_bps", _a_apr="funding_apr")
    out = (
        grid.join(row, on="i", how="left")
        .join(prev, on="i", how="left")
        .join(anchor, on="anchor_i", how="left")
        .with_columns(
            reer_series_id=pl.lit(params.reer_series_id),
            reer_chg_pct=(pl.col("reer") / pl.col("_a_reer") - 1.0) * 100.0,
            reer_day_chg_pct=(pl.col("reer") / pl.col("_prev_reer") - 1.0) * 100.0,
            basis_chg_bps=pl.col("basis_bps") - pl.col("_a_basis"),
            funding_apr_chg=pl.col("funding_apr") - pl.col("_a_apr"),
        )
        .with_columns(
            funding_measure=pl.when(pl.col("basis_chg_bps").is_not_null()).then(pl.lit("basis_bps"))
            .when(pl.col("funding_apr_chg").is_not_null()).then(pl.lit("funding_apr")),
        )
        .with_columns(
            funding_chg=pl.when(pl.col("funding_measure") == "basis_bps").then(pl.col("basis_chg_bps"))
            .otherwise(pl.col("funding_apr_chg")),
        )
    )
    return out.select([pl.col(c).cast(t) for c, t in EVENT_STUDY_SCHEMA.items()]).sort(
        "event", "event_date", "rel_day")
