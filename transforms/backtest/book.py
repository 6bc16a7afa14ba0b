"""Backtest trade book: legs and trades, fills with costs, marks, exits and settlement.

Pure polars + numpy; no I/O, DuckDB, Prefect or sources. Rules, fills, marks: docs/report.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from transforms.backtest.market import Day, Entry, _mid, _Quotes, _Settlement
from transforms.backtest.params import OPTION_ROOTS_VIX, BacktestParams
from transforms.conventions import VX_ROOT

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
