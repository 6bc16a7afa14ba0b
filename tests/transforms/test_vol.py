"""core.vol_daily: Wilder RSI on the classic data set, VX1/VX2 around expiry, constant maturity,
term-structure ratios, realized vol, funding vol premium; VIX/VIX3M conformance over real files."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from transforms.vol import VolParams, vol_daily, wilder_rsi

# Wilder's RSI worked example as StockCharts publishes it (cs-rsi.xls), 33 closes.
WILDER_CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89,
                 46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25,
                 45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13]
# Exact-arithmetic RSI(14) from the 15th close on (the plain loop below, rounded to 2 dp; other
# open-source implementations print the same). StockCharts' sheet shows 70.53, 66.32, ... because
# it carries rounded first averages (0.24 / 0.10): within 0.1 of these.
WILDER_RSI = [70.46, 66.25, 66.48, 69.35, 66.29, 57.92, 62.88, 63.21, 56.01, 62.34, 54.67, 50.39,
              40.02, 41.49, 41.90, 45.50, 37.32, 33.09, 37.79]
STOCKCHARTS_SHEET = [70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71,
                     50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.08, 37.77]


def _plain_rsi(closes, n=14):
    gains = [max(b - a, 0.0) for a, b in zip(closes, closes[1:], strict=False)]
    losses = [max(a - b, 0.0) for a, b in zip(closes, closes[1:], strict=False)]
    ag, al = sum(gains[:n]) / n, sum(losses[:n]) / n
    out = [100 - 100 / (1 + ag / al)]
    for g, lo in zip(gains[n:], losses[n:], strict=True):
        ag, al = (ag * (n - 1) + g) / n, (al * (n - 1) + lo) / n
        out.append(100 - 100 / (1 + ag / al))
    return out


def test_wilder_rsi_classic_example():
    got = wilder_rsi(np.array(WILDER_CLOSES), 14)
    assert np.isnan(got[:14]).all()
    np.testing.assert_allclose(got[14:], _plain_rsi(WILDER_CLOSES), rtol=1e-12)
    np.testing.assert_allclose(np.round(got[14:], 2), WILDER_RSI)
    np.testing.assert_allclose(got[14:], STOCKCHARTS_SHEET, atol=0.1)


def test_wilder_rsi_edges():
    up = np.arange(1.0, 21.0)
    assert wilder_rsi(up, 14)[-1] == 100.0
    assert wilder_rsi(up[::-1], 14)[-1] == 0.0
    assert wilder_rsi(np.full(20, 5.0), 14)[-1] == 50.0
    assert np.isnan(wilder_rsi(up[:14], 14)).all()


def _bars(symbol, days, closes):
    return pl.DataFrame({"symbol": symbol, "date": days, "close": closes},
                        schema_overrides={"date": pl.Date, "close": pl.Float64})


def _vx(rows):
    """rows: (trade_date, expiry, settle, weekly)."""
    return pl.DataFrame(rows, schema=["trade_date", "expiry", "settle", "weekly"], orient="row",
                        schema_overrides={"trade_date": pl.Date, "expiry": pl.Date})


JAN, FEB, MAR = date(2024, 1, 17), date(2024, 2, 14), date(2024, 3, 20)   # VX monthly expiries


def test_vx1_vx2_roll_on_expiry_day():
    days = [date(2024, 1, 16), date(2024, 1, 17), date(2024, 1, 18)]
    vx = _vx([
        (days[0], JAN, 13.2, False), (days[0], FEB, 14.1, False), (days[0], MAR, 15.0, False),
        (days[0], date(2024, 1, 24), 13.6, True),                   # weekly: not VX1 by default
        (days[1], JAN, 13.05, False),                               # expires today: final settle
        (days[1], FEB, 14.3, False), (days[1], MAR, 15.2, False),
        (days[2], FEB, 0.0, False),                                 # zero placeholder: skipped
        (days[2], MAR, 15.1, False), (days[2], date(2024, 4, 17), 15.9, False),
    ])
    out = vol_daily(_bars("VIX", days, [13.0, 13.1, 13.3]), vx, None)
    r = out.rows_by_key("date", named=True, unique=True)
    assert (r[days[0]]["vx1"], r[days[0]]["vx1_expiry"], r[days[0]]["vx1_dte_days"]) == (13.2, JAN, 1)
    assert (r[days[0]]["vx2"], r[days[0]]["vx2_dte_days"]) == (14.1, 29)
    # on the expiry day the expiring contract is no longer the front: nearest expiry AFTER the date
    assert (r[days[1]]["vx1"], r[days[1]]["vx1_expiry"], r[days[1]]["vx1_dte_days"]) == (14.3, FEB, 28)
    assert (r[days[1]]["vx2"], r[days[1]]["vx2_expiry"]) == (15.2, MAR)
    assert (r[days[2]]["vx1"], r[days[2]]["vx1_expiry"]) == (15.1, MAR)
    assert r[days[0]]["vx1_roll_yield"] == pytest.approx((13.2 - 13.0) / 13.0)
    assert r[days[0]]["vx2_vx1_roll_yield"] == pytest.approx(14.1 / 13.2 - 1)
    weekly = vol_daily(_bars("VIX", days, [13.0, 13.1, 13.3]), vx, None,
                       VolParams(include_weeklies=True)).row(0, named=True)
    assert (weekly["vx1"], weekly["vx2"]) == (13.2, 13.6)


def test_constant_maturity_30_day_vx():
    d1, d2, d3 = date(2024, 1, 16), date(2024, 2, 15), date(2024, 2, 19)
    vx = _vx([
        (d1, JAN, 13.2, False), (d1, FEB, 14.1, False), (d1, MAR, 15.0, False),
        (d2, MAR, 15.6, False), (d2, date(2024, 4, 17), 16.4, False),
        (d3, MAR, 15.4, False),
    ])
    out = vol_daily(_bars("VIX", [d1, d2, d3], [13.0, 14.0, 14.5]), vx, None)
    cm = dict(zip(out["date"].to_list(), out["vx_cm30"].to_list(), strict=True))
    # d1: Feb is 29 days out, Mar 64: 30 = Feb + 1/35 of the way to Mar
    assert cm[d1] == pytest.approx(34 / 35 * 14.1 + 1 / 35 * 15.0)
    # d2, the day after February's expiry: VX1 (Mar) is 34 days out, beyond 30 - interpolate
    # from VIX (day 0, where a VX settles) to Mar: 4/34 of VIX + 30/34 of Mar
    assert cm[d2] == pytest.approx(4 / 34 * 14.0 + 30 / 34 * 15.6)
    assert cm[d3] == pytest.approx(15.4)                      # exactly 30 days out
    no_vix = vol_daily(_bars("SPX", [d2], [5000.0]), vx.filter(pl.col("trade_date") == d2), None)
    assert no_vix["vx_cm30"][0] is None                       # nothing to bracket 30 from below


def test_term_structure_ratios_and_inversion_flags():
    days = [date(2020, 3, 13), date(2020, 3, 16)]
    bars = pl.concat([_bars("VIX", days, [57.83, 82.69]), _bars("VIX9D", days, [55.0, 93.0]),
                      _bars("VIX3M", days, [58.5, 64.0])])
    out = vol_daily(bars, _vx([]), None)
    assert out["vix9d_vix_ratio"].to_list() == pytest.approx([55.0 / 57.83, 93.0 / 82.69])
    assert out["vix9d_vix_inverted"].to_list() == [False, True]
    assert out["vix_vix3m_ratio"].to_list() == pytest.approx([57.83 / 58.5, 82.69 / 64.0])
    assert out["vix_vix3m_inverted"].to_list() == [False, True]


def test_realized_vol_iv_rv_spread_and_funding_premium():
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(25)]
    rng = np.random.default_rng(3)
    spx = 4700 * np.exp(np.cumsum(np.r_[0.0, rng.normal(0, 0.01, 24)]))
    vix = np.full(25, 14.0)
    funding = pl.DataFrame({"venue": ["composite", "binance"], "symbol": ["ALL", "BTC"],
                            "date": [days[-1]] * 2, "funding_apr": [0.2190, 0.5]})
    out = vol_daily(pl.concat([_bars("SPX", days, spx), _bars("VIX", days, vix)]), _vx([]), funding)
    r = np.diff(np.log(spx))
    rv20 = np.std(r[-20:], ddof=1) * math.sqrt(252) * 100
    rv10 = np.std(r[-10:], ddof=1) * math.sqrt(252) * 100
    last = out.row(-1, named=True)
    assert last["spx_rv20_vol_pts"] == pytest.approx(rv20)
    assert last["spx_rv10_vol_pts"] == pytest.approx(rv10)
    assert last["iv_rv_spread_vol_pts"] == pytest.approx(14.0 - rv20)
    assert out["spx_rv20_vol_pts"].null_count() == 20             # 20 returns need 21 closes
    assert out["spx_rv10_vol_pts"].null_count() == 10
    assert last["funding_apr"] == 0.2190                      # the composite ALL row, not binance
    assert last["funding_vol_premium"] == pytest.approx(0.2190 / (rv20 / 100))
    assert out["funding_apr"].null_count() == 24
    np.testing.assert_allclose(out["spx_rsi14"].to_numpy()[14:], _plain_rsi(list(spx)))


def test_date_spine_is_union_of_spx_and_vix():
    out = vol_daily(pl.concat([_bars("SPX", [date(2024, 1, 2)], [4700.0]),
                               _bars("VIX", [date(2024, 1, 3)], [13.0])]), _vx([]), None)
    assert out["date"].to_list() == [date(2024, 1, 2), date(2024, 1, 3)]
    assert vol_daily(_bars("VVIX", [date(2024, 1, 2)], [80.0]), _vx([]), None).is_empty()


# -- conformance: real Cboe VIX / VIX3M history 2019-2020 -----------------------------------------

def _read_cboe_index(path, symbol):
    df = pl.read_csv(path)
    return df.select(symbol=pl.lit(symbol), date=pl.col("DATE").str.to_date("%m/%d/%Y"),
                     close=pl.col("CLOSE").cast(pl.Float64))


@pytest.mark.realdata
def test_vix_term_structure_inverted_in_march_2020(realdata):
    folder = realdata / "cboe_index"
    bars = pl.concat([_read_cboe_index(folder / "VIX_History_2019_2020.csv", "VIX"),
                      _read_cboe_index(folder / "VIX3M_History_2019_2020.csv", "VIX3M")])
    out = vol_daily(bars, _vx([]), None)
    by = out.rows_by_key("date", named=True, unique=True)
    # 2020-03-16: VIX closed at its record 82.69, far above VIX3M - an inverted curve
    assert by[date(2020, 3, 16)]["vix"] == pytest.approx(82.69)
    assert by[date(2020, 3, 16)]["vix_vix3m_inverted"] is True
    # calm 2019 is in contango most days
    y2019 = out.filter(pl.col("date").dt.year() == 2019)
    assert y2019["vix_vix3m_inverted"].mean() < 0.1


@pytest.mark.realdata
def test_real_vx_history_front_month_through_the_reader(realdata):
    """CFE VX history (Jan 2024 contract) through the sources.formats reader: it is the front
    month up to the day before its expiry and gone on the expiry day, where Settle (the final
    settlement) differs from Close (a reader that no longer claims CFE files fails here)."""
    from sources import formats

    parsed = formats.parse_file(realdata / "cfe_vx" / "VX_2024-01-17_EXCERPT_head_tail.csv")
    vx = parsed.rows
    days = vx["trade_date"].to_list()
    # VIX closes are not in this file: a flat stand-in keeps every trade date on the spine
    out = vol_daily(_bars("VIX", days, [13.0] * len(days)), vx, None)
    by = out.rows_by_key("date", named=True, unique=True)
    eve = by[date(2024, 1, 16)]
    assert (eve["vx1_expiry"], eve["vx1_dte_days"]) == (date(2024, 1, 17), 1)
    assert eve["vx1"] == vx.filter(pl.col("trade_date") == date(2024, 1, 16))["settle"][0]
    assert by[date(2024, 1, 17)]["vx1"] is None          # the only contract expired that day
    assert by[date(2024, 1, 17)]["vx_cm30"] is None
