"""Account-based performance: equity of a fixed account from daily P&L, returns, drawdown and the
annualised statistics (CAGR, vol, Sharpe, Sortino, Calmar). Pure polars/numpy; no I/O.

Conventions (every strategy book and the research replicas share them):
- equity_t = capital + cumulative P&L; daily_return_t = pnl_t / equity_{t-1} (the first day's
  prior equity is the starting capital). P&L is never rescaled by notional or margin.
- drawdown_t = equity_t / running max(equity) - 1 (<= 0).
- Annualised figures use PERIODS_PER_YEAR sessions and are None (with the reason in `notes`) when
  the series has fewer than MIN_SESSIONS sessions, or when a denominator is zero.
- An account that loses all its capital stops: returns after equity <= 0 are undefined (None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from transforms.backtest.account import account_curve, account_stats

PERIODS_PER_YEAR = 252
MIN_SESSIONS = 60


def equity_curve(daily: pl.DataFrame, capital: float, pnl: str = "pnl", date: str = "date") -> pl.DataFrame:
    """`daily` (date, pnl) sorted by date -> date, pnl, equity, daily_return, drawdown: the frame
    view of `transforms.backtest.account.account_curve` (the one account model of the project).

    Example: P&L 100, -220, 110 on capital 1000 gives equity 1100, 880, 990, daily_return
    0.10, -0.20, 0.125 and drawdown 0, -0.2, -0.1 (tests/transforms/test_account.py).
    """
    if capital <= 0:
        raise ValueError(f"capital must be positive, got {capital}")
    f = daily.select(date, pnl).sort(date).with_columns(pl.col(pnl).fill_null(0.0).cast(pl.Float64))
    ac = account_curve(f[pnl].to_numpy(), capital)
    prior = np.concatenate([[float(capital)], ac.equity_usd[:-1]]) if f.height else ac.equity_usd
    return f.with_columns(
        equity=pl.Series(ac.equity_usd, dtype=pl.Float64),
        daily_return=pl.Series(np.where(prior > 0, ac.daily_return, np.nan), dtype=pl.Float64).fill_nan(None),
        drawdown=pl.Series(ac.drawdown, dtype=pl.Float64),
    ).rename({pnl: "pnl", date: "date"})


def equity_from_returns(returns: pl.DataFrame, capital: float, ret: str = "daily_return",
                        date: str = "date") -> pl.DataFrame:
    """A return series (an index, buy-and-hold) on the same fixed account: pnl_t = r_t * equity_{t-1}."""
    f = returns.select(date, ret).sort(date)
    growth = (1.0 + f[ret].fill_null(0.0)).cum_prod()
    eq = capital * growth
    pnl = eq - eq.shift(1).fill_null(capital)
    return equity_curve(f.select(date, pnl=pnl), capital, date=date)


@dataclass(frozen=True)
class Stats:
    sessions: int
    total_return: float | None
    cagr: float | None
    vol: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    calmar: float | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("sessions", "total_return", "cagr", "vol", "sharpe",
                                              "sortino", "max_drawdown", "calmar")} | {
            "notes": "; ".join(self.notes) or None}


def stats(curve: pl.DataFrame, capital: float, rf_annual: float = 0.0,
          periods: int = PERIODS_PER_YEAR, min_sessions: int = MIN_SESSIONS) -> Stats:
    """Statistics of an equity curve from `equity_curve`, by `transforms.backtest.account.
    account_stats` (quantstats' definitions, the same as the nightly backtest) on the returns in
    excess of rf_annual / periods; `notes` says why a figure is missing.
    """
    n = curve.height
    if n == 0:
        return Stats(0, None, None, None, None, None, None, None, ("no sessions",))
    r = curve["daily_return"].drop_nulls().to_numpy() - rf_annual / periods
    a = account_stats(r, capital_usd=capital, periods=periods, min_sessions=min_sessions)
    end = float(curve["equity"][-1])
    total, mdd = end / capital - 1.0, float(curve["drawdown"].min())
    if n < min_sessions:
        return Stats(n, total, None, None, None, None, mdd, None,
                     (f"{n} sessions < {min_sessions}: no annualised figure",))
    notes = ["account wiped out"] if end <= 0 else []
    vol = a["volatility"]
    sharpe = a["sharpe"] if vol is not None and vol > 1e-12 * math.sqrt(periods) else None
    if sharpe is None:  # float noise of P&L / prior equity on a constant return is not volatility
        notes.append("zero volatility: no Sharpe")
        vol = 0.0 if vol is not None and vol <= 1e-12 * math.sqrt(periods) else vol
    if a["sortino"] is None:
        notes.append("no losing session: no Sortino")
    if a["calmar"] is None:
        notes.append("no drawdown: no Calmar")
    cagr = a["cagr"] if end > 0 else -1.0
    return Stats(n, total, cagr, vol, sharpe, a["sortino"], mdd, a["calmar"], tuple(notes))


def period_returns(curve: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    """Compounded returns per calendar period ("1mo", "1y") from the daily returns:
    period, start, end, sessions, ret = prod(1 + r) - 1."""
    f = curve.select("date", "daily_return").sort("date")
    return (f.group_by_dynamic("date", every=every, label="left")
            .agg(start=pl.col("date").first(), end=pl.col("date").last(), sessions=pl.len(),
                 ret=(1.0 + pl.col("daily_return").fill_null(0.0)).product() - 1.0)
            .rename({"date": "period"}))


def index_period_returns(levels: pl.DataFrame, every: str = "1mo", value: str = "close") -> pl.DataFrame:
    """Returns per calendar period of an index level series: last level of the period over the last
    level of the previous period, minus 1 (the first period has none). Columns period, end, ret."""
    f = levels.select("date", value).sort("date")
    last = (f.group_by_dynamic("date", every=every, label="left")
            .agg(end=pl.col("date").last(), level=pl.col(value).last()).rename({"date": "period"}))
    return last.with_columns(ret=pl.col("level") / pl.col("level").shift(1) - 1.0).drop("level")
