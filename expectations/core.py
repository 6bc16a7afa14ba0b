"""Row contracts of the core tables (warehouse/ddl/2x-3x_core_*.sql): what a built row must
satisfy before it is written. Checked at the transform boundary (flows/build.py).

Adding a table: copy a class, list its columns with their DuckDB types (the missing-model test
prints a skeleton), state the grain in Config.unique and the rules a trader would check by eye.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from expectations.registry import contract
from expectations.rules import finite, row_rule


class Core(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = True


def _close(a: pl.Expr, b: pl.Expr, rel: float = 1e-9, abs_: float = 1e-6) -> pl.Expr:
    """a == b up to float rounding (relative to the larger magnitude)."""
    return (a - b).abs() <= pl.max_horizontal(a.abs(), b.abs()) * rel + abs_


def _net_is_sum(name: str):
    return row_rule(name, "net_gex_usd_per_pct is not call_gex_usd_per_pct + put_gex_usd_per_pct",
                    _close(pl.col("net_gex_usd_per_pct"), pl.col("call_gex_usd_per_pct") + pl.col("put_gex_usd_per_pct")),
                    ["net_gex_usd_per_pct", "call_gex_usd_per_pct", "put_gex_usd_per_pct"])


GEX_COLUMNS = ("call_gex_usd_per_pct", "put_gex_usd_per_pct", "net_gex_usd_per_pct")
# NULL on rows built before these columns existed; finite when present
VANNA_CHARM = ("net_vanna_usd_per_vol_pt", "net_charm_usd_per_day")


# -- dealer gamma (20_core_gamma.sql) ------------------------------------------------------------

@contract("core.gamma_daily", date_col="date", required=True, session_cols=("date",),
          jump=(("underlying", "preset"), "spot"))
class GammaDaily(Core):
    date: pl.Date
    underlying: str
    spot: pl.Float64 = pa.Field(gt=0)
    net_gex_usd_per_pct: pl.Float64
    call_gex_usd_per_pct: pl.Float64
    put_gex_usd_per_pct: pl.Float64
    contracts: pl.Int64 = pa.Field(ge=0)
    expired_rows: pl.Int64 = pa.Field(ge=0)
    preset: str
    quote_ts: pl.Datetime = pa.Field(nullable=True)
    snapshot_date: pl.Date = pa.Field(nullable=True)
    gross_gex_usd_per_pct: pl.Float64 = pa.Field(ge=0, nullable=True)
    zero_gamma: pl.Float64 = pa.Field(gt=0, nullable=True)
    zero_gamma_flips: pl.List(pl.Float64) = pa.Field(nullable=True)
    flip_count: pl.Int64 = pa.Field(ge=0, nullable=True)
    zero_gamma_distance_pct: pl.Float64 = pa.Field(nullable=True)
    flip_search_low: pl.Float64 = pa.Field(gt=0, nullable=True)
    flip_search_high: pl.Float64 = pa.Field(gt=0, nullable=True)
    call_wall: pl.Float64 = pa.Field(gt=0, nullable=True)
    put_wall: pl.Float64 = pa.Field(gt=0, nullable=True)
    abs_gamma_strike: pl.Float64 = pa.Field(gt=0, nullable=True)
    top_oi_strikes: pl.List(pl.Float64) = pa.Field(nullable=True)
    zero_dte_share_pct: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 100}, nullable=True)
    gex_macd_usd: pl.Float64 = pa.Field(nullable=True)
    gex_macd_signal_usd: pl.Float64 = pa.Field(nullable=True)
    gex_macd_hist_usd: pl.Float64 = pa.Field(nullable=True)
    net_vanna_usd_per_vol_pt: pl.Float64 = pa.Field(nullable=True)
    net_charm_usd_per_day: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("spot", "net_gex_usd_per_pct", "call_gex_usd_per_pct", "put_gex_usd_per_pct", "gross_gex_usd_per_pct",
                     "zero_gamma", "zero_gamma_distance_pct", "gex_macd_usd", *VANNA_CHARM)
    spot_gex_is_sum = row_rule(
        "spot_gex_is_call_plus_put", "net_gex_usd_per_pct is not call_gex_usd_per_pct + put_gex_usd_per_pct",
        _close(pl.col("net_gex_usd_per_pct"), pl.col("call_gex_usd_per_pct") + pl.col("put_gex_usd_per_pct")),
        ["net_gex_usd_per_pct", "call_gex_usd_per_pct", "put_gex_usd_per_pct"])
    gross_covers_net = row_rule(
        "gross_gex_covers_net", "gross_gex_usd_per_pct below |net_gex_usd_per_pct|",
        pl.col("gross_gex_usd_per_pct") * (1 + 1e-9) + 1e-6 >= pl.col("net_gex_usd_per_pct").abs(),
        ["gross_gex_usd_per_pct", "net_gex_usd_per_pct"])
    zero_gamma_near_spot = row_rule(
        "zero_gamma_within_50pct_of_spot", "zero gamma more than 50 % away from spot",
        (pl.col("zero_gamma") / pl.col("spot") - 1).abs() <= 0.5, ["zero_gamma", "spot"])
    flip_count_matches = row_rule(
        "flip_count_matches_flips", "flip_count is not the number of zero_gamma_flips",
        pl.col("zero_gamma_flips").list.len() == pl.col("flip_count"), ["zero_gamma_flips", "flip_count"])
    search_brackets_spot = row_rule(
        "flip_search_brackets_spot", "flip search range does not contain spot",
        (pl.col("flip_search_low") <= pl.col("spot")) & (pl.col("spot") <= pl.col("flip_search_high")),
        ["flip_search_low", "flip_search_high", "spot"])

    class Config:
        unique = ["date", "underlying", "preset"]


@contract("core.gamma_by_strike", date_col="date", required=True, session_cols=("date",))
class GammaByStrike(Core):
    date: pl.Date
    underlying: str
    preset: str
    strike: pl.Float64 = pa.Field(gt=0)
    call_gex_usd_per_pct: pl.Float64
    put_gex_usd_per_pct: pl.Float64
    net_gex_usd_per_pct: pl.Float64
    call_oi: pl.Int64 = pa.Field(ge=0)
    put_oi: pl.Int64 = pa.Field(ge=0)
    contracts: pl.Int64 = pa.Field(ge=0)
    net_vanna_usd_per_vol_pt: pl.Float64 = pa.Field(nullable=True)
    net_charm_usd_per_day: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("strike", *GEX_COLUMNS, *VANNA_CHARM)
    net_is_sum = _net_is_sum("net_gex_is_call_plus_put")

    class Config:
        unique = ["date", "underlying", "preset", "strike"]


@contract("core.gamma_by_expiry", date_col="date", required=True, session_cols=("date",))
class GammaByExpiry(Core):
    date: pl.Date
    underlying: str
    preset: str
    root: str
    expiry: pl.Date
    dte_days: pl.Int64 = pa.Field(ge=0)
    t_years: pl.Float64 = pa.Field(ge=0)
    bucket: str = pa.Field(isin=["0DTE", "<=7d", "<=30d", ">30d"])
    call_gex_usd_per_pct: pl.Float64
    put_gex_usd_per_pct: pl.Float64
    net_gex_usd_per_pct: pl.Float64
    call_oi: pl.Int64 = pa.Field(ge=0)
    put_oi: pl.Int64 = pa.Field(ge=0)
    contracts: pl.Int64 = pa.Field(ge=0)
    net_vanna_usd_per_vol_pt: pl.Float64 = pa.Field(nullable=True)
    net_charm_usd_per_day: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("t_years", *GEX_COLUMNS, *VANNA_CHARM)
    net_is_sum = _net_is_sum("net_gex_is_call_plus_put")
    dte_matches = row_rule("dte_is_expiry_minus_date", "dte_days is not expiry - date in days",
                           (pl.col("expiry") - pl.col("date")).dt.total_days() == pl.col("dte_days"),
                           ["expiry", "date", "dte_days"])
    bucket_matches = row_rule(
        "bucket_matches_dte", "bucket does not match dte_days",
        pl.col("bucket") == pl.when(pl.col("dte_days") == 0).then(pl.lit("0DTE"))
        .when(pl.col("dte_days") <= 7).then(pl.lit("<=7d"))
        .when(pl.col("dte_days") <= 30).then(pl.lit("<=30d")).otherwise(pl.lit(">30d")),
        ["bucket", "dte_days"])

    class Config:
        unique = ["date", "underlying", "preset", "root", "expiry"]


@contract("core.gamma_profile", date_col="date", required=True, session_cols=("date",))
class GammaProfile(Core):
    date: pl.Date
    underlying: str
    preset: str
    spot_level: pl.Float64 = pa.Field(gt=0)
    level_pct: pl.Float64 = pa.Field(in_range={"min_value": -100, "max_value": 100})
    call_gex_usd_per_pct: pl.Float64
    put_gex_usd_per_pct: pl.Float64
    net_gex_usd_per_pct: pl.Float64

    _finite = finite("spot_level", "level_pct", *GEX_COLUMNS)
    net_is_sum = _net_is_sum("net_gex_is_call_plus_put")

    class Config:
        unique = ["date", "underlying", "preset", "spot_level"]


# -- market internals (30_core_market.sql) ---------------------------------------------------------

@contract("core.breadth_daily", date_col="date", session_cols=("date",))
class BreadthDaily(Core):
    exchange: str
    date: pl.Date
    advances: pl.Int64 = pa.Field(ge=0, nullable=True)
    declines: pl.Int64 = pa.Field(ge=0, nullable=True)
    unchanged: pl.Int64 = pa.Field(ge=0, nullable=True)
    net_advances: pl.Int64 = pa.Field(nullable=True)
    ad_line: pl.Int64 = pa.Field(nullable=True)
    ad_pct: pl.Float64 = pa.Field(in_range={"min_value": -100, "max_value": 100}, nullable=True)
    rana: pl.Float64 = pa.Field(in_range={"min_value": -1000, "max_value": 1000}, nullable=True)
    rana_ema_fast: pl.Float64 = pa.Field(nullable=True)
    rana_ema_slow: pl.Float64 = pa.Field(nullable=True)
    mcclellan_osc: pl.Float64 = pa.Field(nullable=True)
    mcclellan_sum: pl.Float64 = pa.Field(nullable=True)
    mcclellan_osc_classic: pl.Float64 = pa.Field(nullable=True)
    new_highs: pl.Int64 = pa.Field(ge=0, nullable=True)
    new_lows: pl.Int64 = pa.Field(ge=0, nullable=True)
    net_new_highs: pl.Int64 = pa.Field(nullable=True)
    spx_close: pl.Float64 = pa.Field(gt=0, nullable=True)
    spx_ret: pl.Float64 = pa.Field(gt=-1, nullable=True)
    spx_at_high: bool = pa.Field(nullable=True)
    spx_at_low: bool = pa.Field(nullable=True)
    ad_divergence_bearish: bool = pa.Field(nullable=True)
    ad_divergence_bullish: bool = pa.Field(nullable=True)
    ad_spx_corr: pl.Float64 = pa.Field(in_range={"min_value": -1.000001, "max_value": 1.000001},
                                       nullable=True)

    _finite = finite("ad_pct", "rana", "rana_ema_fast", "rana_ema_slow", "mcclellan_osc",
                     "mcclellan_sum", "spx_close", "spx_ret")
    net_is_a_minus_d = row_rule("net_advances_is_a_minus_d", "net_advances is not advances - declines",
                                pl.col("net_advances") == pl.col("advances") - pl.col("declines"),
                                ["net_advances", "advances", "declines"])
    net_highs = row_rule("net_new_highs_is_h_minus_l", "net_new_highs is not new_highs - new_lows",
                         pl.col("net_new_highs") == pl.col("new_highs") - pl.col("new_lows"),
                         ["net_new_highs", "new_highs", "new_lows"])
    issues_traded = row_rule(
        "issues_traded", "advances + declines + unchanged is 0: no issue traded",
        (pl.sum_horizontal("advances", "declines", "unchanged") > 0)
        | pl.any_horizontal(pl.col("advances", "declines", "unchanged").is_null()),
        ["advances", "declines", "unchanged"])

    class Config:
        unique = ["exchange", "date"]


@contract("core.funding_daily", date_col="date", session_cols=("date",),
          drift=("funding_apr",))
class FundingDaily(Core):
    venue: str
    symbol: str
    date: pl.Date
    n_events: pl.Int64 = pa.Field(ge=0)
    hours_covered: pl.Int64 = pa.Field(ge=0, nullable=True)
    window_h: pl.Float64 = pa.Field(gt=0, nullable=True)
    interval_h: pl.Int64 = pa.Field(isin=[1, 2, 4, 8], nullable=True)
    funding_paid_bps: pl.Float64 = pa.Field(nullable=True)
    funding_8h_bps: pl.Float64 = pa.Field(nullable=True)
    funding_apr: pl.Float64 = pa.Field(nullable=True)
    funding_apr_z: pl.Float64 = pa.Field(nullable=True)
    funding_apr_pctile: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 100}, nullable=True)
    funding_spike: bool = pa.Field(nullable=True)
    basis_bps: pl.Float64 = pa.Field(nullable=True)
    basis_source: str = pa.Field(isin=["mark_index", "premium", "composite"], nullable=True)
    mark_price: pl.Float64 = pa.Field(gt=0, nullable=True)
    index_price: pl.Float64 = pa.Field(gt=0, nullable=True)
    open_interest_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    members: pl.Int64 = pa.Field(ge=1, nullable=True)
    weighting: str = pa.Field(isin=["oi", "equal"], nullable=True)
    open_interest_chg_usd: pl.Float64 = pa.Field(nullable=True)
    open_interest_chg_pct: pl.Float64 = pa.Field(ge=-100, nullable=True)
    funding_apr_oi_weighted: pl.Float64 = pa.Field(nullable=True)
    liquidations_long_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    liquidations_short_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    account_long_short_ratio: pl.Float64 = pa.Field(ge=0, nullable=True)
    funding_spike_rising_oi: bool = pa.Field(nullable=True)
    liquidation_cascade: bool = pa.Field(nullable=True)
    perp_rv20_pct: pl.Float64 = pa.Field(ge=0, nullable=True)
    funding_vol_premium_perp: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("funding_paid_bps", "funding_8h_bps", "funding_apr", "funding_apr_z", "basis_bps",
                     "open_interest_chg_usd", "open_interest_chg_pct", "funding_apr_oi_weighted",
                     "liquidations_long_usd", "liquidations_short_usd", "perp_rv20_pct",
                     "funding_vol_premium_perp")
    spike_with_oi_needs_spike = row_rule(
        "spike_rising_oi_implies_spike", "funding_spike_rising_oi without funding_spike",
        ~pl.col("funding_spike_rising_oi") | pl.col("funding_spike"), ["funding_spike_rising_oi", "funding_spike"])
    # apr = 8760 x sum(rate) / sum(h) and 8h bps = 8 x 1e4 x sum(rate) / sum(h): one is the other x 0.1095.
    apr_matches_8h = row_rule(
        "apr_matches_8h_rate", "funding_apr is not funding_8h_bps x 8760 / 8 / 1e4",
        _close(pl.col("funding_apr"), pl.col("funding_8h_bps") * 8760 / 8 / 1e4, rel=1e-6, abs_=1e-9),
        ["funding_apr", "funding_8h_bps"])

    class Config:
        unique = ["venue", "symbol", "date"]


@contract("core.vol_daily", date_col="date", session_cols=("date",))
class VolDaily(Core):
    date: pl.Date
    vix: pl.Float64 = pa.Field(gt=0, nullable=True)
    vix9d: pl.Float64 = pa.Field(gt=0, nullable=True)
    vix3m: pl.Float64 = pa.Field(gt=0, nullable=True)
    vix9d_vix_ratio: pl.Float64 = pa.Field(gt=0, nullable=True)
    vix_vix3m_ratio: pl.Float64 = pa.Field(gt=0, nullable=True)
    vix9d_vix_inverted: bool = pa.Field(nullable=True)
    vix_vix3m_inverted: bool = pa.Field(nullable=True)
    vx1: pl.Float64 = pa.Field(gt=0, nullable=True)
    vx1_expiry: pl.Date = pa.Field(nullable=True)
    vx1_dte_days: pl.Int64 = pa.Field(ge=0, nullable=True)
    vx2: pl.Float64 = pa.Field(gt=0, nullable=True)
    vx2_expiry: pl.Date = pa.Field(nullable=True)
    vx2_dte_days: pl.Int64 = pa.Field(ge=0, nullable=True)
    vx_cm30: pl.Float64 = pa.Field(gt=0, nullable=True)
    vx1_roll_yield: pl.Float64 = pa.Field(nullable=True)
    vx2_vx1_roll_yield: pl.Float64 = pa.Field(nullable=True)
    spx_close: pl.Float64 = pa.Field(gt=0, nullable=True)
    spx_rv10_vol_pts: pl.Float64 = pa.Field(ge=0, nullable=True)
    spx_rv20_vol_pts: pl.Float64 = pa.Field(ge=0, nullable=True)
    iv_rv_spread_vol_pts: pl.Float64 = pa.Field(nullable=True)
    spx_rsi14: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 100}, nullable=True)
    funding_apr: pl.Float64 = pa.Field(nullable=True)
    funding_vol_premium: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("vix", "vix9d", "vix3m", "vix9d_vix_ratio", "vix_vix3m_ratio", "vx1", "vx2",
                     "vx_cm30", "spx_close", "spx_rv10_vol_pts", "spx_rv20_vol_pts", "spx_rsi14")
    ratio_9d = row_rule("vix9d_vix_ratio_matches", "vix9d_vix_ratio is not vix9d / vix",
                        _close(pl.col("vix9d_vix_ratio"), pl.col("vix9d") / pl.col("vix")),
                        ["vix9d_vix_ratio", "vix9d", "vix"])
    ratio_3m = row_rule("vix_vix3m_ratio_matches", "vix_vix3m_ratio is not vix / vix3m",
                        _close(pl.col("vix_vix3m_ratio"), pl.col("vix") / pl.col("vix3m")),
                        ["vix_vix3m_ratio", "vix", "vix3m"])
    inverted_9d = row_rule("vix9d_inverted_flag_matches", "vix9d_vix_inverted disagrees with the ratio",
                           pl.col("vix9d_vix_inverted") == (pl.col("vix9d_vix_ratio") > 1),
                           ["vix9d_vix_inverted", "vix9d_vix_ratio"])
    inverted_3m = row_rule("vix3m_inverted_flag_matches", "vix_vix3m_inverted disagrees with the ratio",
                           pl.col("vix_vix3m_inverted") == (pl.col("vix_vix3m_ratio") > 1),
                           ["vix_vix3m_inverted", "vix_vix3m_ratio"])
    vx1_after_date = row_rule("vx1_expiry_after_date", "VX1 expires on or before the date",
                              pl.col("vx1_expiry") > pl.col("date"), ["vx1_expiry", "date"])
    vx2_after_vx1 = row_rule("vx2_expiry_after_vx1", "VX2 does not expire after VX1",
                             pl.col("vx2_expiry") > pl.col("vx1_expiry"), ["vx2_expiry", "vx1_expiry"])

    class Config:
        unique = ["date"]


@contract("core.macro_daily", date_col="date", session_cols=("date",))
class MacroDaily(Core):
    date: pl.Date
    days_to_cpi_td: pl.Int64 = pa.Field(ge=0, nullable=True)
    days_to_cpi_cd: pl.Int64 = pa.Field(ge=0, nullable=True)
    days_since_cpi_td: pl.Int64 = pa.Field(ge=0, nullable=True)
    days_to_ppi_td: pl.Int64 = pa.Field(ge=0, nullable=True)
    days_to_ppi_cd: pl.Int64 = pa.Field(ge=0, nullable=True)
    days_since_ppi_td: pl.Int64 = pa.Field(ge=0, nullable=True)
    days_to_fomc_td: pl.Int64 = pa.Field(ge=0, nullable=True)
    days_to_fomc_cd: pl.Int64 = pa.Field(ge=0, nullable=True)
    days_since_fomc_td: pl.Int64 = pa.Field(ge=0, nullable=True)
    cpi_window: bool
    ppi_window: bool
    fomc_window: bool
    event_window: bool

    any_window = row_rule("event_window_covers_windows", "a CPI/PPI/FOMC window without event_window",
                          pl.col("event_window") | ~(pl.col("cpi_window") | pl.col("ppi_window")
                                                     | pl.col("fomc_window")),
                          ["event_window", "cpi_window", "ppi_window", "fomc_window"])

    class Config:
        unique = ["date"]


@contract("core.macro_event_study", date_col="date", cadence="event")
class MacroEventStudy(Core):
    event: str
    event_date: pl.Date
    rel_day: pl.Int64 = pa.Field(in_range={"min_value": -30, "max_value": 30})
    date: pl.Date
    reer_series_id: str
    reer: pl.Float64 = pa.Field(gt=0, nullable=True)
    reer_asof: pl.Date = pa.Field(nullable=True)
    reer_chg_pct: pl.Float64 = pa.Field(nullable=True)
    reer_day_chg_pct: pl.Float64 = pa.Field(nullable=True)
    basis_bps: pl.Float64 = pa.Field(nullable=True)
    basis_chg_bps: pl.Float64 = pa.Field(nullable=True)
    funding_apr: pl.Float64 = pa.Field(nullable=True)
    funding_apr_chg: pl.Float64 = pa.Field(nullable=True)
    funding_measure: str = pa.Field(isin=["basis_bps", "funding_apr"], nullable=True)
    funding_chg: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("reer", "reer_chg_pct", "basis_bps", "funding_apr")
    reer_known_by_date = row_rule("reer_asof_not_after_date", "REER observation dated after the row",
                                  pl.col("reer_asof") <= pl.col("date"), ["reer_asof", "date"])
    rel_day_direction = row_rule(
        "rel_day_sign_matches_dates", "rel_day sign disagrees with date vs event_date",
        ((pl.col("rel_day") <= 0) | (pl.col("date") > pl.col("event_date")))
        & ((pl.col("rel_day") >= 0) | (pl.col("date") < pl.col("event_date"))),
        ["rel_day", "date", "event_date"])

    class Config:
        unique = ["event", "event_date", "rel_day"]


# -- options term structure (35_core_options.sql) -------------------------------------------------

@contract("core.parity_daily", date_col="quote_date", session_cols=("quote_date",),
          drift=("carry_implied",))
class ParityDaily(Core):
    quote_date: pl.Date
    root: str
    expiry: pl.Date
    underlying: str
    spot: pl.Float64 = pa.Field(gt=0)
    dte_days: pl.Int64 = pa.Field(ge=0)
    t_years: pl.Float64 = pa.Field(gt=0)
    pairs_quoted: pl.Int64 = pa.Field(ge=0)
    pairs_fit: pl.Int64 = pa.Field(ge=0)
    fit_method: str = pa.Field(isin=["wls", "unit_discount"], nullable=True)
    forward_implied: pl.Float64 = pa.Field(gt=0, nullable=True)
    forward_basis_pts: pl.Float64 = pa.Field(nullable=True)
    discount_factor_implied: pl.Float64 = pa.Field(gt=0, nullable=True)
    rate_implied: pl.Float64 = pa.Field(nullable=True)
    carry_implied: pl.Float64 = pa.Field(nullable=True)
    dividend_yield_implied: pl.Float64 = pa.Field(nullable=True)
    parity_fit_rmse_pts: pl.Float64 = pa.Field(ge=0, nullable=True)
    cost_per_pair_pts: pl.Float64 = pa.Field(ge=0)
    parity_residual_conversion_max_pts: pl.Float64 = pa.Field(nullable=True)
    parity_residual_reversal_max_pts: pl.Float64 = pa.Field(nullable=True)
    parity_arb_conversions: pl.Int64 = pa.Field(ge=0)
    parity_arb_reversals: pl.Int64 = pa.Field(ge=0)
    atm_strike: pl.Float64 = pa.Field(gt=0, nullable=True)
    extrinsic_atm_pts: pl.Float64 = pa.Field(nullable=True)
    extrinsic_atm_vol_pct: pl.Float64 = pa.Field(nullable=True)
    short_put_strike: pl.Float64 = pa.Field(gt=0, nullable=True)
    short_call_strike: pl.Float64 = pa.Field(gt=0, nullable=True)
    extrinsic_short_put_pts: pl.Float64 = pa.Field(ge=0, nullable=True)
    extrinsic_short_call_pts: pl.Float64 = pa.Field(ge=0, nullable=True)

    _finite = finite("t_years", "forward_implied", "rate_implied", "carry_implied",
                     "parity_residual_conversion_max_pts", "parity_residual_reversal_max_pts",
                     "extrinsic_atm_pts", "extrinsic_atm_vol_pct")
    parity_dte = row_rule("parity_dte_is_expiry_minus_quote_date",
                          "dte_days is not expiry - quote_date in days",
                          (pl.col("expiry") - pl.col("quote_date")).dt.total_days() == pl.col("dte_days"),
                          ["expiry", "quote_date", "dte_days"])
    fit_within_quoted = row_rule("parity_fit_pairs_within_quoted", "more pairs fitted than quoted",
                                 (pl.col("pairs_fit") <= pl.col("pairs_quoted"))
                                 & (pl.col("parity_arb_conversions") <= pl.col("pairs_quoted"))
                                 & (pl.col("parity_arb_reversals") <= pl.col("pairs_quoted")),
                                 ["pairs_fit", "pairs_quoted", "parity_arb_conversions", "parity_arb_reversals"])
    basis_matches = row_rule("forward_basis_is_forward_minus_spot", "forward_basis_pts is not F - spot",
                             _close(pl.col("forward_basis_pts"), pl.col("forward_implied") - pl.col("spot")),
                             ["forward_basis_pts", "forward_implied", "spot"])
    carry_matches = row_rule("carry_is_log_forward_over_spot", "carry_implied is not ln(F / spot) / T",
                             _close(pl.col("carry_implied"),
                                    (pl.col("forward_implied") / pl.col("spot")).log() / pl.col("t_years"),
                                    rel=1e-6, abs_=1e-9),
                             ["carry_implied", "forward_implied", "spot", "t_years"])
    forward_near_spot = row_rule("forward_within_50pct_of_spot", "implied forward more than 50 % from spot",
                                 (pl.col("forward_implied") / pl.col("spot") - 1).abs() <= 0.5,
                                 ["forward_implied", "spot"])
    shorts_straddle_spot = row_rule("short_strikes_otm", "short put not below spot or short call not above",
                                    (pl.col("short_put_strike") < pl.col("spot"))
                                    & (pl.col("spot") < pl.col("short_call_strike")),
                                    ["short_put_strike", "short_call_strike", "spot"])

    class Config:
        unique = ["quote_date", "root", "expiry"]


# -- constituent fundamentals (36_core_fundamentals.sql) ------------------------------------------

@contract("core.pcf_daily", date_col="date", session_cols=("date",), drift=("pcf_index",))
class PcfDaily(Core):
    date: pl.Date
    constituents: pl.Int64 = pa.Field(ge=1)
    weight_covered_pct: pl.Float64 = pa.Field(ge=0, le=150)
    pcf_index: pl.Float64 = pa.Field(gt=0, nullable=True)
    pcf_median: pl.Float64 = pa.Field(gt=0, nullable=True)
    cf_yield_pct: pl.Float64 = pa.Field(gt=0, nullable=True)
    pcf_chg_20d_pct: pl.Float64 = pa.Field(gt=-100, nullable=True)
    pcf_chg_60d_pct: pl.Float64 = pa.Field(gt=-100, nullable=True)

    _finite = finite("weight_covered_pct", "pcf_index", "pcf_median", "cf_yield_pct",
                     "pcf_chg_20d_pct", "pcf_chg_60d_pct")
    yield_is_inverse = row_rule("cf_yield_is_100_over_pcf", "cf_yield_pct is not 100 / pcf_index",
                                _close(pl.col("cf_yield_pct") * pl.col("pcf_index"), pl.lit(100.0), rel=1e-9),
                                ["cf_yield_pct", "pcf_index"])

    class Config:
        unique = ["date"]
