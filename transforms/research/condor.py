"""Iron-condor books on index history priced on the VIX/SKEW surface: Cboe's CNDR rules
(`cndr_replica`) and buy-and-hold SPX (`spx_hold`). This project's own books (ALVH, plain condor)
run in the backtest engine on a surface-priced chain: transforms/research/alvh_book.py.

Pure: a daily `market` frame in, daily P&L / equity and trades out. No I/O, no warehouse.

`market` columns: date (sessions, ascending), spx (close), vix9d, vix, vix3m, vix6m, skew (index
points, null where not published: the surface uses the points it has), rate (annual decimal,
one-month T-bill; cash accrues it act/365), div_yield (annual decimal, the forward's carry).
Optional columns spx_open, vix9d_open, vix_open, vix3m_open, vix6m_open (the session's opening
levels) let the CNDR replica follow Cboe's clock: expiring SPX monthlies settle on the opening
quotation (the SOQ, proxied by SPX's open) and the new condor is sold at ~11:00 ET (proxied by
the open-to-close path at 1.5 of 6.5 hours: level = open + (close - open) * 1.5 / 6.5).
Pricing: Black-76 on F = S e^{(r - q) T} with the surface IV, mid prices, no costs; without an
open an option is settled at its intrinsic value on the expiry session's close.
T = calendar days to expiry / 365.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from transforms import surface as sf

STRATEGIES = ("cndr_replica", "spx")


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def roll_dates(sessions: list[date]) -> list[date]:
    """Each month's roll session: the third Friday, or the last session before it when the
    exchange is closed that Friday (Good Friday 1990, 2003 ...). Months the sessions do not
    reach are left out."""
    if not sessions:
        return []
    ss = sorted(sessions)
    out = []
    y, m = ss[0].year, ss[0].month
    while (y, m) <= (ss[-1].year, ss[-1].month):
        tf = third_friday(y, m)
        before = [d for d in ss if tf - timedelta(days=6) <= d <= tf]
        if before and tf <= ss[-1]:
            out.append(before[-1])
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass(frozen=True)
class Leg:
    right: str  # C | P
    strike: float
    sign: int  # -1 sold, +1 bought


@dataclass
class Trade:
    strategy: str
    opened: date
    expiry: date
    legs: tuple[Leg, ...]
    qty: float  # condors held (index units)
    credit: float  # per condor at entry (points)
    closed: date | None = None
    exit_value: float | None = None  # per condor, at close (points)
    reason: str = ""
    am_settled: bool = False  # settles on the expiry session's opening level (SPX monthlies)


@dataclass(frozen=True)
class CondorParams:
    """CNDR's rules by default (docs/research.md): 0.20/0.05 deltas, monthly roll to next month's
    third Friday, held to expiry and settled on the SOQ; sized so that the T-bills cover
    `loss_cover` times the condor's maximum loss (Cboe's stated solvency rule of its BFLY/CNDR
    indexes: "the Treasury bills cover ten times the maximum loss"); sold at ~11:00 ET.

    sizing="notional" is the earlier assumption (one condor per index unit of SPX notional,
    `notional` x equity / SPX), kept to compare; roll_hour=None and am_settlement=False put the
    roll and the settlement at the close."""

    short_delta: float = 0.20
    long_delta: float = 0.05
    strike_increment: float = 5.0
    capital: float = 100.0
    sizing: str = "max_loss"  # "max_loss": loss_cover x qty x max loss = equity; "notional"
    loss_cover: float = 10.0
    notional: float = 1.0  # sizing="notional": condors per (equity / SPX) at the roll
    roll_hour: float | None = 11.0  # ET; the entry level is the open-to-close path at that hour
    am_settlement: bool = True  # expiring monthlies settle on the session's open (SOQ proxy)
    surface: sf.SurfaceParams = field(default_factory=sf.SurfaceParams)


SESSION_OPEN_H, SESSION_HOURS = 9.5, 6.5
OPEN_COLUMNS = {"spx": "spx_open", **{n: f"{n}_open" for n in sf.VIX_TENORS}}


def intraday_row(row: dict, hour: float | None) -> dict:
    """The row's levels at `hour` ET: open + (close - open) x (hour - 9:30) / 6.5 h for each level
    with an open (a straight path between the two prints: the proxy for an intraday quote);
    levels without an open stay at the close."""
    if hour is None:
        return row
    f = min(max((hour - SESSION_OPEN_H) / SESSION_HOURS, 0.0), 1.0)
    out = dict(row)
    for col, ocol in OPEN_COLUMNS.items():
        o, c = row.get(ocol), row.get(col)
        if o is not None and c is not None and math.isfinite(o) and o > 0:
            out[col] = o + (c - o) * f
    return out


def max_loss_pts(legs: tuple[Leg, ...], credit: float) -> float:
    """Worst payoff at expiry per condor: the wider wing minus the credit (points)."""
    puts = sorted(lg.strike for lg in legs if lg.right == "P")
    calls = sorted(lg.strike for lg in legs if lg.right == "C")
    return max(puts[-1] - puts[0], calls[-1] - calls[0]) - credit


def _points(row: dict) -> dict[str, float | None]:
    return {n: row.get(n) for n in sf.VIX_TENORS}


def leg_value(row: dict, leg: Leg, expiry: date, params: sf.SurfaceParams, am: bool = False) -> float:
    """Mid value of one option at this row's close (intrinsic on or after the expiry session; an
    AM-settled option on its expiry session is worth its intrinsic value at the session's open)."""
    spot = row["spx"]
    days = (expiry - row["date"]).days
    if am and days == 0 and row.get("spx_open") is not None:
        spot = row["spx_open"]
    if days <= 0:
        return max(spot - leg.strike, 0.0) if leg.right == "C" else max(leg.strike - spot, 0.0)
    t = days / 365.0
    r, q = row.get("rate") or 0.0, row.get("div_yield") or 0.0
    fwd = spot * math.exp((r - q) * t)
    iv = float(sf.surface_iv(math.log(leg.strike / fwd), t, _points(row), row.get("skew"), params))
    return float(sf.bs_price(fwd, leg.strike, t, iv, leg.right == "C", math.exp(-r * t)))


def condor_value(row: dict, trade: Trade, params: sf.SurfaceParams) -> float:
    """What buying the condor back costs per unit (points; positive for a short condor)."""
    return -sum(leg.sign * leg_value(row, leg, trade.expiry, params, trade.am_settled) for leg in trade.legs)


def delta_condor(row: dict, expiry: date, p: CondorParams) -> tuple[Leg, ...]:
    """Short put/call at -/+short_delta, long put/call at -/+long_delta, strikes on the surface."""
    t = (expiry - row["date"]).days / 365.0
    r, q = row.get("rate") or 0.0, row.get("div_yield") or 0.0
    fwd = row["spx"] * math.exp((r - q) * t)
    pts, skew = _points(row), row.get("skew")

    def k(target: float) -> float:
        return sf.strike_for_delta(target, fwd, t, pts, skew, p.surface, p.strike_increment)

    sp, lp, sc, lc = k(-p.short_delta), k(-p.long_delta), k(p.short_delta), k(p.long_delta)
    lp = min(lp, sp - p.strike_increment)  # a wing is always beyond its short strike
    lc = max(lc, sc + p.strike_increment)
    return (Leg("P", sp, -1), Leg("P", lp, +1), Leg("C", sc, -1), Leg("C", lc, +1))


EntryFn = Callable[[dict, float, list[Trade]], list[Trade]]


def run_book(market: pl.DataFrame, strategy: str, capital: float, entries: EntryFn,
             surface: sf.SurfaceParams, exits: Callable[[dict, Trade, float], str | None] | None = None
             ) -> tuple[pl.DataFrame, list[Trade]]:
    """Daily loop: accrue cash, settle expiring trades, apply exits, open entries, mark to market.

    Returns the daily frame (strategy, date, pnl, equity, cash, open_value, open_trades) and the
    trades. Cash starts at `capital`; a sold condor adds its credit to cash; equity = cash - the
    buy-back value of the open condors."""
    cash = capital
    open_: list[Trade] = []
    done: list[Trade] = []
    out = []
    prev_equity, prev_date, prev_rate = capital, None, 0.0
    for row in market.iter_rows(named=True):
        d = row["date"]
        if prev_date is not None:
            cash *= math.exp(prev_rate * (d - prev_date).days / 365.0)
        still, marks = [], {}
        for tr in open_:
            v = condor_value(row, tr, surface)  # at expiry: intrinsic, settled at today's close
            why = "expiry" if d >= tr.expiry else (exits(row, tr, v) if exits else None)
            if why:
                cash -= tr.qty * v
                tr.closed, tr.exit_value, tr.reason = d, v, why
                done.append(tr)
                continue
            still.append(tr)
            marks[id(tr)] = v
        open_ = still
        marked = sum(tr.qty * marks[id(tr)] for tr in open_)
        for tr in entries(row, cash - marked, open_):
            cash += tr.qty * tr.credit
            open_.append(tr)
            # marked at tonight's close: a condor sold intraday carries its move to the close
            marks[id(tr)] = condor_value(row, tr, surface)
        open_value = sum(tr.qty * marks[id(tr)] for tr in open_)
        equity = cash - open_value
        out.append({"strategy": strategy, "date": d, "pnl": equity - prev_equity, "equity": equity,
                    "cash": cash, "open_value": open_value, "open_trades": len(open_)})
        prev_equity, prev_date, prev_rate = equity, d, row.get("rate") or 0.0
    return pl.DataFrame(out, schema={"strategy": pl.String, "date": pl.Date, "pnl": pl.Float64,
                                     "equity": pl.Float64, "cash": pl.Float64,
                                     "open_value": pl.Float64, "open_trades": pl.Int64}), done + open_


def cndr_replica(market: pl.DataFrame, params: CondorParams | None = None
                 ) -> tuple[pl.DataFrame, list[Trade]]:
    """Cboe CNDR rules: on each roll session, after the expiring condor settled on the open, sell
    the 0.20-delta put and call and buy the 0.05-delta put and call expiring on next month's roll
    session, at the roll hour's levels; quantity so that loss_cover x qty x max loss = equity
    (or notional x equity / SPX); hold to expiry; premium and capital in one-month T-bills.
    The book starts on the first roll."""
    p = params or CondorParams()
    sessions = market["date"].to_list()
    rolls = roll_dates(sessions)
    nxt = dict(zip(rolls[:-1], rolls[1:], strict=True))
    first = rolls[0] if rolls else None
    m = market.filter(pl.col("date") >= first) if first else market.head(0)

    def entries(row: dict, equity: float, open_: list[Trade]) -> list[Trade]:
        d = row["date"]
        if d not in nxt or open_:
            return []
        at = intraday_row(row, p.roll_hour)
        legs = delta_condor(at, nxt[d], p)
        tr = Trade("cndr_replica", d, nxt[d], legs, 0.0, 0.0, am_settled=p.am_settlement)
        tr.credit = condor_value(at, tr, p.surface)
        if p.sizing == "notional":
            tr.qty = p.notional * equity / at["spx"]
        else:
            tr.qty = equity / (p.loss_cover * max(max_loss_pts(legs, tr.credit), p.strike_increment))
        return [tr]

    return run_book(m, "cndr_replica", p.capital, entries, p.surface)


def spx_hold(market: pl.DataFrame, capital: float = 100.0, start: date | None = None) -> pl.DataFrame:
    """Buy-and-hold SPX price index (no dividends: the history is the price index) on the account."""
    m = market.filter(pl.col("date") >= start) if start else market
    eq = capital * m["spx"] / m["spx"][0]
    return m.select("date").with_columns(
        strategy=pl.lit("spx"), equity=eq, pnl=eq - eq.shift(1).fill_null(capital),
        cash=pl.lit(0.0), open_value=pl.lit(0.0), open_trades=pl.lit(0, pl.Int64),
    ).select("strategy", "date", "pnl", "equity", "cash", "open_value", "open_trades")


def trades_frame(trades: list[Trade]) -> pl.DataFrame:
    rows = [{"strategy": t.strategy, "opened": t.opened, "expiry": t.expiry, "closed": t.closed,
             "qty": t.qty, "credit": t.credit, "exit_value": t.exit_value, "reason": t.reason,
             **{f"{'short' if lg.sign < 0 else 'long'}_{'put' if lg.right == 'P' else 'call'}": lg.strike
                for lg in t.legs}} for t in trades]
    schema = {"strategy": pl.String, "opened": pl.Date, "expiry": pl.Date, "closed": pl.Date,
              "qty": pl.Float64, "credit": pl.Float64, "exit_value": pl.Float64, "reason": pl.String,
              "short_put": pl.Float64, "long_put": pl.Float64, "short_call": pl.Float64,
              "long_call": pl.Float64}
    return pl.DataFrame(rows, schema=schema)

