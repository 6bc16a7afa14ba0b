"""Account-based returns worked by hand: a fixed account, its drawdown in % and in dollars, idle
interest, and no annualised figure from a short history."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from transforms.backtest import BacktestParams, backtest_metrics
from transforms.backtest.account import account_curve, account_stats


def test_drawdown_pct_is_the_dollar_drawdown_over_the_account_at_its_peak():
    # $1,000,000 account: +50,000, -13,700, -6,300, +10,000 -> values 1,050,000, 1,036,300,
    # 1,030,000, 1,040,000. Peak 1,050,000; trough 1,030,000: -$20,000 = -1.905 % of the peak.
    acc = account_curve(np.array([50_000.0, -13_700.0, -6_300.0, 10_000.0]), 1_000_000.0)
    assert acc.equity_usd.tolist() == pytest.approx([1_050_000, 1_036_300, 1_030_000, 1_040_000])
    assert acc.daily_return.tolist() == pytest.approx(
        [0.05, -13_700 / 1_050_000, -6_300 / 1_036_300, 10_000 / 1_030_000])
    assert acc.drawdown.min() == pytest.approx(-20_000 / 1_050_000)
    s = account_stats(acc.daily_return, capital_usd=1_000_000.0, min_sessions=2)
    assert s["max_drawdown"] == pytest.approx(-20_000 / 1_050_000)
    assert s["max_drawdown_usd"] == pytest.approx(-20_000.0)
    assert s["total_return"] == pytest.approx(0.04)


def test_idle_cash_earns_the_rate_when_a_series_is_given():
    # $100,000 account, $40,000 at risk, 5 % a year over 250 periods: 60,000 x 0.05 / 250 = $12
    acc = account_curve(np.array([0.0]), 100_000.0, capital_at_risk_usd=np.array([40_000.0]),
                        idle_rate=np.array([0.05]), periods=250)
    assert acc.interest_usd.tolist() == pytest.approx([12.0])
    assert acc.daily_return.tolist() == pytest.approx([12 / 100_000])
    # without a series it earns nothing (stated in the DDL and docs/report.md)
    assert account_curve(np.array([0.0]), 100_000.0).interest_usd.tolist() == [0.0]


def test_a_lost_account_stops_compounding():
    acc = account_curve(np.array([-600.0, -600.0, 300.0]), 1_000.0)
    assert acc.equity_usd.tolist() == pytest.approx([400.0, -200.0, -200.0])
    assert acc.daily_return.tolist() == pytest.approx([-0.6, -1.5, 0.0])


def test_no_annualised_figure_under_the_minimum_history():
    one = account_stats(np.array([-0.012]), capital_usd=1e6)  # a one-session night
    assert one["cagr"] is None and one["sharpe"] is None and one["calmar"] is None
    assert one["reason"] == "annualised figures need 60 sessions; 1 so far"
    assert one["total_return"] == pytest.approx(-0.012)  # not annualised: shown
    r = np.tile([0.001, -0.0005, 0.0007], 20)  # 60 sessions: enough
    full = account_stats(r, capital_usd=1e6)
    assert full["reason"] is None
    assert full["cagr"] == pytest.approx(np.prod(1 + r) ** (252 / 60) - 1)
    assert full["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(252))


def test_metrics_rows_carry_the_reason_and_null_annualised_figures():
    d0 = date(2026, 3, 2)
    days = [d0 + timedelta(days=i) for i in range(3)]
    daily = pl.DataFrame({
        "strategy": ["alvh"] * 3, "date": days, "pnl_usd": [1000.0, -2000.0, 500.0],
        "hedge_pnl_usd": [0.0] * 3, "capital_at_risk_usd": [5000.0] * 3,
        "daily_return": [0.001, -2000 / 1_001_000, 500 / 999_000], "open_trades": [1] * 3,
        "capital_called_usd": [1e6] * 3, "book_value_usd": [1_001_000.0, 999_000.0, 999_500.0]})
    trades = pl.DataFrame(schema={"strategy": pl.String, "exit_date": pl.Date, "pnl_usd": pl.Float64,
                                  "return_on_risk": pl.Float64})
    m = backtest_metrics(daily, trades, days, BacktestParams()).sort("as_of")
    last = m.row(2, named=True)
    assert last["cagr"] is None and last["irr"] is None and last["sharpe"] is None
    assert last["note"] == "annualised figures need 60 sessions; 3 so far"
    assert last["max_drawdown_usd"] == pytest.approx(-2000.0)
    assert last["max_drawdown"] == pytest.approx(-2000 / 1_001_000)
    assert last["capital_usd"] == 1e6
