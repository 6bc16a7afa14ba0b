"""ccxt funding history on recorded venue payloads (the recorded session is `exchange.session`):
pages walked the way each API pages, every event's interval carried, one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sources.formats import parse_bytes
from sources.live import funding, recorded
from sources.live.net import LiveError, Meter, instrument, retrying
from sources.live.recorded import Reply, Route

CLOSE = datetime(2026, 5, 20, 20, tzinfo=UTC)


@pytest.fixture
def venue(make_sessions):
    def make(name: str, **kw):
        meter = Meter()
        session = instrument(make_sessions(**kw)(name), meter)
        host = funding.VENUES[name]["host"]

        def call(fn, since=0):
            return retrying(fn, classify=lambda e: funding.classify(e, meter, since, host), attempts=2,
                            backoff_s=0, sleep=lambda s: None)
        return funding.Venue(name, funding.make_exchange(name, session, 5), meter, call)
    return make


def fetched(p) -> list[dict]:
    return json.loads(p.data)


@pytest.mark.parametrize("name, asset, events", [("binance", "BTC", 36), ("bybit", "BTC", 36),
                                                 ("okx", "ETH", 36), ("hyperliquid", "BTC", 288)])
def test_every_event_of_the_window_is_saved_as_ccxt_records(venue, night, name, asset, events):
    p = funding.fetch_funding(venue(name), asset, night, 12, close_utc=CLOSE)
    recs = fetched(p)
    assert len(recs) == events and p.meta["events"] == events
    assert all({"info", "symbol", "fundingRate", "timestamp", "datetime", "interval"} <= set(r) for r in recs)
    ts = [r["timestamp"] for r in recs]
    assert ts == sorted(ts) and ts[-1] <= CLOSE.timestamp() * 1000  # nothing after the night's close
    parsed = parse_bytes(p.data, p.name)
    assert parsed.format == "ccxt_funding_history" and parsed.rejects.is_empty()
    assert parsed.rows["venue"].unique().to_list() == [name]
    assert parsed.meta["interval_from"] == {"row": events}  # the reader takes ours, infers nothing


@pytest.mark.parametrize("name, page", [("binance", 7), ("bybit", 5), ("okx", 6), ("hyperliquid", 50)])
def test_small_pages_give_the_same_events(venue, night, monkeypatch, name, page):
    whole = fetched(funding.fetch_funding(venue(name), "ETH", night, 12, close_utc=CLOSE))
    monkeypatch.setitem(funding.VENUES[name], "page", page)
    monkeypatch.setattr(recorded, "HYPERLIQUID_PAGE", page)
    v = venue(name)
    p = funding.fetch_funding(v, "ETH", night, 12, close_utc=CLOSE)
    assert fetched(p) == whole
    assert p.meta["requests"] > 2


def test_intervals_follow_the_spacing_when_a_venue_changes_it(venue, night):
    # Binance moved ETH from 8 h to 4 h three days before the night (fundingInfo says 4 h now).
    p = funding.fetch_funding(venue("binance"), "ETH", night, 12, close_utc=CLOSE)
    intervals = [r["interval"] for r in fetched(p)]
    assert intervals[:3] == ["8h"] * 3 and intervals[-3:] == ["4h"] * 3
    assert p.meta["market_interval_h"] == 4 and p.meta["interval_from"] == {"spacing": len(intervals)}
    rows = parse_bytes(p.data, p.name).rows
    assert sorted(rows["interval_h"].unique().to_list()) == [4, 8]


def test_bybit_states_the_interval_in_its_market_info(venue, night):
    v = venue("bybit")
    p = funding.fetch_funding(v, "ETH", night, 12, close_utc=CLOSE)
    assert p.meta["market_interval_h"] == 4
    assert {r["interval"] for r in fetched(p)} == {"4h"}


def test_a_lone_event_takes_the_interval_the_market_states(venue, night):
    # One day of bybit BTC but only the last event survives: nothing to measure a spacing against.
    p = funding.fetch_funding(venue("bybit"), "BTC", night, 0.2, close_utc=CLOSE)
    assert [r["interval"] for r in fetched(p)] == ["8h"] and p.meta["interval_from"] == {"market": 1}


def test_with_intervals_never_assumes_eight_hours():
    h = 3_600_000
    recs = [{"timestamp": t * h} for t in (0, 1, 2, 4, 20)]  # 1 h, 1 h, 2 h, then a 16 h gap
    out, src = funding.with_intervals(recs, None)
    assert [r.get("interval") for r in out] == ["1h", "1h", "1h", "2h", None]
    assert src == {"spacing": 4, "none": 1}


def test_an_api_error_is_the_venues_own_message(venue, night):
    body = b'{"retCode":10001,"retMsg":"params error: symbol invalid","result":{},"retExtInfo":{},"time":1}'
    v = venue("bybit", extra=[Route("GET", r"/v5/market/funding/history", Reply(200, body))])
    with pytest.raises(LiveError) as e:
        funding.fetch_funding(v, "BTC", night, 12, close_utc=CLOSE)
    assert "params error: symbol invalid" in e.value.reason and not e.value.unreachable


def test_an_http_error_names_status_and_host(venue, night):
    body = b'{"code":"50110","msg":"Your IP address is not in the whitelist","data":[]}'
    v = venue("okx", extra=[Route("GET", r"/funding-rate-history", Reply(403, body))])
    with pytest.raises(LiveError) as e:
        funding.fetch_funding(v, "BTC", night, 12, close_utc=CLOSE)
    assert e.value.reason == "HTTP 403 from www.okx.com: Your IP address is not in the whitelist (code 50110)"


def test_offline_is_unreachable_naming_the_venues_host(venue, night):
    with pytest.raises(LiveError) as e:
        funding.fetch_funding(venue("hyperliquid", offline=True), "BTC", night, 12, close_utc=CLOSE)
    assert e.value.reason == "cannot reach api.hyperliquid.xyz (network unreachable)"


def test_a_market_the_venue_does_not_list(venue, night):
    with pytest.raises(LiveError, match="okx lists no DOGE/USDT:USDT market"):
        funding.fetch_funding(venue("okx"), "DOGE", night, 12, close_utc=CLOSE)


def test_a_server_error_is_retried_then_reported(venue, night):
    answers = iter([Reply(503, b'{"code":-1001,"msg":"Internal error; unable to process your request."}')])

    def flaky(req):
        return next(answers, None) or recorded.paged_routes.__globals__["_reply"]([])

    v = venue("binance", extra=[Route("GET", r"/fapi/v1/fundingRate", flaky)])
    with pytest.raises(LiveError, match="returned no BTC/USDT:USDT funding"):
        funding.fetch_funding(v, "BTC", night, 12, close_utc=CLOSE)  # 503, retry -> an empty answer
    statuses = [c.status for c in v.meter.calls if "fundingRate" in c.url]
    assert statuses == [503, 200]


def test_ccxt_paces_every_request_itself(venue, night, no_ccxt_pauses):
    v = venue("binance")
    assert v.exchange.enableRateLimit is True
    funding.fetch_funding(v, "BTC", night, 12, close_utc=CLOSE)
    assert len(no_ccxt_pauses) == len(v.meter.calls) == 3  # exchangeInfo, fundingInfo, fundingRate
