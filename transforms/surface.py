"""An SPX implied-volatility surface for days without option chains, from the VIX term structure
and the SKEW index; Black-Scholes pricing, strikes by delta, and the fit of its three parameters.

Pure numpy/polars/scipy: no I/O. Callers pass index levels in points (VIX 18.5, SKEW 131.2).

Parameterisation (docs/research.md has the derivation and the measured errors):
    T in years, k = ln(K / F) with F the forward, z = k / (atm(T) sqrt(T)) clipped to [-Z_CAP, Z_CAP]
    iv(k, T) = atm(T) * max(1 + a * S * z + b * z^2 + c * max(z, 0)^2, FLOOR)
    S        = (100 - SKEW) / 10          Cboe's definition: SKEW = 100 - 10 * risk-neutral skewness
    atm(T)   = d * sigma_vix(T) / m(a, b, S)
    sigma_vix(T): the VIX points (VIX9D 9 d, VIX 30 d, VIX3M 93 d, VIX6M 182 d, whichever exist)
             interpolated linearly in total variance sigma^2 T, flat vol outside the points, total
             variance made non-decreasing (no negative forward variance).
    m(a, b, S) = sqrt(E[smile(z)^2]) for z ~ N(0, 1): a VIX is a variance-swap rate, the average of
             the smile's variance over strikes, so the ATM vol is the VIX divided by the smile's RMS.
Free parameters: a (skew loading; 1/6 is the Gram-Charlier value), b (curvature), d (a residual
discount of the VIX to the ATM vol: the variance risk premium in the wings, jumps, discreteness),
c (extra curvature of the call wing only: real SPX call wings flatten and turn up where a single
skew slope keeps falling; 0 = the three-parameter surface).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.special import ndtr as norm_cdf  # vectorised C; greeks.norm_cdf loops in Python

# Days to expiry of each VIX-family index (Cboe's definitions).
VIX_TENORS: dict[str, int] = {"vix9d": 9, "vix": 30, "vix3m": 93, "vix6m": 182}
Z_CAP = 3.5  # beyond 3.5 standard deviations the smile is flat (no quotes out there to fit)
FLOOR = 0.4  # the smile never drops below 40 % of the ATM vol (far OTM calls)
SKEW_NEUTRAL = 100.0
_GH_Z, _GH_W = np.polynomial.hermite_e.hermegauss(41)
_GH_W = _GH_W / _GH_W.sum()


@dataclass(frozen=True)
class SurfaceParams:
    """The fitted numbers (fit_params); defaults are the values chosen in docs/research.md."""

    a: float = 0.0732  # skew loading on S = (100 - SKEW) / 10
    b: float = 0.0159  # curvature in standardised moneyness
    d: float = 0.8599  # residual discount, ATM vol / (VIX / smile RMS)
    c: float = 0.0  # call-wing curvature (z > 0 only)


# -- Black-Scholes on the forward -----------------------------------------------------------------

def bs_price(fwd, strike, t_years, iv, is_call, discount=1.0) -> np.ndarray:
    """Black-76 price: discount * (F N(d1) - K N(d2)) for calls, the parity put otherwise.
    At T <= 0 or iv <= 0 the discounted intrinsic value on the forward."""
    f, k, t, v = (np.asarray(x, dtype=float) for x in (fwd, strike, t_years, iv))
    c = np.asarray(is_call, dtype=bool)
    sd = np.where((t > 0) & (v > 0), v * np.sqrt(np.maximum(t, 0.0)), 0.0)
    safe = np.where(sd > 0, sd, 1.0)
    d1 = np.where(sd > 0, (np.log(f / k) + 0.5 * sd * sd) / safe, 0.0)
    d2 = d1 - sd
    call = np.where(sd > 0, f * norm_cdf(d1) - k * norm_cdf(d2), np.maximum(f - k, 0.0))
    put = call - (f - k)
    return np.asarray(discount, dtype=float) * np.where(c, call, put)


def forward_delta(fwd, strike, t_years, iv, is_call) -> np.ndarray:
    """N(d1) for calls, N(d1) - 1 for puts (undiscounted forward delta)."""
    f, k, t, v = (np.asarray(x, dtype=float) for x in (fwd, strike, t_years, iv))
    sd = np.maximum(v * np.sqrt(np.maximum(t, 1e-12)), 1e-12)
    n = norm_cdf((np.log(f / k) + 0.5 * sd * sd) / sd)
    return np.where(np.asarray(is_call, dtype=bool), n, n - 1.0)


def implied_vol(price, fwd, strike, t_years, is_call, discount=1.0, lo=1e-4, hi=5.0,
                iters: int = 80) -> np.ndarray:
    """Black-76 implied vol by bisection (vectorised); NaN where the price is outside the
    no-arbitrage bounds (below intrinsic or above the forward/strike)."""
    p = np.asarray(price, dtype=float)
    f, k, t = (np.broadcast_to(np.asarray(x, dtype=float), p.shape) for x in (fwd, strike, t_years))
    c = np.broadcast_to(np.asarray(is_call, dtype=bool), p.shape)
    lo_v = np.full(p.shape, lo)
    hi_v = np.full(p.shape, hi)
    p_lo = bs_price(f, k, t, lo_v, c, discount)
    p_hi = bs_price(f, k, t, hi_v, c, discount)
    ok = (p > p_lo) & (p < p_hi) & (t > 0)
    for _ in range(iters):
        mid = 0.5 * (lo_v + hi_v)
        above = bs_price(f, k, t, mid, c, discount) > p
        hi_v = np.where(above, mid, hi_v)
        lo_v = np.where(above, lo_v, mid)
    return np.where(ok, 0.5 * (lo_v + hi_v), np.nan)


# -- the surface -----------------------------------------------------------------------------------

def skewness(skew_index: float | None) -> float:
    """Cboe SKEW -> risk-neutral skewness S (SKEW 130 -> -3.0); a missing SKEW is S = 0."""
    if skew_index is None or not math.isfinite(skew_index):
        return 0.0
    return (SKEW_NEUTRAL - skew_index) / 10.0


def _smile(z: np.ndarray, s: float, p: SurfaceParams) -> np.ndarray:
    zc = np.clip(z, -Z_CAP, Z_CAP)
    up = np.maximum(zc, 0.0)
    return np.maximum(1.0 + p.a * s * zc + p.b * zc * zc + p.c * up * up, FLOOR)


def smile_rms(s: float, p: SurfaceParams) -> float:
    """sqrt(E[smile(z)^2]), z ~ N(0, 1): the variance-swap vol of a smile with ATM vol 1."""
    return float(np.sqrt(np.sum(_GH_W * _smile(_GH_Z, s, p) ** 2)))


def vix_term(points: dict[str, float | None], t_years) -> np.ndarray:
    """sigma_vix(T) (decimal) from the VIX points given in index points, e.g. {"vix": 18.5,
    "vix3m": 20.1}: linear in total variance between tenors, flat vol outside, variance never
    decreasing with T. Raises ValueError without any usable point."""
    pts = sorted((VIX_TENORS[name] / 365.0, v / 100.0) for name, v in points.items()
                 if name in VIX_TENORS and v is not None and math.isfinite(v) and v > 0)
    if not pts:
        raise ValueError("no VIX point: need at least one of VIX9D, VIX, VIX3M, VIX6M")
    ts = np.array([p[0] for p in pts])
    w = np.maximum.accumulate(np.array([p[1] ** 2 * p[0] for p in pts]))
    t = np.asarray(t_years, dtype=float)
    tt = np.maximum(t, 1e-6)
    var_in = np.interp(tt, ts, w) / tt  # flat total variance left of ts[0]: fixed below
    vol = np.sqrt(var_in)
    vol = np.where(tt < ts[0], math.sqrt(w[0] / ts[0]), vol)
    vol = np.where(tt > ts[-1], math.sqrt(w[-1] / ts[-1]), vol)
    return vol


def atm_vol(points: dict[str, float | None], skew_index: float | None, t_years,
            params: SurfaceParams | None = None) -> np.ndarray:
    p = params or SurfaceParams()
    return p.d * vix_term(points, t_years) / smile_rms(skewness(skew_index), p)


def surface_iv(log_moneyness, t_years, points: dict[str, float | None], skew_index: float | None,
               params: SurfaceParams | None = None) -> np.ndarray:
    """Implied vol at k = ln(K/F) and T (years) for one day's VIX points and SKEW."""
    p = params or SurfaceParams()
    t = np.asarray(t_years, dtype=float)
    atm = atm_vol(points, skew_index, t, p)
    z = np.asarray(log_moneyness, dtype=float) / (atm * np.sqrt(np.maximum(t, 1e-6)))
    return atm * _smile(z, skewness(skew_index), p)


def strike_for_delta(target: float, fwd: float, t_years: float, points: dict[str, float | None],
                     skew_index: float | None, params: SurfaceParams | None = None,
                     increment: float = 5.0) -> float:
    """The listed strike (multiple of `increment`) whose surface forward delta is nearest `target`
    (0.20 for a call, -0.20 for a put), searched over +-6 ATM standard deviations."""
    is_call = target > 0
    atm = float(atm_vol(points, skew_index, t_years, params))
    span = 6.0 * atm * math.sqrt(max(t_years, 1e-6))
    lo = math.floor(fwd * math.exp(-span) / increment) * increment
    hi = math.ceil(fwd * math.exp(span) / increment) * increment
    strikes = np.arange(max(lo, increment), hi + increment, increment)
    iv = surface_iv(np.log(strikes / fwd), t_years, points, skew_index, params)
    dl = forward_delta(fwd, strikes, t_years, iv, is_call)
    return float(strikes[int(np.argmin(np.abs(dl - target)))])


# -- fitting ---------------------------------------------------------------------------------------

OBS_COLUMNS = ("quote_date", "t_years", "k", "iv", "vix9d", "vix", "vix3m", "vix6m", "skew")


def _points(row: dict) -> dict[str, float | None]:
    return {n: row.get(n) for n in VIX_TENORS}


def model_iv(obs: pl.DataFrame, params: SurfaceParams) -> np.ndarray:
    """The surface's IV for each observation (columns OBS_COLUMNS; one VIX row per quote_date)."""
    out = np.empty(obs.height)
    idx = np.arange(obs.height)
    for (_,), g in obs.with_columns(_i=pl.Series(idx)).group_by(["quote_date"], maintain_order=True):
        row = g.row(0, named=True)
        out[g["_i"].to_numpy()] = surface_iv(g["k"].to_numpy(), g["t_years"].to_numpy(),
                                             _points(row), row["skew"], params)
    return out


def fit_params(obs: pl.DataFrame, start: SurfaceParams | None = None, call_wing: bool = False
               ) -> SurfaceParams:
    """Least squares of model IV against observed IV (equal weight per quote date, so a chain with
    more strikes does not dominate). `obs` must hold only the fitting chains. call_wing=True fits
    c as well (else c stays at the start's value)."""
    from scipy.optimize import least_squares

    w = 1.0 / np.sqrt(obs.group_by("quote_date").len().join(obs.select("quote_date"), on="quote_date",
                                                                how="right")["len"].to_numpy())
    iv = obs["iv"].to_numpy()
    x0 = start or SurfaceParams()

    def params(x: np.ndarray) -> SurfaceParams:
        return SurfaceParams(*x) if call_wing else SurfaceParams(*x, c=x0.c)

    def resid(x: np.ndarray) -> np.ndarray:
        return w * (model_iv(obs, params(x)) - iv)

    lo, hi = [0.0, -0.2, 0.5], [0.5, 0.5, 1.5]
    x = [x0.a, x0.b, x0.d]
    if call_wing:
        x, lo, hi = [*x, x0.c], [*lo, 0.0], [*hi, 0.5]
    res = least_squares(resid, x, bounds=(lo, hi))
    return params(np.array([round(float(v), 4) for v in res.x]))


def iv_errors(obs: pl.DataFrame, params: SurfaceParams) -> pl.DataFrame:
    """Per quote date: points, mean error and RMSE of model - market IV, in vol points."""
    e = obs.with_columns(err=pl.Series((model_iv(obs, params) - obs["iv"].to_numpy()) * 100.0))
    return e.group_by("quote_date").agg(
        n=pl.len(), bias_pts=pl.col("err").mean(), rmse_pts=(pl.col("err") ** 2).mean().sqrt(),
    ).sort("quote_date")


def vix_row(index_closes: pl.DataFrame, day, names: Sequence[str] = ("vix9d", "vix", "vix3m", "vix6m",
                                                                       "skew")) -> dict[str, float | None]:
    """The last close in the week up to `day` of each index (wide frame: date + lower-case
    columns); None when the index has no close in that week (not yet published, or a hole)."""
    from datetime import timedelta

    past = index_closes.filter(pl.col("date").is_between(day - timedelta(days=7), day)).sort("date")
    out: dict[str, float | None] = {}
    for n in names:
        col = past.select(pl.col(n).drop_nulls()) if n in past.columns else pl.DataFrame()
        out[n] = float(col[n][-1]) if col.height else None
    return out


# -- real chains -> observations (for the fit and its error report) -------------------------------

def chain_observations(quotes: pl.DataFrame, rate: float = 0.03, min_days: int = 7,
                       max_days: int = 200, min_mid: float = 0.10) -> pl.DataFrame:
    """One SPX chain snapshot (raw.option_quotes rows of one quote_date) -> OTM observations with the
    market IV recomputed from the mid on a parity forward.

    Kept: bid > 0, ask >= bid, mid >= min_mid, expiry min_days..max_days calendar days out, the OTM
    side only (puts below the forward, calls above). The forward per expiry is K + e^{rT}(C - P) at
    the three strikes nearest the spot where both sides are bid (median). Columns: quote_date,
    expiry, t_years, strike, right, fwd, k, mid, iv, delta (forward delta at the market IV).
    """
    q = quotes.filter(pl.col("underlying") == "SPX", ~pl.col("expired"), pl.col("bid") > 0,
                      pl.col("ask") >= pl.col("bid")).with_columns(
        mid=(pl.col("bid") + pl.col("ask")) / 2,
        days=(pl.col("expiry") - pl.col("quote_date")).dt.total_days())
    q = q.filter(pl.col("days").is_between(min_days, max_days))
    # SPX and SPXW list the same expiry on monthly dates: keep one quote per contract (SPX first).
    q = q.sort("root").unique(["expiry", "strike", "right"], keep="first")
    if q.is_empty():
        return pl.DataFrame(schema={"quote_date": pl.Date, "expiry": pl.Date, "t_years": pl.Float64,
                                    "strike": pl.Float64, "right": pl.String, "fwd": pl.Float64,
                                    "k": pl.Float64, "mid": pl.Float64, "iv": pl.Float64,
                                    "delta": pl.Float64})
    spot = float(q["spot"][0])
    pairs = q.pivot(on="right", index=["expiry", "strike", "days"], values="mid").drop_nulls(["C", "P"])
    fwd = (pairs.with_columns(dist=(pl.col("strike") - spot).abs(), t=pl.col("days") / 365.0)
           .sort("dist").group_by("expiry").head(3)
           .with_columns(f=pl.col("strike") + (pl.col("t") * rate).exp() * (pl.col("C") - pl.col("P")))
           .group_by("expiry").agg(fwd=pl.col("f").median()))
    o = q.join(fwd, on="expiry").with_columns(t_years=pl.col("days") / 365.0)
    o = o.filter(((pl.col("right") == "P") & (pl.col("strike") < pl.col("fwd")))
                 | ((pl.col("right") == "C") & (pl.col("strike") >= pl.col("fwd"))),
                 pl.col("mid") >= min_mid)
    t = o["t_years"].to_numpy()
    f = o["fwd"].to_numpy()
    k = o["strike"].to_numpy()
    c = (o["right"] == "C").to_numpy()
    iv = implied_vol(o["mid"].to_numpy() * np.exp(rate * t), f, k, t, c)
    o = o.with_columns(k=pl.Series(np.log(k / f)), iv=pl.Series(iv),
                       delta=pl.Series(forward_delta(f, k, t, np.nan_to_num(iv, nan=1e-4), c)))
    return o.filter(pl.col("iv").is_not_nan()).select(
        "quote_date", "expiry", "t_years", "strike", "right", "fwd", "k", "mid", "iv", "delta"
    ).sort("expiry", "strike")


LEGS = (("short_put", -0.20), ("long_put", -0.05), ("short_call", 0.20), ("long_call", 0.05))


def monthly_expiry_near(obs: pl.DataFrame, days: int = 30, lo: int = 20, hi: int = 50):
    """The third-Friday expiry with days-to-expiry in [lo, hi] nearest `days` (None if none)."""
    e = obs.select("quote_date", "expiry").unique().with_columns(
        dte=(pl.col("expiry") - pl.col("quote_date")).dt.total_days())
    e = e.filter(pl.col("expiry").dt.weekday() == 5, pl.col("expiry").dt.day().is_between(15, 21),
                 pl.col("dte").is_between(lo, hi))
    if e.is_empty():
        return None
    return e.with_columns(gap=(pl.col("dte") - days).abs()).sort("gap")["expiry"][0]


def leg_errors(obs: pl.DataFrame, points: dict[str, float | None], skew_index: float | None,
               params: SurfaceParams, rate: float = 0.03, max_gap: float = 0.03) -> pl.DataFrame:
    """CNDR's four legs on the monthly expiry nearest 30 days: the market strike nearest each
    target delta, its market mid, and the surface's premium at that strike (same forward and T)."""
    exp = monthly_expiry_near(obs)
    if exp is None:
        return pl.DataFrame()
    o = obs.filter(pl.col("expiry") == exp)
    rows = []
    for leg, target in LEGS:
        side = o.filter(pl.col("right") == ("C" if target > 0 else "P"))
        if side.is_empty():
            continue
        r = side.with_columns(gap=(pl.col("delta") - target).abs()).sort("gap").row(0, named=True)
        if r["gap"] > max_gap:  # a thin chain (expired rows only ...) has no strike near the delta
            continue
        iv_m = float(surface_iv(r["k"], r["t_years"], points, skew_index, params))
        prem = float(bs_price(r["fwd"], r["strike"], r["t_years"], iv_m, target > 0,
                              math.exp(-rate * r["t_years"])))
        model_k = strike_for_delta(target, r["fwd"], r["t_years"], points, skew_index, params)
        rows.append({"quote_date": r["quote_date"], "expiry": exp, "leg": leg, "strike": r["strike"],
                     "market_delta": r["delta"], "market_iv": r["iv"], "model_iv": iv_m,
                     "market_mid": r["mid"], "model_premium": prem, "model_strike": model_k})
    return pl.DataFrame(rows)
