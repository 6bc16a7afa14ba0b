"""Backtest simulation: the books replayed session by session -> core.backtest_trades and
core.backtest_daily (account-based returns of each book on a fixed account, the SPX benchmark).

Pure polars + numpy; no I/O, DuckDB, Prefect or sources. Rules, fills, marks: docs/report.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from transforms.backtest.account import account_curve
from transforms.backtest.book import _mark_and_exit, _open_trade, _Trade, _trade_value
from transforms.backtest.market import QUOTE_COLUMNS, Day, EntryRule, _Quotes, _Settlement
from transforms.backtest.params import BENCHMARK, OPTION_ROOTS_SPX, OPTION_ROOTS_VIX, BacktestParams

# -- the simulation ----------------------------------------------------------------------------------

@dataclass
class Inputs:
    """Warehouse frames the backtest reads (lineage columns are ignored).

    spx_quotes / vix_quotes: raw.option_quotes rows (QUOTE_COLUMNS) of SPX/SPXW and VIX/VIXW;
    vx_futures: raw.vx_futures; index_bars: raw.index_bars of SPX and VIX (open, close);
    signals: core.signals_daily (date, regime, score, ...) or None.
    """

    spx_quotes: pl.DataFrame
    index_bars: pl.DataFrame
    vix_quotes: pl.DataFrame | None = None
    vx_futures: pl.DataFrame | None = None
    signals: pl.DataFrame | None = None
    sessions: Sequence[date] | None = None  # default: every SPX chain date
    # annual risk-free rate by date (e.g. the 3-month T-bill) for the idle cash; None: it earns 0
    idle_rate: dict[date, float] | None = None


@dataclass
class _BookState:
    name: str
    rule: EntryRule
    open: list[_Trade] = field(default_factory=list)
    done: list[_Trade] = field(default_factory=list)
    last_entry_i: int | None = None
    n: int = 0
    prev: dict | None = None


TRADES_SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String(), "trade_id": pl.String(), "entry_date": pl.Date(),
    "expiry": pl.Date(), "root": pl.String(), "contracts": pl.Int64(),
    "short_put": pl.Float64(), "long_put": pl.Float64(), "short_call": pl.Float64(),
    "long_call": pl.Float64(), "credit_pts": pl.Float64(), "credit_usd": pl.Float64(),
    "hedge_cost_usd": pl.Float64(), "max_loss_usd": pl.Float64(),
    "capital_at_risk_usd": pl.Float64(), "regime": pl.String(), "score": pl.Float64(),
    "status": pl.String(), "exit_date": pl.Date(), "exit_reason": pl.String(),
    "settle_basis": pl.String(), "days_held": pl.Int64(), "pnl_usd": pl.Float64(),
    "hedge_pnl_usd": pl.Float64(), "commissions_usd": pl.Float64(), "return_on_risk": pl.Float64(),
    "stale_marks": pl.Int64(), "legs_json": pl.String(), "note": pl.String(),
    "condor_exit_reason": pl.String(),
}


def book_exit_reason(condor_reason: str | None, pnl_usd: float, has_hedges: bool) -> str | None:
    """The trade's exit label from the whole book (condor + hedges): the condor's trigger when the
    book's P&L agrees with it, else what happened to the book. A take profit on the condor that the
    hedge legs turned into a loss is 'hedge_loss'; a stop on the condor that the hedges turned
    into a gain is 'hedge_gain'. dte / expiry say when, not how, and stay."""
    if condor_reason is None or not has_hedges:
        return condor_reason
    if condor_reason == "take_profit" and pnl_usd < 0:
        return "hedge_loss"
    if condor_reason == "stop_loss" and pnl_usd > 0:
        return "hedge_gain"
    return condor_reason

DAILY_SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String(), "date": pl.Date(), "pnl_usd": pl.Float64(),
    "hedge_pnl_usd": pl.Float64(), "cum_pnl_usd": pl.Float64(),
    "capital_at_risk_usd": pl.Float64(), "daily_return": pl.Float64(), "equity": pl.Float64(),
    "drawdown": pl.Float64(), "open_trades": pl.Int64(), "entries": pl.Int64(),
    "exits": pl.Int64(), "commissions_usd": pl.Float64(), "capital_called_usd": pl.Float64(),
    "book_value_usd": pl.Float64(), "interest_usd": pl.Float64(),
}


def _trade_row(t: _Trade, asof: date) -> dict:
    puts = sorted(g.strike for g in t.condor if g.right == "P")
    calls = sorted(g.strike for g in t.condor if g.right == "C")
    hedge_entry = t.entry_hedge_cash_usd
    hedge_cost = -hedge_entry if any(g.layer != "condor" for g in t.legs) else 0.0
    pnl, hedge = _trade_value(t)
    end = t.exit_date or asof
    return {
        "strategy": t.strategy, "trade_id": t.trade_id, "entry_date": t.entry_date,
        "expiry": t.expiry, "root": t.condor[0].root, "contracts": t.contracts,
        "short_put": puts[1], "long_put": puts[0], "short_call": calls[0], "long_call": calls[1],
        "credit_pts": t.credit_pts, "credit_usd": t.credit_pts * t.condor[0].multiplier * t.contracts,
        "hedge_cost_usd": hedge_cost, "max_loss_usd": t.max_loss_usd,
        "capital_at_risk_usd": t.capital_usd, "regime": t.regime, "score": t.score,
        "status": "closed" if t.exit_date else "open", "exit_date": t.exit_date,
        "exit_reason": book_exit_reason(t.exit_reason, pnl, any(g.layer != "condor" for g in t.legs)),
        "condor_exit_reason": t.exit_reason, "settle_basis": t.settle_basis,
        "days_held": (end - t.entry_date).days, "pnl_usd": pnl, "hedge_pnl_usd": hedge,
        "commissions_usd": t.commissions_usd,
        "return_on_risk": pnl / t.capital_usd if t.capital_usd > 0 else None,
        "stale_marks": t.stale_marks,
        "legs_json": json.dumps([g.as_json() for g in t.legs], separators=(",", ":")),
        "note": t.note or None,
    }


@dataclass
class _Market:
    """The replay's market, assembled once: chains, VX settles, settlement prices and the per-date
    lookups a session's Day is built from."""

    spx: pl.DataFrame
    vix: pl.DataFrame
    vx: pl.DataFrame
    quotes: _Quotes
    settle: _Settlement
    sessions: list[date]
    spot_by_date: dict
    close_by_date: dict
    vix_spot_by_date: dict
    vix_close: dict
    sig: dict


def _market(inputs: Inputs, p: BacktestParams) -> _Market:
    spx = inputs.spx_quotes.select([c for c in QUOTE_COLUMNS if c in inputs.spx_quotes.columns])
    vix = (inputs.vix_quotes.select([c for c in QUOTE_COLUMNS if c in inputs.vix_quotes.columns])
           if inputs.vix_quotes is not None and inputs.vix_quotes.height else spx.clear())
    options = pl.concat([spx, vix.select(spx.columns)], how="vertical") if vix.height else spx
    vx = (inputs.vx_futures.select("trade_date", "expiry", "settle", "weekly")
          if inputs.vx_futures is not None and inputs.vx_futures.height else
          pl.DataFrame(schema={"trade_date": pl.Date, "expiry": pl.Date, "settle": pl.Float64,
                               "weekly": pl.Boolean}))
    quotes = _Quotes(options, vx)
    settle = _Settlement(inputs.index_bars, p.am_settlement)
    sessions = sorted(set(inputs.sessions) if inputs.sessions is not None
                      else set(spx["quote_date"].unique().to_list()))
    spot_by_date = dict(spx.group_by("quote_date").agg(pl.col("spot").first()).iter_rows())
    closes = inputs.index_bars.filter(pl.col("symbol") == "SPX").select("date", "close")
    close_by_date = dict(closes.iter_rows())
    vix_spot_by_date = dict(vix.group_by("quote_date").agg(pl.col("spot").first()).iter_rows()) \
        if vix.height else {}
    vix_close = dict(inputs.index_bars.filter(pl.col("symbol") == "VIX").select("date", "close")
                     .iter_rows())
    sig = ({r["date"]: r for r in inputs.signals.iter_rows(named=True)}
           if inputs.signals is not None and inputs.signals.height else {})
    return _Market(spx, vix, vx, quotes, settle, sessions, spot_by_date, close_by_date,
                   vix_spot_by_date, vix_close, sig)


def _day(mk: _Market, d: date, empty_spx: pl.DataFrame, empty_vix: pl.DataFrame) -> Day:
    """What the rules may see on session d: that day's chains, VX settles, spots and signal row."""
    quotes = mk.quotes
    return Day(date=d, spx=quotes.chain(d).filter(pl.col("root").is_in(OPTION_ROOTS_SPX))
               if quotes.chain(d) is not None else empty_spx,
               vix=quotes.chain(d).filter(pl.col("root").is_in(OPTION_ROOTS_VIX))
               if quotes.chain(d) is not None else empty_vix,
               vx=quotes.vx_day(d) if quotes.vx_day(d) is not None else mk.vx.clear(),
               spot=mk.spot_by_date.get(d) or mk.close_by_date.get(d),
               vix_spot=mk.vix_spot_by_date.get(d) or mk.vix_close.get(d), signal=mk.sig.get(d))


def _book_session(b: _BookState, i: int, day: Day, book: dict, mk: _Market, spots: dict,
                  p: BacktestParams) -> dict:
    """One book on one session: mark, settle and exit its open trades, then let its rule enter.
    Returns the session's core.backtest_daily row (before equity)."""
    d = day.date
    pnl = hedge_pnl = comm = 0.0
    capital = 0.0
    exits = entries = 0
    still = []
    for t in b.open:
        before, hbefore, cbefore = *_trade_value(t), t.commissions_usd
        capital += t.capital_usd
        _mark_and_exit(t, d, book, mk.settle, p, mk.quotes, spots)
        after, hafter = _trade_value(t)
        pnl += after - before
        hedge_pnl += hafter - hbefore
        comm += t.commissions_usd - cbefore
        if t.exit_date is not None:
            exits += 1
            b.done.append(t)
        else:
            still.append(t)
    b.open = still
    due = b.last_entry_i is None or i - b.last_entry_i >= p.entry_every_sessions
    if due and len(b.open) < p.max_open_trades and day.spx.height:
        day.prev_recommendation = b.prev
        entry = b.rule(day, p)
        if entry is not None:
            b.n += 1
            t = _open_trade(b.name, b.n, day, entry, book, p)
            if t is not None:
                b.open.append(t)
                b.last_entry_i = i
                b.prev = entry.summary
                v, hv = _trade_value(t)
                pnl += v
                hedge_pnl += hv
                comm += t.commissions_usd
                capital += t.capital_usd
                entries += 1
            else:
                b.n -= 1
    return {"strategy": b.name, "date": d, "pnl_usd": pnl, "hedge_pnl_usd": hedge_pnl,
            "capital_at_risk_usd": capital, "open_trades": len(b.open),
            "entries": entries, "exits": exits, "commissions_usd": comm}


def simulate(inputs: Inputs, rules: dict[str, EntryRule],
             params: BacktestParams | None = None) -> dict[str, pl.DataFrame]:
    """Replay the books session by session; returns core.backtest_trades and core.backtest_daily.

    Each session: mark open trades at the mid, settle expired legs, apply the exits (stop, take
    profit, DTE), then let the book's rule enter (fills at bid/ask). A session only reads that
    session's quotes and bars on or before it, so the row for D never depends on data after D.
    """
    p = params or BacktestParams()
    mk = _market(inputs, p)
    sessions = mk.sessions
    books = [_BookState(name, rules[name]) for name in p.strategies if name in rules]
    daily: list[dict] = []
    empty_spx, empty_vix = mk.spx.clear(), mk.vix.clear()
    for i, d in enumerate(sessions):
        book = mk.quotes.book(d)
        day = _day(mk, d, empty_spx, empty_vix)
        spots = {"SPX": day.spot, "VIX": day.vix_spot}
        for b in books:
            daily.append(_book_session(b, i, day, book, mk, spots, p))
    asof = sessions[-1] if sessions else None
    trades = [_trade_row(t, asof) for b in books for t in [*b.done, *b.open]]
    trades_df = pl.DataFrame(trades, schema=TRADES_SCHEMA).sort("strategy", "entry_date", "trade_id")
    daily_df = _with_equity(pl.DataFrame(daily, schema={k: v for k, v in DAILY_SCHEMA.items()
                                                        if k in daily[0]} if daily else None),
                            p, inputs.idle_rate)
    bench = benchmark_daily(inputs.index_bars, sessions)
    return {"core.backtest_trades": trades_df,
            "core.backtest_daily": pl.concat([daily_df, bench], how="vertical")
            .select(DAILY_SCHEMA.keys()).sort("strategy", "date")}


def _with_equity(daily: pl.DataFrame, p: BacktestParams,
                 idle_rate: dict[date, float] | None = None) -> pl.DataFrame:
    """Account-based returns: each book trades from a fixed account of p.capital_usd.

    daily_return = (pnl + idle interest) / account value before the session; equity = account
    value / capital (growth of 1); drawdown against its running peak (at least the capital), so a
    drawdown in % is the dollar drawdown over the account value at its peak. Idle cash (account
    value - capital at risk) earns idle_rate / periods_per_year when a rate series is given, else 0.
    capital_called_usd holds the fixed account capital, book_value_usd the account value after the
    session (names kept from the former funded-on-demand book; see warehouse/ddl/50_core_backtest.sql).
    """
    if daily.is_empty():
        return pl.DataFrame(schema=DAILY_SCHEMA)
    parts = []
    for (_,), g in sorted(daily.partition_by("strategy", as_dict=True).items()):
        g = g.sort("date")
        rate = (np.array([idle_rate.get(d, np.nan) for d in g["date"].to_list()], dtype=float)
                if idle_rate else None)
        acc = account_curve(g["pnl_usd"].to_numpy(), p.capital_usd,
                            capital_at_risk_usd=g["capital_at_risk_usd"].to_numpy(), idle_rate=rate,
                            periods=p.periods_per_year)
        parts.append(g.with_columns(capital_called_usd=pl.lit(p.capital_usd, pl.Float64),
                                    book_value_usd=pl.Series(acc.equity_usd),
                                    interest_usd=pl.Series(acc.interest_usd),
                                    daily_return=pl.Series(acc.daily_return),
                                    equity=pl.Series(acc.equity),
                                    drawdown=pl.Series(acc.drawdown),
                                    cum_pnl_usd=pl.col("pnl_usd").cum_sum()))
    return pl.concat(parts).select(DAILY_SCHEMA.keys())


def benchmark_daily(index_bars: pl.DataFrame, sessions: Sequence[date],
                    symbol: str = "SPX") -> pl.DataFrame:
    """The benchmark book: SPX close-to-close returns over the backtest sessions (buy and hold)."""
    if not sessions:
        return pl.DataFrame(schema=DAILY_SCHEMA)
    bars = (index_bars.filter(pl.col("symbol") == symbol).select("date", "close").sort("date")
            .with_columns(daily_return=pl.col("close") / pl.col("close").shift(1) - 1.0))
    out = (pl.DataFrame({"date": sorted(sessions)}, schema={"date": pl.Date})
           .join(bars, on="date", how="left")
           .with_columns(pl.col("daily_return").fill_null(0.0),
                         strategy=pl.lit(BENCHMARK), pnl_usd=pl.lit(None, pl.Float64),
                         hedge_pnl_usd=pl.lit(None, pl.Float64),
                         capital_at_risk_usd=pl.lit(None, pl.Float64),
                         open_trades=pl.lit(None, pl.Int64), entries=pl.lit(None, pl.Int64),
                         exits=pl.lit(None, pl.Int64), commissions_usd=pl.lit(None, pl.Float64),
                         cum_pnl_usd=pl.lit(None, pl.Float64),
                         capital_called_usd=pl.lit(None, pl.Float64),
                         book_value_usd=pl.lit(None, pl.Float64),
                         interest_usd=pl.lit(None, pl.Float64))
           .with_columns(equity=(1.0 + pl.col("daily_return")).cum_prod()))
    return out.with_columns(
        drawdown=pl.col("equity") / pl.max_horizontal(pl.col("equity").cum_max(), pl.lit(1.0)) - 1.0
    ).select(DAILY_SCHEMA.keys())
