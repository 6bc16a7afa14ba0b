"""Backtest point in time and statistics: the real ALVH / plain-condor rules over a small synthetic
market (Black-Scholes chains, a VIX chain, VX futures, a signal that turns crowded), and the
headline statistics against quantstats' own functions.
"""

from __future__ import annotations

import logging
import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from transforms.backtest import BacktestParams, Inputs, backtest, backtest_metrics, return_stats

START = date(2026, 1, 5)
N = 45


def _ncdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _bs(f: np.ndarray, k: np.ndarray, t: float, iv: np.ndarray, call: np.ndarray):
    sd = iv * math.sqrt(t)
    d1 = np.log(f / k) / sd + sd / 2
    c = f * _ncdf(d1) - k * _ncdf(d1 - sd)
    price = np.where(call, c, c - f + k)
    delta = np.where(call, _ncdf(d1), _ncdf(d1) - 1.0)
    return price, delta


def _quotes(day, underlying, root, expiry, spot, fwd, strikes, iv, t):
    ks = np.repeat(strikes, 2).astype(float)
    call = np.tile([True, False], len(strikes))
    vol = iv(ks)
    px, delta = _bs(np.full(ks.size, fwd), ks, t, vol, call)
    half = np.maximum(0.05, 0.03 * px) / 2
    keep = px > 0.05
    return pl.DataFrame({
        "quote_date": day, "root": root, "expiry": expiry, "strike": ks[keep],
        "right": np.where(call, "C", "P")[keep], "underlying": underlying, "spot": spot,
        "bid": np.round(np.maximum(px - half, 0.0), 2)[keep], "ask": np.round(px + half, 2)[keep],
        "iv": vol[keep], "delta": delta[keep], "open_interest": 100,
    })


@pytest.fixture(scope="module")
def market() -> Inputs:
    rng = np.random.default_rng(11)
    days, d = [], START
    while len(days) < N:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    spx = 6000 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, N)))
    vix = np.clip(15 - 200 * (spx / np.maximum.accumulate(spx) - 1) + rng.normal(0, 0.5, N), 10, 60)
    fridays = [days[0] + timedelta(days=i) for i in range(120)
               if (days[0] + timedelta(days=i)).weekday() == 4]
    wednesdays = [x for x in (days[0] + timedelta(days=i) for i in range(150))
                  if x.weekday() == 2 and 15 <= x.day <= 21]
    spx_rows, vix_rows, vx_rows, bars = [], [], [], []
    for i, day in enumerate(days):
        s, v = float(spx[i]), float(vix[i])
        bars += [{"symbol": "SPX", "date": day, "open": s, "close": s},
                 {"symbol": "VIX", "date": day, "open": v, "close": v}]
        for e in fridays:
            t = (e - day).days / 365
            if 0 < t <= 60 / 365:
                spx_rows.append(_quotes(day, "SPX", "SPXW", e, s, s, np.arange(4800, 7200, 25),
                                        lambda k, s=s, v=v: np.clip(v / 100 - 0.8 * (k / s - 1), 0.06, 0.9), t))
        for e in wednesdays:
            t = (e - day).days / 365
            if 0 < t <= 120 / 365:
                fwd = v + 1.5 * math.sqrt(t * 12)
                vx_rows.append({"trade_date": day, "expiry": e, "settle": round(fwd, 2), "weekly": False})
                vix_rows.append(_quotes(day, "VIX", "VIX", e, v, fwd, np.arange(10, 45, 1),
                                        lambda k: np.full(k.size, 0.9), t))
    score = np.where((np.arange(N) // 10) % 2 == 1, 65.0, 20.0)
    signals = pl.DataFrame({"date": days, "unwind_score": score,
                            "regime": np.where(score > 50, "crowded", "calm"),
                            "vix": vix, "funding_apr_z": np.where(score > 50, 1.5, 0.0),
                            "convergence": score > 50})
    return Inputs(spx_quotes=pl.concat(spx_rows), vix_quotes=pl.concat(vix_rows),
                  vx_futures=pl.DataFrame(vx_rows), index_bars=pl.DataFrame(bars), signals=signals)


def _upto(inp: Inputs, d: date) -> Inputs:
    return Inputs(spx_quotes=inp.spx_quotes.filter(pl.col("quote_date") <= d),
                  vix_quotes=inp.vix_quotes.filter(pl.col("quote_date") <= d),
                  vx_futures=inp.vx_futures.filter(pl.col("trade_date") <= d),
                  index_bars=inp.index_bars.filter(pl.col("date") <= d),
                  signals=inp.signals.filter(pl.col("date") <= d))


@pytest.fixture(scope="module")
def full(market):
    return backtest(market, BacktestParams())


def test_both_books_trade_and_alvh_adds_its_hedge_layers(full):
    trades = full["core.backtest_trades"]
    assert set(trades["strategy"]) == {"alvh", "plain_ic"}
    alvh = trades.filter(pl.col("strategy") == "alvh")
    crowded = alvh.filter(pl.col("regime") == "crowded")
    assert crowded.height and (crowded["hedge_cost_usd"] != 0).all()  # calendar (+ VX) bought
    assert '"layer":"calendar"' in crowded["legs_json"][0]
    assert (trades.filter(pl.col("strategy") == "plain_ic")["hedge_pnl_usd"] == 0).all()
    daily = full["core.backtest_daily"]
    assert set(daily["strategy"]) == {"alvh", "plain_ic", "spx"}
    for (_,), g in daily.partition_by("strategy", as_dict=True).items():
        assert g.height == N and g["date"].is_sorted()
    # every book's P&L adds up to its trades' P&L (closed and open at the marks)
    for name in ("alvh", "plain_ic"):
        assert daily.filter(pl.col("strategy") == name)["pnl_usd"].sum() == pytest.approx(
            trades.filter(pl.col("strategy") == name)["pnl_usd"].sum())


@pytest.mark.parametrize("cut", [20, 33])
def test_rows_up_to_d_do_not_change_when_later_sessions_arrive(market, full, cut):
    d = sorted(market.spx_quotes["quote_date"].unique())[cut - 1]
    part = backtest(_upto(market, d), BacktestParams())
    a = full["core.backtest_daily"].filter(pl.col("date") <= d)
    b = part["core.backtest_daily"]
    assert a.equals(b)
    closed = lambda t: t.filter(pl.col("exit_date") <= d)  # noqa: E731
    assert closed(full["core.backtest_trades"]).equals(closed(part["core.backtest_trades"]))
    entered = lambda t: t.filter(pl.col("entry_date") <= d).select(  # noqa: E731
        "trade_id", "entry_date", "short_put", "short_call", "credit_pts", "capital_at_risk_usd")
    assert entered(full["core.backtest_trades"]).equals(entered(part["core.backtest_trades"]))
    m_full = backtest_metrics(full["core.backtest_daily"], full["core.backtest_trades"], [d])
    m_part = backtest_metrics(part["core.backtest_daily"], part["core.backtest_trades"], [d])
    assert m_full.equals(m_part)


def test_statistics_match_quantstats():
    import quantstats as qs
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    import pandas as pd

    rng = np.random.default_rng(5)
    r = rng.normal(0.0008, 0.012, 180)
    r[40:45] = -0.03  # a drawdown
    s = pd.Series(r, index=pd.bdate_range("2026-01-05", periods=r.size))
    ours = return_stats(r, 252)
    assert ours["cagr"] == pytest.approx(qs.stats.cagr(s, periods=252))
    assert ours["sharpe"] == pytest.approx(qs.stats.sharpe(s, periods=252))
    assert ours["sortino"] == pytest.approx(qs.stats.sortino(s, periods=252))
    assert ours["max_drawdown"] == pytest.approx(qs.stats.max_drawdown(s))
    assert ours["volatility"] == pytest.approx(qs.stats.volatility(s, periods=252))
