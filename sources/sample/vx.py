"""CFE VX futures of the sample market: the settlement curve implied by the variance state, the
daily settlement CSV and the per-contract history files (modern `VX_<expiry>.csv` layout).

Prices are a pure function of (seed, contract, trade date), so a day's settlement file and a
contract's history agree to the last digit. No I/O beyond returning text.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from sources.sample import expiries as ex
from sources.sample import pricing as px
from sources.sample.market import SampleMarket, expected_avg_var, forward_avg_var
from sources.sample.textfmt import dec, lines, scaled

CONVEXITY = 0.045  # VX trades below sqrt(E[forward variance]) by up to this share (Jensen)
LISTING_DAYS = 275  # a monthly is listed about nine months before it expires
ROOT_ID_VX = 5


def vx_curve(m: SampleMarket, idx: np.ndarray, expiry_ord: np.ndarray) -> np.ndarray:
    """Settlement of the VX contract expiring on `expiry_ord` at session index `idx` (arrays).

    F = 100 sqrt(E^Q[30-day variance starting at the expiry]) x (1 - convexity(T)) x noise;
    on its expiry day a contract settles to the VIX special opening quotation (~ the VIX open)."""
    p = m.params
    f = m._sim.frame
    dates = m._sim.ordinals
    v_q = f["variance_q"].to_numpy()[idx]
    s_q = f["spike_q"].to_numpy()[idx]
    T = np.maximum(expiry_ord - dates[idx], 0) / 365.0
    fut = 100 * np.sqrt(forward_avg_var(v_q, s_q, T, 30 / 365, p)) * (1 - CONVEXITY * (1 - np.exp(-4.0 * T)))
    # Anchor the front to the observed VIX (its noise is real market noise, not model error).
    vix = f["vix"].to_numpy()[idx]
    vix_model = 100 * np.sqrt(expected_avg_var(v_q, 30 / 365, p, s_q))
    fut = fut + (vix - vix_model) * np.exp(-T / 0.08)
    u = px.contract_uniform(m.seed, expiry_ord, dates[idx].astype(float), np.zeros_like(idx),
                            np.full_like(idx, ROOT_ID_VX), 7)
    fut = fut * np.exp(0.004 * px.uniform_to_normal(u))
    soq = f["vix_open"].to_numpy()[idx] * np.exp(0.01 * px.uniform_to_normal(u))
    return np.where(expiry_ord == dates[idx], soq, fut)


def month_code(e: date) -> str:
    """CFE contract code of an expiry: month letter + last digit of the year (2026-12-16 -> Z6).
    A monthly's contract month is its expiry month (VX/F6 expires 2026-01-21)."""
    return f"{ex.MONTH_CODE[e.month - 1]}{e.year % 10}"


def settlement_text(m: SampleMarket, day: date) -> str:
    """The CFE daily settlement CSV (`Product,Symbol,Expiration Date,Price`): VX weeklies
    (`VX48/Z6`), monthlies (`VX/Z6`), then VXM minis and one unrelated product."""
    i = m.index_of(day)
    monthlies = ex.vx_monthlies(day, 9)
    weeklies = ex.vx_weeklies(day, 6)
    rows = sorted([(e, True) for e in monthlies] + [(e, False) for e in weeklies])
    eo = np.array([e.toordinal() for e, _ in rows], dtype=np.int64)
    price = dict(zip([e for e, _ in rows], vx_curve(m, np.full(len(rows), i), eo), strict=True))
    out = ["Product,Symbol,Expiration Date,Price"]
    for e, monthly in rows:
        # Weekly symbols carry the week of the year (Sunday-based, %U): VX48/Z6 = 2026-12-02.
        sym = f"VX/{month_code(e)}" if monthly else f"VX{int(e.strftime('%U')):02d}/{month_code(e)}"
        out.append(f"VX,{sym},{e.isoformat()},{_price4(price[e])}")
    for e in monthlies[:3]:
        out.append(f"VXM,VXM/{month_code(e)},{e.isoformat()},{_price4(price[e])}")
    # An unrelated CFE product on the same sheet (readers must skip it).
    ibhy = 98.0 + 0.5 * np.sin(i / 40.0)
    fri = ex.monthly_expiry(*ex.add_months(day.year, day.month, 1 if day.day > 15 else 0))
    out.append(f"IBHY,IBHY/{ex.MONTH_CODE[fri.month - 1]}{fri.year % 10},{fri.isoformat()},{_price4(ibhy, 3)}")
    return "\n".join(out) + "\n"


def _price4(x: float, d: int = 4) -> str:
    v = int(scaled(np.array([x]), d)[0])
    s = f"{v // 10**d}.{v % 10**d:0{d}d}".rstrip("0").rstrip(".")
    return s


def contract_history_text(m: SampleMarket, expiry: date, start: date, end: date) -> str | None:
    """One monthly contract's daily history in the modern CFE layout, sessions in [start, end]:
    `Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest`.
    The listing day is the zero placeholder row real files start with."""
    listing = ex.session_on_or_before(expiry - timedelta(days=LISTING_DAYS))
    lo, hi = max(start, listing), min(end, expiry)
    days = ex.sessions_between(lo, hi)
    days = [d for d in days if d >= m._sim.dates[0]]
    if not days:
        return None
    idx = np.array([m.index_of(d) for d in days], dtype=np.int64)
    n = len(idx)
    eo = np.full(n, expiry.toordinal(), dtype=np.int64)
    settle = vx_curve(m, idx, eo)
    prev_idx = np.maximum(idx - 1, 0)
    prev = vx_curve(m, prev_idx, eo)
    dord = np.array([d.toordinal() for d in days], dtype=np.int64)
    u = [px.uniform_to_normal(px.contract_uniform(m.seed, eo, dord.astype(float), np.full(n, k), np.full(n, 6), 8))
         for k in range(4)]
    T = (expiry.toordinal() - dord) / 365.0
    rng_day = 0.012 + 0.02 * np.exp(-T / 0.1)
    opn = prev * np.exp(0.6 * np.log(settle / prev) + 0.006 * u[0])
    close = settle * np.exp(0.002 * u[1])
    high = np.maximum(opn, close) * np.exp(np.abs(u[2]) * rng_day)
    low = np.minimum(opn, close) * np.exp(-np.abs(u[3]) * rng_day)
    volume = np.floor(90_000 * np.exp(-T / 0.12) * (0.5 + np.abs(u[2])) + 400 * np.exp(-T / 0.4))
    age = (dord - listing.toordinal()) / 365.0
    oi = np.floor(160_000 * (1 - np.exp(-age / 0.25)) * np.exp(-np.maximum(0.06 - T, 0) / 0.02)
                  * np.exp(-T / 0.5) + 50 * age)
    # Quote to CFE ticks (0.05) for OHLC, settlement to 4 decimals; change vs previous settle.
    tick = lambda a: np.round(a / 0.05) * 0.05  # noqa: E731
    opn, high, low, close = tick(opn), tick(high), tick(low), tick(close)
    high = np.maximum.reduce([high, opn, close])
    low = np.minimum.reduce([low, opn, close])
    settle4 = scaled(settle, 4)
    change4 = settle4 - scaled(prev, 4)
    first_is_listing = days[0] == listing
    if first_is_listing:  # placeholder: zero open/close, a wide bogus high/low, no volume
        opn[0], close[0], volume[0], oi[0], change4[0] = 0, 0, 0, 0, 0
        high[0], low[0] = settle[0] * 0.94, settle[0] * 1.08
    label = f"{ex.MONTH_CODE[expiry.month - 1]} ({expiry.strftime('%b %Y')})"
    f = pl.DataFrame({
        "d": [d.isoformat() for d in days],
        "o": scaled(opn, 4), "h": scaled(high, 4), "l": scaled(low, 4), "c": scaled(close, 4),
        "s": settle4, "ch": change4, "v": volume.astype(np.int64), "oi": oi.astype(np.int64),
    })
    body = lines(f, [pl.col("d"), pl.lit(label), dec("o", 4, strip=False), dec("h", 4, strip=False),
                     dec("l", 4, strip=False), dec("c", 4, strip=False), _min2("s"), _min2("ch"),
                     pl.col("v").cast(pl.String), pl.lit("0"), pl.col("oi").cast(pl.String)])
    return "Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest\n" + body


def _min2(col: str) -> pl.Expr:
    """Settle/Change as CFE prints them: up to 4 decimals, at least 2 (`25.00`, `24.975`, `-0.225`)."""
    t = dec(col, 4, strip=False)
    t = t.str.replace(r"(\.\d\d\d)0$", "$1").str.replace(r"(\.\d\d)0$", "$1")
    return t


def contracts_live(start: date, end: date) -> list[date]:
    """Monthly VX expiries with at least one trading day in [start, end]."""
    out = []
    for e in ex.vx_monthlies(start, 40):
        listing = e - timedelta(days=LISTING_DAYS)
        if listing > end:
            break
        out.append(e)
    return out
