"""Account-based returns: a book's daily P&L on a fixed account (the convention of ORATS, optopsy
and Cboe's strategy indexes) -> equity, daily return, drawdown and the annualised statistics.

Pure numpy; no I/O, DuckDB, Prefect or sources. General on purpose (any daily P&L series on any
account): the main backtest and a research mode can share it. Definitions in docs/report.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# No annualised figure (CAGR, volatility, Sharpe, Sortino, Calmar, IRR) from fewer sessions than
# this: a quarter of a year of daily returns; below it the figure is None and `reason` says why.
MIN_SESSIONS_ANNUALISED = 60

ANNUALISED = ("cagr", "volatility", "sharpe", "sortino", "calmar")
STAT_KEYS = ("total_return", *ANNUALISED, "max_drawdown", "max_drawdown_usd")


@dataclass(frozen=True)
class AccountCurve:
    """One book's account, session by session (arrays of the same length as the P&L).

    equity_usd: account value after the session (capital + cumulative P&L + idle interest);
    interest_usd: what the idle cash earned that session (0 without a rate series);
    daily_return: (pnl + interest) / account value before the session;
    equity: equity_usd / capital (growth of 1, the compounded daily returns exactly);
    drawdown: equity / running peak - 1, the peak starting at the capital (<= 0), so it equals the
    dollar drawdown over the account value at its peak."""

    capital_usd: float
    equity_usd: np.ndarray
    interest_usd: np.ndarray
    daily_return: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray


def account_curve(pnl_usd: np.ndarray, capital_usd: float, *, capital_at_risk_usd: np.ndarray | None = None,
                  idle_rate: np.ndarray | None = None, periods: int = 252) -> AccountCurve:
    """The fixed account a book trades from.

    pnl_usd: the book's P&L per session (marks at mid, fills, commissions). capital_usd: the
    account at the start (> 0). idle_rate: an annual rate per session (e.g. the 3-month T-bill) or
    None; the cash not at risk (value before the session - capital at risk) earns idle_rate /
    periods that session. Without a rate series idle cash earns 0 (stated, not assumed).
    A session that takes the account to zero or below ends it: later returns are 0 (no division by
    a non-positive value)."""
    if capital_usd <= 0:
        raise ValueError(f"capital_usd must be > 0, got {capital_usd}")
    pnl = np.nan_to_num(np.asarray(pnl_usd, dtype=float))
    n = pnl.size
    risk = np.zeros(n) if capital_at_risk_usd is None else \
        np.nan_to_num(np.asarray(capital_at_risk_usd, dtype=float))
    rate = None if idle_rate is None else np.asarray(idle_rate, dtype=float)
    equity_usd, interest, ret = np.zeros(n), np.zeros(n), np.zeros(n)
    prior = float(capital_usd)
    for i in range(n):
        if prior <= 0:  # the account is gone: nothing more to lose or earn
            equity_usd[i] = prior
            continue
        r = rate[i] if rate is not None and math.isfinite(rate[i]) else 0.0
        interest[i] = max(prior - risk[i], 0.0) * r / periods
        change = pnl[i] + interest[i]
        ret[i] = change / prior
        prior += change
        equity_usd[i] = prior
    growth = equity_usd / capital_usd
    peak = np.maximum.accumulate(np.maximum(growth, 1.0)) if n else growth
    return AccountCurve(float(capital_usd), equity_usd, interest, ret, growth,
                        growth / peak - 1.0 if n else growth)


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def min_history_reason(sessions: int, min_sessions: int = MIN_SESSIONS_ANNUALISED) -> str | None:
    """Why the annualised figures are withheld, or None when the history is long enough."""
    if sessions >= min_sessions:
        return None
    return (f"annualised figures need {min_sessions} sessions; {sessions} so far"
            if sessions else "no session yet")


def account_stats(returns: np.ndarray, *, capital_usd: float | None = None, periods: int = 252,
                  min_sessions: int = MIN_SESSIONS_ANNUALISED) -> dict[str, float | str | None]:
    """Statistics of one account's daily returns, quantstats' definitions (rf = 0):
    total return = prod(1 + r) - 1; CAGR = (prod(1 + r))^(periods / n) - 1; volatility = std(ddof 1)
    x sqrt(periods); Sharpe = mean / std x sqrt(periods); Sortino = mean / sqrt(sum(r[r < 0]^2) / n)
    x sqrt(periods); max drawdown = min(equity / running peak - 1), the peak starting at 1;
    Calmar = CAGR / |max drawdown|; max_drawdown_usd = the largest fall from a peak in dollars
    (needs capital_usd). The annualised ones are None under min_sessions, `reason` says why;
    total return and drawdown are shown from the first session (they are not annualised)."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    n = r.size
    out: dict[str, float | str | None] = {k: None for k in STAT_KEYS}
    out["reason"] = min_history_reason(n, min_sessions)
    if n == 0:
        return out
    eq = np.cumprod(1.0 + r)
    wealth = float(eq[-1])
    peak = np.maximum.accumulate(np.maximum(eq, 1.0))
    mdd = float(np.min(eq / peak - 1.0))
    out["total_return"] = _finite(wealth - 1.0)
    out["max_drawdown"] = _finite(mdd)
    if capital_usd:
        out["max_drawdown_usd"] = _finite(float(np.min(eq - peak)) * capital_usd)
    if out["reason"] is not None:
        return out
    cagr = wealth ** (periods / n) - 1.0 if wealth > 0 else float("nan")
    std = float(np.std(r, ddof=1)) if n > 1 else float("nan")
    mean = float(np.mean(r))
    down = math.sqrt(float(np.sum(r[r < 0] ** 2)) / n)
    out["cagr"] = _finite(cagr)
    out["volatility"] = _finite(std * math.sqrt(periods))
    out["sharpe"] = _finite(mean / std * math.sqrt(periods)) if std and std > 0 else None
    out["sortino"] = _finite(mean / down * math.sqrt(periods)) if down > 0 else None
    out["calmar"] = _finite(cagr / abs(mdd)) if mdd < 0 and math.isfinite(cagr) else None
    return out
