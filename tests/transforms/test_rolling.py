"""transforms/rolling: the one trailing z-score and percentile, as worked examples, and the former
polars formula of the signal layer reproduced to 1e-12."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from transforms.rolling import trailing_pctile, trailing_z


def test_z_against_the_values_before_the_row():
    x = np.array([1.0, 2.0, 3.0, 10.0])
    z = trailing_z(x, window=3, min_periods=3, floor=0.0)
    # row 3: window [1, 2, 3], mean 2, std (ddof 1) 1 -> (10 - 2) / 1
    assert np.isnan(z[:3]).all()
    assert z[3] == pytest.approx(8.0)


def test_floor_and_include_today():
    x = np.array([5.0, 5.0, 5.0, 6.0])
    assert trailing_z(x, 3, 3, floor=0.5)[3] == pytest.approx(2.0)  # std 0 -> floor 0.5
    z = trailing_z(x, 3, 2, floor=0.0, include_today=True)
    w = np.array([5.0, 5.0, 6.0])
    assert z[3] == pytest.approx((6 - w.mean()) / w.std(ddof=1))


def test_missing_values_are_not_counted():
    x = np.array([1.0, np.nan, 3.0, 4.0])
    z = trailing_z(x, 3, 2, floor=0.0)
    assert z[3] == pytest.approx((4 - 2) / math.sqrt(2))  # window [1, nan, 3]: two values
    assert np.isnan(z[1])


def test_mid_rank_percentile():
    x = np.array([1.0, 2.0, 2.0, 2.0])
    p = trailing_pctile(x, 3, 3)
    assert p[3] == pytest.approx(100 * (1 + 0.5 * 2) / 3)  # one below, two ties


def test_equals_the_former_polars_formula():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1e9, 400)
    x[rng.integers(0, 400, 30)] = np.nan
    c = pl.col("x")
    prev = c.shift(1)
    old = pl.DataFrame({"x": x}).with_columns(c.fill_nan(None)).select(
        (c - prev.rolling_mean(60, min_samples=20))
        / pl.max_horizontal(prev.rolling_std(60, min_samples=20), pl.lit(1e8)))["x"].to_numpy()
    old = np.where(np.isnan(old.astype(float)), np.nan, old.astype(float))
    new = trailing_z(x, 60, 20, 1e8)
    both = ~np.isnan(old)
    assert (np.isnan(new) == ~both).all()
    assert np.max(np.abs(new[both] - old[both])) < 1e-12 * max(1.0, np.max(np.abs(old[both])))
