"""transforms/research/alvh_book.py: the listed-expiry calendar, the surface-priced chain the
backtest engine reads, dealer gamma from SqueezeMetrics GEX, and the engine's books on it."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from transforms import surface as sf
from transforms.research import alvh_book as A

FLAT = sf.SurfaceParams(a=0.0, b=0.0, d=1.0)


def weekdays(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days + 1) if (a + timedelta(days=i)).weekday() < 5]


def market(sessions: list[date], spx: float = 2000.0, vix: float = 20.0) -> pl.DataFrame:
    n = len(sessions)
    return pl.DataFrame({"date": sessions, "spx": [spx] * n, "vix9d": [None] * n, "vix": [vix] * n,
                         "vix3m": [None] * n, "vix6m": [None] * n, "skew": [100.0] * n,
                         "rate": [0.0] * n, "div_yield": [0.0] * n},
                        schema_overrides={"vix9d": pl.Float64, "vix3m": pl.Float64, "vix6m": pl.Float64})


def test_monthlies_before_weeklies_and_holiday_fridays_move_to_thursday():
    s = [d for d in weekdays(date(2005, 9, 1), date(2005, 12, 31)) if d != date(2005, 11, 25)]
    e = A.listed_expiries(s)
    monthly = e.filter(pl.col("root") == "SPX")["expiry"].to_list()
    assert monthly[:4] == [date(2005, 9, 16), date(2005, 10, 21), date(2005, 11, 18), date(2005, 12, 16)]
    weekly = e.filter(pl.col("root") == "SPXW")["expiry"].to_list()
    assert weekly[0] == date(2005, 10, 28)  # SPXW weeklies from late October 2005
    assert date(2005, 11, 24) in weekly  # the Friday after Thanksgiving was closed (here): Thursday


def test_the_chain_lists_otm_and_itm_strikes_priced_on_the_surface():
    s = weekdays(date(2003, 1, 6), date(2003, 1, 10))  # before weeklies: monthlies only
    ch = A.surface_chain(market(s), FLAT)
    day = ch.filter(pl.col("quote_date") == date(2003, 1, 10))
    assert set(day["expiry"].unique().to_list()) == {date(2003, 1, 17), date(2003, 2, 21)}  # <= 45 days
    assert day["root"].unique().to_list() == ["SPX"]
    row = day.filter(pl.col("expiry") == date(2003, 2, 21), pl.col("strike") == 2000.0,
                     pl.col("right") == "C").row(0, named=True)
    t = 42 / 365
    assert row["iv"] == pytest.approx(0.20)  # flat surface: the VIX
    assert row["bid"] == row["ask"] == pytest.approx(float(sf.bs_price(2000.0, 2000.0, t, 0.2, True)))
    assert row["delta"] == pytest.approx(float(sf.forward_delta(2000.0, 2000.0, t, 0.2, True)))
    k = day.filter(pl.col("expiry") == date(2003, 2, 21))["strike"]
    assert k.min() >= 2000 * 0.79 and k.max() <= 2000 * 1.25  # +-3 ATM standard deviations
    assert ((k % 5) == 0).all()
    weekly = A.surface_chain(market(weekdays(date(2015, 1, 5), date(2015, 1, 5))), FLAT)
    # weeklies: Fridays out to 24 days (SPXW), the monthly as SPX
    assert weekly.select("root", "expiry").unique().sort("expiry").rows() == [
        ("SPXW", date(2015, 1, 9)), ("SPX", date(2015, 1, 16)), ("SPXW", date(2015, 1, 23))]


def test_dealer_gamma_from_dix_keeps_the_vendor_sign_and_unit():
    dix = pl.DataFrame({"date": [date(2015, 1, 5), date(2015, 1, 6)], "price": [2000.0, 1990.0],
                        "dix": [0.4, 0.41], "gex_usd": [2.0e9, -1.0e9]})
    g = A.gamma_from_dix(dix)
    assert g["net_gex_usd_per_pct"].to_list() == [2.0e9, -1.0e9]
    assert g["spot"].to_list() == [2000.0, 1990.0] and g["zero_gamma"].null_count() == 2
    assert "gex_macd_hist_usd" in g.columns


def test_the_engines_books_trade_on_the_surface_chain():
    s = weekdays(date(2015, 1, 5), date(2015, 2, 27))
    m = market(s)
    bars = pl.DataFrame({"symbol": ["SPX"] * len(s), "date": s, "open": [None] * len(s),
                         "close": [2000.0] * len(s)}, schema_overrides={"open": pl.Float64})
    out = A.alvh_books(m, bars, None, FLAT)
    trades = out["trades"]
    assert set(trades["strategy"].unique().to_list()) == {"alvh", "plain_ic"}
    t = trades.filter(pl.col("strategy") == "plain_ic").row(0, named=True)
    # the wing is AlvhParams' 50 points scaled to SPX 2000 (15 points on the 5-point grid)
    assert t["short_put"] - t["long_put"] == pytest.approx(15.0)
    # no score: ALVH trades the calm condor (the same strikes as the plain one on the first entry)
    a = trades.filter(pl.col("strategy") == "alvh").row(0, named=True)
    assert (a["short_put"], a["short_call"]) == (t["short_put"], t["short_call"])
    assert out["daily"]["strategy"].unique().sort().to_list() == ["alvh", "plain_ic"]
