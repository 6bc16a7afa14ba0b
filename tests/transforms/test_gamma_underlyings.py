"""Gamma for every underlying: one table of root conventions (multiplier, AM/PM settlement), unknown
roots left out and named (never priced as SPX), each underlying's tables independent of the others,
and vanna / charm exposure checked against finite differences of the Black-Scholes delta."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from flows.build import gamma_left_out, gamma_partitions
from transforms import greeks
from transforms.conventions import AM_SETTLED_INDEX_ROOTS, GAMMA_ROOTS, OPTION_ROOTS
from transforms.gamma import GammaConventions, exposure_rows, gamma_tables, unknown_roots

# 2025-09-25 16:00 EDT: exactly 7 x 24 h before the 2025-10-02 PM settlement (16:00 EDT)
TS = datetime(2025, 9, 25, 20, 0)
QD, EXP = date(2025, 9, 25), date(2025, 10, 2)
CONV = GammaConventions.preset("default", rate=0.04, div_yield=0.013)


def quotes(root: str, underlying: str, spot: float, rows: list[tuple[float, str, int, float]],
           expiry: date = EXP) -> pl.DataFrame:
    return pl.DataFrame(
        [{"quote_date": QD, "quote_ts": TS, "root": root, "expiry": expiry, "strike": k, "right": r,
          "underlying": underlying, "spot": spot, "open_interest": oi, "iv": iv, "gamma": 0.0}
         for k, r, oi, iv in rows],
        schema={"quote_date": pl.Date, "quote_ts": pl.Datetime("us"), "root": pl.String,
                "expiry": pl.Date, "strike": pl.Float64, "right": pl.String, "underlying": pl.String,
                "spot": pl.Float64, "open_interest": pl.Int64, "iv": pl.Float64, "gamma": pl.Float64})


SPY = [(640.0, "P", 1000, 0.20), (660.0, "C", 2000, 0.18), (660.0, "P", 1500, 0.18),
       (680.0, "C", 800, 0.16), (620.0, "P", 500, 0.24)]
SPX = [(6400.0, "P", 900, 0.20), (6600.0, "C", 1200, 0.17), (6600.0, "P", 700, 0.17)]


def test_the_table_of_roots():
    # AM-settled monthlies vs PM weeklies / dailies; ETFs physically settled, American, PM
    assert {"SPX", "NDX", "RUT", "DJX", "VIX", "VIXW"} == AM_SETTLED_INDEX_ROOTS
    for root, und in [("SPXW", "SPX"), ("NDXP", "NDX"), ("RUTW", "RUT")]:
        c = OPTION_ROOTS[root]
        assert (c.underlying, c.settle, c.settlement, c.multiplier) == (und, "PM", "cash", 100.0)
    for etf in ("SPY", "QQQ", "IWM"):
        c = OPTION_ROOTS[etf]
        assert (c.kind, c.settlement, c.settle, c.exercise, c.multiplier) == (
            "etf", "physical", "PM", "american", 100.0)
    assert not {"VIX", "VIXW"} & GAMMA_ROOTS  # priced off VX futures: no dealer gamma


def test_spy_settles_at_the_close_and_ndx_monthly_at_the_open():
    spy = exposure_rows(quotes("SPY", "SPY", 660.0, SPY[:1]), CONV)
    assert spy["t_years"][0] == pytest.approx(7 / 365, rel=1e-12)  # 16:00 EDT to 16:00 EDT
    ndx = exposure_rows(quotes("NDX", "NDX", 24000.0, [(24000.0, "C", 10, 0.2)]), CONV)
    assert ndx["t_years"][0] == pytest.approx((7 - 6.5 / 24) / 365, rel=1e-12)  # 09:30 settlement
    ndxp = exposure_rows(quotes("NDXP", "NDX", 24000.0, [(24000.0, "C", 10, 0.2)]), CONV)
    assert ndxp["t_years"][0] == pytest.approx(7 / 365, rel=1e-12)


def test_vanna_and_charm_exposure_of_one_short_put_worked_example():
    """SPY 640 put, S 660, IV 20 %, 7 days, r 4 %, q 1.3 %, 1,000 contracts, dealers short it:
    vanna -1.15721 per 1.00 vol, charm +5.83020 per year (delta drifts to 0 as time passes).
    Vanna exposure = -1 x -1.15721 x 0.01 x 1,000 x 100 x 660 = +$763,761 per vol point (dealers'
    delta rises, their hedge sells); charm = -1 x 5.83020 / 365 x 1,000 x 100 x 660 = -$1,054,229
    per day (their delta falls, the hedge buys back)."""
    row = exposure_rows(quotes("SPY", "SPY", 660.0, SPY[:1]), CONV).row(0, named=True)
    assert row["vanna_usd"] == pytest.approx(763_760.712, rel=1e-8)
    assert row["charm_usd"] == pytest.approx(-1_054_228.78, rel=1e-8)
    # the same from finite differences of the Black-Scholes delta (central, h = 1e-5)
    S, K, T, v, h = 660.0, 640.0, 7 / 365, 0.20, 1e-5

    def delta(t, vol):
        return float(greeks.delta(S, K, t, vol, False, 0.04, 0.013))

    dealer = -1.0 * 1000 * 100 * S
    assert row["vanna_usd"] == pytest.approx(dealer * 0.01 * (delta(T, v + h) - delta(T, v - h)) / (2 * h),
                                             rel=1e-6)
    assert row["charm_usd"] == pytest.approx(dealer / 365 * -(delta(T + h, v) - delta(T - h, v)) / (2 * h),
                                             rel=1e-6)


def test_vanna_and_charm_sum_into_every_table():
    t = gamma_tables(quotes("SPY", "SPY", 660.0, SPY), CONV)
    rows = exposure_rows(quotes("SPY", "SPY", 660.0, SPY), CONV)
    daily = t["core.gamma_daily"].row(0, named=True)
    for col, src in (("net_vanna_usd_per_vol_pt", "vanna_usd"), ("net_charm_usd_per_day", "charm_usd")):
        assert daily[col] == pytest.approx(rows[src].sum(), rel=1e-12)
        assert t["core.gamma_by_strike"][col].sum() == pytest.approx(daily[col], rel=1e-12)
        assert t["core.gamma_by_expiry"][col].sum() == pytest.approx(daily[col], rel=1e-12)
    # IV = 0 contributes nothing (as to gamma), not the digital limit's dividend drift
    zero = exposure_rows(quotes("SPY", "SPY", 660.0, [(600.0, "C", 100, 0.0)]),
                         CONV.model_copy(update={"iv_fill": "none"}))
    assert (zero["vanna_usd"][0], zero["charm_usd"][0], zero["gex_usd"][0]) == (0.0, 0.0, 0.0)


def test_each_underlying_is_computed_from_its_own_rows_alone():
    spx, spy = quotes("SPXW", "SPX", 6600.0, SPX), quotes("SPY", "SPY", 660.0, SPY)
    both = gamma_partitions(pl.concat([spx, spy]), CONV)
    alone = {"SPX": gamma_partitions(spx, CONV), "SPY": gamma_partitions(spy, CONV)}
    for name, frame in both.items():
        assert sorted(set(frame["underlying"])) == ["SPX", "SPY"]
        for und, tables in alone.items():
            assert frame.filter(pl.col("underlying") == und).equals(tables[name]), (name, und)
    # SPY GEX uses SPY's own spot: gamma x OI x 100 x 660^2 x 0.01, not SPX's level
    rows = exposure_rows(spy, CONV)
    expect = rows["gamma_used"] * rows["open_interest"] * 100 * 660.0**2 * 0.01 * rows["dealer_sign"]
    np.testing.assert_allclose(rows["gex_usd"].to_numpy(), expect.to_numpy(), rtol=1e-15)


def test_unknown_roots_are_named_and_left_out_not_priced_as_spx():
    spy = quotes("SPY", "SPY", 660.0, SPY)
    odd = quotes("ZZZQ", "ZZZQ", 50.0, [(50.0, "C", 100, 0.3), (50.0, "P", 100, 0.3)])
    vix = quotes("VIXW", "VIX", 16.0, [(16.0, "C", 100, 0.9)])
    mixed = pl.concat([spy, odd, vix])
    left = unknown_roots(mixed)
    assert left.select("root", "underlying", "rows").rows() == [("VIXW", "VIX", 1), ("ZZZQ", "ZZZQ", 2)]
    assert "no contract conventions" in left.filter(pl.col("root") == "ZZZQ")["reason"][0]
    t = gamma_partitions(mixed, CONV)
    assert set(t["core.gamma_daily"]["underlying"]) == {"SPY"}
    assert t["core.gamma_daily"].equals(gamma_partitions(spy, CONV)["core.gamma_daily"])
    # the build's note names the unknown root (VIX is left out by design, silently)
    note = gamma_left_out(left.select("root", "underlying", "rows"))
    assert "ZZZQ (2 rows)" in note and "VIX" not in note
    assert gamma_partitions(odd, CONV)["core.gamma_daily"].is_empty()
