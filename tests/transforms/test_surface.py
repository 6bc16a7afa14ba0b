"""transforms/surface.py: worked examples of the VIX/SKEW surface and its Black-76 pieces."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from transforms import surface as sf

FLAT = sf.SurfaceParams(a=0.0, b=0.0, d=1.0)  # no smile, no discount: ATM = VIX


def test_skewness_from_the_skew_index():
    assert sf.skewness(130.0) == -3.0 and sf.skewness(100.0) == 0.0 and sf.skewness(None) == 0.0


def test_one_vix_point_is_a_flat_term_structure():
    assert sf.vix_term({"vix": 20.0}, [0.01, 30 / 365, 1.0]).tolist() == pytest.approx([0.2] * 3)


def test_term_structure_is_linear_in_total_variance_between_points():
    # 9 d at 10 %, 30 d at 20 %: at 19.5 d, w = (0.01 * 9 + 0.04 * 30) / 2 / 365
    vol = sf.vix_term({"vix9d": 10.0, "vix": 20.0}, 19.5 / 365)
    assert float(vol) == pytest.approx(math.sqrt(0.645 / 19.5))
    assert float(sf.vix_term({"vix9d": 10.0, "vix": 20.0}, 30 / 365)) == pytest.approx(0.20)
    # beyond the last point: flat vol; before the first: the first point's vol
    assert float(sf.vix_term({"vix9d": 10.0, "vix": 20.0}, 2.0)) == pytest.approx(0.20)
    assert float(sf.vix_term({"vix9d": 10.0, "vix": 20.0}, 1 / 365)) == pytest.approx(0.10)


def test_inverted_total_variance_is_made_non_decreasing():
    # VIX9D 60 % over 9 d has more total variance than VIX 20 % over 30 d: no negative forward variance
    w9 = 0.36 * 9 / 365
    assert float(sf.vix_term({"vix9d": 60.0, "vix": 20.0}, 30 / 365)) == pytest.approx(math.sqrt(w9 / (30 / 365)))


def test_without_any_vix_point_the_surface_refuses():
    with pytest.raises(ValueError, match="no VIX point"):
        sf.vix_term({"vix": None}, 0.1)


def test_flat_params_give_vix_everywhere_and_the_smile_rms_sets_atm():
    iv = sf.surface_iv([-0.2, 0.0, 0.1], 30 / 365, {"vix": 20.0}, 130.0, FLAT)
    assert iv.tolist() == pytest.approx([0.2, 0.2, 0.2])
    p = sf.SurfaceParams(a=0.1, b=0.0, d=1.0)
    # smile 1 + a*S*z with S = -3: E[(1 - 0.3 z)^2] = 1 + 0.09 (z uncapped to 3.5 changes it < 1e-3)
    assert sf.smile_rms(-3.0, p) == pytest.approx(math.sqrt(1.09), rel=1e-3)
    atm = float(sf.atm_vol({"vix": 20.0}, 130.0, 30 / 365, p))
    assert atm == pytest.approx(0.2 / sf.smile_rms(-3.0, p))
    # negative skewness: puts (k < 0) above ATM, calls below
    lo, mid, hi = sf.surface_iv([-0.05, 0.0, 0.05], 30 / 365, {"vix": 20.0}, 130.0, p)
    assert lo > mid > hi and mid == pytest.approx(atm)


def test_black76_parity_and_implied_vol_round_trip():
    f, k, t, v, df = 100.0, np.array([90.0, 100.0, 110.0]), 0.25, 0.2, math.exp(-0.01)
    c = sf.bs_price(f, k, t, v, True, df)
    p = sf.bs_price(f, k, t, v, False, df)
    assert (c - p).tolist() == pytest.approx((df * (f - k)).tolist())
    assert sf.implied_vol(c, f, k, t, True, df).tolist() == pytest.approx([0.2] * 3, abs=1e-6)
    # a price below intrinsic has no implied vol
    assert math.isnan(float(sf.implied_vol(0.5 * df * 10, f, 90.0, t, True, df)))


def test_strike_for_delta_is_the_listed_strike_nearest_the_target():
    k = sf.strike_for_delta(0.20, 2000.0, 30 / 365, {"vix": 20.0}, 100.0, FLAT, increment=5.0)
    assert k % 5 == 0
    d = [float(sf.forward_delta(2000.0, x, 30 / 365, 0.2, True)) for x in (k - 5, k, k + 5)]
    assert abs(d[1] - 0.2) <= min(abs(d[0] - 0.2), abs(d[2] - 0.2))
    kp = sf.strike_for_delta(-0.05, 2000.0, 30 / 365, {"vix": 20.0}, 100.0, FLAT, increment=5.0)
    assert kp < 2000 and abs(float(sf.forward_delta(2000.0, kp, 30 / 365, 0.2, False)) + 0.05) < 0.005


def test_fit_recovers_the_parameters_of_a_surface_it_generated():
    truth = sf.SurfaceParams(a=0.08, b=0.02, d=0.9)
    k = np.linspace(-0.15, 0.06, 15)
    rows = []
    for qd, vix, skew in ((date(2023, 1, 3), 20.0, 125.0), (date(2023, 1, 4), 15.0, 140.0)):
        for t in (14 / 365, 45 / 365):
            iv = sf.surface_iv(k, t, {"vix": vix}, skew, truth)
            rows += [dict(quote_date=qd, t_years=t, k=float(a), iv=float(b), vix9d=None, vix=vix,
                          vix3m=None, vix6m=None, skew=skew) for a, b in zip(k, iv, strict=True)]
    obs = pl.DataFrame(rows)
    got = sf.fit_params(obs, sf.SurfaceParams(0.15, 0.0, 1.0))
    assert (got.a, got.b, got.d) == pytest.approx((0.08, 0.02, 0.9), abs=2e-3)
    assert sf.iv_errors(obs, got)["rmse_pts"].max() < 0.05


def test_the_call_wing_term_lifts_calls_only_and_is_recovered_by_the_fit():
    base, wing = sf.SurfaceParams(a=0.08, b=0.02, d=0.9), sf.SurfaceParams(a=0.08, b=0.02, d=0.9, c=0.05)
    z = np.array([-1.5, 1.5])  # in ATM standard deviations
    s = sf.skewness(130.0)
    lo, hi = sf._smile(z, s, base), sf._smile(z, s, wing)
    assert hi[0] == pytest.approx(lo[0])  # the put side's smile is unchanged
    assert hi[1] == pytest.approx(lo[1] + 0.05 * 1.5 ** 2)  # the call side: + c z^2
    ks = np.linspace(-0.15, 0.10, 21)
    rows = []
    for qd, vix, skew in ((date(2023, 1, 3), 20.0, 125.0), (date(2023, 1, 4), 15.0, 140.0)):
        for tt in (14 / 365, 45 / 365):
            iv = sf.surface_iv(ks, tt, {"vix": vix}, skew, wing)
            rows += [dict(quote_date=qd, t_years=tt, k=float(a), iv=float(b), vix9d=None, vix=vix,
                          vix3m=None, vix6m=None, skew=skew) for a, b in zip(ks, iv, strict=True)]
    got = sf.fit_params(pl.DataFrame(rows), sf.SurfaceParams(0.15, 0.0, 1.0), call_wing=True)
    assert (got.a, got.b, got.d, got.c) == pytest.approx((0.08, 0.02, 0.9, 0.05), abs=3e-3)
