"""transforms/account.py: worked examples of the fixed-account statistics."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

from transforms import account as A


def days(n: int) -> list[date]:
    return [date(2020, 1, 1) + timedelta(days=i) for i in range(n)]


def test_equity_returns_and_drawdown_on_a_fixed_account():
    c = A.equity_curve(pl.DataFrame({"date": days(3), "pnl": [100.0, -220.0, 110.0]}), 1000.0)
    assert c["equity"].to_list() == [1100.0, 880.0, 990.0]
    # return = P&L / prior equity: 100/1000, -220/1100, 110/880
    assert c["daily_return"].to_list() == pytest.approx([0.10, -0.20, 0.125])
    assert c["drawdown"].to_list() == pytest.approx([0.0, -0.2, -0.1])


def test_a_loss_below_the_starting_capital_is_a_drawdown_from_the_capital():
    c = A.equity_curve(pl.DataFrame({"date": days(2), "pnl": [-50.0, 20.0]}), 1000.0)
    assert c["drawdown"].to_list() == pytest.approx([-0.05, -0.03])


def test_fewer_than_60_sessions_give_no_annualised_figure_and_say_why():
    c = A.equity_curve(pl.DataFrame({"date": days(59), "pnl": [1.0] * 59}), 100.0)
    s = A.stats(c, 100.0)
    assert (s.cagr, s.vol, s.sharpe, s.sortino, s.calmar) == (None, None, None, None, None)
    assert s.total_return == pytest.approx(0.59)
    assert s.notes == ("59 sessions < 60: no annualised figure",)


def test_constant_growth_cagr_and_zero_vol_has_no_sharpe():
    r = pl.DataFrame({"date": days(252), "daily_return": [0.001] * 252})
    c = A.equity_from_returns(r, 100.0)
    assert c["equity"][-1] == pytest.approx(100 * 1.001 ** 252)
    s = A.stats(c, 100.0)
    assert s.cagr == pytest.approx(1.001 ** 252 - 1)
    assert s.vol == pytest.approx(0.0, abs=1e-12) and s.sharpe is None and s.max_drawdown == 0.0
    assert "no Sharpe" in "; ".join(s.notes) and "no Calmar" in "; ".join(s.notes)


def test_sharpe_sortino_calmar_worked_example():
    # +2 %, -1 % alternating over 120 sessions: mean 0.5 %, sample sd 1.5062 %, downside dev
    # sqrt(mean(min(r, 0)^2)) = sqrt(0.5 * 0.01^2) = 0.70711 %
    r = pl.DataFrame({"date": days(120), "daily_return": [0.02, -0.01] * 60})
    c = A.equity_from_returns(r, 100.0)
    s = A.stats(c, 100.0)
    sd = math.sqrt(sum((x - 0.005) ** 2 for x in [0.02, -0.01] * 60) / 119)
    assert s.vol == pytest.approx(sd * math.sqrt(252))
    assert s.sharpe == pytest.approx(0.005 / sd * math.sqrt(252))
    assert s.sortino == pytest.approx(0.005 / math.sqrt(0.5 * 0.01 ** 2) * math.sqrt(252))
    assert s.max_drawdown == pytest.approx(-0.01)
    end = 100 * (1.02 * 0.99) ** 60
    assert s.cagr == pytest.approx((end / 100) ** (252 / 120) - 1)
    assert s.calmar == pytest.approx(s.cagr / 0.01)


def test_period_returns_compound_within_the_month_and_index_returns_use_month_ends():
    d = [date(2020, 1, 30), date(2020, 1, 31), date(2020, 2, 3), date(2020, 2, 28)]
    c = pl.DataFrame({"date": d, "daily_return": [0.01, 0.02, -0.01, 0.03]})
    m = A.period_returns(c, "1mo")
    assert m["ret"].to_list() == pytest.approx([1.01 * 1.02 - 1, 0.99 * 1.03 - 1])
    lv = pl.DataFrame({"date": d, "close": [100.0, 110.0, 120.0, 99.0]})
    assert A.index_period_returns(lv, "1mo")["ret"].to_list()[1] == pytest.approx(99 / 110 - 1)


def test_capital_must_be_positive():
    with pytest.raises(ValueError, match="capital"):
        A.equity_curve(pl.DataFrame({"date": days(1), "pnl": [1.0]}), 0.0)
