"""Row contracts of the signal, recommendation and backtest tables (warehouse/ddl/40_core_signals.sql,
50_core_backtest.sql). Checked at the transform boundary (flows/build.py) like every core table.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from expectations.core import Core, _close
from expectations.registry import contract
from expectations.rules import finite, row_rule
from transforms.conventions import REGIMES as CONVENTION_REGIMES

REGIMES = list(CONVENTION_REGIMES)
UNIT = {"in_range": {"min_value": 0, "max_value": 1}}
POINTS = {"in_range": {"min_value": 0, "max_value": 100}}


def _score(**kw):
    return pa.Field(nullable=True, **UNIT, **kw)


def _points(**kw):
    return pa.Field(nullable=True, **POINTS, **kw)


# -- signals (40_core_signals.sql) ----------------------------------------------------------------

@contract("core.signals_daily", date_col="date", session_cols=("date",))
class SignalsDaily(Core):
    date: pl.Date
    spx_close: pl.Float64 = pa.Field(gt=0, nullable=True)
    spx_ret: pl.Float64 = pa.Field(gt=-1, nullable=True)
    spx_ret5: pl.Float64 = pa.Field(gt=-1, nullable=True)
    net_gex_usd_per_pct: pl.Float64 = pa.Field(nullable=True)
    gex_z: pl.Float64 = pa.Field(nullable=True)
    gex_negative: bool = pa.Field(nullable=True)
    zero_gamma: pl.Float64 = pa.Field(gt=0, nullable=True)
    spot_below_flip: bool = pa.Field(nullable=True)
    gex_macd_hist_usd: pl.Float64 = pa.Field(nullable=True)
    gex_macd_bearish: bool = pa.Field(nullable=True)
    gex_macd_cross_down: bool = pa.Field(nullable=True)
    gamma_sharp: bool = pa.Field(nullable=True)
    gamma_score: pl.Float64 = _score()
    funding_apr: pl.Float64 = pa.Field(nullable=True)
    funding_apr_z: pl.Float64 = pa.Field(nullable=True)
    funding_apr_pctile: pl.Float64 = _points()
    funding_spike: bool = pa.Field(nullable=True)
    funding_elevated: bool = pa.Field(nullable=True)
    funding_normal: bool = pa.Field(nullable=True)
    funding_score: pl.Float64 = _score()
    breadth_exchange: str = pa.Field(nullable=True)
    ad_divergence_bearish: bool = pa.Field(nullable=True)
    ad_divergence_recent: pl.Int64 = pa.Field(ge=0, nullable=True)
    mcclellan_osc: pl.Float64 = pa.Field(nullable=True)
    breadth_score: pl.Float64 = _score()
    vix: pl.Float64 = pa.Field(gt=0, nullable=True)
    vix_vix3m_ratio: pl.Float64 = pa.Field(gt=0, nullable=True)
    vix_vix3m_inverted: bool = pa.Field(nullable=True)
    vx1_roll_yield: pl.Float64 = pa.Field(nullable=True)
    volatility_score: pl.Float64 = _score()
    next_event: str = pa.Field(nullable=True)
    days_to_event_td: pl.Int64 = pa.Field(ge=0, nullable=True)
    cpi_soon: bool = pa.Field(nullable=True)
    ppi_soon: bool = pa.Field(nullable=True)
    fomc_soon: bool = pa.Field(nullable=True)
    events_score: pl.Float64 = _score()
    gamma_score_pts: pl.Float64 = _points()
    funding_score_pts: pl.Float64 = _points()
    breadth_score_pts: pl.Float64 = _points()
    volatility_score_pts: pl.Float64 = _points()
    events_score_pts: pl.Float64 = _points()
    weight_available: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 1.000001}, nullable=True)
    components_available: pl.Int64 = pa.Field(in_range={"min_value": 0, "max_value": 5}, nullable=True)
    components_missing: str = pa.Field(nullable=True)
    unwind_score: pl.Float64 = _points()
    coverage: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 1.000001}, nullable=True)
    unwind_score_raw: pl.Float64 = _points()
    convergence: bool = pa.Field(nullable=True)
    shock: bool = pa.Field(nullable=True)
    regime: str = pa.Field(isin=REGIMES, nullable=True)
    regime_prev: str = pa.Field(isin=REGIMES, nullable=True)
    regime_sessions: pl.Int64 = pa.Field(ge=1, nullable=True)
    regime_reason: str = pa.Field(nullable=True)
    params_json: str = pa.Field(nullable=True)

    _finite = finite("spx_close", "net_gex_usd_per_pct", "gex_z", "gamma_score", "funding_score",
                     "breadth_score", "volatility_score", "events_score", "unwind_score")
    points_add_up = row_rule(
        "points_add_up_to_score", "component points do not add up to unwind_score",
        _close(pl.sum_horizontal("gamma_score_pts", "funding_score_pts", "breadth_score_pts", "volatility_score_pts", "events_score_pts"),
               pl.col("unwind_score"), rel=1e-9, abs_=1e-6),
        ["gamma_score_pts", "funding_score_pts", "breadth_score_pts", "volatility_score_pts", "events_score_pts", "unwind_score"])
    gex_sign = row_rule("gex_negative_matches_sign", "gex_negative disagrees with net_gex_usd_per_pct < 0",
                        pl.col("gex_negative") == (pl.col("net_gex_usd_per_pct") < 0), ["gex_negative", "net_gex_usd_per_pct"])

    class Config:
        unique = ["date"]


@contract("core.signal_evidence", date_col="as_of", session_cols=("as_of",))
class SignalEvidence(Core):
    as_of: pl.Date
    regime: str = pa.Field(isin=[*REGIMES, "all"])
    horizon_sessions: pl.Int64 = pa.Field(ge=1)
    n_obs: pl.Int64 = pa.Field(ge=0)
    first_entry: pl.Date = pa.Field(nullable=True)
    last_entry: pl.Date = pa.Field(nullable=True)
    fwd_ret_pct_mean: pl.Float64 = pa.Field(nullable=True)
    fwd_rv_pct_mean: pl.Float64 = pa.Field(ge=0, nullable=True)
    max_drawdown_pct_mean: pl.Float64 = pa.Field(le=0, nullable=True)
    max_drawdown_pct_worst: pl.Float64 = pa.Field(le=0, nullable=True)
    ic_hit_rate: pl.Float64 = _score()
    ic_be_sigma: pl.Float64 = pa.Field(gt=0, nullable=True)

    _finite = finite("fwd_ret_pct_mean", "fwd_rv_pct_mean", "max_drawdown_pct_mean", "ic_hit_rate")
    entries_ordered = row_rule("entries_in_order", "first_entry after last_entry, or last_entry after as_of",
                               (pl.col("first_entry") <= pl.col("last_entry"))
                               & (pl.col("last_entry") <= pl.col("as_of")),
                               ["first_entry", "last_entry", "as_of"])
    worst_is_worst = row_rule("worst_drawdown_below_mean", "max_drawdown_pct_worst above the mean",
                              pl.col("max_drawdown_pct_worst") <= pl.col("max_drawdown_pct_mean") + 1e-9,
                              ["max_drawdown_pct_worst", "max_drawdown_pct_mean"])

    class Config:
        unique = ["as_of", "regime", "horizon_sessions"]


# -- recommendations ------------------------------------------------------------------------------

def _ok() -> pl.Expr:
    return pl.col("status") != "ok"


@contract("core.recommendations", date_col="as_of", session_cols=("as_of",))
class Recommendations(Core):
    as_of: pl.Date
    status: str = pa.Field(isin=["ok", "untrusted", "no_chain", "no_condor"])
    skip_reason: str = pa.Field(nullable=True)
    structure: str = pa.Field(nullable=True, str_matches=r"^iron_condor(?:\+[a-z_]+)*$")
    regime: str = pa.Field(isin=REGIMES, nullable=True)
    unwind_score: pl.Float64 = _points()
    convergence: bool = pa.Field(nullable=True)
    spot: pl.Float64 = pa.Field(gt=0, nullable=True)
    vix: pl.Float64 = pa.Field(gt=0, nullable=True)
    root: str = pa.Field(nullable=True)
    expiry: pl.Date = pa.Field(nullable=True)
    dte_days: pl.Int64 = pa.Field(ge=0, nullable=True)
    short_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    long_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    short_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    long_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    put_width_pts: pl.Float64 = pa.Field(ge=0, nullable=True)
    call_width_pts: pl.Float64 = pa.Field(ge=0, nullable=True)
    credit_pts: pl.Float64 = pa.Field(nullable=True)
    max_loss_pts: pl.Float64 = pa.Field(nullable=True)
    be_low: pl.Float64 = pa.Field(nullable=True)
    be_high: pl.Float64 = pa.Field(nullable=True)
    be_low_dist_pct: pl.Float64 = pa.Field(nullable=True)
    be_high_dist_pct: pl.Float64 = pa.Field(nullable=True)
    pop: pl.Float64 = _score()
    expected_move_pts: pl.Float64 = pa.Field(ge=0, nullable=True)
    expected_move_pct: pl.Float64 = pa.Field(ge=0, nullable=True)
    widen_pct: pl.Float64 = pa.Field(ge=0, nullable=True)
    base_short_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    base_short_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    contracts: pl.Int64 = pa.Field(ge=0, nullable=True)
    size_mult: pl.Float64 = pa.Field(ge=0, nullable=True)
    size_capped: bool = pa.Field(nullable=True)
    credit_usd: pl.Float64 = pa.Field(nullable=True)
    max_loss_usd: pl.Float64 = pa.Field(nullable=True)
    risk_budget_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    risk_used_usd: pl.Float64 = pa.Field(nullable=True)
    risk_used_pct: pl.Float64 = pa.Field(nullable=True)
    risk_condor_usd: pl.Float64 = pa.Field(nullable=True)
    stress_worst_spx: pl.Float64 = pa.Field(gt=0, nullable=True)
    stress_range_pct: pl.Float64 = pa.Field(gt=0, nullable=True)
    calendar_strike: pl.Float64 = pa.Field(gt=0, nullable=True)
    calendar_near_expiry: pl.Date = pa.Field(nullable=True)
    calendar_far_expiry: pl.Date = pa.Field(nullable=True)
    calendar_forward: pl.Float64 = pa.Field(gt=0, nullable=True)
    calendar_forward_source: str = pa.Field(isin=["vx_futures", "parity"], nullable=True)
    calendar_debit_pts: pl.Float64 = pa.Field(nullable=True)
    calendar_contracts: pl.Int64 = pa.Field(ge=0, nullable=True)
    calendar_cost_usd: pl.Float64 = pa.Field(nullable=True)
    vx_expiry: pl.Date = pa.Field(nullable=True)
    vx_price: pl.Float64 = pa.Field(gt=0, nullable=True)
    vx_contracts: pl.Int64 = pa.Field(ge=0, nullable=True)
    vx_budget_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    vx_risk_per_contract_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    widened_root: str = pa.Field(nullable=True)
    widened_expiry: pl.Date = pa.Field(nullable=True)
    widened_short_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    widened_long_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    widened_short_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    widened_long_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    widened_contracts: pl.Int64 = pa.Field(ge=0, nullable=True)
    roll: bool = pa.Field(nullable=True)
    roll_expiry: pl.Date = pa.Field(nullable=True)
    roll_from_short_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    roll_to_short_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    roll_from_short_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    roll_to_short_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    rationale: str = pa.Field(nullable=True)
    params_json: str = pa.Field(nullable=True)

    _finite = finite("spot", "credit_pts", "max_loss_pts", "be_low", "be_high", "pop", "credit_usd",
                     "max_loss_usd")
    strikes_ordered = row_rule(
        "condor_strikes_ordered", "condor strikes not long put < short put < short call < long call",
        _ok() | ((pl.col("long_put") < pl.col("short_put")) & (pl.col("short_put") < pl.col("short_call"))
                 & (pl.col("short_call") < pl.col("long_call"))),
        ["status", "long_put", "short_put", "short_call", "long_call"])
    breakevens = row_rule("breakevens_ordered", "be_low not below be_high",
                          pl.col("be_low") < pl.col("be_high"), ["be_low", "be_high"])
    expiry_ahead = row_rule("expiry_on_or_after_as_of", "expiry before the night",
                            pl.col("expiry") >= pl.col("as_of"), ["expiry", "as_of"])
    skip_says_why = row_rule("skip_has_reason", "a night without a recommendation gives no reason",
                             (pl.col("status") == "ok") | pl.col("skip_reason").is_not_null(),
                             ["status", "skip_reason"])
    untrusted_has_no_condor = row_rule(
        "untrusted_has_no_condor", "an untrusted night carries condor strikes",
        (pl.col("status") != "untrusted") | pl.col("short_put").is_null(), ["status", "short_put"])

    class Config:
        unique = ["as_of"]


@contract("core.recommendation_legs", date_col="as_of", cadence="event")
class RecommendationLegs(Core):
    as_of: pl.Date
    layer: str = pa.Field(isin=["condor", "calendar", "vx_hedge", "roll"])
    leg_no: pl.Int64 = pa.Field(ge=0)
    instrument: str = pa.Field(isin=["option", "future"])
    underlying: str = pa.Field(isin=["SPX", "VIX", "VX"])
    root: str = pa.Field(nullable=True)
    expiry: pl.Date = pa.Field(nullable=True)
    strike: pl.Float64 = pa.Field(gt=0, nullable=True)
    right: str = pa.Field(isin=["C", "P"], nullable=True)
    side: str = pa.Field(isin=["sell", "buy"])
    ratio: pl.Int64 = pa.Field(ge=0, nullable=True)
    quantity: pl.Int64 = pa.Field(ge=0, nullable=True)
    bid: pl.Float64 = pa.Field(ge=0, nullable=True)
    ask: pl.Float64 = pa.Field(ge=0, nullable=True)
    mid: pl.Float64 = pa.Field(ge=0, nullable=True)
    price: pl.Float64 = pa.Field(ge=0, nullable=True)
    iv: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 10}, nullable=True)
    delta: pl.Float64 = pa.Field(in_range={"min_value": -1, "max_value": 1}, nullable=True)
    delta_source: str = pa.Field(isin=["vendor", "model"], nullable=True)
    dte_days: pl.Int64 = pa.Field(ge=0, nullable=True)
    t_years: pl.Float64 = pa.Field(ge=0, nullable=True)
    multiplier: pl.Float64 = pa.Field(gt=0, nullable=True)
    note: str = pa.Field(nullable=True)

    _finite = finite("strike", "bid", "ask", "mid", "price", "iv", "delta")
    option_has_contract = row_rule(
        "option_leg_names_its_contract", "an option leg without strike, right or expiry",
        (pl.col("instrument") != "option")
        | (pl.col("strike").is_not_null() & pl.col("right").is_not_null() & pl.col("expiry").is_not_null()),
        ["instrument", "strike", "right", "expiry"])
    not_crossed = row_rule("ask_ge_bid", "ask below bid (crossed quote)",
                           (pl.col("ask") >= pl.col("bid")) | (pl.col("ask") == 0), ["ask", "bid"])
    expiry_ahead = row_rule("expiry_on_or_after_as_of", "expiry before the night",
                            pl.col("expiry") >= pl.col("as_of"), ["expiry", "as_of"])

    class Config:
        unique = ["as_of", "layer", "leg_no"]


@contract("core.recommendation_payoff", date_col="as_of", cadence="event")
class RecommendationPayoff(Core):
    as_of: pl.Date
    spx_level: pl.Float64 = pa.Field(gt=0)
    level_pct: pl.Float64 = pa.Field(nullable=True)
    vix_level: pl.Float64 = pa.Field(gt=0, nullable=True)
    condor_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    calendar_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    vx_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    total_pnl_usd: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("spx_level", "condor_pnl_usd", "calendar_pnl_usd", "vx_pnl_usd", "total_pnl_usd")
    total_is_sum = row_rule(
        "total_is_sum_of_layers", "total_pnl_usd is not condor + calendar + VX P&L",
        _close(pl.col("total_pnl_usd"),
               pl.sum_horizontal("condor_pnl_usd", "calendar_pnl_usd", "vx_pnl_usd"), rel=1e-9, abs_=1e-4),
        ["total_pnl_usd", "condor_pnl_usd", "calendar_pnl_usd", "vx_pnl_usd"])

    class Config:
        unique = ["as_of", "spx_level"]


# -- backtest (50_core_backtest.sql) -----------------------------------------------------------------

@contract("core.backtest_trades", date_col="entry_date", cadence="event")
class BacktestTrades(Core):
    strategy: str = pa.Field(isin=["alvh", "plain_ic"])
    trade_id: str
    entry_date: pl.Date
    expiry: pl.Date
    root: str = pa.Field(isin=["SPX", "SPXW"])
    contracts: pl.Int64 = pa.Field(ge=0)
    short_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    long_put: pl.Float64 = pa.Field(gt=0, nullable=True)
    short_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    long_call: pl.Float64 = pa.Field(gt=0, nullable=True)
    credit_pts: pl.Float64 = pa.Field(nullable=True)
    credit_usd: pl.Float64 = pa.Field(nullable=True)
    hedge_cost_usd: pl.Float64 = pa.Field(nullable=True)
    max_loss_usd: pl.Float64 = pa.Field(nullable=True)
    capital_at_risk_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    regime: str = pa.Field(isin=REGIMES, nullable=True)
    score: pl.Float64 = _points()
    status: str = pa.Field(isin=["closed", "open"])
    exit_date: pl.Date = pa.Field(nullable=True)
    exit_reason: str = pa.Field(nullable=True)
    settle_basis: str = pa.Field(nullable=True)
    days_held: pl.Int64 = pa.Field(ge=0, nullable=True)
    pnl_usd: pl.Float64 = pa.Field(nullable=True)
    hedge_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    commissions_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    return_on_risk: pl.Float64 = pa.Field(nullable=True)
    stale_marks: pl.Int64 = pa.Field(ge=0, nullable=True)
    legs_json: str = pa.Field(nullable=True)
    note: str = pa.Field(nullable=True)
    condor_exit_reason: str = pa.Field(nullable=True)

    _finite = finite("credit_pts", "credit_usd", "max_loss_usd", "pnl_usd", "return_on_risk")
    exit_after_entry = row_rule("exit_on_or_after_entry", "exit_date before entry_date",
                                pl.col("exit_date") >= pl.col("entry_date"), ["exit_date", "entry_date"])
    expiry_after_entry = row_rule("expiry_on_or_after_entry", "condor expires before its entry",
                                  pl.col("expiry") >= pl.col("entry_date"), ["expiry", "entry_date"])
    status_matches_exit = row_rule(
        "status_matches_exit_date", "closed without exit_date, or open with one",
        (pl.col("status") == "closed") == pl.col("exit_date").is_not_null(), ["status", "exit_date"])

    class Config:
        unique = ["strategy", "trade_id"]


@contract("core.backtest_daily", date_col="date", session_cols=("date",))
class BacktestDaily(Core):
    strategy: str = pa.Field(isin=["alvh", "plain_ic", "spx"])
    date: pl.Date
    pnl_usd: pl.Float64 = pa.Field(nullable=True)
    hedge_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    cum_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    capital_at_risk_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    daily_return: pl.Float64 = pa.Field(ge=-1, nullable=True)
    equity: pl.Float64 = pa.Field(ge=0, nullable=True)
    drawdown: pl.Float64 = pa.Field(in_range={"min_value": -1, "max_value": 1e-12}, nullable=True)
    open_trades: pl.Int64 = pa.Field(ge=0, nullable=True)
    entries: pl.Int64 = pa.Field(ge=0, nullable=True)
    exits: pl.Int64 = pa.Field(ge=0, nullable=True)
    commissions_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    capital_called_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    book_value_usd: pl.Float64 = pa.Field(nullable=True)
    interest_usd: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("pnl_usd", "cum_pnl_usd", "daily_return", "equity", "drawdown")

    class Config:
        unique = ["strategy", "date"]


@contract("core.backtest_metrics", date_col="as_of", session_cols=("as_of",))
class BacktestMetrics(Core):
    as_of: pl.Date
    strategy: str = pa.Field(isin=["alvh", "plain_ic", "spx"])
    first_date: pl.Date = pa.Field(nullable=True)
    sessions: pl.Int64 = pa.Field(ge=0, nullable=True)
    total_return: pl.Float64 = pa.Field(ge=-1, nullable=True)
    cagr: pl.Float64 = pa.Field(ge=-1, nullable=True)
    volatility: pl.Float64 = pa.Field(ge=0, nullable=True)
    sharpe: pl.Float64 = pa.Field(nullable=True)
    sortino: pl.Float64 = pa.Field(nullable=True)
    max_drawdown: pl.Float64 = pa.Field(in_range={"min_value": -1, "max_value": 1e-12}, nullable=True)
    calmar: pl.Float64 = pa.Field(nullable=True)
    irr: pl.Float64 = pa.Field(nullable=True)
    cum_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    avg_capital_at_risk_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    trades_closed: pl.Int64 = pa.Field(ge=0, nullable=True)
    trades_open: pl.Int64 = pa.Field(ge=0, nullable=True)
    win_rate: pl.Float64 = _score()
    avg_trade_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    hedge_pnl_usd: pl.Float64 = pa.Field(nullable=True)
    capital_usd: pl.Float64 = pa.Field(gt=0, nullable=True)
    max_drawdown_usd: pl.Float64 = pa.Field(le=1e-6, nullable=True)
    avg_return_on_risk: pl.Float64 = pa.Field(nullable=True)
    note: str = pa.Field(nullable=True)

    first_before_as_of = row_rule("first_date_on_or_before_as_of", "first_date after as_of",
                                  pl.col("first_date") <= pl.col("as_of"), ["first_date", "as_of"])

    class Config:
        unique = ["as_of", "strategy"]
