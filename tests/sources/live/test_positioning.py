"""ccxt open-interest history on a recorded Binance payload (`/futures/data/openInterestHist`):
saved as ccxt records the ccxt_open_interest_history reader loads; one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sources.formats import parse_bytes
from sources.live import funding, positioning
from sources.live.net import LiveError, Meter, instrument, retrying
from sources.live.recorded import Reply, Route

CLOSE = datetime(2026, 5, 20, 20, tzinfo=UTC)
T0 = int(datetime(2026, 5, 20, 17, tzinfo=UTC).timestamp() * 1000)
ROWS = [{"symbol": "BTCUSDT", "sumOpenInterest": f"{80000 + 100 * k}.5", "sumOpenInterestValue": f"{(80000 + 100 * k) * 65000}.0",
         "timestamp": T0 + 3_600_000 * k} for k in range(4)]  # 17:00 .. 20:00 UTC


def venue(make_sessions, extra):
    meter = Meter()
    session = instrument(make_sessions(extra=extra)("binance"), meter)
    host = funding.VENUES["binance"]["host"]

    def call(fn, since=0):
        return retrying(fn, classify=lambda e: funding.classify(e, meter, since, host), attempts=2,
                        backoff_s=0, sleep=lambda s: None)
    return funding.Venue("binance", funding.make_exchange("binance", session, 5), meter, call)


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
