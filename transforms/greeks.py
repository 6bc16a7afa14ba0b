"""Black–Scholes–Merton greeks from implied vol, vectorised over numpy arrays (gamma, delta, vanna, charm).

Pure numpy: no polars, no I/O. Degenerate inputs (T <= 0, IV = 0, S or K <= 0) give defined finite
numbers, never NaN, so sums over a chain stay clean.

Conventions: spot S and strike K in index points; T in years; iv, r (rate) and q (dividend yield)
annualised and continuously compounded.
- gamma = e^{-qT} φ(d1) / (S σ √T)                 per 1 point of S, per unit of position
- delta = e^{-qT} N(d1) (call), -e^{-qT} N(-d1) (put)
- vanna = ∂delta/∂σ = -e^{-qT} φ(d1) d2 / σ          per 1.00 of vol (divide by 100 for per vol point)
- charm = -∂delta/∂T (delta change per year of time passing; divide by 365 for per calendar day)
Degenerate cases:
- T < 0 (already settled) or S, K, σ, T not finite / S, K <= 0: every greek is 0.
- σ√T ~ 0 (below 1e-10) with T >= 0 (IV = 0, or the settlement instant itself): the option is a digital on the
  forward F = S e^{(r-q)T}: delta = e^{-qT}·1[F > K] for calls (½ at F = K), gamma = vanna = 0,
  charm = q e^{-qT}·1[F > K] for calls (the φ term vanishes).
- Tiny σ√T: d1 is clipped to ±40, where φ underflows to exactly 0 and N to exactly 0 or 1.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import ndtr

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_D1_CLIP = 40.0  # exp(-800) == 0.0 in float64: beyond this the Gaussian terms are exactly 0
# Below this σ√T the option is treated as its digital limit (σ = 0.2 => T ~ 1e-19 years): keeps
# every ratio (d2 / T in charm) finite instead of overflowing.
_MIN_VOL_T = 1e-10


def norm_pdf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def norm_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x): scipy.special.ndtr (within 2.2e-16 of erfc(-x/√2)/2 everywhere; tests/transforms/
    test_library_math.py compares it with the former libm-erfc version on a grid)."""
    return ndtr(np.asarray(x, dtype=float))


def black76_call(f: np.ndarray, k: float, t: float, iv: float) -> np.ndarray:
    """Black-76 call on a forward f, undiscounted (r = 0): f N(d1) - k N(d1 - σ√t); intrinsic
    value when t or σ is not positive."""
    if not t > 0 or not iv > 0:
        return np.maximum(f - k, 0.0)
    sd = iv * math.sqrt(t)
    d1 = (np.log(f / k) + 0.5 * sd * sd) / sd
    return f * norm_cdf(d1) - k * norm_cdf(d1 - sd)


def _prepare(spot, strike, t_years, iv, rate, div_yield, is_call=True):
    *arrays, call = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in
                                          (spot, strike, t_years, iv, rate, div_yield)),
                                        np.asarray(is_call, dtype=bool))
    s, k, t, v, r, q = arrays
    finite = np.isfinite(s) & np.isfinite(k) & np.isfinite(t) & np.isfinite(v) & \
        np.isfinite(r) & np.isfinite(q)
    valid = finite & (s > 0) & (k > 0) & (t >= 0) & (v >= 0)
    # Work on sanitised copies so invalid lanes never produce warnings or NaN.
    s = np.where(valid, s, 1.0)
    k = np.where(valid, k, 1.0)
    t = np.where(valid, t, 0.0)
    v = np.where(valid, v, 0.0)
    r = np.where(valid, r, 0.0)
    q = np.where(valid, q, 0.0)
    vol_t = v * np.sqrt(t)
    smooth = valid & (vol_t > _MIN_VOL_T)
    safe_vol_t = np.where(smooth, vol_t, 1.0)
    log_fk = np.log(s / k) + (r - q) * t  # ln(F/K)
    d1 = np.where(smooth, (log_fk + 0.5 * vol_t * vol_t) / safe_vol_t, 0.0)
    d1 = np.clip(d1, -_D1_CLIP, _D1_CLIP)
    d2 = d1 - np.where(smooth, vol_t, 0.0)
    disc_q = np.exp(-q * t)
    # The digital limit (σ√T = 0): which side of the strike the forward sits on.
    # (|ln F/K| below 1e-12 counts as at the money: T -> 0 with S = K gives ½, not the sign of (r-q)T.)
    step = np.where(log_fk > 1e-12, 1.0, np.where(log_fk < -1e-12, 0.0, 0.5))
    return s, k, t, v, r, q, valid, smooth, safe_vol_t, d1, d2, disc_q, step, call


def _defined(fn):
    """Absurd inputs (overflowing T·σ², subnormal spots) may still overflow an intermediate: such
    lanes give 0 like any other invalid input, silently, instead of inf/NaN and warnings."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            out = fn(*args, **kwargs)
        if isinstance(out, dict):
            return {k: np.where(np.isfinite(v), v, 0.0) for k, v in out.items()}
        return np.where(np.isfinite(out), out, 0.0)

    return wrapper


@_defined
def gamma(spot, strike, t_years, iv, rate=0.0, div_yield=0.0) -> np.ndarray:
    """Γ per 1 point of the underlying (same for calls and puts).

    The hot path of model GEX (a million rows a backfill): computed directly, without the shared
    intermediates of `greeks`; invalid or degenerate lanes (T <= 0, σ√T ~ 0, S or K <= 0) give 0.
    """
    s, k, t, v, r, q = (np.asarray(a, dtype=float) for a in (spot, strike, t_years, iv, rate, div_yield))
    vol_t = v * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / vol_t
    g = np.exp(-q * t - 0.5 * d1 * d1) / (_SQRT_2PI * s * vol_t)
    ok = (vol_t > _MIN_VOL_T) & (s > 0) & (k > 0) & (t >= 0) & (v >= 0)
    return np.where(ok, g, 0.0)


@_defined
def delta(spot, strike, t_years, iv, is_call, rate=0.0, div_yield=0.0) -> np.ndarray:
    _s, _k, _t, _v, _r, _q, valid, smooth, _svt, d1, _d2, dq, step, call = _prepare(
        spot, strike, t_years, iv, rate, div_yield, is_call)
    n_d1 = np.where(smooth, norm_cdf(d1), step)
    out = np.where(call, dq * n_d1, dq * (n_d1 - 1.0))
    return np.where(valid, out, 0.0)


@_defined
def vanna(spot, strike, t_years, iv, rate=0.0, div_yield=0.0) -> np.ndarray:
    """∂Δ/∂σ = -e^{-qT} φ(d1) d2 / σ (same for calls and puts), per 1.00 of vol."""
    _s, _k, _t, v, _r, _q, _valid, smooth, _svt, d1, d2, dq, _, _ = _prepare(
        spot, strike, t_years, iv, rate, div_yield)
    safe_v = np.where(smooth, v, 1.0)
    return np.where(smooth, -dq * norm_pdf(d1) * d2 / safe_v, 0.0)


@_defined
def charm(spot, strike, t_years, iv, is_call, rate=0.0, div_yield=0.0) -> np.ndarray:
    """-∂Δ/∂T: how delta drifts per year of time passing (divide by 365 for per day)."""
    _s, _k, t, _v, r, q, valid, smooth, svt, d1, d2, dq, step, call = _prepare(
        spot, strike, t_years, iv, rate, div_yield, is_call)
    safe_t = np.where(smooth, t, 1.0)
    common = np.where(smooth, dq * norm_pdf(d1) * (2.0 * (r - q) * t - d2 * svt) / (2.0 * safe_t * svt),
                      0.0)
    n_d1 = np.where(smooth, norm_cdf(d1), step)
    out = np.where(call, q * dq * n_d1 - common, -q * dq * (1.0 - n_d1) - common)
    return np.where(valid, out, 0.0)


@_defined
def vanna_charm(spot, strike, t_years, iv, is_call, rate=0.0, div_yield=0.0) -> dict[str, np.ndarray]:
    """vanna and charm in one pass over the shared intermediates (the gamma tables' exposure
    columns): the same numbers as `vanna` and `charm`, bit for bit."""
    _s, _k, t, v, r, q, valid, smooth, svt, d1, d2, dq, step, call = _prepare(
        spot, strike, t_years, iv, rate, div_yield, is_call)
    pdf = norm_pdf(d1)
    safe_v = np.where(smooth, v, 1.0)
    safe_t = np.where(smooth, t, 1.0)
    common = np.where(smooth, dq * pdf * (2.0 * (r - q) * t - d2 * svt) / (2.0 * safe_t * svt), 0.0)
    n_d1 = np.where(smooth, norm_cdf(d1), step)
    return {
        "vanna": np.where(smooth, -dq * pdf * d2 / safe_v, 0.0),
        "charm": np.where(valid, np.where(call, q * dq * n_d1 - common,
                                          -q * dq * (1.0 - n_d1) - common), 0.0),
    }


@_defined
def greeks(spot, strike, t_years, iv, is_call, rate=0.0, div_yield=0.0) -> dict[str, np.ndarray]:
    """All four at once (one pass over the shared intermediates)."""
    s, _k, t, v, r, q, valid, smooth, svt, d1, d2, dq, step, call = _prepare(
        spot, strike, t_years, iv, rate, div_yield, is_call)
    pdf = norm_pdf(d1)
    n_d1 = np.where(smooth, norm_cdf(d1), step)
    safe_v = np.where(smooth, v, 1.0)
    safe_t = np.where(smooth, t, 1.0)
    common = np.where(smooth, dq * pdf * (2.0 * (r - q) * t - d2 * svt) / (2.0 * safe_t * svt), 0.0)
    return {
        "gamma": np.where(smooth, dq * pdf / (s * svt), 0.0),
        "delta": np.where(valid, np.where(call, dq * n_d1, dq * (n_d1 - 1.0)), 0.0),
        "vanna": np.where(smooth, -dq * pdf * d2 / safe_v, 0.0),
        "charm": np.where(valid, np.where(call, q * dq * n_d1 - common,
                                          -q * dq * (1.0 - n_d1) - common), 0.0),
    }
