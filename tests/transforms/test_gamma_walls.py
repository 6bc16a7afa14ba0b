"""Walls, absolute-gamma strike and top open interest: a 10-row chain worked by hand.

S = 4,000, so one unit of (vendor gamma × OI) is 100 × 4,000² × 0.01 = 16,000,000 USD per 1 % move.

    strike  call OI  call Γ   call GEX      put OI  put Γ    put GEX       |call|+|put|   OI
    3900       100   0.0010    +1.6e6        2000   0.0010   -32.0e6        33.6e6     2100
    3950       500   0.0015   +12.0e6        1500   0.0015   -36.0e6        48.0e6     2000
    4000      1000   0.0020   +32.0e6        1000   0.0020   -32.0e6        64.0e6     2000
    4050      3000   0.0015   +72.0e6         200   0.0015    -4.8e6        76.8e6     3200
    4100      1500   0.0010   +24.0e6         100   0.0010    -1.6e6        25.6e6     1600
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from transforms.gamma import GammaConventions, gamma_tables

FEB18 = date(2022, 2, 18)
TEN_ROWS = [  # (strike, call OI, call gamma, put OI, put gamma)
    (3900, 100, 0.0010, 2000, 0.0010),
    (3950, 500, 0.0015, 1500, 0.0015),
    (4000, 1000, 0.0020, 1000, 0.0020),
    (4050, 3000, 0.0015, 200, 0.0015),
    (4100, 1500, 0.0010, 100, 0.0010),
]


def ten_row_chain() -> pl.DataFrame:
    rows = []
    for k, coi, cg, poi, pg in TEN_ROWS:
        for right, oi, g in (("C", coi, cg), ("P", poi, pg)):
            rows.append({"quote_date": date(2022, 2, 4), "quote_ts": datetime(2022, 2, 4, 21, 30),
                         "root": "SPX", "expiry": FEB18, "strike": float(k), "right": right,
                         "underlying": "SPX", "spot": 4000.0, "open_interest": oi, "iv": 0.2,
                         "gamma": g})
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def tables():
    return gamma_tables(ten_row_chain(), GammaConventions.preset("perfiliev"))


def test_by_strike_rows(tables):
    got = tables["core.gamma_by_strike"].select("strike", "call_gex_usd_per_pct", "put_gex_usd_per_pct", "net_gex_usd_per_pct")
    expected = [(3900.0, 1.6e6, -32e6, -30.4e6), (3950.0, 12e6, -36e6, -24e6),
                (4000.0, 32e6, -32e6, 0.0), (4050.0, 72e6, -4.8e6, 67.2e6), (4100.0, 24e6, -1.6e6, 22.4e6)]
    for row, want in zip(got.rows(), expected, strict=True):
        assert row == pytest.approx(want, abs=1e-6)


def test_walls_absolute_gamma_and_top_open_interest(tables):
    d = tables["core.gamma_daily"].row(0, named=True)
    assert d["call_wall"] == 4050.0            # largest call GEX, +72e6
    assert d["put_wall"] == 3950.0             # largest |put GEX|, 36e6
    assert d["abs_gamma_strike"] == 4050.0     # largest |call| + |put|, 76.8e6
    # Most OI first; 3950 and 4000 tie at 2000 and keep strike order.
    assert d["top_oi_strikes"] == [4050.0, 3900.0, 3950.0, 4000.0, 4100.0]


def test_spot_gex_totals(tables):
    d = tables["core.gamma_daily"].row(0, named=True)
    assert d["call_gex_usd_per_pct"] == pytest.approx(141.6e6)
    assert d["put_gex_usd_per_pct"] == pytest.approx(-106.4e6)
    assert d["net_gex_usd_per_pct"] == pytest.approx(35.2e6)
    assert d["gross_gex_usd_per_pct"] == pytest.approx(248.0e6)
    assert (d["contracts"], d["expired_rows"]) == (10, 0)
    assert d["zero_dte_share_pct"] == 0.0


def test_the_ten_row_chain_fills_every_table(tables):
    assert tables["core.gamma_by_strike"].height == 5
    assert tables["core.gamma_by_expiry"].select("root", "expiry", "dte_days", "bucket").rows() == [
        ("SPX", FEB18, 14, "<=30d")]
    prof = tables["core.gamma_profile"]
    assert prof.height == 60
    assert prof["spot_level"].to_list()[0] == pytest.approx(3200.0)
    assert prof["spot_level"].to_list()[-1] == pytest.approx(4800.0)
    d = tables["core.gamma_daily"].row(0, named=True)
    # Put OI sits below spot and call OI above: the profile crosses from negative to positive once.
    assert d["flip_count"] == 1 and 3900 < d["zero_gamma"] < 4100


def test_ties_go_to_the_lower_strike():
    rows = ten_row_chain().with_columns(
        open_interest=pl.when(pl.col("right") == "C").then(1000).otherwise(pl.col("open_interest")),
        gamma=pl.lit(0.001))
    d = gamma_tables(rows, "perfiliev")["core.gamma_daily"].row(0, named=True)
    assert d["call_wall"] == 3900.0
