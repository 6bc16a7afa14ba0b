"""Core-table contracts, one cross-column rule at a time, on small inline frames (nullable columns
a frame does not carry are allowed: the writes insert by name)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from expectations.contracts import check_rows

D = date(2026, 3, 2)

GAMMA_DAILY = dict(date=D, underlying="SPX", spot=6000.0, net_gex_usd_per_pct=-2.0e9, call_gex_usd_per_pct=3.0e9,
                   put_gex_usd_per_pct=-5.0e9, contracts=9000, expired_rows=0, preset="default",
                   gross_gex_usd_per_pct=8.0e9, zero_gamma=6100.0, zero_gamma_flips=[6100.0], flip_count=1,
                   flip_search_low=4800.0, flip_search_high=7200.0, zero_dte_share_pct=12.0)


def failed(table: str, row: dict, **schema) -> list[str]:
    f = pl.DataFrame([row], schema_overrides=schema or None)
    return check_rows(table, f)[1]["check_name"].to_list()


def test_gamma_daily_valid_row_passes():
    assert failed("core.gamma_daily", GAMMA_DAILY) == []


@pytest.mark.parametrize("change, check", [
    ({"zero_gamma": 9500.0, "zero_gamma_flips": [9500.0]}, "zero_gamma_within_50pct_of_spot"),
    ({"net_gex_usd_per_pct": -1.0e9}, "spot_gex_is_call_plus_put"),
    ({"gross_gex_usd_per_pct": 1.0e9}, "gross_gex_covers_net"),
    ({"flip_count": 2}, "flip_count_matches_flips"),
    ({"flip_search_low": 6100.0}, "flip_search_brackets_spot"),
    ({"zero_dte_share_pct": 140.0}, "in_range(0, 100)"),
])
def test_gamma_daily_rules(change, check):
    assert failed("core.gamma_daily", {**GAMMA_DAILY, **change}) == [check]


def test_no_zero_gamma_in_range_is_fine():
    assert failed("core.gamma_daily", {**GAMMA_DAILY, "zero_gamma": None, "zero_gamma_flips": [],
                                       "flip_count": 0}) == []


def test_gamma_tables_net_is_call_plus_put():
    row = dict(date=D, underlying="SPX", preset="default", strike=6000.0, call_gex_usd_per_pct=1.0, put_gex_usd_per_pct=-3.0,
               net_gex_usd_per_pct=-2.0, call_oi=10, put_oi=20, contracts=2)
    assert failed("core.gamma_by_strike", row) == []
    assert failed("core.gamma_by_strike", {**row, "net_gex_usd_per_pct": 4.0}) == ["net_gex_is_call_plus_put"]


def test_gamma_by_expiry_bucket_and_dte_follow_the_dates():
    row = dict(date=D, underlying="SPX", preset="default", root="SPXW", expiry=date(2026, 3, 6), dte_days=4,
               t_years=0.011, bucket="<=7d", call_gex_usd_per_pct=1.0, put_gex_usd_per_pct=-1.0, net_gex_usd_per_pct=0.0,
               call_oi=1, put_oi=1, contracts=2)
    assert failed("core.gamma_by_expiry", row) == []
    assert failed("core.gamma_by_expiry", {**row, "bucket": "0DTE"}) == ["bucket_matches_dte"]
    assert failed("core.gamma_by_expiry", {**row, "dte_days": 5, "bucket": "<=7d"}) == ["dte_is_expiry_minus_date"]


def test_breadth_daily_arithmetic():
    row = dict(exchange="NYSE", date=D, advances=1800, declines=1200, unchanged=100, net_advances=600,
               new_highs=50, new_lows=10, net_new_highs=40, ad_pct=19.35)
    assert failed("core.breadth_daily", row) == []
    assert failed("core.breadth_daily", {**row, "net_advances": 500}) == ["net_advances_is_a_minus_d"]
    assert failed("core.breadth_daily", {**row, "net_new_highs": 60}) == ["net_new_highs_is_h_minus_l"]
    assert failed("core.breadth_daily", {**row, "advances": 0, "declines": 0, "unchanged": 0,
                                         "net_advances": 0, "ad_pct": 0.0}) == ["issues_traded"]


def test_funding_daily_apr_is_the_8h_rate_annualised():
    row = dict(venue="binance", symbol="BTC", date=D, n_events=3, interval_h=8, funding_8h_bps=1.0,
               funding_apr=0.1095)
    assert failed("core.funding_daily", row) == []
    assert failed("core.funding_daily", {**row, "funding_apr": 0.0365}) == ["apr_matches_8h_rate"]
    assert failed("core.funding_daily", {**row, "interval_h": 3}) == ["isin([1, 2, 4, 8])"]


def test_vol_daily_ratios_flags_and_vx_expiries():
    row = dict(date=D, vix=20.0, vix9d=22.0, vix3m=19.0, vix9d_vix_ratio=1.1, vix_vix3m_ratio=20 / 19,
               vix9d_vix_inverted=True, vix_vix3m_inverted=True, vx1_expiry=date(2026, 3, 18),
               vx2_expiry=date(2026, 4, 15))
    assert failed("core.vol_daily", row) == []
    assert failed("core.vol_daily", {**row, "vix9d_vix_ratio": 0.9}) == ["vix9d_vix_ratio_matches"]
    assert failed("core.vol_daily", {**row, "vix_vix3m_inverted": False}) == ["vix3m_inverted_flag_matches"]
    assert failed("core.vol_daily", {**row, "vx1_expiry": D}) == ["vx1_expiry_after_date"]
    assert failed("core.vol_daily", {**row, "vx2_expiry": date(2026, 3, 18)}) == ["vx2_expiry_after_vx1"]


def test_macro_daily_event_window_covers_each_window():
    row = dict(date=D, cpi_window=True, ppi_window=False, fomc_window=False, event_window=True)
    assert failed("core.macro_daily", row) == []
    assert failed("core.macro_daily", {**row, "event_window": False}) == ["event_window_covers_windows"]


def test_macro_event_study_rel_day_sign_and_reer_publication():
    row = dict(event="CPI", event_date=D, rel_day=2, date=date(2026, 3, 4), reer_series_id="RBUSBIS",
               reer_asof=date(2026, 1, 31))
    assert failed("core.macro_event_study", row) == []
    assert failed("core.macro_event_study", {**row, "rel_day": -2}) == ["rel_day_sign_matches_dates"]
    assert failed("core.macro_event_study", {**row, "reer_asof": date(2026, 3, 5)}) == ["reer_asof_not_after_date"]


def test_signals_points_add_up_to_the_score():
    row = dict(date=D, gamma_score_pts=20.0, funding_score_pts=10.0, breadth_score_pts=5.0, volatility_score_pts=5.0,
               events_score_pts=0.0, unwind_score=40.0, regime="crowded")
    assert failed("core.signals_daily", row) == []
    assert failed("core.signals_daily", {**row, "unwind_score": 45.0}) == ["points_add_up_to_score"]
    assert failed("core.signals_daily", {**row, "regime": "panic"}) == ["isin(['calm', 'crowded', 'unwinding', 'recovery'])"]


def test_recommendation_condor_is_ordered_and_an_untrusted_night_has_none():
    ok = dict(as_of=D, status="ok", long_put=5700.0, short_put=5750.0, short_call=6250.0, long_call=6300.0,
              be_low=5745.0, be_high=6255.0, expiry=date(2026, 3, 20), structure="iron_condor+vx_futures")
    assert failed("core.recommendations", ok) == []
    assert failed("core.recommendations", {**ok, "short_call": 5700.0}) == ["condor_strikes_ordered"]
    assert failed("core.recommendations", {**ok, "expiry": date(2026, 2, 27)}) == ["expiry_on_or_after_as_of"]
    untrusted = dict(as_of=D, status="untrusted", skip_reason="raw.option_quotes: freshness")
    assert failed("core.recommendations", untrusted) == []
    assert failed("core.recommendations", {**untrusted, "skip_reason": None}) == ["skip_has_reason"]
    assert failed("core.recommendations", {**untrusted, "short_put": 5750.0}) == ["untrusted_has_no_condor"]


def test_recommendation_legs_name_their_contract():
    leg = dict(as_of=D, layer="condor", leg_no=1, instrument="option", underlying="SPX", root="SPXW",
               expiry=date(2026, 3, 20), strike=5750.0, right="P", side="sell", bid=10.0, ask=10.5)
    assert failed("core.recommendation_legs", leg) == []
    assert failed("core.recommendation_legs", {**leg, "right": None}) == ["option_leg_names_its_contract"]
    assert failed("core.recommendation_legs", {**leg, "bid": 11.0}) == ["ask_ge_bid"]
    fut = dict(as_of=D, layer="vx_hedge", leg_no=1, instrument="future", underlying="VX", side="buy")
    assert failed("core.recommendation_legs", fut) == []


def test_payoff_total_is_the_sum_of_its_layers():
    row = dict(as_of=D, spx_level=6000.0, condor_pnl_usd=500.0, calendar_pnl_usd=-50.0, vx_pnl_usd=-20.0,
               total_pnl_usd=430.0)
    assert failed("core.recommendation_payoff", row) == []
    assert failed("core.recommendation_payoff", {**row, "total_pnl_usd": 500.0}) == ["total_is_sum_of_layers"]


def test_backtest_trades_status_and_dates():
    row = dict(strategy="alvh", trade_id="alvh-2026-03-02-1", entry_date=D, expiry=date(2026, 3, 20),
               root="SPXW", contracts=2, status="closed", exit_date=date(2026, 3, 10))
    assert failed("core.backtest_trades", row) == []
    assert failed("core.backtest_trades", {**row, "exit_date": None}) == ["status_matches_exit_date"]
    assert failed("core.backtest_trades", {**row, "exit_date": date(2026, 2, 27)}) == ["exit_on_or_after_entry"]


def test_backtest_drawdown_is_never_positive():
    row = dict(strategy="alvh", date=D, equity=1.02, drawdown=-0.01)
    assert failed("core.backtest_daily", row) == []
    assert failed("core.backtest_daily", {**row, "drawdown": 0.02}) == ["in_range(-1, 1e-12)"]
