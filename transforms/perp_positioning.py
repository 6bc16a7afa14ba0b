"""Perp positioning beside funding: open interest (level, change, OI-weighted funding) and forced
liquidations of longs and shorts per funding day, the two flags the score can read.

Pure polars: raw.perp_open_interest / raw.perp_liquidations / raw.funding_rates rows and the XNYS
sessions in, frames out. No I/O. Formulas: docs/market-tables.md "Perp open interest and liquidations".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from transforms.funding import COMPOSITE_VENUE, sessions_frame


class PositioningParams(BaseModel):
    """Knobs of the positioning columns of core.funding_daily (stated, not fitted)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    oi_fill_tolerance_h: int = Field(2, ge=0, description="a funding event takes the latest OI "
                                     "observation at most this many hours before it")
    cascade_window: int = Field(20, ge=2, description="prior sessions of long liquidations the "
                                "cascade compares tonight with")
    cascade_min_periods: int = Field(5, ge=1)
    cascade_mult: float = Field(3.0, gt=0, description="cascade: long liquidations >= this x their "
                                "trailing mean ...")
    cascade_min_oi_pct: float = Field(0.5, ge=0, description="... and >= this % of open interest")


NEW_COLUMNS: dict[str, pl.DataType] = {
    "open_interest_chg_usd": pl.Float64(),
    "open_interest_chg_pct": pl.Float64(),
    "funding_apr_oi_weighted": pl.Float64(),
    "liquidations_long_usd": pl.Float64(),
    "liquidations_short_usd": pl.Float64(),
    "account_long_short_ratio": pl.Float64(),
    "funding_spike_rising_oi": pl.Boolean(),
    "liquidation_cascade": pl.Boolean(),
    "perp_rv20_pct": pl.Float64(),
    "funding_vol_premium_perp": pl.Float64(),
}
RV_WINDOW = 20          # session returns in the perp's realised vol
SESSIONS_PER_YEAR = 252  # a session return spans the weekend too: annualise per session


def fill_funding_oi(funding: pl.DataFrame, oi: pl.DataFrame | None,
                    params: PositioningParams | None = None) -> pl.DataFrame:
    """raw.funding_rates rows with open_interest_usd filled (where the venue gave none) from the
    latest raw.perp_open_interest row of the same venue and symbol at or before the event, at most
    oi_fill_tolerance_h earlier. Row order and every other column unchanged."""
    p = params or PositioningParams()
    if oi is None or oi.is_empty() or funding.is_empty():
        return funding
    have = "open_interest_usd" in funding.columns
    o = (oi.filter(pl.col("open_interest_usd").is_not_null())
         .select("venue", "symbol", pl.col("ts").cast(pl.Datetime("us")).alias("_ts"),
                 pl.col("open_interest_usd").alias("_oi")).sort("_ts"))
    f = funding.with_row_index("_i").with_columns(_fts=pl.col("funding_ts").cast(pl.Datetime("us")))
    j = f.sort("_fts").join_asof(o, left_on="_fts", right_on="_ts", by=["venue", "symbol"],
                                 strategy="backward", tolerance=f"{p.oi_fill_tolerance_h}h",
                                 check_sortedness=False)  # sorted by time above; per group too
    filled = pl.coalesce(pl.col("open_interest_usd"), pl.col("_oi")) if have else pl.col("_oi")
    return j.with_columns(open_interest_usd=filled).sort("_i").select(
        [*funding.columns, *([] if have else ["open_interest_usd"])])


def _windows(frame: pl.DataFrame, ts: str, sessions) -> pl.DataFrame:
    """Rows with the session `date` whose (previous close, close] window holds `ts`."""
    s = sessions_frame(sessions)
    if frame.is_empty() or s.height < 2:
        return frame.with_columns(date=pl.lit(None, dtype=pl.Date), idx=pl.lit(None, dtype=pl.Int64)).head(0)
    f = frame.with_columns(pl.col(ts).cast(pl.Datetime("us"))).sort(ts)
    return f.join_asof(s.rename({"close_ts": "_close"}), left_on=ts, right_on="_close",
                       strategy="forward").filter(pl.col("idx") >= 1).drop("_close")


def positioning_daily(oi: pl.DataFrame | None, liquidations: pl.DataFrame | None,
                      sessions: Sequence[date] | pl.Series | pl.DataFrame) -> pl.DataFrame:
    """Per venue x symbol x session: the last open interest (USD) and account long/short ratio in
    the funding day, and the USD notional of long and short liquidations in it. A series with
    liquidation records before the day but none in it has 0 (the feed is known), else null."""
    keys = ["venue", "symbol", "date"]
    out = pl.DataFrame(schema={"venue": pl.String, "symbol": pl.String, "date": pl.Date,
                               "oi_close_usd": pl.Float64, "oi_mark_price": pl.Float64,
                               "account_long_short_ratio": pl.Float64,
                               "liquidations_long_usd": pl.Float64, "liquidations_short_usd": pl.Float64})
    parts = []
    if oi is not None and not oi.is_empty():
        w = _windows(oi, "ts", sessions)
        implied = pl.when(pl.col("open_interest") > 0).then(pl.col("open_interest_usd") / pl.col("open_interest"))
        if "open_interest" not in w.columns:
            implied = pl.lit(None, dtype=pl.Float64)
        parts.append(w.sort("ts").group_by(keys).agg(
            oi_close_usd=pl.col("open_interest_usd").drop_nulls().last(),
            # OI value / OI amount is the venue's mark price at that instant
            oi_mark_price=implied.drop_nulls().last(),
            account_long_short_ratio=pl.col("account_long_short_ratio").drop_nulls().last()))
    liq_days = None
    if liquidations is not None and not liquidations.is_empty():
        w = _windows(liquidations, "liq_ts", sessions)
        liq_days = w.group_by(keys).agg(
            liquidations_long_usd=pl.col("quote_usd").filter(pl.col("side") == "long").sum(),
            liquidations_short_usd=pl.col("quote_usd").filter(pl.col("side") == "short").sum())
        parts.append(liq_days)
    if not parts:
        return out
    grid = pl.concat([p.select(keys) for p in parts]).unique()
    if liq_days is not None:  # days after a series' first liquidation record: 0 when none
        s = sessions_frame(sessions).select("date")
        first = liq_days.group_by("venue", "symbol").agg(pl.col("date").min().alias("_first"))
        span = first.join(s, how="cross").filter(pl.col("date") >= pl.col("_first")).drop("_first")
        grid = pl.concat([grid, span]).unique()
    res = grid
    for p in parts:
        res = res.join(p, on=keys, how="left")
    if liq_days is not None:
        first = liq_days.group_by("venue", "symbol").agg(pl.col("date").min().alias("_first"))
        res = res.join(first, on=["venue", "symbol"], how="left").with_columns(
            [pl.when(pl.col("date") >= pl.col("_first")).then(pl.col(c).fill_null(0.0)).otherwise(pl.col(c)).alias(c)
             for c in ("liquidations_long_usd", "liquidations_short_usd")]).drop("_first")
    return pl.concat([out, res], how="diagonal_relaxed").select(out.columns).sort(keys)


def add_positioning(funding: pl.DataFrame, positioning: pl.DataFrame,
                    params: PositioningParams | None = None) -> pl.DataFrame:
    """core.funding_daily rows + the positioning columns (NEW_COLUMNS).

    Venue rows: open_interest_usd is the day's last OI observation (else the funding feed's); OI change vs the
    series' previous session; funding_apr_oi_weighted = funding_apr. Composite rows: open interest
    and its change summed over the members with OI, funding_apr_oi_weighted = sum(apr x OI) / sum(OI)
    over the members with both (partial coverage allowed, unlike the composite's own weighting),
    liquidations summed. Flags: funding_spike_rising_oi = funding_spike and OI up on the day;
    liquidation_cascade = long liquidations >= cascade_mult x their mean over the prior
    cascade_window sessions (>= cascade_min_periods) and >= cascade_min_oi_pct % of open interest.
    perp_rv20_pct: stdev of 20 session log returns of the day-close mark (funding feed's mark, else
    OI value / OI amount) x sqrt(252) x 100, vol points (composite: OI-weighted over members, else
    mean); funding_vol_premium_perp = funding_apr / (perp_rv20_pct / 100): the funding carry a long
    pays per unit of the perp's realised vol."""
    p = params or PositioningParams()
    keys = ["venue", "symbol", "date"]
    f = funding.join(positioning, on=keys, how="left") if positioning.height else funding.with_columns(
        oi_close_usd=pl.lit(None, dtype=pl.Float64), oi_mark_price=pl.lit(None, dtype=pl.Float64),
        account_long_short_ratio=pl.lit(None, dtype=pl.Float64),
        liquidations_long_usd=pl.lit(None, dtype=pl.Float64), liquidations_short_usd=pl.lit(None, dtype=pl.Float64))
    is_comp = pl.col("venue") == COMPOSITE_VENUE
    f = f.with_columns(open_interest_usd=pl.when(is_comp).then(pl.col("open_interest_usd"))
                       .otherwise(pl.coalesce(pl.col("oi_close_usd"), pl.col("open_interest_usd")))).drop("oi_close_usd")
    # realised vol of the perp from its day-close mark (the funding feed's, else OI value / amount)
    px = pl.coalesce(pl.col("mark_price"), pl.col("oi_mark_price"))
    f = f.sort(keys).with_columns(
        open_interest_chg_usd=(pl.col("open_interest_usd") - pl.col("open_interest_usd").shift(1))
        .over("venue", "symbol"),
        funding_apr_oi_weighted=pl.col("funding_apr"),
        perp_rv20_pct=((px / px.shift(1)).log().rolling_std(RV_WINDOW, min_samples=RV_WINDOW)
                       * SESSIONS_PER_YEAR ** 0.5 * 100.0).over("venue", "symbol")).drop("oi_mark_price")
    f = f.with_columns(open_interest_chg_pct=pl.when(is_comp.not_()).then(
        100.0 * pl.col("open_interest_chg_usd") / (pl.col("open_interest_usd") - pl.col("open_interest_chg_usd"))))
    venues = f.filter(~is_comp & (pl.col("n_events") > 0))
    w = pl.col("open_interest_usd")
    ok = w.is_not_null() & (w > 0) & pl.col("funding_apr").is_not_null()

    def agg(by: list[str]) -> list[pl.Expr]:
        return [(pl.col("funding_apr") * w).filter(ok).sum().alias("_apr_w"), w.filter(ok).sum().alias("_w"),
                pl.col("liquidations_long_usd").sum().alias("_ll"), pl.col("liquidations_short_usd").sum().alias("_ls"),
                pl.col("liquidations_long_usd").is_not_null().any().alias("_lok"),
                w.filter(w.is_not_null()).sum().alias("_oi"), w.is_not_null().any().alias("_oiok"),
                pl.col("open_interest_chg_usd").sum().alias("_chg"),
                pl.col("open_interest_chg_usd").is_not_null().any().alias("_chgok"),
                (pl.col("perp_rv20_pct") * w).filter(ok & pl.col("perp_rv20_pct").is_not_null()).sum().alias("_rvw"),
                w.filter(ok & pl.col("perp_rv20_pct").is_not_null()).sum().alias("_rvws"),
                pl.col("perp_rv20_pct").mean().alias("_rvm")]

    comp_all = venues.group_by("date").agg(agg(["date"])).with_columns(venue=pl.lit(COMPOSITE_VENUE), symbol=pl.lit("ALL"))
    comp_sym = venues.group_by("symbol", "date").agg(agg(["symbol", "date"])).with_columns(venue=pl.lit(COMPOSITE_VENUE))
    comp = pl.concat([comp_all, comp_sym], how="diagonal_relaxed").select(
        *keys, funding_apr_oi_weighted_c=pl.when(pl.col("_w") > 0).then(pl.col("_apr_w") / pl.col("_w")),
        liq_long_c=pl.when(pl.col("_lok")).then(pl.col("_ll")), liq_short_c=pl.when(pl.col("_lok")).then(pl.col("_ls")),
        oi_c=pl.when(pl.col("_oiok")).then(pl.col("_oi")), chg_c=pl.when(pl.col("_chgok")).then(pl.col("_chg")),
        rv_c=pl.when(pl.col("_rvws") > 0).then(pl.col("_rvw") / pl.col("_rvws")).otherwise(pl.col("_rvm")))
    f = f.join(comp, on=keys, how="left").with_columns(
        funding_apr_oi_weighted=pl.when(is_comp).then(pl.col("funding_apr_oi_weighted_c")).otherwise(pl.col("funding_apr_oi_weighted")),
        liquidations_long_usd=pl.when(is_comp).then(pl.col("liq_long_c")).otherwise(pl.col("liquidations_long_usd")),
        liquidations_short_usd=pl.when(is_comp).then(pl.col("liq_short_c")).otherwise(pl.col("liquidations_short_usd")),
        open_interest_usd=pl.when(is_comp).then(pl.coalesce(pl.col("open_interest_usd"), pl.col("oi_c"))).otherwise(pl.col("open_interest_usd")),
        open_interest_chg_usd=pl.when(is_comp).then(pl.col("chg_c")).otherwise(pl.col("open_interest_chg_usd")),
        perp_rv20_pct=pl.when(is_comp).then(pl.col("rv_c")).otherwise(pl.col("perp_rv20_pct")),
    ).drop("funding_apr_oi_weighted_c", "liq_long_c", "liq_short_c", "oi_c", "chg_c", "rv_c")
    f = f.with_columns(funding_vol_premium_perp=pl.when(pl.col("perp_rv20_pct") > 0)
                       .then(pl.col("funding_apr") / (pl.col("perp_rv20_pct") / 100.0)))
    f = f.with_columns(open_interest_chg_pct=pl.when(is_comp).then(
        100.0 * pl.col("open_interest_chg_usd") / (pl.col("open_interest_usd") - pl.col("open_interest_chg_usd")))
        .otherwise(pl.col("open_interest_chg_pct")))
    trailing = (pl.col("liquidations_long_usd").shift(1)
                .rolling_mean(p.cascade_window, min_samples=p.cascade_min_periods).over("venue", "symbol"))
    f = f.sort(keys).with_columns(
        funding_spike_rising_oi=pl.col("funding_spike") & (pl.col("open_interest_chg_usd") > 0),
        liquidation_cascade=(pl.col("liquidations_long_usd") >= p.cascade_mult * trailing)
        & (pl.col("liquidations_long_usd") > 0)
        & (pl.col("liquidations_long_usd") >= p.cascade_min_oi_pct / 100.0 * pl.col("open_interest_usd")))
    return f.select([*funding.columns, *NEW_COLUMNS]).cast(NEW_COLUMNS).sort(keys)
