"""Library math against the hand-written versions it replaced: scipy's ndtr and brentq, the one
Black-76 and the one t_years give the former numbers (within 1e-12, most of them to the bit).

The former implementations are copied here verbatim as the reference; grids are small and seeded.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl

from transforms import greeks
from transforms.alvh.chain import _t_years
from transforms.gamma import ProfileKernel

# -- the former implementations (reference) -------------------------------------------------------
_erfc = np.frompyfunc(math.erfc, 1, 1)


def old_norm_cdf(x):
    x = np.asarray(x, dtype=float)
    return 0.5 * np.asarray(_erfc(-x / math.sqrt(2.0)), dtype=float)


def old_black76_call(f, k, t, iv):
    if not t > 0 or not iv > 0:
        return np.maximum(f - k, 0.0)
    sd = iv * math.sqrt(t)
    d1 = (np.log(f / k) + 0.5 * sd * sd) / sd
    return f * old_norm_cdf(d1) - k * old_norm_cdf(d1 - sd)


def old_brent(f, a, b, fa, fb, xtol, maxiter=200):
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    eps = np.finfo(float).eps
    c, fc = b, fb
    d = e = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2.0 * eps * abs(b) + 0.5 * xtol
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:
                p, qq = 2.0 * m * s, 1.0 - s
            else:
                qq, r = fa / fc, fb / fc
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0))
                qq = (qq - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                qq = -qq
            p = abs(p)
            if 2.0 * p < min(3.0 * m * qq - abs(tol * qq), abs(e * qq)):
                e, d = d, p / qq
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else math.copysign(tol, m)
        fb = f(b)
    return b


def old_alvh_t_years(quote_date, expiry, root):
    hours = (expiry - quote_date).dt.total_days().cast(pl.Float64) * 24.0 \
        - pl.when(root.is_in(["SPX", "VIX"])).then(6.5).otherwise(0.0)
    return hours.clip(lower_bound=0.0) / (365.0 * 24.0)


# -- the comparisons ------------------------------------------------------------------------------
def test_ndtr_matches_the_erfc_normal_cdf_within_1e_12():
    x = np.concatenate([np.linspace(-40.0, 40.0, 20_001), np.random.default_rng(7).normal(0, 3, 5_000)])
    new, old = greeks.norm_cdf(x), old_norm_cdf(x)
    assert np.abs(new - old).max() <= 1e-12
    assert np.all((new >= 0) & (new <= 1))


def test_one_black76_matches_the_former_payoff_copy():
    f = np.linspace(5.0, 80.0, 301)
    for k, t, iv in [(20.0, 30 / 365, 0.9), (25.0, 0.25, 1.4), (18.0, 1e-6, 0.5), (30.0, 0.0, 0.8),
                     (22.0, 0.1, 0.0)]:
        assert np.abs(greeks.black76_call(f, k, t, iv) - old_black76_call(f, k, t, iv)).max() <= 1e-12


def test_brentq_finds_the_same_gamma_flips_as_the_hand_written_brent():
    rng = np.random.default_rng(3)
    roots = 0
    for _ in range(20):
        spot = rng.uniform(3000, 6000)
        m = 60
        kern = ProfileKernel(spot * rng.uniform(0.7, 1.3, m), rng.uniform(1 / 365, 0.5, m),
                             rng.uniform(0.08, 0.6, m), rng.uniform(-1000, 1000, m), rng.random(m) < 0.5)
        lv = np.linspace(0.8 * spot, 1.2 * spot, 41)
        net = np.array([kern.net_at(x) for x in lv])
        for i in np.where(np.sign(net[:-1]) * np.sign(net[1:]) < 0)[0]:
            xtol = 1e-10 * spot
            new = kern.root(lv[i], lv[i + 1], net[i], net[i + 1], xtol)
            old = old_brent(kern.net_at, lv[i], lv[i + 1], net[i], net[i + 1], xtol)
            assert abs(new - old) <= 1e-12 * spot
            roots += 1
    assert roots > 10  # the grid does cross zero: the comparison is not vacuous


def test_one_t_years_keeps_the_alvh_chain_numbers_to_the_bit():
    qs = [date(2024, 1, 1) + timedelta(days=i) for i in range(0, 800, 11)]
    rows = [(q, q + timedelta(days=k), r) for q in qs for k in range(-2, 500, 7)
            for r in ("SPX", "SPXW", "VIX", "VIXW")]
    df = pl.DataFrame(rows, schema=["q", "e", "r"], orient="row")
    args = (pl.col("q"), pl.col("e"), pl.col("r"))
    new = df.select(t=_t_years(*args))["t"].to_numpy()
    old = df.select(t=old_alvh_t_years(*args))["t"].to_numpy()
    assert np.array_equal(new, old)
    assert (new == 0).any() and (new > 1).any()
