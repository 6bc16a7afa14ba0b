"""Perp positioning fetchers on recorded payloads: Binance open-interest history
(`/futures/data/openInterestHist`) and OKX liquidation fills (`/api/v5/public/liquidation-orders`),
saved as ccxt records the ccxt_open_interest_history / ccxt_liquidations readers load; one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sources.formats import parse_bytes
from sources.live import funding, positioning
from sources.live.net import LiveError, Meter, instrument, retrying
from sources.live.recorded import Reply, Route

LIVE = Path(__file__).resolve().parents[2] / "fixtures" / "live"

CLOSE = datetime(2026, 5, 20, 20, tzinfo=UTC)
T0 = int(datetime(2026, 5, 20, 17, tzinfo=UTC).timestamp() * 1000)
ROWS = [{"symbol": "BTCUSDT", "sumOpenInterest": f"{80000 + 100 * k}.5", "sumOpenInterestValue": f"{(80000 + 100 * k) * 65000}.0",
         "timestamp": T0 + 3_600_000 * k} for k in range(4)]  # 17:00 .. 20:00 UTC


def venue(make_sessions, extra, name="binance"):
    meter = Meter()
    session = instrument(make_sessions(extra=extra)(name), meter)
    host = funding.VENUES[name]["host"]

    def call(fn, since=0):
        return retrying(fn, classify=lambda e: funding.classify(e, meter, since, host), attempts=2,
                        backoff_s=0, sleep=lambda s: None)
    return funding.Venue(name, funding.make_exchange(name, session, 5), meter, call)


def test_open_interest_history_is_saved_as_ccxt_records(make_sessions, night):
    v = venue(make_sessions, [Route("GET", r"/futures/data/openInterestHist", Reply(200, json.dumps(ROWS).encode()))])
    p = positioning.fetch_open_interest(v, "BTC", night, 1, close_utc=CLOSE)
    recs = json.loads(p.data)
    assert [r["openInterestAmount"] for r in recs] == [80000.5, 80100.5, 80200.5, 80300.5]
    assert p.name == f"ccxt_binance_BTC_open_interest_{night}.json" and p.meta["rows"] == 4
    parsed = parse_bytes(p.data, p.name)
    assert parsed.format == "ccxt_open_interest_history" and parsed.rows.height == 4 and parsed.fatal is None
    assert parsed.rows["symbol"].unique().to_list() == ["BTC"]


def test_an_empty_answer_is_one_clear_error(make_sessions, night):
    v = venue(make_sessions, [Route("GET", r"/futures/data/openInterestHist", Reply(200, b"[]"))])
    with pytest.raises(LiveError, match="no BTC/USDT:USDT open interest"):
        positioning.fetch_open_interest(v, "BTC", night, 1, close_utc=CLOSE)


def okx_answer(*details) -> Reply:
    return Reply(200, json.dumps({"code": "0", "msg": "", "data": [{
        "details": list(details), "instFamily": "BTC-USDT", "instId": "BTC-USDT-SWAP", "instType": "SWAP",
        "totalLoss": "0", "uly": "BTC-USDT"}]}).encode())


def test_an_okx_liquidation_fill_becomes_a_ccxt_record_and_a_position(make_sessions, night):
    """Worked example: 12 contracts of BTC-USDT-SWAP (ctVal 0.01 BTC) sold at the bankruptcy price
    100,000 close a long: 0.12 BTC, $12,000; 5 contracts bought at 101,000 close a short."""
    t = int(datetime(2026, 5, 20, 15, tzinfo=UTC).timestamp() * 1000)
    v = venue(make_sessions, [Route("GET", r"/api/v5/public/liquidation-orders", okx_answer(
        {"bkLoss": "0", "bkPx": "101000", "ccy": "", "posSide": "short", "side": "buy", "sz": "5", "ts": str(t + 60_000)},
        {"bkLoss": "0", "bkPx": "100000", "ccy": "", "posSide": "long", "side": "sell", "sz": "12", "ts": str(t)}))],
        name="okx")
    p = positioning.fetch_liquidations(v, "BTC", night, 1, close_utc=CLOSE)
    recs = json.loads(p.data)
    assert [(r["side"], r["contracts"], r["contractSize"], r["baseValue"], r["quoteValue"]) for r in recs] == [
        ("sell", 12.0, 0.01, 0.12, 12000.0), ("buy", 5.0, 0.01, 0.05, 5050.0)]
    assert recs[0]["info"]["instId"] == "BTC-USDT-SWAP" and recs[0]["datetime"] == "2026-05-20T15:00:00.000Z"
    assert p.name == f"ccxt_okx_BTC_liquidations_{night}.json" and p.source == "okx"
    assert "instFamily=BTC-USDT" in p.url and "state=filled" in p.url
    parsed = parse_bytes(p.data, p.name)
    assert parsed.format == "ccxt_liquidations" and parsed.fatal is None
    assert parsed.rows.select("venue", "symbol", "side", "base_amount", "quote_usd").rows() == [
        ("okx", "BTC", "long", 0.12, 12000.0), ("okx", "BTC", "short", 0.05, 5050.0)]


def test_okx_liquidations_page_back_to_the_window(make_sessions, night):
    """The recorded week of BTC fills (newest first, 100 a page) comes back whole and in order;
    a one-day window keeps that day's fills only."""
    details = json.loads((LIVE / "okx" / "liquidations_BTC-USDT.json").read_text())["data"][0]["details"]
    v = venue(make_sessions, [], name="okx")
    p = positioning.fetch_liquidations(v, "BTC", night, 7, close_utc=CLOSE)
    recs = json.loads(p.data)
    assert len(recs) == len(details) == 154 and p.meta["requests"] == 2  # 100 + 54
    assert [r["timestamp"] for r in recs] == sorted(int(d["ts"]) for d in details)
    longs = sum(int(d["sz"]) * 0.01 * float(d["bkPx"]) for d in details if d["posSide"] == "long")
    assert p.meta["long_usd"] == pytest.approx(longs, abs=0.01)
    rows = parse_bytes(p.data, p.name).rows
    assert rows.filter(rows["side"] == "long")["quote_usd"].sum() == pytest.approx(longs)
    day_ago = int((CLOSE - timedelta(days=1)).timestamp() * 1000)
    p1 = positioning.fetch_liquidations(venue(make_sessions, [], name="okx"), "BTC", night, 1, close_utc=CLOSE)
    assert len(json.loads(p1.data)) == sum(int(d["ts"]) >= day_ago for d in details)


def test_liquidations_errors_are_one_line(make_sessions, night):
    v = venue(make_sessions, [Route("GET", r"/api/v5/public/liquidation-orders", okx_answer())], name="okx")
    with pytest.raises(LiveError, match="okx returned no BTC/USDT:USDT liquidations between 2026-05-13 and 2026-05-20"):
        positioning.fetch_liquidations(v, "BTC", night, 7, close_utc=CLOSE)
    busy = Reply(200, b'{"code":"50011","msg":"Too Many Requests","data":[]}')
    v = venue(make_sessions, [Route("GET", r"/api/v5/public/liquidation-orders", busy)], name="okx")
    with pytest.raises(LiveError) as e:
        positioning.fetch_liquidations(v, "BTC", night, 7, close_utc=CLOSE)
    assert "Too Many Requests" in e.value.reason and "\n" not in e.value.reason
    with pytest.raises(LiveError, match="no public liquidation history from binance"):
        positioning.fetch_liquidations(venue(make_sessions, []), "BTC", night, 7, close_utc=CLOSE)
