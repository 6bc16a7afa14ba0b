"""Backtest statistics: quantstats-compatible return statistics, XIRR, core.backtest_metrics
(account-based, with a minimum history for annualised figures).

Pure numpy + polars; no I/O, DuckDB, Prefect or sources.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from transforms.backtest.account import account_stats
from transforms.backtest.params import BENCHMARK, BacktestParams

# -- statistics --------------------------------------------------------------------------------------

METRICS_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(), "strategy": pl.String(), "first_date": pl.Date(), "sessions": pl.Int64(),
    "total_return": pl.Float64(), "cagr": pl.Float64(), "volatility": pl.Float64(),
    "sharpe": pl.Float64(), "sortino": pl.Float64(), "max_drawdown": pl.Float64(),
    "calmar": pl.Float64(), "irr": pl.Float64(), "cum_pnl_usd": pl.Float64(),
    "avg_capital_at_risk_usd": pl.Float64(), "trades_closed": pl.Int64(),
    "trades_open": pl.Int64(), "win_rate": pl.Float64(), "avg_trade_pnl_usd": pl.Float64(),
    "hedge_pnl_usd": pl.Float64(), "capital_usd": pl.Float64(), "max_drawdown_usd": pl.Float64(),
    "avg_return_on_risk": pl.Float64(), "note": pl.String(),
}


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def return_stats(returns: np.ndarray, periods: int = 252) -> dict[str, float | None]:
    """quantstats' definitions (0.0.86, rf = 0), so the report and the tearsheet agree:
    CAGR = (prod(1 + r))^(periods / n) - 1; Sharpe = mean / std(ddof 1) x sqrt(periods);
    Sortino = mean / sqrt(sum(r[r < 0]^2) / n) x sqrt(periods); max drawdown = min(equity /
    running peak - 1) with the peak starting at 1; volatility = std x sqrt(periods)."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    n = r.size
    if n == 0:
        return {k: None for k in ("total_return", "cagr", "volatility", "sharpe", "sortino",
                                  "max_drawdown", "calmar")}
    wealth = float(np.prod(1.0 + r))
    total = wealth - 1.0
    cagr = wealth ** (periods / n) - 1.0 if wealth > 0 else float("nan")
    std = float(np.std(r, ddof=1)) if n > 1 else float("nan")
    sharpe = float(np.mean(r)) / std * math.sqrt(periods) if std and std > 0 else float("nan")
    down = math.sqrt(float(np.sum(r[r < 0] ** 2)) / n)
    sortino = float(np.mean(r)) / down * math.sqrt(periods) if down > 0 else float("nan")
    eq = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.maximum(eq, 1.0))
    mdd = float(np.min(eq / peak - 1.0))
    calmar = cagr / abs(mdd) if mdd < 0 and math.isfinite(cagr) else float("nan")
    return {"total_return": _finite(total), "cagr": _finite(cagr),
            "volatility": _finite(std * math.sqrt(periods)), "sharpe": _finite(sharpe),
            "sortino": _finite(sortino), "max_drawdown": _finite(mdd), "calmar": _finite(calmar)}


def xirr(days: np.ndarray, flows: np.ndarray) -> float | None:
    """Annual rate r with sum(flow / (1 + r)^(day / 365)) = 0 (days from the first flow).

    Bisection on log(1 + r), 1 + r between 10^-4 and 10^9; None when the flows do not change
    sign or no root is bracketed."""
    f = np.asarray(flows, dtype=float)
    t = (np.asarray(days, dtype=float) - float(np.min(days))) / 365.0
    if not (np.any(f > 0) and np.any(f < 0)):
        return None

    def npv(lg: float) -> float:
        return float(np.sum(f * np.exp(-lg * t)))

    lo, hi = math.log(1e-4), math.log(1e9)
    flo, fhi = npv(lo), npv(hi)
    if flo == 0:
        return math.exp(lo) - 1
    if flo * fhi > 0:
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        fm = npv(mid)
        if fm == 0 or hi - lo < 1e-12:
            break
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi)) - 1.0


def book_irr(daily: pl.DataFrame) -> float | None:
    """IRR of a book from its daily rows: every increase of capital_called_usd is money in on its
    date, the book value (open trades at tonight's marks) is money out on the last. On the fixed
    account of the backtest the capital comes in once, on the first session."""
    if daily.is_empty() or daily["capital_called_usd"].null_count() == daily.height:
        return None
    d = daily.sort("date")
    called = d["capital_called_usd"].fill_null(0).to_numpy()
    flows = -np.diff(np.concatenate([[0.0], called]))
    flows[-1] += float(d["book_value_usd"][-1])
    days = np.array([x.toordinal() for x in d["date"].to_list()], dtype=float)
    keep = flows != 0
    if keep.sum() < 2:
        return None
    return xirr(days[keep], flows[keep])


def _mean(s: pl.Series) -> float | None:
    s = s.drop_nulls()
    return float(s.mean()) if s.len() else None


def backtest_metrics(daily: pl.DataFrame, trades: pl.DataFrame, as_of: Sequence[date],
                     params: BacktestParams | None = None) -> pl.DataFrame:
    """core.backtest_metrics: one row per as_of x strategy from the daily rows up to as_of and
    the trades closed by then (point in time: a row for D reads nothing dated after D).

    Returns are account-based (transforms/backtest/account.py); the annualised figures (CAGR,
    volatility, Sharpe, Sortino, Calmar, IRR) are NULL under p.min_sessions_annualised sessions and
    `note` says why. The IRR discounts the account's capital in on the first session and its value
    out on the night (one inflow: close to the CAGR on calendar days)."""
    p = params or BacktestParams()
    rows = []
    # per strategy: its rows by date once; a night's rows are then a prefix (no filter per night)
    books = [(name, g.sort("date"), trades.filter(pl.col("strategy") == name))
             for (name,), g in sorted(daily.partition_by("strategy", as_dict=True).items())]
    books = [(name, g, np.array(g["date"].to_list(), dtype="datetime64[D]"), t) for name, g, t in books]
    for d in sorted(set(as_of)):
        for name, book, book_dates, book_trades in books:
            n = int(np.searchsorted(book_dates, np.datetime64(d, "D"), side="right"))
            if n == 0:
                continue
            g = book.slice(0, n)
            is_book = name != BENCHMARK
            stats = account_stats(g["daily_return"].to_numpy(),
                                  capital_usd=p.capital_usd if is_book else None,
                                  periods=p.periods_per_year, min_sessions=p.min_sessions_annualised)
            reason = stats.pop("reason")
            closed = book_trades.filter(pl.col("exit_date") <= d)
            rows.append({
                "as_of": d, "strategy": name, "first_date": g["date"][0], "sessions": g.height,
                **stats,
                "irr": book_irr(g) if is_book and reason is None else None,
                "cum_pnl_usd": float(g["pnl_usd"].sum()) if is_book else None,
                "avg_capital_at_risk_usd": float(g["capital_at_risk_usd"].mean()) if is_book else None,
                "trades_closed": closed.height if is_book else None,
                "trades_open": int(g["open_trades"][-1]) if is_book else None,
                "win_rate": (float((closed["pnl_usd"] > 0).mean()) if closed.height else None)
                if is_book else None,
                "avg_trade_pnl_usd": float(closed["pnl_usd"].mean()) if is_book and closed.height
                else None,
                "hedge_pnl_usd": float(g["hedge_pnl_usd"].sum()) if is_book else None,
                "capital_usd": p.capital_usd if is_book else None,
                "avg_return_on_risk": _mean(closed["return_on_risk"]) if is_book else None,
                "note": reason,
            })
    return pl.DataFrame(rows, schema=METRICS_SCHEMA)
