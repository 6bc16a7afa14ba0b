"""Perp open interest and liquidation readers on small fixtures in the vendors' layouts: Binance
public-data `metrics` CSV, ccxt `fetch_liquidations` and `fetch_open_interest_history` JSON."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from sources.base import SourceError
from sources.binance_metrics import parse as parse_metrics
from sources.formats import parse_file
from sources.liquidations import parse_liquidations, parse_oi_history

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def test_binance_metrics_rows_and_rejects():
    p = parse_file(FIX / "binance_metrics" / "BTCUSDT-metrics-2024-01-01.csv")
    assert p.format == "binance_metrics" and p.table == "raw.perp_open_interest" and p.fatal is None
    r = p.rows.row(0, named=True)
    assert (r["venue"], r["symbol"], r["ts"], r["line"]) == ("binance", "BTC", datetime(2024, 1, 1, 0, 5), 2)
    assert (r["open_interest"], r["open_interest_usd"]) == (81000.5, 3402021000.0)
    # count_long_short_ratio = accounts, sum_toptrader_long_short_ratio = top traders' positions
    assert (r["account_long_short_ratio"], r["top_trader_long_short_ratio"], r["taker_long_short_vol_ratio"]) \
        == (1.90, 1.10, 0.95)
    assert p.rejects["line"].to_list() == [4, 5]
    assert p.rejects["reason"].to_list() == ["sum_open_interest -5 is negative",
                                             "sum_open_interest_value: abc is not a number"]


def test_binance_metrics_truncated_file_is_fatal():
    data = (FIX / "binance_metrics" / "BTCUSDT-metrics-2024-01-01.csv").read_bytes()
    cut = data[: data.index(b"\n2024-01-01 00:10") + 30]
    p = parse_metrics(cut, "cut.csv")
    assert p.fatal is not None and "truncated" in str(p.fatal)


def test_ccxt_liquidations_side_is_the_position_and_fills_are_summed():
    p = parse_file(FIX / "ccxt_liquidations" / "binance_BTC_liquidations.json")
    assert p.format == "ccxt_liquidations" and p.table == "raw.perp_liquidations"
    rows = p.rows.select("side", "price", "base_amount", "quote_usd", "line").rows()
    # two sell fills at 42000 (a long liquidated) -> one row; a buy of 2 contracts x 0.1 BTC -> short
    assert rows == [("long", 42000.0, 0.75, 31500.0, 1), ("short", 42500.0, 0.2, 8500.0, 3)]
    assert p.rejects.select("line", "reason").rows() == [(4, "price -1 is not positive"),
                                                         (5, "side hold is not buy or sell")]


def test_ccxt_open_interest_history():
    p = parse_file(FIX / "ccxt_open_interest_history" / "binance_BTC_open_interest.json")
    assert p.rows.select("symbol", "open_interest", "open_interest_usd").rows() == [
        ("BTC", 81000.5, 3402021000.0), ("BTC", 81500.0, 3423000000.0)]
    assert p.rejects["line"].to_list() == [3]


@pytest.mark.parametrize("parse, data, why", [
    (parse_liquidations, b'[{"side":"sell","timestamp":1,"price":1,"baseValue":1}]', "exchange"),
    (parse_oi_history, b'{"symbol":"BTC"}', "no list"),
    (parse_liquidations, b'[{"side":"sell",', "truncated JSON"),
])
def test_untrustworthy_json_names_the_file(parse, data, why):
    with pytest.raises(SourceError, match=why) as e:
        parse(data, "liq.json")
    assert str(e.value).startswith("liq.json")
