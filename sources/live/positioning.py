"""Perp open interest and forced liquidations from public APIs, saved as the ccxt unified JSON
records sources/liquidations.py reads (raw.perp_open_interest, raw.perp_liquidations). Uses the
funding fetcher's Venue (markets loaded once, retries, one-line errors); no warehouse, no Prefect.

Open interest: ccxt `fetch_open_interest_history` (Binance `/futures/data/openInterestHist`, which
keeps 30 days). Liquidations: Binance's REST force-order endpoint is private (its public feed is a
websocket), and ccxt 4.5.90 implements no `fetch_liquidations` for OKX, so the OKX fetcher calls
OKX's public `GET /api/v5/public/liquidation-orders` through ccxt's own request path (its signing,
error codes, pacing) and writes each fill as a ccxt liquidation record (`LIQUIDATION_VENUES`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sources.live.funding import Venue
from sources.live.net import LiveError, Payload

HOUR_MS = 3_600_000
PAGE = 500  # Binance openInterestHist: at most 500 rows a request
OKX_LIQ_PAGE = 100  # /api/v5/public/liquidation-orders: at most 100 fills a request
LIQUIDATION_VENUES = ("okx",)  # venues whose public API serves past liquidations (module docstring)
MAX_LIQ_PAGES = 200


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


def _okx_records(doc: object, venue: Venue, symbol: str) -> list[dict]:
    """OKX answers `{"code","msg","data":[{"instId","instFamily",...,"details":[{"side","posSide","bkPx",
    "sz","ts",...}]}]}`; each detail becomes a ccxt liquidation record. `sz` counts contracts of the
    market's `ctVal` (0.01 BTC on BTC-USDT-SWAP); `side` is the liquidation order's side (sell closes
    a long: posSide long), the convention sources/liquidations.py reads; the price is the
    bankruptcy price `bkPx`. `info` keeps the detail with its instId (the reader's venue tag)."""
    market = venue.exchange.market(symbol)
    size = float(market.get("contractSize") or 1.0)
    out = []
    blocks = doc.get("data") if isinstance(doc, dict) else None
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or block.get("instId") != market["id"]:
            continue  # the instrument family can hold other instruments (none for USDT swaps today)
        for d in block.get("details") or []:
            if not isinstance(d, dict):
                continue
            try:
                ts, px, sz = int(d["ts"]), float(d["bkPx"]), float(d["sz"])
            except (KeyError, TypeError, ValueError):
                ts, px, sz = None, None, None  # kept as sent: the reader quarantines it with its line
            out.append({
                "info": {**d, "instId": block.get("instId"), "instFamily": block.get("instFamily")},
                "symbol": symbol, "contracts": sz, "contractSize": size, "price": px, "side": d.get("side"),
                "baseValue": None if sz is None else sz * size,
                "quoteValue": None if sz is None or px is None else sz * size * px,
                "timestamp": ts, "datetime": venue.exchange.iso8601(ts) if ts is not None else None,
            })
    return out


def fetch_liquidations(venue: Venue, asset: str, as_of: date, days: int, *,
                       close_utc: datetime) -> Payload:
    """Every liquidation fill of `asset`'s perpetual on `venue` in the `days` before the night's
    close, oldest first. OKX pages backward from the close (`after` = older than, 100 a page)."""
    spec = venue.spec
    if venue.name not in LIQUIDATION_VENUES:
        raise LiveError(spec["host"], "data", f"no public liquidation history from {venue.name} "
                        f"(live liquidations come from: {', '.join(LIQUIDATION_VENUES)})")
    venue.load()
    symbol = spec["symbol"].format(a=asset.upper())
    if symbol not in (venue.exchange.markets or {}):
        raise LiveError(spec["host"], "data", f"{venue.name} lists no {symbol} market")
    market = venue.exchange.market(symbol)
    family = (market.get("info") or {}).get("instFamily") or f"{asset.upper()}-USDT"
    end_ms = int(close_utc.timestamp() * 1000)
    start_ms = int((close_utc - timedelta(days=days)).timestamp() * 1000)
    got: dict[tuple, dict] = {}
    cursor, pages, n_start = end_ms + 1, 0, len(venue.meter.calls)
    while pages < MAX_LIQ_PAGES:
        pages += 1
        params = {"instType": "SWAP", "instFamily": family, "state": "filled",
                  "after": str(cursor), "limit": str(OKX_LIQ_PAGE)}
        n0 = len(venue.meter.calls)
        doc = venue.call(lambda p=params: venue.exchange.request("public/liquidation-orders", ["public"],
                                                                  "GET", p), n0)
        batch = _okx_records(doc, venue, symbol)
        stamped = [r for r in batch if isinstance(r["timestamp"], int)]
        for r in batch:
            if r["timestamp"] is None or start_ms <= r["timestamp"] <= end_ms:
                got.setdefault((r["timestamp"], r["side"], r["price"], r["contracts"],
                                json.dumps(r["info"], sort_keys=True)), r)
        if not stamped:
            break
        oldest = min(r["timestamp"] for r in stamped)
        if oldest >= cursor or oldest <= start_ms or len(batch) < OKX_LIQ_PAGE:
            break
        cursor = oldest
    records = sorted(got.values(), key=lambda r: (r["timestamp"] is None, r["timestamp"] or 0))
    if not records:
        raise LiveError(spec["host"], "data", f"{venue.name} returned no {symbol} liquidations between "
                        f"{datetime.fromtimestamp(start_ms / 1000, UTC):%Y-%m-%d} and {as_of} "
                        "(OKX keeps about a week)")
    first = next((c for c in venue.meter.calls[n_start:] if c.status and c.status < 400), None)
    stamps = [r["timestamp"] for r in records if r["timestamp"] is not None]
    return Payload(
        name=f"ccxt_{venue.name}_{asset.upper()}_liquidations_{as_of.isoformat()}.json",
        data=(json.dumps(records, indent=2, default=str) + "\n").encode(),
        source=venue.name, url=first.url if first else f"https://{spec['host']}/api/v5/public/liquidation-orders",
        what=f"{asset.upper()} perpetual liquidations ({venue.name})",
        meta={"symbol": symbol, "rows": len(records), "requests": pages,
              "long_usd": round(sum(r["quoteValue"] or 0 for r in records if r["side"] == "sell"), 2),
              "short_usd": round(sum(r["quoteValue"] or 0 for r in records if r["side"] == "buy"), 2),
              "first": datetime.fromtimestamp(min(stamps) / 1000, UTC).isoformat() if stamps else None,
              "last": datetime.fromtimestamp(max(stamps) / 1000, UTC).isoformat() if stamps else None},
    )
