"""Per-contract exposure and its sums: the GEX unit, dealer sign, expiry cut-offs and settlement
times, IV = 0, OI = 0, SPX and SPXW sharing strikes, several dates at once."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from transforms import greeks
from transforms.gamma import GammaConventions, exposure_rows, gamma_tables, spot_gex

SAT_EVENING = datetime(2022, 2, 6, 1, 9)  # Sat 2022-02-05 20:09 EST, belongs to Fri 2022-02-04


def chain(rows, *, quote_date=date(2022, 2, 4), quote_ts=SAT_EVENING, spot=4000.0,
          underlying="SPX") -> pl.DataFrame:
    """raw.option_quotes rows from (root, expiry, strike, right, open_interest, iv, vendor gamma)."""
    return pl.DataFrame(
        [{"quote_date": quote_date, "quote_ts": quote_ts, "root": r, "expiry": e, "strike": float(k),
          "right": rt, "underlying": underlying, "spot": spot, "open_interest": oi, "iv": iv,
          "gamma": g} for r, e, k, rt, oi, iv, g in rows],
        schema={"quote_date": pl.Date, "quote_ts": pl.Datetime("us"), "root": pl.String,
                "expiry": pl.Date, "strike": pl.Float64, "right": pl.String, "underlying": pl.String,
                "spot": pl.Float64, "open_interest": pl.Int64, "iv": pl.Float64, "gamma": pl.Float64})


PERF = GammaConventions.preset("perfiliev")
FEB18 = date(2022, 2, 18)


def test_gex_unit_is_usd_per_one_percent_move():
    # 0.002 gamma × 1,000 contracts × 100 × 4,000² × 0.01 = 32,000,000 USD per 1 % move.
    q = chain([("SPX", FEB18, 4000, "C", 1000, 0.2, 0.002),
               ("SPX", FEB18, 4000, "P", 1000, 0.2, 0.002)])
    out = spot_gex(q, PERF).row(0, named=True)
    assert out["call_gex_usd_per_pct"] == pytest.approx(32_000_000.0)
    assert out["put_gex_usd_per_pct"] == pytest.approx(-32_000_000.0)  # dealers short puts
    assert out["net_gex_usd_per_pct"] == pytest.approx(0.0)
    assert (out["contracts"], out["expired_rows"], out["preset"]) == (2, 0, "perfiliev")


def test_dealer_short_both_flips_the_call_sign():
    q = chain([("SPX", FEB18, 4000, "C", 1000, 0.2, 0.002)])
    short_both = PERF.model_copy(update={"dealer": "short_calls_short_puts"})
    assert spot_gex(q, short_both)["call_gex_usd_per_pct"][0] == pytest.approx(-32_000_000.0)


def test_expired_rows_are_excluded_and_counted_or_kept_on_request():
    # Saturday 07:34 EDT snapshot: the Friday expiry is before the snapshot's New York date.
    ts = datetime(2026, 3, 14, 11, 34)
    q = chain([("SPXW", date(2026, 3, 13), 6600, "C", 100, 0.0, 0.001),
               ("SPXW", date(2026, 3, 13), 6600, "P", 100, 0.0, 0.003),
               ("SPXW", date(2026, 3, 16), 6600, "C", 100, 0.15, 0.002)],
              quote_date=date(2026, 3, 13), quote_ts=ts, spot=6600.0)
    unit = 100 * 6600.0 ** 2 * 0.01 * 100  # OI 100
    dropped = spot_gex(q, PERF).row(0, named=True)
    assert dropped["expired_rows"] == 2 and dropped["contracts"] == 1
    assert dropped["net_gex_usd_per_pct"] == pytest.approx(0.002 * unit)
    kept = spot_gex(q, PERF.model_copy(update={"keep_expired": True})).row(0, named=True)
    assert kept["expired_rows"] == 2 and kept["contracts"] == 3
    assert kept["net_gex_usd_per_pct"] == pytest.approx((0.002 + 0.001 - 0.003) * unit)
    # The default preset agrees: settled at 16:00 EDT Friday, before the Saturday snapshot.
    assert spot_gex(q, "default")["expired_rows"][0] == 2


def test_expiry_day_rows_settle_am_for_spx_and_pm_for_spxw():
    # Friday 2022-07-15 (a monthly), 11:55 EDT = 15:55 UTC.
    ts = datetime(2022, 7, 15, 15, 55)
    q = chain([("SPX", date(2022, 7, 15), 3800, "C", 10, 0.2, 0.001),    # AM: settled 09:30
               ("SPXW", date(2022, 7, 15), 3800, "C", 10, 0.2, 0.001),   # PM: 4 h 05 min left
               ("SPXW", date(2022, 7, 18), 3800, "C", 10, 0.2, 0.001)],  # Monday 16:00
              quote_date=date(2022, 7, 15), quote_ts=ts, spot=3800.0)
    rows = exposure_rows(q, "default").sort("root", "expiry")
    assert rows["expired_flag"].to_list() == [True, False, False]
    minute = 1 / (365 * 24 * 60)
    assert rows["t_years"][1] == pytest.approx(245 * minute)
    assert rows["t_years"][2] == pytest.approx((3 * 24 * 60 + 245) * minute)
    assert rows["dte_days"].to_list() == [0, 0, 3]
    # perfiliev: same-day expiries are live with T = 1/262 (0 business days -> 1).
    perf = exposure_rows(q, PERF).sort("root", "expiry")
    assert perf["expired_flag"].to_list() == [False, False, False]
    assert perf["t_years"].to_list() == pytest.approx([1 / 262, 1 / 262, 1 / 262])
    expiries = gamma_tables(q, "default")["core.gamma_by_expiry"]
    assert expiries.select("root", "expiry", "bucket").rows() == [
        ("SPXW", date(2022, 7, 15), "0DTE"), ("SPXW", date(2022, 7, 18), "<=7d")]
    daily = gamma_tables(q, "default")["core.gamma_daily"].row(0, named=True)
    g = greeks.gamma(3800.0, 3800.0, [245 * minute, (4320 + 245) * minute], 0.2)
    assert daily["zero_dte_share_pct"] == pytest.approx(100 * g[0] / (g[0] + g[1]))


def test_winter_settlement_is_16_00_eastern_standard_time():
    # Saturday 2022-02-05 20:09 EST snapshot (Sunday 01:09 UTC); SPXW Monday 2022-02-07 16:00 EST
    # = 21:00 UTC: 43 h 51 min later.
    q = chain([("SPXW", date(2022, 2, 7), 4500, "C", 1, 0.2, 0.0)])
    t = exposure_rows(q, "default")["t_years"][0]
    assert t * 365 * 24 * 60 == pytest.approx(43 * 60 + 51)


def test_iv_zero_rows_vendor_gamma_counts_model_needs_an_iv():
    q = chain([("SPX", FEB18, 4600, "P", 5000, 0.0, 0.0021),   # ITM put, vendor could not imply IV
               ("SPX", FEB18, 4600, "C", 10, 0.19, 0.0020)])
    unit = 100 * 4000.0 ** 2 * 0.01
    assert spot_gex(q, PERF)["put_gex_usd_per_pct"][0] == pytest.approx(-0.0021 * 5000 * unit)
    none = GammaConventions.preset("default", iv_fill="none")
    assert spot_gex(q, none)["put_gex_usd_per_pct"][0] == 0.0
    filled = exposure_rows(q, "default").filter(pl.col("right") == "P")
    assert filled["iv_used"][0] == 0.19  # the call's IV at the same root/expiry/strike
    assert filled["gamma_used"][0] == pytest.approx(
        float(greeks.gamma(4000.0, 4600.0, filled["t_years"][0], 0.19)))


def test_open_interest_zero_contributes_nothing_but_is_a_contract():
    q = chain([("SPX", FEB18, 4000, "C", 0, 0.2, 0.002),
               ("SPX", FEB18, 4000, "P", None, 0.2, 0.002)])
    for preset in ("perfiliev", "default"):
        t = gamma_tables(q, preset)
        d = t["core.gamma_daily"].row(0, named=True)
        assert (d["net_gex_usd_per_pct"], d["contracts"], d["zero_gamma"], d["flip_count"]) == (0.0, 2, None, 0)
        assert t["core.gamma_profile"]["net_gex_usd_per_pct"].abs().max() == 0.0
        assert t["core.gamma_by_strike"].select("call_oi", "put_oi").row(0) == (0, 0)


def test_spx_and_spxw_sharing_a_strike_stay_apart_by_root_and_sum_by_strike():
    q = chain([("SPX", FEB18, 4000, "C", 100, 0.2, 0.002),
               ("SPXW", FEB18, 4000, "C", 300, 0.2, 0.002),
               ("SPX", FEB18, 4000, "P", 200, 0.2, 0.002),
               ("SPXW", FEB18, 4000, "P", 50, 0.2, 0.002)])
    unit = 0.002 * 100 * 4000.0 ** 2 * 0.01
    t = gamma_tables(q, PERF)
    assert exposure_rows(q, PERF).height == 4
    strikes = t["core.gamma_by_strike"]
    assert strikes.select("strike", "call_oi", "put_oi").rows() == [(4000.0, 400, 250)]
    assert strikes["net_gex_usd_per_pct"][0] == pytest.approx((400 - 250) * unit)
    expiries = t["core.gamma_by_expiry"].sort("root")
    assert expiries.select("root", "call_oi", "put_oi").rows() == [("SPX", 100, 200), ("SPXW", 300, 50)]
    assert expiries["net_gex_usd_per_pct"].to_list() == pytest.approx([-100 * unit, 250 * unit])


def test_several_dates_at_once_equal_each_date_alone():
    a = chain([("SPX", FEB18, 4000, "C", 100, 0.2, 0.002), ("SPX", FEB18, 3900, "P", 300, 0.25, 0.0015)])
    b = chain([("SPX", FEB18, 4100, "C", 120, 0.18, 0.002), ("SPX", FEB18, 4000, "P", 90, 0.2, 0.0025)],
              quote_date=date(2022, 2, 7), quote_ts=datetime(2022, 2, 7, 21, 30), spot=4100.0)
    both = gamma_tables(pl.concat([b, a]), "default")
    batched = gamma_tables(pl.concat([b, a]), "default", batch_rows=1)  # one date per batch
    for name, frame in both.items():
        alone = pl.concat([gamma_tables(x, "default")[name] for x in (a, b)])
        assert frame.equals(alone), name
        assert batched[name].equals(alone), name


def test_the_latest_snapshot_of_a_date_wins():
    early = chain([("SPX", FEB18, 4000, "C", 100, 0.2, 0.002)], quote_ts=datetime(2022, 2, 4, 18, 0))
    late = chain([("SPX", FEB18, 4000, "C", 300, 0.2, 0.002)])
    out = spot_gex(pl.concat([early, late]), PERF)
    assert out.height == 1
    assert out["call_gex_usd_per_pct"][0] == pytest.approx(0.002 * 300 * 100 * 4000.0 ** 2 * 0.01)


def test_unknown_preset_and_bad_grid_are_refused():
    with pytest.raises(ValueError, match="unknown gamma preset"):
        GammaConventions.preset("squeeze")
    with pytest.raises(ValueError, match="grid_low"):
        GammaConventions(grid_low=1.2, grid_high=0.8)
