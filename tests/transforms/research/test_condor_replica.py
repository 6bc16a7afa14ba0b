"""transforms/research/condor.py: CNDR rules on a tiny synthetic market (roll date, strikes by
delta, sizing, settlement at expiry on the open, the 11:00 entry) and buy-and-hold SPX."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from transforms import surface as sf
from transforms.research import condor as C

FLAT = sf.SurfaceParams(a=0.0, b=0.0, d=1.0)


def weekdays(a: date, b: date, closed: tuple[date, ...] = ()) -> list[date]:
    out, d = [], a
    while d <= b:
        if d.weekday() < 5 and d not in closed:
            out.append(d)
        d += timedelta(days=1)
    return out


def market(sessions: list[date], spx, vix: float = 20.0, rate: float = 0.0) -> pl.DataFrame:
    spx = spx if isinstance(spx, list) else [spx] * len(sessions)
    n = len(sessions)
    return pl.DataFrame({"date": sessions, "spx": spx, "vix9d": [None] * n, "vix": [vix] * n,
                         "vix3m": [None] * n, "vix6m": [None] * n, "skew": [100.0] * n,
                         "rate": [rate] * n, "div_yield": [0.0] * n},
                        schema_overrides={"vix9d": pl.Float64, "vix3m": pl.Float64, "vix6m": pl.Float64})


def test_third_friday_and_roll_moves_to_thursday_when_the_friday_is_a_holiday():
    assert C.third_friday(2015, 1) == date(2015, 1, 16)
    assert C.third_friday(2003, 4) == date(2003, 4, 18)  # Good Friday 2003: exchange closed
    s = weekdays(date(2003, 3, 1), date(2003, 5, 31), closed=(date(2003, 4, 18),))
    assert C.roll_dates(s) == [date(2003, 3, 21), date(2003, 4, 17), date(2003, 5, 16)]


def test_cndr_sells_20_delta_buys_5_delta_to_next_months_roll_and_settles_at_expiry():
    s = weekdays(date(2015, 1, 2), date(2015, 3, 31))
    # SPX flat at 2000, then falls to 1850 on the February expiry (below the short put)
    spx = [2000.0 if d < date(2015, 2, 20) else 1850.0 for d in s]
    m = market(s, spx)
    # the close-to-close variant with notional sizing: the rules' skeleton on its own
    p = C.CondorParams(surface=FLAT, sizing="notional", roll_hour=None, am_settlement=False)
    daily, trades = C.cndr_replica(m, p)
    assert daily["date"][0] == date(2015, 1, 16)  # the book starts on the first roll
    t0 = trades[0]
    assert (t0.opened, t0.expiry) == (date(2015, 1, 16), date(2015, 2, 20))
    sp, lp, sc, lc = (leg.strike for leg in t0.legs)
    tt = 35 / 365
    for k, target, call in ((sp, -0.20, False), (lp, -0.05, False), (sc, 0.20, True), (lc, 0.05, True)):
        dl = float(sf.forward_delta(2000.0, k, tt, 0.2, call))
        assert abs(dl - target) < 0.01, (k, dl)
    assert lp < sp < 2000 < sc < lc
    assert t0.qty == pytest.approx(100.0 / 2000.0)  # SPX notional = the account
    # expiry settle: intrinsic at the expiry close, 1850
    assert t0.closed == date(2015, 2, 20) and t0.reason == "expiry"
    intrinsic = max(sp - 1850, 0) - max(lp - 1850, 0)
    assert t0.exit_value == pytest.approx(intrinsic)
    # the account: credit in, intrinsic out (rate 0); equity after settlement, before the new roll
    # opens, is capital + qty * (credit - intrinsic): the new condor is marked at its own credit
    eq = daily.filter(pl.col("date") == date(2015, 2, 20))["equity"].item()
    assert eq == pytest.approx(100.0 + t0.qty * (t0.credit - intrinsic))
    assert trades[1].opened == date(2015, 2, 20) and trades[1].qty == pytest.approx(eq / 1850.0)


def test_cndr_is_sized_so_that_ten_times_the_max_loss_is_the_account():
    s = weekdays(date(2015, 1, 2), date(2015, 2, 27))
    daily, trades = C.cndr_replica(market(s, 2000.0), C.CondorParams(surface=FLAT))
    t0 = trades[0]
    sp, lp, sc, lc = (leg.strike for leg in t0.legs)
    max_loss = max(sp - lp, lc - sc) - t0.credit
    assert C.max_loss_pts(t0.legs, t0.credit) == pytest.approx(max_loss)
    assert t0.qty * max_loss * 10.0 == pytest.approx(100.0)  # the T-bills cover 10x the max loss
    assert t0.am_settled


def test_expiring_monthlies_settle_on_the_open_and_the_new_condor_sells_at_11():
    s = weekdays(date(2015, 1, 2), date(2015, 3, 31))
    # flat at 2000 except the February expiry session: opens at 1850 (the SOQ), closes at 2000
    m = market(s, 2000.0).with_columns(
        spx_open=pl.when(pl.col("date") == date(2015, 2, 20)).then(1850.0).otherwise(None))
    daily, trades = C.cndr_replica(m, C.CondorParams(surface=FLAT))
    t0, t1 = trades[0], trades[1]
    sp, lp = t0.legs[0].strike, t0.legs[1].strike
    assert t0.exit_value == pytest.approx(max(sp - 1850, 0) - max(lp - 1850, 0))  # settled at the open
    # sold at 11:00 = open + (close - open) * 1.5 / 6.5 = 1884.6: strikes around that level
    at = C.intraday_row({"spx": 2000.0, "spx_open": 1850.0, "vix": 20.0}, 11.0)
    assert at["spx"] == pytest.approx(1850 + 150 * 1.5 / 6.5) and at["vix"] == 20.0
    assert t1.legs[0].strike < at["spx"] < t1.legs[2].strike
    assert t1.legs[2].strike < 2000 + 50  # the call was struck off 1884.6, not the 2000 close


def test_cash_accrues_the_t_bill_rate_between_sessions():
    s = weekdays(date(2015, 1, 2), date(2015, 1, 30))
    daily, _ = C.cndr_replica(market(s, 2000.0, rate=0.0365), C.CondorParams(surface=FLAT))
    # SPX flat, vol flat: the condor decays, cash earns 1 bp a calendar day on (capital + credit)
    last = daily.row(daily.height - 1, named=True)
    assert last["cash"] > 100.0 and last["equity"] > 100.0


def test_spx_hold_is_the_price_index_on_the_account():
    s = weekdays(date(2015, 1, 5), date(2015, 1, 7))
    d = C.spx_hold(market(s, [2000.0, 2100.0, 1900.0]), 100.0)
    assert d["equity"].to_list() == pytest.approx([100.0, 105.0, 95.0])
    assert d["pnl"].to_list() == pytest.approx([0.0, 5.0, -10.0])
