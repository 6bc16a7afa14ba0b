"""This project's ALVH rules and plain condor on real history: a listed-expiry SPX chain priced on
the VIX/SKEW surface each session, the unwind score from real inputs, and the backtest engine.

Pure polars/numpy: frames in, frames out. No I/O; the books are transforms/backtest's (reused,
not re-implemented); only the chain they read is synthesised from the surface.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl

from transforms import surface as sf
from transforms.backtest import QUOTE_COLUMNS, BacktestParams, alvh_rule, plain_ic_rule, simulate
from transforms.backtest.simulate import Inputs
from transforms.gamma import add_gex_macd
from transforms.signals import SignalParams, signals_daily

# SPXW Friday weeklies were listed from late October 2005; before, one monthly expiry a month
# (the third Friday, AM-settled on the SOQ). Later Monday/Wednesday/daily expiries are not
# listed here: the ALVH target (14 days) always finds a Friday within 3 days.
WEEKLY_START = date(2005, 10, 28)
MONTHLY_HORIZON_DAYS = 45  # AlvhParams.max_dte: no expiry further out can be chosen
WEEKLY_HORIZON_DAYS = 24  # with weeklies the 14-day target is always met within 17 days
Z_SPAN = 3.0  # strikes listed out to 3 ATM standard deviations out of the money (beyond: worth ~0)
Z_ITM = 1.0  # and 1 in the money (deeper: the engine marks a missing strike at its intrinsic value)
STRIKE_STEP = 5.0
WING_REF_SPOT = 6000.0  # the level AlvhParams.wing_width_pts (50 points) was chosen at


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def listed_expiries(sessions: list[date]) -> pl.DataFrame:
    """Expiry sessions (root, expiry): the third Friday of each month (root SPX, AM-settled) and,
    from WEEKLY_START, every other Friday (root SPXW, PM-settled); a Friday holiday moves the
    expiry to the session before."""
    if not sessions:
        return pl.DataFrame(schema={"root": pl.String, "expiry": pl.Date})
    ss = sorted(sessions)
    arr = np.array(ss, dtype="datetime64[D]")
    out = []
    f = ss[0] + timedelta(days=(4 - ss[0].weekday()) % 7)
    last = ss[-1] + timedelta(days=MONTHLY_HORIZON_DAYS + 7)
    while f <= last:
        monthly = f == third_friday(f.year, f.month)
        if monthly or f >= WEEKLY_START:
            i = int(np.searchsorted(arr, np.datetime64(f), side="right")) - 1
            e = ss[i] if i >= 0 and (f - ss[i]).days < 4 else f  # after the data: the Friday itself
            out.append({"root": "SPX" if monthly else "SPXW", "expiry": e})
        f += timedelta(days=7)
    return pl.DataFrame(out, schema={"root": pl.String, "expiry": pl.Date}).unique().sort("expiry")


def surface_chain(market: pl.DataFrame, params: sf.SurfaceParams | None = None) -> pl.DataFrame:
    """One raw.option_quotes-shaped chain per session of `market` (transforms/research/condor.py's
    market frame), priced on the surface: every listed expiry 1..45 days out (weeklies 1..24),
    strikes on a 5-point grid from 3 ATM standard deviations out of the money to 1 in the money
    (per right), bid = ask = the surface mid, iv and delta (forward delta) from the surface.
    Columns QUOTE_COLUMNS (root, right, underlying as categoricals: millions of rows)."""
    p = params or sf.SurfaceParams()
    exps = listed_expiries(market["date"].to_list())
    e_dates = exps["expiry"].to_list()
    e_roots = exps["root"].to_list()
    parts: dict[str, list] = {c: [] for c in QUOTE_COLUMNS}
    for row in market.iter_rows(named=True):
        d, spot = row["date"], row["spx"]
        pts = {n: row.get(n) for n in sf.VIX_TENORS}
        r, q = row.get("rate") or 0.0, row.get("div_yield") or 0.0
        for root, e in zip(e_roots, e_dates, strict=True):
            days = (e - d).days
            if days < 1 or days > (MONTHLY_HORIZON_DAYS if root == "SPX" else WEEKLY_HORIZON_DAYS):
                continue
            t = days / 365.0
            fwd = spot * math.exp((r - q) * t)
            atm = float(sf.atm_vol(pts, row.get("skew"), t, p))
            span = Z_SPAN * atm * math.sqrt(t)
            lo = max(STRIKE_STEP, math.ceil(fwd * math.exp(-span) / STRIKE_STEP) * STRIKE_STEP)
            hi = math.floor(fwd * math.exp(span) / STRIKE_STEP) * STRIKE_STEP
            k = np.arange(lo, hi + STRIKE_STEP / 2, STRIKE_STEP)
            if k.size == 0:
                continue
            iv_all = sf.surface_iv(np.log(k / fwd), t, pts, row.get("skew"), p)
            itm = Z_ITM * atm * math.sqrt(t)
            for right, is_call in (("C", True), ("P", False)):
                keep = k >= fwd * math.exp(-itm) if is_call else k <= fwd * math.exp(itm)
                kk, iv = k[keep], iv_all[keep]
                n = kk.size
                mid = sf.bs_price(fwd, kk, t, iv, is_call, math.exp(-r * t))
                parts["quote_date"].append(np.full(n, np.datetime64(d, "D")))
                parts["root"].append(np.full(n, root, dtype=object))
                parts["expiry"].append(np.full(n, np.datetime64(e, "D")))
                parts["strike"].append(kk)
                parts["right"].append(np.full(n, right, dtype=object))
                parts["underlying"].append(np.full(n, "SPX", dtype=object))
                parts["spot"].append(np.full(n, spot))
                parts["bid"].append(mid)
                parts["ask"].append(mid)
                parts["iv"].append(iv)
                parts["delta"].append(sf.forward_delta(fwd, kk, t, iv, is_call))
                parts["open_interest"].append(np.zeros(n))
    if not parts["strike"]:
        return pl.DataFrame(schema={c: t for c, t in CHAIN_SCHEMA.items()})
    return pl.DataFrame({c: np.concatenate(v) for c, v in parts.items()}).cast(CHAIN_SCHEMA)


CHAIN_SCHEMA: dict[str, pl.DataType] = {
    "quote_date": pl.Date(), "root": pl.Categorical(), "expiry": pl.Date(), "strike": pl.Float64(),
    "right": pl.Categorical(), "underlying": pl.Categorical(), "spot": pl.Float64(), "bid": pl.Float64(),
    "ask": pl.Float64(), "iv": pl.Float64(), "delta": pl.Float64(), "open_interest": pl.Float64(),
}


# -- the unwind score from real inputs ---------------------------------------------------------

def gamma_from_dix(dix: pl.DataFrame) -> pl.DataFrame:
    """raw.dix_gex (date, price, gex_usd) -> core.gamma_daily-shaped rows (date, underlying,
    preset, spot, net_gex_usd_per_pct, zero_gamma = null, GEX MACD): SqueezeMetrics' GEX is
    dealer gamma in dollars per 1 % move with the same sign convention as ours (dealers long
    calls, short puts), so it stands in where no chain exists. No zero-gamma level: the vendor
    publishes none (the 'spot below flip' part of the gamma score is missing, not false)."""
    if dix.is_empty():
        return pl.DataFrame()
    g = dix.sort("date").select(
        "date", underlying=pl.lit("SPX"), preset=pl.lit("default"), spot=pl.col("price").cast(pl.Float64),
        net_gex_usd_per_pct=pl.col("gex_usd").cast(pl.Float64), zero_gamma=pl.lit(None, pl.Float64))
    return add_gex_macd(g)


SIGNAL_COLUMNS = ("date", "unwind_score", "unwind_score_raw", "coverage", "components_available", "components_missing",
                  "regime", "gamma_score", "funding_score", "breadth_score", "volatility_score",
                  "events_score", "net_gex_usd_per_pct", "vix_vix3m_ratio", "shock")


def real_signals(dix: pl.DataFrame | None, vol: pl.DataFrame | None, breadth: pl.DataFrame | None = None,
                 funding: pl.DataFrame | None = None, params: SignalParams | None = None) -> pl.DataFrame:
    """core.signals_daily (transforms/signals.py, default parameters) from the real inputs that
    exist: dealer gamma from SqueezeMetrics GEX, the VIX term structure (core.vol_daily from the
    index histories), breadth and funding when their histories were given. Each row says which
    components it rests on (components_missing, coverage)."""
    gamma = gamma_from_dix(dix) if dix is not None and dix.height else None
    return signals_daily(gamma, funding, breadth, vol, None, params or SignalParams())


# -- the books --------------------------------------------------------------------------------

def _scaled(p: BacktestParams, spot: float | None) -> BacktestParams:
    """AlvhParams.wing_width_pts (50 points, chosen at SPX ~6000) scaled to the session's SPX level
    on the 5-point grid (the same transposition as the research plain condor)."""
    if spot is None:
        return p
    w = max(STRIKE_STEP, round(p.alvh.wing_width_pts * spot / WING_REF_SPOT / STRIKE_STEP) * STRIKE_STEP)
    return p.model_copy(update={"alvh": p.alvh.model_copy(update={"wing_width_pts": w})})


def _rules() -> dict:
    return {"alvh": lambda day, p: alvh_rule(day, _scaled(p, day.spot)),
            "plain_ic": lambda day, p: plain_ic_rule(day, _scaled(p, day.spot))}


def alvh_books(market: pl.DataFrame, index_bars: pl.DataFrame, signals: pl.DataFrame | None,
               surface: sf.SurfaceParams | None = None, params: BacktestParams | None = None,
               idle_rate: dict[date, float] | None = None) -> dict[str, pl.DataFrame]:
    """The backtest engine's `alvh` and `plain_ic` books (transforms/backtest, default parameters)
    over the sessions of `market`, on the surface chain; SPX settlement from index_bars (open for
    the AM-settled monthlies). No VIX options or VX futures exist in this history: the ALVH hedge
    layers find no instrument and stay out (the condor, its widening and the regime sizing
    remain). Returns core.backtest_trades / core.backtest_daily frames (without the SPX book)."""
    chain = surface_chain(market, surface)
    inputs = Inputs(spx_quotes=chain, index_bars=index_bars, signals=signals,
                    sessions=market["date"].to_list(), idle_rate=idle_rate)
    out = simulate(inputs, _rules(), params or BacktestParams())
    return {"trades": out["core.backtest_trades"],
            "daily": out["core.backtest_daily"].filter(pl.col("strategy") != "spx")}
