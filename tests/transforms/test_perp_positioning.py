"""Positioning columns of core.funding_daily on inline frames: OI at the close and its change,
OI-weighted funding over the members with OI, long/short liquidations, the two flags; point in time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from transforms.funding import funding_daily
from transforms.perp_positioning import (
    NEW_COLUMNS,
    PositioningParams,
    add_positioning,
    fill_funding_oi,
    positioning_daily,
)

SESSIONS = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]  # closes 21:00 UTC (EST)
D3, D4 = SESSIONS[1], SESSIONS[2]
P = PositioningParams(cascade_min_periods=1)


def funding_raw() -> pl.DataFrame:
    rows = []
    for d, rb in ((D3, 0.0001), (D4, 0.0003)):
        for h in (0, 8, 16):
            ts = datetime(d.year, d.month, d.day, h)
            rows += [("binance", "BTC", ts, 8, rb), ("bybit", "BTC", ts, 8, 0.0002)]
    return pl.DataFrame(rows, schema=["venue", "symbol", "funding_ts", "interval_h", "rate"], orient="row")


def oi_raw() -> pl.DataFrame:
    return pl.DataFrame({"venue": ["binance"] * 3, "symbol": ["BTC"] * 3,
                         "ts": [datetime(2026, 3, 3, 15, 55), datetime(2026, 3, 3, 20, 55), datetime(2026, 3, 4, 20, 55)],
                         "open_interest_usd": [1.0e9, 1.1e9, 1.21e9], "account_long_short_ratio": [1.8, 1.9, 2.1]})


def liq_raw(long_d4: float = 7e6) -> pl.DataFrame:
    return pl.DataFrame({"venue": ["binance"] * 3, "symbol": ["BTC"] * 3,
                         "liq_ts": [datetime(2026, 3, 3, 12), datetime(2026, 3, 3, 13), datetime(2026, 3, 4, 12)],
                         "side": ["long", "short", "long"], "quote_usd": [1e6, 2e5, long_d4]})


def table(long_d4: float = 7e6, liq: bool = True) -> pl.DataFrame:
    raw = fill_funding_oi(funding_raw(), oi_raw(), P)
    pos = positioning_daily(oi_raw(), liq_raw(long_d4) if liq else None, SESSIONS)
    return add_positioning(funding_daily(raw, SESSIONS), pos, P)


def row(t: pl.DataFrame, venue: str, symbol: str, d: date) -> dict:
    return t.filter((pl.col("venue") == venue) & (pl.col("symbol") == symbol) & (pl.col("date") == d)).row(0, named=True)


def test_funding_events_take_the_latest_oi_within_two_hours():
    f = fill_funding_oi(funding_raw(), oi_raw(), P)
    b = f.filter(pl.col("venue") == "binance")["open_interest_usd"].to_list()
    # Mar 3 16:00 <- 15:55 (1.0e9); Mar 4 00:00 is 3 h after Mar 3 20:55: beyond the tolerance
    assert b == [None, None, 1.0e9, None, None, None]
    assert f.filter(pl.col("venue") == "bybit")["open_interest_usd"].null_count() == 6
    assert f.columns == [*funding_raw().columns, "open_interest_usd"]


def test_worked_example_venue_and_composite_rows():
    t = table()
    assert set(NEW_COLUMNS) <= set(t.columns)
    b3, b4 = row(t, "binance", "BTC", D3), row(t, "binance", "BTC", D4)
    assert (b3["open_interest_usd"], b4["open_interest_usd"]) == (1.1e9, 1.21e9)  # last OI before the close
    assert b4["open_interest_chg_usd"] == pytest.approx(0.11e9)
    assert b4["open_interest_chg_pct"] == pytest.approx(10.0)
    assert b4["funding_apr_oi_weighted"] == pytest.approx(0.0003 / 8 * 8760)  # a venue row: its own APR
    assert (b3["liquidations_long_usd"], b3["liquidations_short_usd"]) == (1e6, 2e5)
    assert (b4["liquidations_long_usd"], b4["liquidations_short_usd"]) == (7e6, 0.0)  # feed known: 0
    assert b4["account_long_short_ratio"] == 2.1
    # 7e6 >= 3 x 1e6 (prior mean) and >= 0.5 % of 1.21e9 (6.05e6): a cascade
    assert b4["liquidation_cascade"] is True
    assert b3["liquidation_cascade"] is False  # no history yet, but 1e6 < 0.5 % of 1.1e9 settles it
    c4 = row(t, "composite", "ALL", D4)
    # bybit has no OI: the OI-weighted APR is binance's alone; liquidations summed over members
    assert c4["funding_apr_oi_weighted"] == pytest.approx(0.0003 / 8 * 8760)
    assert c4["funding_apr"] == pytest.approx((0.0003 + 0.0002) / 2 / 8 * 8760)  # equal weight (bybit lacks OI)
    assert (c4["liquidations_long_usd"], c4["open_interest_usd"]) == (7e6, 1.21e9)
    assert row(t, "bybit", "BTC", D4)["liquidations_long_usd"] is None  # no feed: unknown, not 0


def test_below_half_a_percent_of_oi_is_no_cascade():
    assert row(table(long_d4=5e6), "binance", "BTC", D4)["liquidation_cascade"] is False


def test_spike_with_rising_oi():
    t = table().with_columns(funding_spike=pl.lit(True))
    pos = positioning_daily(oi_raw(), liq_raw(), SESSIONS)
    t = add_positioning(t.drop(*NEW_COLUMNS), pos, P)
    assert row(t, "binance", "BTC", D4)["funding_spike_rising_oi"] is True
    assert row(t, "binance", "BTC", D3)["funding_spike_rising_oi"] is None  # no previous OI


def test_point_in_time_later_data_changes_no_earlier_row():
    full = table()
    early_oi = oi_raw().filter(pl.col("ts") < datetime(2026, 3, 3, 21))
    early_liq = liq_raw().filter(pl.col("liq_ts") < datetime(2026, 3, 3, 21))
    raw = fill_funding_oi(funding_raw().filter(pl.col("funding_ts") < datetime(2026, 3, 3, 21)), early_oi, P)
    early = add_positioning(funding_daily(raw, SESSIONS[:2]), positioning_daily(early_oi, early_liq, SESSIONS[:2]), P)
    assert early.equals(full.filter(pl.col("date") <= D3))


def test_signal_funding_part_counts_the_flags():
    from transforms.signals import SignalParams, _funding

    base = {"venue": ["composite"] * 2, "symbol": ["ALL"] * 2, "date": [D3, D4], "funding_apr": [0.1, 0.1],
            "funding_apr_z": [2.0, 2.0], "funding_apr_pctile": [100.0, 100.0], "funding_spike": [False, False]}
    plain = _funding(pl.DataFrame(base), SignalParams())
    assert plain["funding_score"].to_list() == [1.0, 1.0]
    flagged = _funding(pl.DataFrame({**base, "funding_spike_rising_oi": [False, None],
                                     "liquidation_cascade": [True, None]}), SignalParams())
    # D3: (0.5 x 1 + 0.5 x 1 + 0.25 x 0 + 0.25 x 1) / 1.5; D4: flags unknown, they drop out
    assert flagged["funding_score"].to_list() == pytest.approx([1.25 / 1.5, 1.0])
    assert flagged.columns == plain.columns


def test_perp_realised_vol_and_funding_premium():
    import numpy as np

    days = [date(2026, 1, 1) + timedelta(days=k) for k in range(22)]
    mark = [100.0 * (1.01 if k % 2 else 1.0) * (1 + 0.001 * k) for k in range(22)]
    f = pl.DataFrame({"venue": "binance", "symbol": "BTC", "date": days, "n_events": 3, "funding_apr": 0.2,
                      "funding_spike": False, "open_interest_usd": 1e9, "mark_price": mark})
    t = add_positioning(f, positioning_daily(None, None, days), P)
    r = np.diff(np.log(mark))
    want = np.std(r[-20:], ddof=1) * np.sqrt(252) * 100
    assert t["perp_rv20_pct"][-1] == pytest.approx(want)
    assert t["perp_rv20_pct"][19] is None and t["perp_rv20_pct"][20] is not None  # 20 returns needed
    assert t["funding_vol_premium_perp"][-1] == pytest.approx(0.2 / (want / 100))
