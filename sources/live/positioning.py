"""Perp open-interest history through ccxt (`fetch_open_interest_history`), saved as ccxt unified JSON
records that sources/liquidations.py reads (raw.perp_open_interest). Uses the funding fetcher's
Venue (markets loaded once, retries, one-line errors).

Liquidations: no venue in the pinned ccxt (4.5) offers public `fetch_liquidations` for our perps
(Binance removed its public force-order endpoint; its stream is websocket only), so liquidation
records come as files (ccxt JSON saved by the user's own collector).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sources.live.funding import Venue
from sources.live.net import LiveError, Payload

HOUR_MS = 3_600_000
PAGE = 500  # Binance openInterestHist: at most 500 rows a request


def fetch_open_interest(venue: Venue, asset: str, as_of: date, days: int, *, close_utc: datetime,
                        timeframe: str = "1h") -> Payload:
    """Hourly open interest of `asset`'s perpetual on `venue` over the `days` before the close."""
    spec = venue.spec
    venue.load()
    symbol = spec["symbol"].format(a=asset.upper())
    if symbol not in (venue.exchange.markets or {}):
        raise LiveError(spec["host"], "data", f"{venue.name} lists no {symbol} market")
    if not venue.exchange.has.get("fetchOpenInterestHistory"):
        raise LiveError(spec["host"], "data", f"ccxt offers no open-interest history for {venue.name}")
    end_ms = int(close_utc.timestamp() * 1000)
    since = int((close_utc - timedelta(days=days)).timestamp() * 1000)
    records: list[dict] = []
    pages = 0
    while since < end_ms and pages < 100:
        n0 = len(venue.meter.calls)
        batch = venue.call(lambda s=since: venue.exchange.fetch_open_interest_history(
            symbol, timeframe, s, PAGE, {"endTime": end_ms}), n0)
        pages += 1
        batch = [r for r in batch or [] if r.get("timestamp") is not None and since <= r["timestamp"] <= end_ms]
        if not batch:
            break
        records.extend(batch)
        since = max(r["timestamp"] for r in batch) + HOUR_MS
    if not records:
        raise LiveError(spec["host"], "data", f"{venue.name} returned no {symbol} open interest up to {as_of}")
    records = sorted({r["timestamp"]: r for r in records}.values(), key=lambda r: r["timestamp"])
    return Payload(
        name=f"ccxt_{venue.name}_{asset.upper()}_open_interest_{as_of.isoformat()}.json",
        data=(json.dumps(records, indent=2, default=str) + "\n").encode(),
        source=venue.name, url=f"https://{spec['host']}",
        what=f"{asset.upper()} perpetual open interest ({venue.name})",
        meta={"symbol": symbol, "rows": len(records), "requests": pages,
              "first": datetime.fromtimestamp(records[0]["timestamp"] / 1000, UTC).isoformat(),
              "last": datetime.fromtimestamp(records[-1]["timestamp"] / 1000, UTC).isoformat()},
    )
