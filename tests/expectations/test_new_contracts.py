"""Contracts of the issue-20 tables, one rule at a time on one-row frames: core.parity_daily,
core.pcf_daily, the positioning columns of core.funding_daily, raw.perp_open_interest,
raw.perp_liquidations and raw.constituent_fundamentals."""

from __future__ import annotations

import math
from datetime import date, datetime

import polars as pl
import pytest

from expectations.contracts import check_rows

D = date(2026, 3, 2)
F, S, T = 6030.0, 6000.0, 0.2

PARITY = dict(quote_date=D, root="SPXW", expiry=date(2026, 5, 14), underlying="SPX", spot=S, dte_days=73,
              t_years=T, pairs_quoted=80, pairs_fit=40, fit_method="wls", forward_implied=F,
              forward_basis_pts=F - S, discount_factor_implied=0.992, rate_implied=0.04,
              carry_implied=math.log(F / S) / T, dividend_yield_implied=0.015, parity_fit_rmse_pts=0.1,
              cost_per_pair_pts=0.15, parity_residual_conversion_max_pts=-0.4,
              parity_residual_reversal_max_pts=-0.5, parity_arb_conversions=0, parity_arb_reversals=0,
              atm_strike=6030.0, extrinsic_atm_pts=120.0, extrinsic_atm_vol_pct=17.8,
              short_put_strike=5700.0, short_call_strike=6250.0, extrinsic_short_put_pts=30.0,
              extrinsic_short_call_pts=20.0)


def failed(table: str, row: dict) -> list[str]:
    return check_rows(table, pl.DataFrame([row]))[1]["check_name"].to_list()


def test_parity_daily_valid_row_passes():
    assert failed("core.parity_daily", PARITY) == []


@pytest.mark.parametrize("change, check", [
    ({"dte_days": 70}, "parity_dte_is_expiry_minus_quote_date"),
    ({"pairs_fit": 90}, "parity_fit_pairs_within_quoted"),
    ({"forward_basis_pts": 25.0}, "forward_basis_is_forward_minus_spot"),
    ({"carry_implied": 0.05}, "carry_is_log_forward_over_spot"),
    ({"short_call_strike": 5900.0}, "short_strikes_otm"),
    ({"fit_method": "ols"}, "isin(['wls', 'unit_discount'])"),
])
def test_parity_daily_rules(change, check):
    assert failed("core.parity_daily", {**PARITY, **change}) == [check]


def test_pcf_daily_yield_is_the_inverse():
    row = dict(date=D, constituents=50, weight_covered_pct=70.0, pcf_index=25.0, pcf_median=22.0,
               cf_yield_pct=4.0, pcf_chg_20d_pct=1.5, pcf_chg_60d_pct=-2.0)
    assert failed("core.pcf_daily", row) == []
    assert failed("core.pcf_daily", {**row, "cf_yield_pct": 5.0}) == ["cf_yield_is_100_over_pcf"]


def test_funding_daily_spike_with_rising_oi_needs_a_spike():
    row = dict(venue="binance", symbol="BTC", date=D, n_events=3, funding_apr=0.1095, funding_8h_bps=1.0,
               funding_spike=True, funding_spike_rising_oi=True, liquidations_long_usd=1e6,
               liquidations_short_usd=2e5, open_interest_chg_pct=1.0, perp_rv20_pct=45.0)
    assert failed("core.funding_daily", row) == []
    assert failed("core.funding_daily", {**row, "funding_spike": False}) == ["spike_rising_oi_implies_spike"]
    assert failed("core.funding_daily", {**row, "liquidations_long_usd": -1.0}) == ["greater_than_or_equal_to(0)"]


def test_raw_perp_tables():
    oi = dict(venue="binance", symbol="BTC", ts=datetime(2026, 3, 2, 0, 5), open_interest=81000.0,
              open_interest_usd=5.4e9, top_trader_long_short_ratio=1.1, account_long_short_ratio=1.9,
              taker_long_short_vol_ratio=1.0)
    assert failed("raw.perp_open_interest", oi) == []
    assert failed("raw.perp_open_interest", {**oi, "open_interest": None, "open_interest_usd": None}) \
        == ["open_interest_in_base_or_usd"]
    liq = dict(venue="binance", symbol="BTC", liq_ts=datetime(2026, 3, 2, 1), side="long", price=60000.0,
               base_amount=0.5, quote_usd=30000.0)
    assert failed("raw.perp_liquidations", liq) == []
    assert failed("raw.perp_liquidations", {**liq, "quote_usd": 40000.0}) == ["liquidation_notional_is_price_x_amount"]
    assert failed("raw.perp_liquidations", {**liq, "side": "sell"}) == ["isin(['long', 'short'])"]


def test_raw_constituent_fundamentals():
    row = dict(date=D, ticker="AAPL", index_weight=0.07, price=227.5, ocf_per_share_ttm=7.6)
    assert failed("raw.constituent_fundamentals", row) == []
    assert failed("raw.constituent_fundamentals", {**row, "index_weight": 7.0}) == ["less_than_or_equal_to(1)"]
