"""Property: any bytes give a Parsed or a SourceError, never another exception, per reader family.

`parse_bytes` would turn a reader's crash into SourceError("... reader failed ..."), so the readers
are also called directly, and that wrapper message must never appear.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sources.base import REJECT_SCHEMA, Parsed, SourceError
from sources.formats import by_name, parse_bytes
from sources.rows import SCHEMAS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FAMILIES = {
    "cboe_index": ["cboe_index_history"],
    "cfe_vx": ["cfe_vx_history", "cfe_settlement"],
    "funding_csv": ["binance_funding_archive", "binance_funding_rest_csv", "hyperliquid_funding_snapshots"],
    "funding_json": ["binance_funding_rest_json", "bybit_funding_v5", "hyperliquid_funding_history",
                     "dydx_historical_funding", "okx_funding_history", "ccxt_funding_history"],
    "breadth": ["unicorn_breadth", "breadth_csv", "constituents_closes"],
    "index_ohlc": ["yahoo_csv", "yfinance_csv", "yahoo_fin_csv", "stooq_csv"],
    "macro": ["macro_events_csv", "fred_csv"],
    "perp": ["binance_metrics", "ccxt_liquidations", "ccxt_open_interest_history"],
}
# Byte runs that break parsers: separators, quotes, line ends, encodings, JSON structure, numbers.
TOKENS = [b",", b"\n", b"\r\n", b"\r", b'"', b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"-", b".",
          b"1e308", b"-0", b"nan", b"inf", b"{", b"}", b"[", b"]", b":", b"null", b"  ", b"#",
          b"99999999999999999999", b"2024-02-30", b"13/45/2020", b"\xe2\x88\x92", b"\t"]


def _seeds(names: list[str]) -> list[tuple[str, str, bytes]]:
    return [(n, p.name, p.read_bytes()) for n in names for p in sorted((FIXTURES / n).iterdir())]


@st.composite
def mutated(draw, seeds):
    fmt, name, data = draw(st.sampled_from(seeds))
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "replace", "delete", "truncate", "dupline", "dropline"]))
        at = draw(st.integers(0, max(len(buf) - 1, 0)))
        chunk = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=8)))
        if op == "insert":
            buf[at:at] = chunk
        elif op == "replace":
            buf[at:at + len(chunk)] = chunk
        elif op == "delete":
            del buf[at:at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del buf[at:]
        else:
            lines = bytes(buf).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            if op == "dupline":
                lines.insert(i, lines[i])
            else:
                del lines[i]
            buf = bytearray(b"\n".join(lines))
    return fmt, name, bytes(buf)


def _check(result: Parsed, data: bytes) -> None:
    assert isinstance(result, Parsed)
    assert result.rejects.schema == pl.Schema(REJECT_SCHEMA)
    want = SCHEMAS.get(result.table)
    if want is not None:
        assert result.rows.schema == pl.Schema(want)
    n_lines = data.count(b"\n") + data.count(b"\r") + 1
    for frame in (result.rows, result.rejects):
        if frame.height:
            assert frame["line"].min() >= 1 and frame["line"].max() <= n_lines


def _run(call, data: bytes) -> None:
    try:
        result = call()
    except SourceError as e:
        assert "reader failed" not in str(e), str(e)
        return
    _check(result, data)


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("family", sorted(FAMILIES))
@SETTINGS
@given(data=st.data())
def test_mutated_vendor_bytes_never_crash_a_reader(family, data):
    fmt, name, raw = data.draw(mutated(_seeds(FAMILIES[family])))
    # the reader of the file's own format, called directly (detected or not) ...
    _run(lambda: by_name(fmt).parse(raw, name), raw)
    # ... and the whole path: detection by content, then whichever reader claims it
    _run(lambda: parse_bytes(raw, name), raw)


@SETTINGS
@given(raw=st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash(raw):
    _run(lambda: parse_bytes(raw, "any.csv"), raw)


@pytest.mark.parametrize("fmt", sorted(n for names in FAMILIES.values() for n in names))
@SETTINGS
@given(raw=st.binary(max_size=512))
def test_any_reader_on_arbitrary_bytes(fmt, raw):
    # file names that carry what the formats take from them (symbol, field, trade date)
    name = "NYSE_advn_BTCUSDT-fundingRate-2024-01-17_VIX_History.csv"
    _run(lambda: by_name(fmt).parse(raw, name), raw)
