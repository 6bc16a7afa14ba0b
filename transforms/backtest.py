"""core.backtest_trades, core.backtest_daily and core.backtest_metrics: the ALVH rules and a plain
iron-condor baseline replayed over the stored chains, and their performance statistics.

Pure Polars + numpy: warehouse frames in, frames out. No I/O, DuckDB, Prefect or sources import.
Rules, fills, marks and the point-in-time argument are documented in docs/report.md (Backtest).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from transforms import alvh
from transforms.alvh import AlvhParams

STRATEGIES = ("alvh", "plain_ic")
BENCHMARK = "spx"
OPTION_ROOTS_SPX = ("SPX", "SPXW")
OPTION_ROOTS_VIX = ("VIX", "VIXW")
VX_ROOT = "VX"
# Roots settled on the morning's special opening quotation (SOQ / VRO), the rest at the close.
AM_SETTLED_ROOTS = ("SPX", "VIX", VX_ROOT)


class BacktestParams(BaseModel):
    """Every choice that changes a backtest number (defaults and reasons in docs/report.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategies: tuple[str, ...] = Field(STRATEGIES, description="books to simulate (alvh, plain_ic)")
    alvh: AlvhParams = Field(default_factory=AlvhParams, description="the recommendation engine's "
                             "parameters: condor construction, sizing and hedge layers")
    # -- entries
    entry_every_sessions: int = Field(5, ge=1, description="sessions between two entries of a book")
    max_open_trades: int = Field(4, ge=1, description="a book holds at most this many trades")
    contracts: int = Field(1, ge=1, description="multiplies every leg's quantity")
    # -- costs and fills (sell at bid, buy at ask; marks at mid)
    commission_per_contract_usd: float = Field(1.00, ge=0, description="options, per contract and "
                                               "side, fees included")
    vx_commission_per_contract_usd: float = Field(2.50, ge=0)
    vx_slippage_pts: float = Field(0.05, ge=0, description="VX fills: settle +- this (one tick)")
    vx_multiplier: float = Field(1000.0, gt=0, description="USD per VX point")
    vx_margin_usd: float = Field(10_000.0, ge=0, description="capital at risk per VX contract "
                                 "(about the exchange's initial margin)")
    # -- exits (checked at the close on mid marks of the condor legs; filled at bid/ask)
    take_profit_pct: float | None = Field(50.0, gt=0, le=100, description="close when the profit "
                                          "reaches this % of the entry credit (max profit)")
    stop_loss_x_credit: float | None = Field(2.0, gt=0, description="close when the loss reaches "
                                             "this multiple of the entry credit")
    exit_dte: int | None = Field(21, ge=0, description="close at this many calendar days to expiry "
                                 "(trades entered with more days left than this only)")
    am_settlement: Literal["open", "close"] = Field(
        "open", description="AM-settled roots settle on the expiry-day open (SOQ/VRO proxy)")
    # -- statistics
    periods_per_year: int = Field(252, ge=1)

    @model_validator(mode="after")
    def _check(self) -> BacktestParams:
        unknown = set(self.strategies) - set(STRATEGIES)
        if unknown:
            raise ValueError(f"unknown strategies {sorted(unknown)}; known: {STRATEGIES}")
        return self


# -- market access --------------------------------------------------------------------------------

QUOTE_COLUMNS = ("quote_date", "root", "expiry", "strike", "right", "underlying", "spot", "bid",
                 "ask", "iv", "delta", "open_interest")


@dataclass
class Day:
    """What an entry rule may see on one session: that day's data only."""

    date: date
    spx: pl.DataFrame            # raw.option_quotes rows of SPX/SPXW quoted this session
    vix: pl.DataFrame            # raw.option_quotes rows of VIX/VIXW quoted this session
    vx: pl.DataFrame             # raw.vx_futures rows traded this session
    spot: float | None           # SPX spot of the chain snapshot (else the SPX close)
    vix_spot: float | None = None  # VIX level of the VIX chain snapshot (else the VIX close)
    signal: dict | None = None   # core.signals_daily row of this session
    prev_recommendation: dict | None = None  # the book's previous entry summary (ALVH rules)


@dataclass
class Entry:
    """A rule's decision: legs to trade (build_condor / recommendation_legs shape) and context."""

    legs: pl.DataFrame
    size: int = 1                # units when the legs carry no `quantity` (then ratio x size)
    regime: str | None = None
    score: float | None = None
    note: str = ""
    summary: dict | None = None  # the rule's own record (core.recommendations row), passed back as prev


EntryRule = Callable[[Day, BacktestParams], Entry | None]


def _mid(bid: float | None, ask: float | None) -> float | None:
    if ask is None or (isinstance(ask, float) and math.isnan(ask)):
        return None
    b = 0.0 if bid is None or (isinstance(bid, float) and math.isnan(bid)) else max(bid, 0.0)
    return (b + ask) / 2.0 if ask >= b else None


class _Quotes:
    """Per-session lookup of option quotes and VX settles, built lazily (one dict per day)."""

    def __init__(self, options: pl.DataFrame, vx: pl.DataFrame):
        self._opt = ({k[0]: v for k, v in options.partition_by("quote_date", as_dict=True).items()}
                     if options.height else {})
        self._vx = ({k[0]: v for k, v in vx.partition_by("trade_date", as_dict=True).items()}
                    if vx.height else {})
        self._cache: dict[date, dict] = {}
        self._curves: dict[tuple, tuple | None] = {}

    def chain(self, d: date) -> pl.DataFrame | None:
        return self._opt.get(d)

    def vx_day(self, d: date) -> pl.DataFrame | None:
        return self._vx.get(d)

    def book(self, d: date) -> dict:
        if d not in self._cache:
            book: dict = {}
            ch = self._opt.get(d)
            if ch is not None:
                # plain lists: iterating polars Series value by value costs ~10x more
                strikes = [float(k) for k in ch["strike"].to_list()]
                book.update(zip(zip(ch["root"].to_list(), ch["expiry"].to_list(), strikes,
                                    ch["right"].to_list(), strict=True),
                                zip(ch["bid"].to_list(), ch["ask"].to_list(), strict=True), strict=True))
            vx = self._vx.get(d)
            if vx is not None:
                for e, s in zip(vx["expiry"].to_list(), vx["settle"].to_list(), strict=True):
                    if s is not None and s > 0:
                        book[(VX_ROOT, e, None, None)] = (s, s)
            self._cache = {d: book}  # sessions are visited in order: keep one day
            self._curves = {}
        return self._cache[d]

    def interpolated_mid(self, d: date, root: str, expiry: date, strike: float, right: str,
                         spot: float | None) -> float | None:
        """A mid for a strike missing from tonight's chain: linear in strike between the nearest
        listed strikes of the same root, expiry and right; beyond the listed range, intrinsic
        value at tonight's spot (vendors list strikes out to where options are worth something).
        None when the expiry is not quoted at all tonight."""
        key = (root, expiry, right)
        if key not in self._curves:
            ch = self._opt.get(d)
            c = (ch.filter((pl.col("root") == root) & (pl.col("expiry") == expiry)
                           & (pl.col("right") == right) & pl.col("ask").is_not_null())
                 .with_columns(mid=(pl.col("bid").fill_null(0.0).clip(lower_bound=0.0)
                                    + pl.col("ask")) / 2.0).sort("strike")
                 if ch is not None else None)
            self._curves[key] = None if c is None or c.is_empty() else \
                (c["strike"].to_numpy(), c["mid"].to_numpy())
        curve = self._curves[key]
        if curve is None:
            return None
        ks, mids = curve
        if ks[0] <= strike <= ks[-1]:
            return float(np.interp(strike, ks, mids))
        if spot is None:
            return None
        return max(spot - strike, 0.0) if right == "C" else max(strike - spot, 0.0)


class _Settlement:
    """Expiry-day settlement values from raw.index_bars (SPX for SPX options, VIX for VIX/VX)."""

    def __init__(self, bars: pl.DataFrame, am: str):
        self._am = am
        self._bars: dict[str, tuple[list[date], list[float | None], list[float]]] = {}
        for sym in ("SPX", "VIX"):
            b = bars.filter(pl.col("symbol") == sym).sort("date")
            self._bars[sym] = (b["date"].to_list(), b["open"].to_list(), b["close"].to_list())

    def value(self, root: str, expiry: date, asof: date) -> tuple[float | None, str]:
        """(settlement price, basis) for a contract of `root` expiring `expiry`, known at `asof`."""
        sym = "SPX" if root in OPTION_ROOTS_SPX else "VIX"
        dates, opens, closes = self._bars[sym]
        i = int(np.searchsorted(np.array(dates, dtype="datetime64[D]"), np.datetime64(expiry),
                                side="right")) - 1 if dates else -1
        if i < 0 or dates[i] > asof:
            return None, "missing"
        exact = dates[i] == expiry
        if root in AM_SETTLED_ROOTS and self._am == "open" and exact and opens[i] is not None:
            return float(opens[i]), f"{sym} open"
        basis = f"{sym} close" if exact else f"{sym} close {dates[i]}"
        return float(closes[i]), basis


# -- trades -----------------------------------------------------------------------------------------

@dataclass
class _Leg:
    layer: str
    root: str
    expiry: date
    strike: float | None
    right: str | None
    qty: int                     # signed contracts: + long, - short
    multiplier: float
    entry_price: float
    mark: float
    exit_price: float | None = None
    closed: bool = False
    stale_days: int = 0

    @property
    def key(self) -> tuple:
        return (self.root, self.expiry, self.strike, self.right)

    @property
    def is_future(self) -> bool:
        return self.root == VX_ROOT

    def intrinsic(self, s: float) -> float:
        if self.is_future:
            return s
        return max(s - self.strike, 0.0) if self.right == "C" else max(self.strike - s, 0.0)

    def as_json(self) -> dict:
        return {"layer": self.layer, "root": self.root, "expiry": self.expiry.isoformat(),
                "strike": self.strike, "right": self.right, "qty": self.qty,
                "multiplier": self.multiplier, "entry_price": round(self.entry_price, 6),
                "exit_price": None if self.exit_price is None else round(self.exit_price, 6)}


@dataclass
class _Trade:
    strategy: str
    trade_id: str
    entry_date: date
    legs: list[_Leg]
    contracts: int
    credit_pts: float            # condor net credit per condor at the fills, index points
    max_loss_usd: float
    capital_usd: float
    regime: str | None
    score: float | None
    cash_usd: float = 0.0        # premiums received - paid, settlements, minus commissions
    commissions_usd: float = 0.0
    value_usd: float = 0.0       # cash + open legs at their marks (yesterday's after `mark`)
    hedge_value_usd: float = 0.0
    exit_date: date | None = None
    exit_reason: str | None = None
    settle_basis: str | None = None
    stale_marks: int = 0
    note: str = ""
    hedge_cash_usd: float = 0.0
    entry_hedge_cash_usd: float = 0.0

    @property
    def condor(self) -> list[_Leg]:
        return [g for g in self.legs if g.layer == "condor"]

    @property
    def expiry(self) -> date:
        return min(g.expiry for g in self.condor)


def _commission(leg: _Leg, p: BacktestParams) -> float:
    per = p.vx_commission_per_contract_usd if leg.is_future else p.commission_per_contract_usd
    return abs(leg.qty) * per


def _fill(leg_qty: int, bid: float | None, ask: float | None, is_future: bool,
          p: BacktestParams) -> float | None:
    """Executable price: buy at the ask, sell at the bid (VX: settle +- slippage)."""
    if is_future:
        s = bid
        return None if s is None else s + (p.vx_slippage_pts if leg_qty > 0 else -p.vx_slippage_pts)
    if leg_qty > 0:
        return None if ask is None or ask <= 0 else float(ask)
    if bid is None:
        return None
    return max(float(bid), 0.0)


def _open_trade(strategy: str, n: int, day: Day, entry: Entry, book: dict,
                p: BacktestParams) -> _Trade | None:
    legs: list[_Leg] = []
    if entry.legs.is_empty():
        return None
    for r in entry.legs.iter_rows(named=True):
        if r.get("layer") == "roll":
            continue  # guidance to roll an earlier position, not a new one (docs/report.md)
        root = r["root"]
        is_vx = root == VX_ROOT or r.get("instrument") == "future"
        if is_vx:
            root = VX_ROOT
        strike = None if is_vx or r.get("strike") is None else float(r["strike"])
        right = None if is_vx else r.get("right")
        n = r.get("quantity")
        n = int(r.get("ratio") or 1) * max(int(entry.size), 0) if n is None else int(n)
        if n <= 0:
            continue
        qty = n * p.contracts * (1 if r["side"] == "buy" else -1)
        bid, ask = book.get((root, r["expiry"], strike, right), (None, None))
        price = _fill(qty, bid, ask, is_vx, p)
        mark = bid if is_vx else _mid(bid, ask)
        if price is None or mark is None:
            return None  # a leg without a tradable quote: no entry tonight
        mult = p.vx_multiplier if is_vx else float(r.get("multiplier") or 100.0)
        legs.append(_Leg(layer=r.get("layer") or "condor", root=root, expiry=r["expiry"],
                         strike=strike, right=right, qty=qty, multiplier=mult, entry_price=price,
                         mark=mark))
    condor = [g for g in legs if g.layer == "condor"]
    if len(condor) != 4:
        return None
    size = max(abs(g.qty) for g in condor)
    credit_pts = -sum(g.qty * g.entry_price for g in condor) / size
    puts = sorted(g.strike for g in condor if g.right == "P")
    calls = sorted(g.strike for g in condor if g.right == "C")
    width = max(puts[1] - puts[0], calls[1] - calls[0])
    mult = condor[0].multiplier
    max_loss = max((width - credit_pts) * mult * size, 0.0)
    hedge_capital = 0.0
    hedges = [g for g in legs if g.layer != "condor"]
    for g in hedges:
        if g.is_future:
            hedge_capital += abs(g.qty) * p.vx_margin_usd
    hedge_premium = -sum(g.qty * g.entry_price * g.multiplier for g in hedges if not g.is_future)
    hedge_capital += max(-hedge_premium, 0.0)  # a net debit is at risk; a net credit is not counted
    t = _Trade(strategy=strategy, trade_id=f"{strategy}-{day.date.isoformat()}-{n}",
               entry_date=day.date, legs=legs, contracts=size, credit_pts=credit_pts,
               max_loss_usd=max_loss, capital_usd=max_loss + hedge_capital,
               regime=entry.regime, score=entry.score, note=entry.note)
    for g in legs:
        c = _commission(g, p)
        t.commissions_usd += c
        # Options: the premium changes hands. Futures: nothing until variation margin (see value).
        flow = 0.0 if g.is_future else -g.qty * g.entry_price * g.multiplier
        t.cash_usd += flow - c
        if g.layer != "condor":
            t.hedge_cash_usd += flow - c
    t.entry_hedge_cash_usd = t.hedge_cash_usd
    return t


def _trade_value(t: _Trade) -> tuple[float, float]:
    """(book value, hedge part) at the current marks: cash + open option legs at their marks +
    open VX legs' variation since the fill, qty x (mark - fill) x multiplier."""
    total = t.cash_usd
    hedge = t.hedge_cash_usd
    for g in t.legs:
        if g.closed:
            continue
        if g.is_future:
            v = g.qty * (g.mark - g.entry_price) * g.multiplier
        else:
            v = g.qty * g.mark * g.multiplier
        total += v
        if g.layer != "condor":
            hedge += v
    return total, hedge


def _close_leg(t: _Trade, g: _Leg, price: float, p: BacktestParams, *, settle: bool) -> None:
    c = 0.0 if settle else _commission(g, p)
    if g.is_future:
        flow = g.qty * (price - g.entry_price) * g.multiplier
    else:
        flow = g.qty * price * g.multiplier
    t.cash_usd += flow - c
    t.commissions_usd += c
    if g.layer != "condor":
        t.hedge_cash_usd += flow - c
    g.exit_price = price
    g.mark = price
    g.closed = True


def _mark_and_exit(t: _Trade, d: date, book: dict, settle: _Settlement, p: BacktestParams,
                   quotes: _Quotes | None = None, spots: dict[str, float | None] | None = None
                   ) -> None:
    """Mark every open leg at tonight's mid, settle what expired, then apply the exit rules."""
    for g in t.legs:
        if g.closed:
            continue
        if g.expiry <= d:
            s, basis = settle.value(g.root, g.expiry, d)
            if s is not None:
                _close_leg(t, g, g.intrinsic(s), p, settle=True)
                if g.layer == "condor":
                    t.settle_basis = basis
                continue
        bid, ask = book.get(g.key, (None, None))
        m = bid if g.is_future else _mid(bid, ask)
        if m is None:
            g.stale_days += 1
            t.stale_marks += 1
            if not g.is_future and quotes is not None:
                under = "VIX" if g.root in OPTION_ROOTS_VIX else "SPX"
                m = quotes.interpolated_mid(d, g.root, g.expiry, g.strike, g.right,
                                            (spots or {}).get(under))
        if m is not None:
            g.mark = m
    open_condor = [g for g in t.condor if not g.closed]
    if not open_condor:
        _finish(t, d, "expiry", book, p)
        return
    # Condor P&L per condor at tonight's mids: the credit, plus what the open legs are worth
    # (negative for the shorts: the cost to buy them back), plus what settled legs paid.
    open_pts = sum(g.qty * g.mark for g in open_condor) / t.contracts
    settled_pts = sum(g.qty * g.exit_price for g in t.condor if g.closed) / t.contracts
    pnl_pts = t.credit_pts + open_pts + settled_pts
    reason = None
    if p.stop_loss_x_credit is not None and t.credit_pts > 0 and \
            -pnl_pts >= p.stop_loss_x_credit * t.credit_pts:
        reason = "stop_loss"
    elif p.take_profit_pct is not None and t.credit_pts > 0 and \
            pnl_pts >= p.take_profit_pct / 100.0 * t.credit_pts:
        reason = "take_profit"
    elif p.exit_dte is not None and (t.expiry - t.entry_date).days > p.exit_dte \
            and (t.expiry - d).days <= p.exit_dte:
        reason = "dte"
    if reason:
        _finish(t, d, reason, book, p)


def _finish(t: _Trade, d: date, reason: str, book: dict, p: BacktestParams) -> None:
    """Close every open leg at the executable price (its last mark when tonight has no quote)."""
    for g in t.legs:
        if g.closed:
            continue
        bid, ask = book.get(g.key, (None, None))
        price = _fill(-g.qty, bid, ask, g.is_future, p)
        _close_leg(t, g, g.mark if price is None else price, p, settle=False)
    t.exit_date = d
    t.exit_reason = reason


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
}

DAILY_SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String(), "date": pl.Date(), "pnl_usd": pl.Float64(),
    "hedge_pnl_usd": pl.Float64(), "cum_pnl_usd": pl.Float64(),
    "capital_at_risk_usd": pl.Float64(), "daily_return": pl.Float64(), "equity": pl.Float64(),
    "drawdown": pl.Float64(), "open_trades": pl.Int64(), "entries": pl.Int64(),
    "exits": pl.Int64(), "commissions_usd": pl.Float64(), "capital_called_usd": pl.Float64(),
    "book_value_usd": pl.Float64(),
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
        "exit_reason": t.exit_reason, "settle_basis": t.settle_basis,
        "days_held": (end - t.entry_date).days, "pnl_usd": pnl, "hedge_pnl_usd": hedge,
        "commissions_usd": t.commissions_usd,
        "return_on_risk": pnl / t.capital_usd if t.capital_usd > 0 else None,
        "stale_marks": t.stale_marks,
        "legs_json": json.dumps([g.as_json() for g in t.legs], separators=(",", ":")),
        "note": t.note or None,
    }


def simulate(inputs: Inputs, rules: dict[str, EntryRule],
             params: BacktestParams | None = None) -> dict[str, pl.DataFrame]:
    """Replay the books session by session; returns core.backtest_trades and core.backtest_daily.

    Each session: mark open trades at the mid, settle expired legs, apply the exits (stop, take
    profit, DTE), then let the book's rule enter (fills at bid/ask). A session only reads that
    session's quotes and bars on or before it, so the row for D never depends on data after D.
    """
    p = params or BacktestParams()
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
    books = [_BookState(name, rules[name]) for name in p.strategies if name in rules]
    daily: list[dict] = []
    empty_spx, empty_vix = spx.clear(), vix.clear()
    for i, d in enumerate(sessions):
        book = quotes.book(d)
        day = Day(date=d, spx=quotes.chain(d).filter(pl.col("root").is_in(OPTION_ROOTS_SPX))
                  if quotes.chain(d) is not None else empty_spx,
                  vix=quotes.chain(d).filter(pl.col("root").is_in(OPTION_ROOTS_VIX))
                  if quotes.chain(d) is not None else empty_vix,
                  vx=quotes.vx_day(d) if quotes.vx_day(d) is not None else vx.clear(),
                  spot=spot_by_date.get(d) or close_by_date.get(d),
                  vix_spot=vix_spot_by_date.get(d) or vix_close.get(d), signal=sig.get(d))
        spots = {"SPX": day.spot, "VIX": day.vix_spot}
        for b in books:
            pnl = hedge_pnl = comm = 0.0
            capital = 0.0
            exits = entries = 0
            still = []
            for t in b.open:
                before, hbefore, cbefore = *_trade_value(t), t.commissions_usd
                capital += t.capital_usd
                _mark_and_exit(t, d, book, settle, p, quotes, spots)
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
            daily.append({"strategy": b.name, "date": d, "pnl_usd": pnl, "hedge_pnl_usd": hedge_pnl,
                          "capital_at_risk_usd": capital, "open_trades": len(b.open),
                          "entries": entries, "exits": exits, "commissions_usd": comm})
    asof = sessions[-1] if sessions else None
    trades = [_trade_row(t, asof) for b in books for t in [*b.done, *b.open]]
    trades_df = pl.DataFrame(trades, schema=TRADES_SCHEMA).sort("strategy", "entry_date", "trade_id")
    daily_df = _with_equity(pl.DataFrame(daily, schema={k: v for k, v in DAILY_SCHEMA.items()
                                                        if k in daily[0]} if daily else None))
    bench = benchmark_daily(inputs.index_bars, sessions)
    return {"core.backtest_trades": trades_df,
            "core.backtest_daily": pl.concat([daily_df, bench], how="vertical")
            .select(DAILY_SCHEMA.keys()).sort("strategy", "date")}


def _with_equity(daily: pl.DataFrame) -> pl.DataFrame:
    """Returns of a book funded on demand.

    The book holds its capital and its P&L. When tonight's trades need more capital at risk than
    the book holds (capital called so far + P&L to date), the difference is called, and it stays:
        call_d   = max(0, capital_at_risk_d - (called_{d-1} + cum_pnl_{d-1}))
        return_d = pnl_d / (called_{d-1} + cum_pnl_{d-1} + call_d)   (0 while nothing is called)
    equity compounds the returns from 1 (a time-weighted return), drawdown is against its peak.
    """
    if daily.is_empty():
        return pl.DataFrame(schema=DAILY_SCHEMA)
    parts = []
    for (_,), g in sorted(daily.partition_by("strategy", as_dict=True).items()):
        g = g.sort("date")
        pnl = g["pnl_usd"].to_numpy()
        cap = g["capital_at_risk_usd"].to_numpy()
        n = len(pnl)
        called = np.zeros(n)
        value = np.zeros(n)
        ret = np.zeros(n)
        c = v = 0.0  # capital called, book value (called + cum P&L)
        for i in range(n):
            call = max(cap[i] - v, 0.0)
            c += call
            base = v + call
            ret[i] = pnl[i] / base if base > 0 else 0.0
            v = base + pnl[i]
            called[i], value[i] = c, v
        parts.append(g.with_columns(capital_called_usd=pl.Series(called),
                                    book_value_usd=pl.Series(value),
                                    daily_return=pl.Series(ret),
                                    cum_pnl_usd=pl.col("pnl_usd").cum_sum()))
    out = pl.concat(parts).with_columns(equity=(1.0 + pl.col("daily_return")).cum_prod().over("strategy"))
    return out.with_columns(
        drawdown=pl.col("equity") / pl.max_horizontal(pl.col("equity").cum_max().over("strategy"),
                                                       pl.lit(1.0)) - 1.0
    ).select(DAILY_SCHEMA.keys())


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
                         book_value_usd=pl.lit(None, pl.Float64))
           .with_columns(equity=(1.0 + pl.col("daily_return")).cum_prod()))
    return out.with_columns(
        drawdown=pl.col("equity") / pl.max_horizontal(pl.col("equity").cum_max(), pl.lit(1.0)) - 1.0
    ).select(DAILY_SCHEMA.keys())


# -- statistics --------------------------------------------------------------------------------------

METRICS_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(), "strategy": pl.String(), "first_date": pl.Date(), "sessions": pl.Int64(),
    "total_return": pl.Float64(), "cagr": pl.Float64(), "volatility": pl.Float64(),
    "sharpe": pl.Float64(), "sortino": pl.Float64(), "max_drawdown": pl.Float64(),
    "calmar": pl.Float64(), "irr": pl.Float64(), "cum_pnl_usd": pl.Float64(),
    "avg_capital_at_risk_usd": pl.Float64(), "trades_closed": pl.Int64(),
    "trades_open": pl.Int64(), "win_rate": pl.Float64(), "avg_trade_pnl_usd": pl.Float64(),
    "hedge_pnl_usd": pl.Float64(),
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
    """IRR of a book from its daily rows: every capital call is money in on its date, the book
    value (capital called + P&L to date, open trades at tonight's marks) is money out on the last."""
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


def backtest_metrics(daily: pl.DataFrame, trades: pl.DataFrame, as_of: Sequence[date],
                     params: BacktestParams | None = None) -> pl.DataFrame:
    """core.backtest_metrics: one row per as_of x strategy from the daily rows up to as_of and
    the trades closed by then (point in time: a row for D reads nothing dated after D)."""
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
            stats = return_stats(g["daily_return"].to_numpy(), p.periods_per_year)
            closed = book_trades.filter(pl.col("exit_date") <= d)
            is_book = name != BENCHMARK
            rows.append({
                "as_of": d, "strategy": name, "first_date": g["date"][0], "sessions": g.height,
                **stats,
                "irr": book_irr(g) if is_book else None,
                "cum_pnl_usd": float(g["pnl_usd"].sum()) if is_book else None,
                "avg_capital_at_risk_usd": float(g["capital_at_risk_usd"].mean()) if is_book else None,
                "trades_closed": closed.height if is_book else None,
                "trades_open": int(g["open_trades"][-1]) if is_book else None,
                "win_rate": (float((closed["pnl_usd"] > 0).mean()) if closed.height else None)
                if is_book else None,
                "avg_trade_pnl_usd": float(closed["pnl_usd"].mean()) if is_book and closed.height
                else None,
                "hedge_pnl_usd": float(g["hedge_pnl_usd"].sum()) if is_book else None,
            })
    return pl.DataFrame(rows, schema=METRICS_SCHEMA)


# -- the two books' entry rules ------------------------------------------------------------------------

def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def alvh_rule(day: Day, p: BacktestParams) -> Entry | None:
    """ALVH: tonight's recommendation (transforms.alvh.recommend) from tonight's chains, VX settles
    and signal row, with the book's previous entry as `prev`: the condor (widened when the score is
    elevated, sized by regime), the VIX call calendar and the VX futures layer."""
    rec = alvh.recommend(day.date, day.spx, signals=day.signal, vix_quotes=day.vix,
                         vx_futures=day.vx, prev=day.prev_recommendation, params=p.alvh)
    row = rec.row
    if row["status"] != "ok" or rec.legs.is_empty():
        return None
    return Entry(legs=rec.legs, regime=row.get("regime"), score=_num(row.get("unwind_score")),
                 summary=row, note=row.get("structure") or "")


def plain_ic_rule(day: Day, p: BacktestParams) -> Entry | None:
    """Baseline: the same condor construction (transforms.alvh.build_condor) with no score, sized
    by the calm-regime risk budget every time, no hedge layers, no regime rules."""
    if day.spot is None:
        return None
    chain = alvh.prepare_chain(day.spx, p.alvh)
    legs = alvh.build_condor(chain, day.spot, p.alvh, None)
    if legs.is_empty():
        return None
    m = alvh.condor_metrics(legs, day.spot, p.alvh)
    unit = m["max_loss_pts"] * alvh.SPX_MULTIPLIER
    budget = p.alvh.capital_usd * p.alvh.max_risk_pct / 100.0
    n = int(budget // unit) if unit > 0 else 0
    if n <= 0:
        return None
    return Entry(legs=legs.with_columns(quantity=pl.col("ratio") * n), size=n, note="iron_condor")


RULES: dict[str, EntryRule] = {"alvh": alvh_rule, "plain_ic": plain_ic_rule}


def backtest(inputs: Inputs, params: BacktestParams | None = None) -> dict[str, pl.DataFrame]:
    """core.backtest_trades and core.backtest_daily for the ALVH and plain-condor books (+ spx)."""
    return simulate(inputs, RULES, params)
