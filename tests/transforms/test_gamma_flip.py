"""The zero-gamma flip: none, one, several sign changes; first vs nearest; exact (Brent on the
repriced profile) vs linear on the grid; chunked evaluation gives the same numbers."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from transforms import greeks
from transforms.gamma import (
    GammaConventions,
    ProfileKernel,
    exposure_rows,
    find_flips,
    gamma_tables,
    profile_and_flips,
)

TS = datetime(2022, 2, 4, 21, 30)  # Friday 16:30 EST


def chain(rows, *, spot=104.0) -> pl.DataFrame:
    """raw.option_quotes rows from (root, expiry, strike, right, open_interest, iv, vendor gamma)."""
    return pl.DataFrame(
        [{"quote_date": date(2022, 2, 4), "quote_ts": TS, "root": r, "expiry": e, "strike": float(k),
          "right": rt, "underlying": "SPX", "spot": spot, "open_interest": oi, "iv": iv, "gamma": g}
         for r, e, k, rt, oi, iv, g in rows],
        schema={"quote_date": pl.Date, "quote_ts": pl.Datetime("us"), "root": pl.String,
                "expiry": pl.Date, "strike": pl.Float64, "right": pl.String, "underlying": pl.String,
                "spot": pl.Float64, "open_interest": pl.Int64, "iv": pl.Float64, "gamma": pl.Float64})


MAR4 = date(2022, 3, 4)
# Puts at 90 and 110 around calls at 100: negative - positive - negative, two flips (~95, ~105).
TWO_FLIPS = chain([("SPXW", MAR4, 90, "P", 1000, 0.2, 0.0), ("SPXW", MAR4, 100, "C", 1000, 0.2, 0.0),
                   ("SPXW", MAR4, 110, "P", 1000, 0.2, 0.0)])


def net_gex_direct(x: float, rows: pl.DataFrame, conv: GammaConventions) -> float:
    """The profile the slow, obvious way: BS gamma at spot x for every row, × OI × 100 × x² × 1 %."""
    g = greeks.gamma(x, rows["strike"].to_numpy(), rows["t_years"].to_numpy(),
                     rows["iv_used"].to_numpy(), conv.rate, conv.div_yield)
    return float(np.sum(g * rows["dealer_sign"].to_numpy() * rows["open_interest"].to_numpy()) * x * x)


def bisect(f, lo: float, hi: float) -> float:
    flo = f(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (f(mid) > 0) == (flo > 0):
            lo, flo = mid, f(mid)
        else:
            hi = mid
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("preset", ["perfiliev", "default"])
def test_several_sign_changes_are_all_listed_and_exact(preset):
    conv = GammaConventions.preset(preset)
    daily = gamma_tables(TWO_FLIPS, conv)["core.gamma_daily"].row(0, named=True)
    near, far = daily["zero_gamma_flips"]  # nearest to spot (104) first
    assert daily["flip_count"] == 2 and 93 < far < 97 and 103 < near < 107
    flips = [far, near]
    rows = exposure_rows(TWO_FLIPS, conv)
    for flip in flips:
        exact = bisect(lambda x: net_gex_direct(x, rows, conv), flip - 1.0, flip + 1.0)
        assert flip == pytest.approx(exact, abs=1e-7)
    # perfiliev takes the first (lowest) flip; default the one nearest spot (104).
    assert daily["zero_gamma"] == (flips[0] if preset == "perfiliev" else flips[1])
    assert daily["zero_gamma_distance_pct"] == pytest.approx(100 * (daily["zero_gamma"] / 104 - 1))


def test_no_sign_change_gives_null_zero_gamma_and_the_range_searched():
    calls_only = chain([("SPXW", MAR4, 100, "C", 1000, 0.2, 0.0), ("SPXW", MAR4, 105, "C", 10, 0.2, 0.0)])
    d = gamma_tables(calls_only, "default")["core.gamma_daily"].row(0, named=True)
    assert (d["zero_gamma"], d["zero_gamma_flips"], d["flip_count"], d["zero_gamma_distance_pct"]) \
        == (None, [], 0, None)
    assert (d["flip_search_low"], d["flip_search_high"]) == pytest.approx((0.8 * 104, 1.2 * 104))


def test_linear_refinement_is_the_coarse_grid_value():
    exact = GammaConventions.preset("perfiliev")
    coarse = exact.model_copy(update={"flip_refine": "linear"})
    levels, call, put, *_ = profile_and_flips([90, 100, 110], [0.1] * 3, [0.2] * 3,
                                              [-1000, 1000, -1000], [False, True, False], 104.0, exact)
    net = call + put
    i = int(np.flatnonzero(np.sign(net[:-1]) != np.sign(net[1:]))[0])
    by_hand = levels[i] - net[i] * (levels[i + 1] - levels[i]) / (net[i + 1] - net[i])
    *_, flips, zero = profile_and_flips([90, 100, 110], [0.1] * 3, [0.2] * 3,
                                        [-1000, 1000, -1000], [False, True, False], 104.0, coarse)
    assert zero == pytest.approx(by_hand, rel=1e-15)


def test_find_flips_on_a_grid_worked_example():
    levels = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    # -2 -> +2 crosses at 92.5; the exact 0 at 105 sits between +1 and -1: one flip, at 105 by
    # interpolation across the zero (zeros are skipped, not counted twice).
    assert find_flips(levels, np.array([-2.0, 2.0, 1.0, 0.0, -1.0])) == [92.5, 105.0]
    assert find_flips(levels, np.array([1.0, 0.0, 1.0, 2.0, 3.0])) == []  # touch and return
    assert find_flips(levels, np.zeros(5)) == []


def test_chunked_profile_equals_one_block():
    rng = np.random.default_rng(3)
    n = 3000
    k = rng.uniform(3000, 5000, n)
    args = (k, rng.uniform(1 / 262, 2, n), rng.uniform(0.1, 0.6, n),
            rng.integers(-5000, 5000, n).astype(float), rng.random(n) < 0.5)
    kern = ProfileKernel(*args)
    levels = np.linspace(3200, 4800, 60)
    one = kern.profile(levels, chunk_elements=10**9)
    small = kern.profile(levels, chunk_elements=1024)  # 17 rows at a time
    np.testing.assert_allclose(small, one, rtol=1e-12, atol=1e-3)


def test_kernel_matches_the_direct_formula_and_skips_only_negligible_rows():
    conv = GammaConventions.preset("default")
    rows = exposure_rows(TWO_FLIPS, conv)
    kern = ProfileKernel(rows["strike"], rows["t_years"], rows["iv_used"],
                         rows["dealer_sign"] * rows["open_interest"], rows["is_call"])
    levels = np.linspace(80, 130, 26)
    call, put = kern.profile(levels)
    direct = [net_gex_direct(x, rows, conv) for x in levels]
    np.testing.assert_allclose(call + put, direct, rtol=1e-12, atol=1e-6)


def test_profile_at_spot_is_the_model_spot_gex():
    # An odd grid centred on spot puts spot on a level; the default preset prices both the same way.
    conv = GammaConventions.preset("default", grid_low=0.9, grid_high=1.1, grid_points=41)
    t = gamma_tables(TWO_FLIPS, conv)
    mid = t["core.gamma_profile"].filter(pl.col("level_pct").abs() < 1e-9)
    d = t["core.gamma_daily"].row(0, named=True)
    assert mid["net_gex_usd_per_pct"][0] == pytest.approx(d["net_gex_usd_per_pct"], rel=1e-10)
    assert mid["call_gex_usd_per_pct"][0] == pytest.approx(d["call_gex_usd_per_pct"], rel=1e-10)


def test_a_sign_change_of_numerical_noise_is_not_a_flip():
    # peak |net| = 5e9: a change of sign between -1e-28 and +1e-28 (below 1e-6 x 5e9 = 5e3) is noise
    levels = np.array([80.0, 90.0, 100.0, 110.0, 120.0])
    net = np.array([-1e-28, 1e-28, 5e9, 4e9, 3e9])
    assert find_flips(levels, net) == []
    # a real change (-1e4 is above the 5e3 floor) is kept: linear root 90 + 1e4 x 10 / (5e9 + 1e4)
    real = find_flips(levels, np.array([-2e4, -1e4, 5e9, 4e9, 3e9]))
    assert real == pytest.approx([90.0 + 1e4 * 10 / (5e9 + 1e4)])


def test_several_real_flips_are_all_listed_nearest_to_spot_first():
    from transforms.gamma import pick_flip

    # +, -, +, -: flips at 85, 95 and 115 (linear, midway); spot 112 -> 115, 95, 85
    levels = np.array([80.0, 90.0, 100.0, 110.0, 120.0])
    net = np.array([1e9, -1e9, 1e9, 1e9, -1e9])
    flips = find_flips(levels, net)
    assert flips == pytest.approx([85.0, 95.0, 115.0])
    spot = 112.0
    assert sorted(flips, key=lambda f: (abs(f - spot), f)) == pytest.approx([115.0, 95.0, 85.0])
    assert pick_flip(flips, spot, "first") == pytest.approx(85.0)
    assert pick_flip(flips, spot, "nearest") == pytest.approx(115.0)
