"""yfinance fetchers on recorded Yahoo payloads (the session yfinance is handed is a recorded
requests.Session): history -> the yfinance CSV, chains -> a quotedata CSV, failures in one line."""

from __future__ import annotations

import json
from datetime import date

import pytest

from sources.formats import parse_bytes
from sources.live.net import LiveError, Meter, instrument
from sources.live.recorded import Reply, Route
from sources.live.yahoo import fetch_chain, fetch_history, quotedata_csv, yahoo_range


@pytest.fixture
def yahoo(make_sessions):
    """(session, meter) for Yahoo; pass extra routes / offline through make_sessions."""
    def make(**kw):
        meter = Meter()
        return instrument(make_sessions(**kw)("yahoo"), meter), meter
    return make


def test_history_is_written_as_the_yfinance_three_row_csv_and_reads_back(yahoo, night, tmp_path):
    session, meter = yahoo()
    p = fetch_history("^GSPC", night, 120, session=session, meter=meter, timeout_s=5,
                      cache_dir=tmp_path, today=date(2026, 5, 21))
    head = p.data.decode().splitlines()[:4]
    assert head[:3] == ["Price,Close,High,Low,Open,Volume", "Ticker,^GSPC,^GSPC,^GSPC,^GSPC,^GSPC",
                        "Date,,,,,"]
    assert head[3].startswith("2026-01-")  # 120 calendar days back from the night
    parsed = parse_bytes(p.data, p.name)
    assert parsed.format == "yfinance_csv" and parsed.rejects.is_empty()
    assert parsed.rows["symbol"].unique().to_list() == ["SPX"]
    assert parsed.rows["date"].max() == night and p.warning is None
    assert p.url.startswith("https://query2.finance.yahoo.com/v8/finance/chart/^GSPC?range=6mo")
    assert "crumb" not in p.url


def test_the_closes_are_yahoos_numbers_to_the_last_digit(yahoo, night, tmp_path, live_dir):
    session, meter = yahoo()
    p = fetch_history("^VIX", night, 400, session=session, meter=meter, timeout_s=5, cache_dir=tmp_path)
    recorded = json.loads((live_dir / "yahoo" / "chart_VIX.json").read_text())["chart"]["result"][0]
    closes = recorded["indicators"]["quote"][0]["close"]
    rows = parse_bytes(p.data, p.name).rows.sort("date")
    assert rows["close"].to_list() == closes  # all 130 bars, not one rounded


def test_a_missing_bar_for_the_night_is_a_warning_not_a_failure(yahoo, tmp_path):
    session, meter = yahoo()
    p = fetch_history("^VIX3M", date(2026, 5, 21), 30, session=session, meter=meter, timeout_s=5,
                      cache_dir=tmp_path)
    assert p.warning == "no ^VIX3M bar for 2026-05-21 yet (last 2026-05-20)"


def test_yahoos_own_error_reaches_the_user(yahoo, night, tmp_path):
    body = b'{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}'
    session, meter = yahoo(extra=[Route("GET", r"/v8/finance/chart/", Reply(404, body))])
    with pytest.raises(LiveError) as e:
        fetch_history("^NOPE", night, 30, session=session, meter=meter, timeout_s=5, cache_dir=tmp_path)
    assert e.value.reason == ("HTTP 404 from query2.finance.yahoo.com: No data found, symbol may be "
                              "delisted")


def test_offline_yahoo_is_network_unreachable(yahoo, night, tmp_path):
    session, meter = yahoo(offline=True)
    with pytest.raises(LiveError) as e:
        fetch_history("^GSPC", night, 30, session=session, meter=meter, timeout_s=5, cache_dir=tmp_path)
    assert e.value.unreachable and "(network unreachable)" in e.value.reason
    assert "finance.yahoo.com" in e.value.reason


def test_the_range_asked_for_is_the_shortest_that_covers_the_lookback():
    today = date(2026, 5, 20)
    assert yahoo_range(date(2026, 5, 1), today) == "1mo"
    assert yahoo_range(date(2025, 4, 15), today) == "2y"
    assert yahoo_range(date(2000, 1, 1), today) == "max"


def test_a_chain_becomes_a_quotedata_csv_the_chain_reader_accepts(yahoo, night, tmp_path):
    session, meter = yahoo()
    p = fetch_chain("SPY", night, max_expiries=2, session=session, meter=meter, timeout_s=5,
                    cache_dir=tmp_path)
    lines = p.data.decode().splitlines()
    assert lines[1] == "SPDR S&P 500 ETF Trust,Last: 580.12,Change: 1.23"
    assert lines[2].startswith('"Date: May 20, 2026 at 04:00 PM EDT"')
    parsed = parse_bytes(p.data, p.name)
    assert parsed.format == "cboe_quotedata" and parsed.rejects.is_empty() and parsed.fatal is None
    rows = parsed.rows
    assert rows["quote_date"].unique().to_list() == [night]
    assert sorted(rows["expiry"].unique().to_list()) == [date(2026, 5, 20), date(2026, 5, 22)]
    assert rows["gamma"].null_count() == rows.height  # Yahoo has no greeks: model gamma from IV
    assert rows["iv"].null_count() == 0 and rows["open_interest"].null_count() == 0
    # one call at 600 on 2026-05-22 has no put: left out (a quotedata line holds both) and counted
    assert p.meta["one_sided_contracts_left_out"] == 1 and rows.height == 2 * 41 * 2 - 2
    assert p.meta["expiries"] == ["2026-05-20", "2026-05-22"]


def test_a_chain_from_another_session_is_refused(yahoo, tmp_path):
    session, meter = yahoo()
    with pytest.raises(LiveError, match="current chain only: SPY quotes are of session 2026-05-20"):
        fetch_chain("SPY", date(2026, 5, 19), max_expiries=1, session=session, meter=meter,
                    timeout_s=5, cache_dir=tmp_path)


def test_an_options_error_from_yahoo_is_reported_with_its_status(yahoo, night, tmp_path):
    body = b'{"finance":{"result":null,"error":{"code":"Unauthorized","description":"Invalid Crumb"}}}'
    session, meter = yahoo(extra=[Route("GET", r"/v7/finance/options/", Reply(401, body))])
    with pytest.raises(LiveError) as e:
        fetch_chain("SPY", night, max_expiries=1, session=session, meter=meter, timeout_s=5,
                    cache_dir=tmp_path)
    assert e.value.reason == "HTTP 401 from query2.finance.yahoo.com: Invalid Crumb"


def test_quotedata_pairs_calls_and_puts_by_root_expiry_and_strike():
    from datetime import UTC, datetime

    contracts = [
        {"contractSymbol": "SPXW260522C05800000", "strike": 5800.0, "expiry": date(2026, 5, 22),
         "bid": 10.0, "ask": 10.5, "openInterest": 5, "impliedVolatility": 0.15, "volume": None},
        {"contractSymbol": "SPX260522P05800000", "strike": 5800.0, "expiry": date(2026, 5, 22),
         "bid": 9.0, "ask": 9.5, "openInterest": 7, "impliedVolatility": 0.16, "volume": 3},
    ]
    data, unpaired = quotedata_csv("S&P 500", 5812.0, 0.0, datetime(2026, 5, 20, 20, tzinfo=UTC), contracts)
    assert unpaired == 2  # an SPXW call and an SPX put are different contracts: no line
