"""Option pricing and contract-level pseudo-randomness for the sample chains.

Black-Scholes / Black-76 on scipy's normal CDF, a skewed IV surface tied to the
variance state, quote rounding to CBOE ticks, and a counter-based hash so a contract's open interest
is persistent across days (seeded per contract, never per day). Pure numpy.
"""

from __future__ import annotations

import math

import numpy as np

from sources.sample.market import ndtr

R = 0.040  # flat risk-free rate, continuously compounded
Q = 0.013  # SPX dividend yield, continuously compounded
MIN_YEAR = 525_600.0  # minutes per (365-day) year

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def npdf(x: np.ndarray) -> np.ndarray:
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def bs(S, K, T, iv, r=R, q=Q):
    """Black-Scholes (price_call, price_put, delta_call, delta_put, gamma) for arrays."""
    sq = np.sqrt(T)
    sig = iv * sq
    d1 = (np.log(S / K) + (r - q) * T) / sig + 0.5 * sig
    d2 = d1 - sig
    dq, dr = np.exp(-q * T), np.exp(-r * T)
    n1, n2 = ndtr(d1), ndtr(d2)
    call = S * dq * n1 - K * dr * n2
    put = K * dr * (1.0 - n2) - S * dq * (1.0 - n1)
    gamma = dq * npdf(d1) / (S * sig)
    return np.maximum(call, 0.0), np.maximum(put, 0.0), dq * n1, dq * (n1 - 1.0), gamma


def black76(F, K, T, iv, r=R):
    """Black-76 on a futures price: (call, put, delta_call, delta_put, gamma) w.r.t. F."""
    sig = iv * np.sqrt(T)
    d1 = np.log(F / K) / sig + 0.5 * sig
    d2 = d1 - sig
    dr = np.exp(-r * T)
    n1, n2 = ndtr(d1), ndtr(d2)
    call = dr * (F * n1 - K * n2)
    put = dr * (K * (1.0 - n2) - F * (1.0 - n1))
    gamma = dr * npdf(d1) / (F * sig)
    return np.maximum(call, 0.0), np.maximum(put, 0.0), dr * n1, dr * (n1 - 1.0), gamma


def spx_iv(k: np.ndarray, T: np.ndarray, atm: np.ndarray, skew_mult: float = 1.0) -> np.ndarray:
    """SPX implied vol at log-moneyness k = ln(K/F): the ATM level plus a put skew that is linear
    in standardised moneyness x = k / sqrt(T_eff) with a smooth convex wing,
        iv = atm - a x + b (sqrt(x^2 + c^2) - c),  a = 0.22 sqrt(atm / 0.15), b = 0.18, c = 0.25,
    so skew steepens in vol points as the level rises (stress). T_eff = max(T, 3 days) keeps the
    0DTE wings finite."""
    x = k / np.sqrt(np.maximum(T, 3.0 / 365.0))
    a = 0.22 * skew_mult * np.sqrt(atm / 0.15)
    b, c = 0.18, 0.25
    iv = atm - a * x + b * (np.sqrt(x * x + c * c) - c)
    return np.maximum(iv, np.maximum(0.6 * atm, 0.05))


def vix_iv(k: np.ndarray, T: np.ndarray, atm: np.ndarray) -> np.ndarray:
    """VIX option implied vol: high level and a CALL skew (upside in VIX is where the demand is):
    iv = atm + 0.40 asinh(x), x = ln(K/F) / sqrt(max(T, 30 days))."""
    x = k / np.sqrt(np.maximum(T, 30.0 / 365.0))
    iv = atm + 0.40 * np.arcsinh(x)  # steep near the money, flattening far out (concave wing)
    return np.clip(iv, 0.5 * atm, 3.0)


def round_quotes(mid: np.ndarray, spread: np.ndarray):
    """CBOE-style bid/ask in cents: tick 0.05 below 3.00, 0.10 from 3.00; a worthless option quotes
    0 bid / 0.05 ask."""
    tick = np.where(mid < 3.0, 5, 10)
    lo = (mid - spread / 2) * 100
    hi = (mid + spread / 2) * 100
    bid = np.floor(lo / tick) * tick
    ask = np.ceil(hi / tick) * tick
    bid = np.maximum(bid, 0)
    ask = np.maximum(ask, np.maximum(bid + tick, 5))
    return bid.astype(np.int64), ask.astype(np.int64)


# -- counter-based hashing: contract-level randomness that does not depend on the day ----------
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLD
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def contract_uniform(seed: int, expiry_ord: np.ndarray, strike: np.ndarray, right: np.ndarray,
                     root_id: np.ndarray, salt: int) -> np.ndarray:
    """A uniform in [0, 1) fixed for (seed, expiry, strike, right, root, salt)."""
    with np.errstate(over="ignore"):
        h = _mix(np.uint64(seed & 0xFFFFFFFF) * np.uint64(1_000_003) + np.uint64(salt))
        h = _mix(h ^ np.asarray(expiry_ord, dtype=np.uint64))
        h = _mix(h ^ np.asarray(np.rint(np.asarray(strike) * 100), dtype=np.uint64))
        h = _mix(h ^ (np.asarray(right, dtype=np.uint64) * np.uint64(7) + np.asarray(root_id, dtype=np.uint64)))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def uniform_to_normal(u: np.ndarray) -> np.ndarray:
    """Inverse normal CDF (Acklam's rational approximation, |err| < 1.2e-9)."""
    u = np.clip(u, 1e-12, 1 - 1e-12)
    a = [-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00]
    b = [-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01]
    c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00]
    out = np.empty_like(u)
    lo, hi = u < 0.02425, u > 1 - 0.02425
    mid = ~(lo | hi)
    q = np.sqrt(-2 * np.log(u[lo]))
    out[lo] = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
        (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = np.sqrt(-2 * np.log(1 - u[hi]))
    out[hi] = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
        (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = u[mid] - 0.5
    r = q * q
    out[mid] = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    return out
