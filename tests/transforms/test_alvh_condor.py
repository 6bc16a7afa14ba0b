"""The ALVH base layer on a small inline chain: expiry and root choice, short strikes by delta (vendor
or Black-Scholes from IV), pricing at bid/ask, break-evens, max loss, probability of profit, the
expected move, and the 15-20 % wing widening."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from transforms import greeks
from transforms.alvh import (
    AlvhParams,
    build_condor,
    condor_metrics,
    expected_move,
    pop_lognormal,
    prepare_chain,
)

D = date(2024, 3, 1)
E14 = date(2024, 3, 15)  # 14 calendar days
E42 = date(2024, 4, 12)
SPOT = 5000.0

#             strike  bid    ask    delta   iv
PUTS = [(4750, 1.00, 1.20, -0.05, 0.22),
        (4800, 2.00, 2.20, -0.08, 0.21),
        (4850, 4.00, 4.30, -0.16, 0.20),
        (4900, 8.00, 8.40, -0.28, 0.19),
        (5000, 40.0, 41.0, -0.50, 0.16)]
CALLS = [(5000, 45.0, 46.0, 0.50, 0.16),
         (5100, 6.00, 6.30, 0.25, 0.14),
         (5150, 3.00, 3.20, 0.15, 0.135),
         (5200, 1.40, 1.60, 0.08, 0.13),
         (5250, 0.60, 0.75, 0.04, 0.13)]


def chain(root: str = "SPXW", expiry: date = E14, with_delta: bool = True) -> pl.DataFrame:
    rows = [(root, expiry, k, "P", b, a, d, iv) for k, b, a, d, iv in PUTS] + \
           [(root, expiry, k, "C", b, a, d, iv) for k, b, a, d, iv in CALLS]
    f = pl.DataFrame(rows, schema=["root", "expiry", "strike", "right", "bid", "ask", "delta", "iv"],
                     orient="row").with_columns(quote_date=pl.lit(D), spot=pl.lit(SPOT),
                                                underlying=pl.lit("SPX"),
                                                strike=pl.col("strike").cast(pl.Float64))
    return f if with_delta else f.with_columns(delta=pl.lit(None, dtype=pl.Float64))


def test_base_condor_priced_at_bid_and_ask():
    legs = build_condor(chain(), SPOT)
    assert legs.select("right", "side", "strike", "price").rows() == [
        ("P", "buy", 4800.0, 2.20),   # long put at its ask
        ("P", "sell", 4850.0, 4.00),  # short put (delta -0.16) at its bid
        ("C", "sell", 5150.0, 3.00),  # short call (delta 0.15, nearest 0.16) at its bid
        ("C", "buy", 5200.0, 1.60),   # long call at its ask
    ]
    m = condor_metrics(legs, SPOT)
    # credit 4.00 + 3.00 - 2.20 - 1.60 = 3.20; widths 50; max loss 50 - 3.20 = 46.80
    assert m["credit_pts"] == pytest.approx(3.20)
    assert (m["put_width_pts"], m["call_width_pts"]) == (50.0, 50.0)
    assert m["max_loss_pts"] == pytest.approx(46.80)
    # break-evens: short put - credit, short call + credit
    assert (m["be_low"], m["be_high"]) == pytest.approx((4846.80, 5153.20))
    assert m["be_low_dist_pct"] == pytest.approx(100 * (4846.80 / 5000 - 1))
    assert set(legs["delta_source"]) == {"vendor"}


def test_probability_of_profit_is_lognormal_between_the_break_evens():
    m = condor_metrics(build_condor(chain(), SPOT), SPOT)
    t = 14 / 365  # PM-settled SPXW: 16:00 to 16:00
    r, q = AlvhParams().rate, AlvhParams().div_yield  # the one rates source (conventions): 4 %, 1.3 %
    assert (r, q) == (0.04, 0.013)
    d2 = lambda k, iv: (math.log(SPOT / k) + (r - q - 0.5 * iv * iv) * t) / (iv * math.sqrt(t))  # noqa: E731
    n = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    want = n(d2(4846.80, 0.20)) - n(d2(5153.20, 0.135))
    assert m["pop"] == pytest.approx(want, rel=1e-9)
    assert 0.6 < m["pop"] < 0.9
    assert pop_lognormal(SPOT, 4800, 5200, None, 0.2, t) is None  # no IV: no estimate


def test_model_delta_from_iv_when_the_vendor_has_none():
    c = prepare_chain(chain(with_delta=False))
    row = c.filter((pl.col("strike") == 4850) & (pl.col("right") == "P")).row(0, named=True)
    assert row["delta_source"] == "model"
    assert row["t_years"] == pytest.approx(14 / 365)
    p = AlvhParams()
    assert row["delta_used"] == pytest.approx(float(greeks.delta(SPOT, 4850, 14 / 365, 0.20, False,
                                                                  p.rate, p.div_yield)))
    legs = build_condor(chain(with_delta=False), SPOT)
    assert set(legs["delta_source"]) == {"model"}
    assert legs.height == 4


def test_am_settled_root_has_less_time():
    c = prepare_chain(chain(root="SPX"))
    assert c["t_years"][0] == pytest.approx((14 * 24 - 6.5) / 8760)


def test_expiry_nearest_target_and_root_preference():
    both = pl.concat([chain(expiry=E42), chain(root="SPX"), chain()])
    legs = build_condor(both, SPOT, AlvhParams(target_dte=14))
    assert set(legs["expiry"]) == {E14}
    assert set(legs["root"]) == {"SPXW"}  # SPXW before SPX when both list the expiry
    assert set(build_condor(both, SPOT, AlvhParams(target_dte=40))["expiry"]) == {E42}
    assert build_condor(both, SPOT, AlvhParams(min_dte=50, target_dte=50, max_dte=60)).is_empty()


def test_widen_pct_scales_with_the_score_between_15_and_20():
    p = AlvhParams()
    assert p.widen_pct(None) == 0.0
    assert p.widen_pct(49.9) == 0.0
    assert p.widen_pct(50.0) == pytest.approx(15.0)
    assert p.widen_pct(75.0) == pytest.approx(17.5)
    assert p.widen_pct(100.0) == pytest.approx(20.0)
    with pytest.raises(ValueError):
        AlvhParams(widen_min_pct=25.0, widen_max_pct=20.0)


def test_wings_widened_outward_by_the_break_even_distance():
    # base break-evens 4846.80 / 5153.20: 153.20 points from spot on each side.
    # score 100 -> 20 %: shorts move out 30.64 -> targets 4819.36 P and 5180.64 C; the listed
    # strikes at or beyond them are 4800 P and 5200 C; longs keep the 50-point wings.
    legs = build_condor(chain(), SPOT, score=100.0)
    assert legs.select("right", "side", "strike", "price").rows() == [
        ("P", "buy", 4750.0, 1.20), ("P", "sell", 4800.0, 2.00),
        ("C", "sell", 5200.0, 1.40), ("C", "buy", 5250.0, 0.75)]
    m = condor_metrics(legs, SPOT)
    assert m["credit_pts"] == pytest.approx(1.45)
    assert (m["be_low"], m["be_high"]) == pytest.approx((4798.55, 5201.45))
    # the new break-evens are at least 20 % further out than the base ones
    assert SPOT - m["be_low"] >= 1.20 * 153.20 and m["be_high"] - SPOT >= 1.20 * 153.20
    assert legs["note"][0].startswith("widened 20.0 %")
    # below the elevated score nothing moves
    assert build_condor(chain(), SPOT, score=49.0)["strike"].to_list() == [4800.0, 4850.0, 5150.0, 5200.0]


def test_widening_keeps_the_base_condor_when_nothing_is_listed_further_out():
    thin = chain().filter(~pl.col("strike").is_in([4750.0, 4800.0]) | (pl.col("right") == "C"))
    thin = pl.concat([thin, chain().filter((pl.col("strike") == 4800) & (pl.col("right") == "P"))])
    # puts listed: 4800, 4850, 4900, 5000; a 20 % widening needs a short at <= 4819 and a long below
    legs = build_condor(thin, SPOT, score=100.0)
    assert legs.height == 4 and legs.filter(pl.col("right") == "P")["strike"].to_list() == [4800.0, 4850.0]


def test_expected_move_is_the_atm_straddle():
    c = prepare_chain(chain())
    em, k = expected_move(c, "SPXW", E14, SPOT)
    assert k == 5000.0 and em == pytest.approx(40.5 + 45.5)


def test_no_condor_without_bids():
    dead = chain().with_columns(bid=pl.lit(0.0))
    assert build_condor(dead, SPOT).is_empty()
    assert np.isfinite(condor_metrics(build_condor(chain(), SPOT), SPOT)["max_loss_pts"])
