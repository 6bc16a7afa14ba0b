"""Cboe delayed-quotes JSON reader: the contract from the option symbol, the snapshot's session,
refused records with reasons, detection by content, and any bytes giving Parsed or SourceError."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sources.base import Parsed, SourceError
from sources.cboe_chain import COLUMNS
from sources.cboe_json import parse
from sources.formats import detect, parse_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SPX = FIXTURES / "cboe_delayed_json" / "_SPX_delayed_quotes.json"
LIVE = FIXTURES / "live" / "cboe"


def rec(option: str, **kw) -> dict:
    base = {"option": option, "bid": 12.1, "bid_size": 5.0, "ask": 12.6, "ask_size": 7.0, "iv": 0.1523,
            "open_interest": 1234.0, "volume": 56.0, "delta": 0.41, "gamma": 0.0031, "vega": 1.2,
            "theta": -3.1, "rho": 0.4, "theo": 12.3, "change": 0.5, "open": 11.0, "high": 13.0, "low": 10.5,
            "tick": "up", "last_trade_price": 12.3, "last_trade_time": "2026-05-20T15:59:58",
            "percent_change": 4.2, "prev_day_close": 11.8}
    base.update(kw)
    return base


def doc(options: list, timestamp: str = "2026-05-20 21:14:55", **data) -> bytes:
    body = {"options": options, "symbol": "_SPX", "current_price": 5812.34, "close": 5812.34,
            "prev_day_close": 5799.97, **data}
    return json.dumps({"timestamp": timestamp, "data": body}).encode()


def test_a_record_becomes_one_contract_row_read_from_its_symbol():
    p = parse(doc([rec("SPXW260522C05800000"), rec("SPXW260522P05800000", delta=-0.59)]), "x.json")
    assert p.rejects.is_empty() and p.fatal is None
    assert p.rows.schema == pl.Schema(COLUMNS)
    r = p.rows.row(0, named=True)
    assert (r["root"], r["underlying"], r["expiry"], r["strike"], r["right"]) == (
        "SPXW", "SPX", date(2026, 5, 22), 5800.0, "C")
    assert (r["bid"], r["ask"], r["last"], r["volume"], r["open_interest"], r["iv"], r["gamma"]) == (
        12.1, 12.6, 12.3, 56, 1234, 0.1523, 0.0031)
    assert (r["spot"], r["quote_date"], r["quote_ts"]) == (5812.34, date(2026, 5, 20), datetime(2026, 5, 20, 21, 14, 55))
    assert p.rows["right"].to_list() == ["C", "P"]
    assert p.partition_by == ("quote_date", "root") and p.table == "raw.option_quotes"


def test_the_strike_has_three_implied_decimals():
    p = parse(doc([rec("SPY260522C00580500"), rec("VIX260617P00017500")]), "x.json")
    assert p.rows.select("root", "strike", "underlying").rows() == [("SPY", 580.5, "SPY"), ("VIX", 17.5, "VIX")]


def test_snapshot_times_are_read_as_utc_and_dated_by_the_session_they_follow():
    # 01:30 UTC on Thursday = 21:30 Wednesday in New York: Wednesday's session.
    late = parse(doc([rec("SPXW260522C05800000")], timestamp="2026-05-21 01:30:00"), "x.json")
    assert late.meta["quote_date"] == date(2026, 5, 20)
    # A Saturday snapshot holds Friday's close; Friday's 0DTE contracts are expired by then.
    sat = parse(doc([rec("SPXW260522C05800000"), rec("SPXW260529C05800000")],
                    timestamp="2026-05-23 15:00:00"), "x.json")
    assert sat.meta["quote_date"] == date(2026, 5, 22)
    assert sat.rows["expired"].to_list() == [True, False]


def test_spot_falls_back_to_the_close_when_current_price_is_zero():
    p = parse(doc([rec("SPXW260522C05800000")], current_price=0.0), "x.json")
    assert p.meta["spot"] == 5812.34 and p.meta["spot_from"] == "close"


def test_bad_records_are_refused_with_their_reason_and_the_rest_kept():
    options = [rec("SPXW260522C05800000"), rec("SPXW26052C05800000"), rec("SPXW261322C05800000"),
               rec("SPXW260522C05825000", bid="n/a"), rec("SPXW260522C05850000", open_interest=-3.0),
               rec("SPXW260522C05875000", volume=1.5), "not an object", rec("SPXW260522C05800000", bid=1.0)]
    p = parse(doc(options), "x.json")
    assert p.rows.height == 1
    reasons = p.rejects["reason"].to_list()
    assert reasons == [
        'bad option symbol "SPXW26052C05800000"',
        "bad expiry 261322 in option symbol SPXW261322C05800000",
        "bid: 'n/a' is not a number",
        "open_interest -3.0 is negative",
        "volume 1.5 is not a whole count",
        "record 7 is not a JSON object",
        "duplicate contract SPXW260522C05800000: first seen as record 1",
    ]


def test_pretty_printed_files_give_each_record_its_own_line():
    p = parse((FIXTURES / "cboe_delayed_json" / "vix_pretty_printed.json").read_bytes(), "v.json")
    lines = p.rows.sort("line")["line"].to_list()
    assert lines[0] > 1 and len(set(lines)) == p.rows.height


@pytest.mark.parametrize("data, reason", [
    (b'{"timestamp": "2026-05-20 21:14:55", "data": {"options": [', "truncated JSON"),
    (b'{"timestamp": "2026-05-20 21:14:55", "options": []}', "no 'data' object"),
    (doc([rec("SPXW260522C05800000")], timestamp="yesterday"), "unreadable timestamp 'yesterday'"),
    (doc([rec("SPXW260522C05800000")], current_price=None, close=0, prev_day_close="x"),
     "no positive underlying price"),
    (json.dumps({"data": {"options": [], "current_price": 1.0}}).encode(), "no 'timestamp'"),
])
def test_a_file_that_cannot_be_trusted_is_one_source_error(data, reason):
    with pytest.raises(SourceError, match=reason):
        parse(data, "x.json")


def test_no_readable_contract_is_fatal():
    assert "no contracts" in parse(doc([]), "x.json").fatal.reason
    assert "none of 1 contracts" in parse(doc([rec("nonsense")]), "x.json").fatal.reason


def test_detected_by_content_and_not_confused_with_other_json():
    assert detect(SPX.read_bytes(), "whatever.json").name == "cboe_delayed_json"
    assert detect((LIVE / "_VIX.json").read_bytes(), "x").name == "cboe_delayed_json"
    ccxt = (FIXTURES / "ccxt_funding_history" / "ccxt_BTC_funding.json").read_bytes()
    assert detect(ccxt, "x.json").name == "ccxt_funding_history"


def test_recorded_full_chains_read_without_a_single_refusal():
    for name, roots in (("_SPX.json", ["SPX", "SPXW"]), ("_VIX.json", ["VIX", "VIXW"])):
        p = parse_bytes((LIVE / name).read_bytes(), name)
        assert p.rejects.is_empty() and p.fatal is None
        assert sorted(p.rows["root"].unique().to_list()) == roots
        assert p.rows.select("root", "expiry", "strike", "right").is_duplicated().sum() == 0


TOKENS = [b",", b"\n", b'"', b"{", b"}", b"[", b"]", b":", b"null", b"NaN", b"1e999", b"-1", b"\x00",
          b"\xff", b'"option": "X"', b"2099-12-31 00:00:00", b"0"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_bytes_give_parsed_or_a_source_error(data):
    buf = bytearray(SPX.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, max(len(buf) - 1, 0)))
        op = data.draw(st.sampled_from(["insert", "replace", "delete", "truncate"]))
        chunk = data.draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=6)))
        if op == "insert":
            buf[at:at] = chunk
        elif op == "replace":
            buf[at:at + len(chunk)] = chunk
        elif op == "delete":
            del buf[at:at + data.draw(st.integers(1, 40))]
        else:
            del buf[at:]
    try:
        p = parse(bytes(buf), "fuzz.json")
    except SourceError:
        return
    assert isinstance(p, Parsed) and p.rows.schema == pl.Schema(COLUMNS)


def test_rows_load_into_raw_option_quotes_one_per_contract():
    from warehouse.db import Warehouse

    p = parse_bytes((LIVE / "_SPX.json").read_bytes(), "_SPX.json")
    w = Warehouse.memory()
    try:
        with w.transaction():
            n = w.write(p.table, p.rows.with_columns(file_id=pl.lit("f" * 64), batch_id=pl.lit("b")),
                        by=p.partition_by, mode=p.mode)
        assert n == 250
        assert w.scalar('select count(*) from (select 1 from raw.option_quotes group by quote_date, root, '
                        'expiry, strike, "right" having count(*) > 1)') == 0
    finally:
        w.close()
