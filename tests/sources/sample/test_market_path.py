"""The latent path: seeded, anchored at a fixed origin, with planted unwinds."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from sources import calendar
from sources.sample import ORIGIN, SampleMarket


def test_same_seed_same_path_and_other_seed_differs():
    a = SampleMarket(3).path(date(2024, 1, 1), date(2024, 12, 31))
    b = SampleMarket(3).path(date(2024, 1, 1), date(2024, 12, 31))
    c = SampleMarket(4).path(date(2024, 1, 1), date(2024, 12, 31))
    assert a.equals(b)
    assert not a.equals(c)


def test_a_day_does_not_depend_on_the_window_asked_for(market):
    short = market.path(date(2025, 3, 3), date(2025, 3, 7))
    long = SampleMarket(7).path(ORIGIN, date(2027, 6, 30))
    assert short.equals(long.filter(pl.col("date").is_between(date(2025, 3, 3), date(2025, 3, 7))))


def test_sessions_are_xnys(market):
    assert market.sessions(date(2025, 1, 1), date(2025, 12, 31)) == calendar.sessions_between(
        date(2025, 1, 1), date(2025, 12, 31))
    p = market.path(date(2025, 1, 1), date(2025, 12, 31))
    assert p["date"].to_list() == calendar.sessions_between(date(2025, 1, 1), date(2025, 12, 31))


def test_columns_are_sane(market):
    p = market.path(ORIGIN, date(2027, 6, 30))
    assert p["crowding"].min() >= 0 and p["crowding"].max() <= 1
    assert (p["spx_high"] >= p[["spx_open", "spx_close"]].max_horizontal()).all()
    assert (p["spx_low"] <= p[["spx_open", "spx_close"]].min_horizontal()).all()
    assert (p["vix_high"] >= p["vix"]).all() and (p["vix_low"] <= p["vix"]).all()
    assert 12 < p["vix"].mean() < 24
    assert set(p["regime"].unique()) <= {"calm", "crowded", "stress", "recovery", "unwind"}


def test_unwinds_are_planted_every_few_months():
    for seed in (1, 7, 11):
        m = SampleMarket(seed)
        days = m.unwind_days(date(2024, 1, 1), date(2025, 12, 31))
        assert days, f"seed {seed}: no unwind in two years"
        whole = m.unwind_days(ORIGIN, date(2026, 12, 31))
        months_between = 11 * 12 / len(whole)
        assert 3.5 <= months_between <= 10


def test_an_unwind_is_a_gap_down_with_a_vol_spike_and_a_crowding_reset(market):
    p = market.path(ORIGIN, date(2026, 12, 31)).with_columns(
        prev_close=pl.col("spx_close").shift(1), prev_vix=pl.col("vix").shift(1),
        prev_crowd=pl.col("crowding").shift(1))
    u = p.filter(pl.col("unwind"))
    drop = u["spx_close"] / u["prev_close"] - 1
    assert (drop < -0.025).all() and (drop > -0.09).all()
    assert (u["spx_open"] < u["prev_close"]).all()
    assert (u["vix"] > u["prev_vix"] * 1.25).all()
    assert (u["crowding"] < 0.2).all() and u["prev_crowd"].mean() > 0.5
    assert np.isfinite(p["variance"].to_numpy()).all()
