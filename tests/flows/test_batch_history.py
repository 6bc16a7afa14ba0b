"""The writer reads a batch's plausibility history once per table (flows.plausibility.BatchHistory)
and must serve each file exactly what its own reads (`history_for`) return."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from flows.plausibility import BatchHistory, history_for
from warehouse.db import Warehouse

D = date(2026, 3, 2)  # a Monday: the night judged
DAYS = [D - timedelta(days=i) for i in range(1, 70)]  # stored history, some beyond 45 days


def _chain(day: date, root: str, under: str, spot: float) -> pl.DataFrame:
    return pl.DataFrame({"quote_date": [day] * 2, "root": [root] * 2, "expiry": [day + timedelta(days=30)] * 2,
                         "strike": [spot, spot], "right": ["C", "P"], "underlying": [under] * 2,
                         "option_symbol": [f"{root}C", f"{root}P"], "spot": [spot] * 2, "bid": [1.0, 1.0],
                         "ask": [1.5, 1.5], "volume": [5, 5], "open_interest": [100, 100],
                         "expired": [False, False], "line": [5, 5],
                         "quote_ts": [datetime(day.year, day.month, day.day, 21)] * 2})


def _store(wh: Warehouse) -> None:
    wh.append("raw.index_bars", pl.DataFrame(
        {"symbol": ["SPX", "VIX", "VIX3M"] * len(DAYS), "date": [d for d in DAYS for _ in range(3)],
         "open": 1.0, "high": 2.0, "low": 0.5, "close": [float(i) for i in range(3 * len(DAYS))]}))
    wh.append("raw.breadth", pl.DataFrame({"exchange": ["NYSE", "NASDAQ"] * len(DAYS),
                                           "date": [d for d in DAYS for _ in range(2)], "advances": 1500}))
    wh.append("raw.vx_futures", pl.DataFrame({"trade_date": DAYS, "expiry": D + timedelta(days=20),
                                              "weekly": False, "settle": 18.0}))
    ts = [datetime(d.year, d.month, d.day, 8) for d in DAYS]
    wh.append("raw.funding_rates", pl.DataFrame(
        {"venue": ["binance", "bybit"] * len(ts), "symbol": ["BTCUSDT", "ETHUSDT"] * len(ts),
         "funding_ts": [t for t in ts for _ in range(2)], "interval_h": 8, "rate": 0.0001}))
    # SPX chains on the two sessions before D (the older one must not be served); VIX only on an
    # older date (its own previous session is looked up per root).
    for day, root, under, spot in [(D - timedelta(days=3), "SPX", "SPX", 4500.0),
                                   (D - timedelta(days=4), "SPX", "SPX", 4400.0),
                                   (D - timedelta(days=20), "VIX", "VIX", 20.0),
                                   (D - timedelta(days=3), "SPXW", "SPX", 4500.0)]:
        wh.append("raw.option_quotes", _chain(day, root, under, spot))


def _sorted(f: pl.DataFrame | None) -> pl.DataFrame | None:
    return None if f is None else f.sort(f.columns)


def test_batch_history_serves_each_file_its_own_reads(tmp_path):
    files = [
        ("raw.index_bars", pl.DataFrame({"symbol": ["SPX"], "date": [D], "close": [1.0]})),
        ("raw.index_bars", pl.DataFrame({"symbol": ["VIX", "VIX"], "date": [D - timedelta(days=60), D],
                                         "close": [1.0, 2.0]})),
        ("raw.breadth", pl.DataFrame({"exchange": ["NYSE"], "date": [D]})),
        ("raw.vx_futures", pl.DataFrame({"trade_date": [D], "expiry": [D + timedelta(days=20)]})),
        ("raw.funding_rates", pl.DataFrame({"venue": ["binance"], "symbol": ["BTCUSDT"],
                                            "funding_ts": [datetime(2026, 3, 2, 0)]})),
        ("raw.funding_rates", pl.DataFrame({"venue": ["bybit"], "symbol": ["ETHUSDT"],
                                            "funding_ts": [datetime(2026, 1, 2, 0)]})),
        ("raw.option_quotes", _chain(D, "SPX", "SPX", 4510.0)),
        ("raw.option_quotes", _chain(D, "VIX", "VIX", 21.0)),
        ("raw.option_quotes", pl.concat([_chain(D, "SPXW", "SPX", 4510.0), _chain(D, "XSP", "XSP", 451.0)])),
    ]
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        _store(wh)
        batch = BatchHistory(wh, files)
        served = 0
        for table, rows in files:
            want, want_extra = history_for(wh, table, rows)
            got, got_extra = batch.history_for(table, rows)
            if want is None:
                assert got is None, table
            else:
                assert_frame_equal(_sorted(got), _sorted(want))
                served += want.height
            assert got_extra.keys() == want_extra.keys()
            for k in want_extra:
                assert_frame_equal(_sorted(got_extra[k]), _sorted(want_extra[k]))
        assert served > 0  # the reads returned rows: the comparison is not between empty frames
        # the previous SPX session is the latest one before D, not the older one
        prev, _ = batch.history_for("raw.option_quotes", files[6][1])
        assert prev["quote_date"].unique().to_list() == [D - timedelta(days=3)]
        prev, _ = batch.history_for("raw.option_quotes", files[7][1])
        assert prev["quote_date"].unique().to_list() == [D - timedelta(days=20)]


def test_empty_warehouse_gives_no_history(tmp_path):
    rows = _chain(D, "SPX", "SPX", 4510.0)
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        batch = BatchHistory(wh, [("raw.option_quotes", rows)])
        assert batch.history_for("raw.option_quotes", rows)[0] is None
        assert history_for(wh, "raw.option_quotes", rows)[0] is None
