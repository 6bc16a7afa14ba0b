"""Funding readers: every venue shape, hour flooring, interval_h never assumed, base symbols."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl
import pytest

from sources.base import SourceError
from sources.formats import detect, parse_bytes, parse_file
from sources.funding import base_asset, parse_archive, parse_rest_csv


def _rows(p):
    """Rows in time order (they come in file order: Bybit, OKX and dYdX send newest first)."""
    return p.rows.sort("funding_ts").select("venue", "symbol", "funding_ts", "interval_h", "rate").rows()


@pytest.mark.parametrize(("venue_symbol", "base"), [
    ("BTCUSDT", "BTC"), ("BTC-USD", "BTC"), ("BTC-USDT-SWAP", "BTC"), ("BTC/USDT:USDT", "BTC"),
    ("BTCUSD_PERP", "BTC"), ("ETHPERP", "ETH"), ("1000PEPEUSDT", "1000PEPE"), ("ETH", "ETH"),
    ("USDCUSDT", "USDC"), ("ethusdc", "ETH"),
])
def test_base_asset(venue_symbol, base):
    assert base_asset(venue_symbol) == base


def test_binance_archive_with_header_symbol_from_name_jitter_floored(fixtures):
    p = parse_file(fixtures / "binance_funding_archive" / "BTCUSDT-fundingRate-2024-01.csv")
    assert p.rejects.is_empty() and p.meta["header"] is True
    assert _rows(p)[-1] == ("binance", "BTC", datetime(2024, 1, 2, 0), 8, 0.0001)  # ...600002 ms
    assert p.meta["interval_from"] == {"row": 4}
    assert p.partition_by == ("venue", "symbol", "funding_ts")


def test_binance_archive_without_header(fixtures):
    p = parse_file(fixtures / "binance_funding_archive" / "ETHUSDT-fundingRate-2020-01.csv")
    assert p.meta["header"] is False
    assert _rows(p)[0] == ("binance", "ETH", datetime(2020, 1, 1), 8, -0.00012359)
    assert p.rows["line"].to_list() == [1, 2, 3]


def test_binance_archive_4h_interval_and_bad_rows(fixtures):
    p = parse_file(fixtures / "binance_funding_archive" / "1000PEPEUSDT-fundingRate-2024-06.csv")
    assert set(p.rows["interval_h"]) == {4} and set(p.rows["symbol"]) == {"1000PEPE"}
    assert p.rejects.select("line", "reason").rows() == [
        (4, "funding rate: oops is not a number"),
        (5, "funding rate 0.5 is not a per-interval rate (|rate| >= 0.1)"),
    ]


def test_binance_archive_needs_a_symbol():
    with pytest.raises(SourceError, match="does not name its symbol"):
        parse_archive(b"1577836800000,8,-0.00012359\n", "download.csv")


def test_rest_csv_interval_from_spacing_across_a_missing_event(fixtures):
    p = parse_file(fixtures / "binance_funding_rest_csv" / "binance_rest_BTCUSDT_fundingTime.csv")
    # 1673827200000 (16 Jan 00:00) is missing: the 16 h gap is not an interval, the usual 8 h is
    assert p.rows["interval_h"].to_list() == [8, 8, 8, 8, 8]
    assert p.rows["funding_ts"].to_list()[0] == datetime(2023, 1, 15, 0)
    assert p.meta["interval_from"] == {"spacing": 5}


def test_rest_csv_lone_row_takes_the_venue_standard():
    p = parse_rest_csv(b"funding_time,funding_rate\n1673740800010,0.00013712\n", "binance_BTCUSDT.csv")
    assert p.rows["interval_h"].to_list() == [8] and p.meta["interval_from"] == {"venue default": 1}


def test_hyperliquid_snapshots_one_row_per_settlement_hour(fixtures):
    p = parse_file(fixtures / "hyperliquid_funding_snapshots" / "hyperliquid_snapshots.csv")
    # 18:34 and 18:36 snapshots estimate the 19:00 settlement: the later one is kept
    assert p.rows.select("symbol", "funding_ts", "interval_h", "rate", "mark_price", "line").rows() == [
        ("BTC", datetime(2026, 2, 5, 19), 1, 1.25e-05, 65704.0, 4),
        ("ETH", datetime(2026, 2, 5, 19), 1, 6.5413e-06, 1933.3, 5),
        ("BTC", datetime(2026, 2, 5, 20), 1, 1.1e-05, 65800.0, 6),
    ]
    assert p.meta["snapshots_collapsed"] == 2 and p.rejects.is_empty()


def test_binance_rest_json(fixtures):
    p = parse_file(fixtures / "binance_funding_rest_json" / "binance_fundingRate_BTCUSDT.json")
    assert p.format == "binance_funding_rest_json"
    assert p.rows.select("funding_ts", "interval_h", "rate", "mark_price", "line").rows() == [
        (datetime(2023, 11, 1, 0), 8, 0.0001, 34651.4, 2),
        (datetime(2023, 11, 1, 8), 8, 0.0001, 34718.53215926, 8),
        (datetime(2023, 11, 1, 16), 8, 0.0001212, None, 14),  # markPrice "" -> null
    ]


def test_bybit_v5_newest_first_string_timestamps(fixtures):
    p = parse_file(fixtures / "bybit_funding_v5" / "bybit_funding_history_BTCUSDT.json")
    assert _rows(p) == [
        ("bybit", "BTC", datetime(2024, 1, 1, 0), 8, -0.00005),
        ("bybit", "BTC", datetime(2024, 1, 1, 8), 8, 0.00012),
        ("bybit", "BTC", datetime(2024, 1, 1, 16), 8, 0.0001),
    ]
    assert p.rows.sort("funding_ts")["line"].to_list() == [17, 12, 7]  # where each record's `{` is


def test_bybit_error_envelope_is_reported(fixtures):
    path = fixtures / "bybit_funding_v5" / "bybit_error.json"
    with pytest.raises(SourceError, match="retCode=10001: params error"):
        parse_file(path)


def test_okx_error_envelope_is_reported():
    data = b'{"code":"51001","msg":"Instrument ID does not exist","data":[]}'
    with pytest.raises(SourceError, match="code=51001: Instrument ID does not exist"):
        parse_bytes(data, "okx.json")


def test_hyperliquid_history_is_hourly_even_across_a_gap(fixtures):
    p = parse_file(fixtures / "hyperliquid_funding_history" / "hyperliquid_fundingHistory_ETH.json")
    assert p.rows["interval_h"].to_list() == [1, 1, 1, 1]  # 03:00 is missing: still 1 h
    assert p.rows["funding_ts"].to_list()[-1] == datetime(2024, 1, 1, 4)
    assert p.rows["premium"].to_list()[0] == -0.00021
    assert p.meta["interval_from"] == {"venue": 4}


def test_dydx_iso_times_newest_first_oracle_price(fixtures):
    p = parse_file(fixtures / "dydx_historical_funding" / "dydx_historicalFunding_BTC-USD.json")
    assert p.rows.sort("funding_ts").select("symbol", "funding_ts", "interval_h", "rate",
                                            "index_price").rows() == [
        ("BTC", datetime(2024, 1, 1, 0), 1, -1.2e-06, 42190.0),
        ("BTC", datetime(2024, 1, 1, 1), 1, 5.8e-06, 42250.5),
        ("BTC", datetime(2024, 1, 1, 2), 1, 6.25e-06, 42283.1234),
    ]


def test_okx_realized_rate_and_spacing(fixtures):
    p = parse_file(fixtures / "okx_funding_history" / "okx_funding_rate_history_BTC-USDT-SWAP.json")
    assert _rows(p) == [("okx", "BTC", datetime(2024, 1, 1, 0), 8, 0.0001),
                        ("okx", "BTC", datetime(2024, 1, 1, 8), 8, 0.00009987)]


def test_ccxt_venue_from_info(fixtures):
    p = parse_file(fixtures / "ccxt_funding_history" / "ccxt_BTC_funding.json")
    assert p.format == "ccxt_funding_history" and p.meta["venue"] == "binance"
    assert _rows(p)[0] == ("binance", "BTC", datetime(2024, 1, 1), 8, 0.00037409)


def test_ccxt_venue_from_file_name_and_4h_spacing_single_line_json(fixtures):
    p = parse_file(fixtures / "ccxt_funding_history" / "bybit_ccxt_ETH_funding.json")
    assert {r[0] for r in _rows(p)} == {"bybit"}
    assert p.rows["interval_h"].to_list() == [4, 4, 4] and p.rows["line"].to_list() == [1, 1, 1]


def test_ccxt_without_any_venue_hint_is_refused():
    data = json.dumps([{"info": {}, "symbol": "BTC/USDT:USDT", "fundingRate": 0.0001,
                        "timestamp": 1704067200000, "datetime": "2024-01-01T00:00:00Z"}]).encode()
    with pytest.raises(SourceError, match="do not say their exchange"):
        parse_bytes(data, "funding.json")


def test_truncated_json_names_the_line():
    data = b'[\n {"coin": "ETH", "fundingRate": "0.0000125", "premium": "0", "time": 1704067200076},\n {"coin": "E'
    with pytest.raises(SourceError, match="truncated JSON") as e:
        parse_bytes(data, "hl.json")
    assert e.value.line == 3


def test_json_records_that_are_not_objects_are_refused():
    data = b'[{"coin": "ETH", "fundingRate": "0.00001", "premium": "0", "time": 1704067200076}, 7]'
    p = parse_bytes(data, "hl.json")
    assert p.rows.height == 1 and p.rejects["reason"].to_list() == ["record is not a JSON object"]


def test_same_hour_twice_is_a_duplicate():
    data = b"funding_time,funding_rate\n1673740800010,0.0001\n1673740800020,0.0002\n"
    p = parse_rest_csv(data, "binance_BTCUSDT.csv")
    assert p.rejects["reason"].to_list() == [
        "duplicate (venue, symbol, funding_ts): first seen on line 2"]


@pytest.mark.realdata
def test_real_binance_rest_excerpt_jitter_floored(realdata):
    path = realdata / "funding" / "binance_rest_BTCUSDT_fundingTime_excerpt.csv"
    p = parse_file(path)
    assert detect(path.read_bytes()).name == "binance_funding_rest_csv"
    assert p.rejects.is_empty() and p.rows.height == 100
    ts = p.rows["funding_ts"]
    assert ts.dt.minute().max() == 0 and ts.dt.second().max() == 0 and ts.dt.microsecond().max() == 0
    assert ts[0] == datetime(2023, 1, 15, 0)  # 1673740800010 ms
    assert set(ts.dt.hour()) == {0, 8, 16} and set(p.rows["interval_h"]) == {8}
    assert set(p.rows["symbol"]) == {"BTC"} and set(p.rows["venue"]) == {"binance"}


@pytest.mark.realdata
def test_real_binance_vision_rows(realdata):
    p = parse_file(realdata / "funding" / "binance_vision_fundingRate_quoted_rows.csv")
    assert p.rejects.is_empty() and p.meta["comment_lines"] == 4
    assert _rows(p)[0] == ("binance", "BTC", datetime(2020, 1, 1), 8, -0.00012359)
    assert p.rows.height == 6


@pytest.mark.realdata
def test_real_hyperliquid_snapshots_hourly(realdata):
    p = parse_file(realdata / "funding" / "hyperliquid_snapshot_excerpt.csv")
    assert p.rejects.is_empty() and set(p.rows["interval_h"]) == {1}
    assert p.rows.height == 8 and p.meta["snapshots_collapsed"] == 14
    btc = p.rows.filter(pl.col("symbol") == "BTC").sort("funding_ts")
    # seven snapshots between 21:19 and 21:43 are one settlement, at 22:00, the last one kept
    assert btc.row(0, named=True)["funding_ts"] == datetime(2026, 2, 4, 22)
    assert btc.row(0, named=True)["mark_price"] == 72940.0
    assert btc["rate"].to_list()[0] == 1.25e-05  # 0.01 % per 8 h, per hour


def test_history_fetcher_files_venue_from_name_and_the_collectors_zone_undone(fixtures):
    p = parse_file(fixtures / "funding_history_csv" / "BTC-USDT_binance_2021-03-01_2021-03-02_funding_history.csv")
    assert p.format == "funding_history_csv" and p.meta["utc_shift_h"] == -3
    # stamped 03/11/19 (UTC+3): Binance settles at 00/08/16 UTC
    assert p.rows.select("venue", "symbol", "funding_ts", "interval_h", "rate").rows()[:2] == [
        ("binance", "BTC", datetime(2021, 3, 1, 0), 8, 0.00031), ("binance", "BTC", datetime(2021, 3, 1, 8), 8, 0.00042)]
    hourly = b"Symbol,Date,Funding Rate\nBTC-USDT,2022-01-01 00:00:00,0.0000058\nBTC-USDT,2022-01-01 01:00:00,0.00004\n"
    d = parse_bytes(hourly, "BTC-USDT_dydx_2022-01-01_2022-01-02_funding_history.csv")
    assert d.meta["utc_shift_h"] == 0 and d.rows["interval_h"].to_list() == [1, 1]
    with pytest.raises(SourceError, match="venue"):
        parse_bytes(hourly, "funding_history.csv")
