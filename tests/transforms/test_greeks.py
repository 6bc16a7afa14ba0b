"""Black–Scholes greeks: textbook values, finite-difference consistency, and the degenerate cases
(T -> 0, IV = 0, expired, bad inputs) that must give defined numbers, never NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms import greeks


def test_hull_example_15_6_and_17_1():
    # Hull, Options Futures & Other Derivatives: S=49, K=50, r=5 %, σ=20 %, T=20 weeks.
    s, k, t, v, r = 49.0, 50.0, 0.3846, 0.20, 0.05
    assert greeks.delta(s, k, t, v, True, r) == pytest.approx(0.522, abs=1e-3)
    assert greeks.gamma(s, k, t, v, r) == pytest.approx(0.066, abs=1e-3)
    assert greeks.delta(s, k, t, v, False, r) == pytest.approx(0.522 - 1.0, abs=1e-3)


def test_closed_form_with_dividend_yield():
    s, k, t, v, r, q = 4500.0, 4600.0, 30 / 365, 0.18, 0.03, 0.015
    vt = v * math.sqrt(t)
    d1 = (math.log(s / k) + (r - q + v * v / 2) * t) / vt
    d2 = d1 - vt
    pdf = math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * math.erfc(-d1 / math.sqrt(2))
    g = greeks.greeks(s, k, t, v, np.array([True, False]), r, q)
    assert g["gamma"] == pytest.approx([math.exp(-q * t) * pdf / (s * vt)] * 2, rel=1e-12)
    assert g["delta"] == pytest.approx([math.exp(-q * t) * cdf, math.exp(-q * t) * (cdf - 1)], rel=1e-12)
    assert g["vanna"] == pytest.approx([-math.exp(-q * t) * pdf * d2 / v] * 2, rel=1e-12)


def test_vanna_and_charm_match_finite_differences_of_delta():
    rng = np.random.default_rng(7)
    n = 500
    s, k = rng.uniform(80, 120, n), rng.uniform(80, 120, n)
    t, v = rng.uniform(0.05, 2.0, n), rng.uniform(0.1, 0.6, n)
    r, q, call = rng.uniform(0, 0.06, n), rng.uniform(0, 0.03, n), rng.random(n) < 0.5
    h = 1e-5
    out = greeks.greeks(s, k, t, v, call, r, q)
    d_vol = (greeks.delta(s, k, t, v + h, call, r, q) - greeks.delta(s, k, t, v - h, call, r, q)) / (2 * h)
    d_time = -(greeks.delta(s, k, t + h, v, call, r, q) - greeks.delta(s, k, t - h, v, call, r, q)) / (2 * h)
    d_spot = (greeks.delta(s + 1e-3, k, t, v, call, r, q) - greeks.delta(s - 1e-3, k, t, v, call, r, q)) / 2e-3
    np.testing.assert_allclose(out["vanna"], d_vol, atol=1e-6)
    np.testing.assert_allclose(out["charm"], d_time, atol=1e-5)
    np.testing.assert_allclose(out["gamma"], d_spot, atol=1e-8)


def test_gamma_is_the_same_for_calls_and_puts_and_single_functions_agree():
    args = (np.array([95.0, 100.0, 105.0]), 100.0, 0.25, 0.2, 0.02, 0.01)
    both = greeks.greeks(*args[:4], np.array([True, False, True]), *args[4:])
    np.testing.assert_allclose(both["gamma"], greeks.gamma(*args), rtol=1e-14)
    np.testing.assert_array_equal(both["vanna"], greeks.vanna(*args))
    np.testing.assert_array_equal(both["charm"], greeks.charm(*args[:4], [True, False, True], *args[4:]))


@pytest.mark.parametrize(
    ("spot", "strike", "t", "iv", "delta_call", "delta_put"),
    [
        (100.0, 100.0, 0.0, 0.2, 0.5, -0.5),      # at the settlement instant, at the money
        (101.0, 100.0, 0.0, 0.2, 1.0, 0.0),       # settled in the money
        (99.0, 100.0, 0.0, 0.2, 0.0, -1.0),
        (100.0, 100.0, 1e-30, 0.2, 0.5, -0.5),    # T -> 0 at the money: ½, not the sign of (r-q)T
        (101.0, 100.0, 0.5, 0.0, 1.0, 0.0),       # IV = 0: a digital on the forward
        (100.0, 100.0, -0.01, 0.2, 0.0, 0.0),     # already settled: no position left
        (0.0, 100.0, 0.5, 0.2, 0.0, 0.0),         # nonsense spot
        (100.0, 100.0, math.nan, 0.2, 0.0, 0.0),
    ],
)
def test_degenerate_inputs_give_defined_numbers(spot, strike, t, iv, delta_call, delta_put):
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        call = greeks.greeks(spot, strike, t, iv, True)
        put = greeks.greeks(spot, strike, t, iv, False)
    assert float(call["delta"]) == delta_call
    assert float(put["delta"]) == delta_put
    for g in (call, put):
        assert float(g["gamma"]) == 0.0
        assert float(g["vanna"]) == 0.0
        assert all(math.isfinite(float(x)) for x in g.values())


def test_gamma_grows_but_stays_finite_as_expiry_approaches_at_the_money():
    t = np.array([1 / 365, 1 / (365 * 24), 1 / (365 * 24 * 60), 1e-12])
    g = greeks.gamma(100.0, 100.0, t, 0.2)
    assert np.all(np.isfinite(g)) and np.all(np.diff(g) > 0)
    # ... and collapses to 0 away from the strike (φ underflows, no NaN).
    assert greeks.gamma(101.0, 100.0, 1e-12, 0.2) == 0.0


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)


@given(spot=finite_or_not, strike=finite_or_not, t=finite_or_not, iv=finite_or_not,
       rate=st.floats(-0.1, 0.2), q=st.floats(0, 0.1), call=st.booleans())
def test_no_input_leaks_nan_or_inf(spot, strike, t, iv, rate, q, call):
    with np.errstate(all="ignore"):
        out = greeks.greeks(spot, strike, t, iv, call, rate, q)
    assert all(np.isfinite(v).all() for v in out.values())
