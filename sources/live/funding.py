"""Perpetual funding history through ccxt (Binance, Bybit, OKX, Hyperliquid), saved as ccxt unified
JSON records (`fetch_funding_rate_history`) plus each event's `interval` - never an assumed 8 h:
the observed spacing to the previous event, else what the venue's market info states.

Paging follows each API: Binance and Hyperliquid page forward from `since` (to `until`), Bybit
forward in windows of `limit` intervals, OKX backward with `after`. ccxt's `enableRateLimit`
paces the requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sources.live.net import LiveError, Meter, Payload, http_failure, network_failure

VENUES: dict[str, dict] = {
    "binance": {"host": "fapi.binance.com", "symbol": "{a}/USDT:USDT", "page": 1000, "paging": "forward",
                "options": {"defaultType": "swap", "fetchMarkets": {"types": ["linear"]}}},
    "bybit": {"host": "api.bybit.com", "symbol": "{a}/USDT:USDT", "page": 200, "paging": "window",
              "options": {"defaultType": "swap", "fetchMarkets": {"types": ["linear"]}}},
    "okx": {"host": "www.okx.com", "symbol": "{a}/USDT:USDT", "page": 100, "paging": "backward",
            "options": {"defaultType": "swap", "fetchMarkets": {"types": ["swap"]}}},
    "hyperliquid": {"host": "api.hyperliquid.xyz", "symbol": "{a}/USDC:USDC", "page": 500,
                    "paging": "forward", "options": {"defaultType": "swap", "fetchMarkets": {"types": ["swap"]}}},
}
# Funding intervals a venue uses (h); a gap outside these is a missing event, not an interval.
INTERVALS_H = (1, 2, 4, 8)
HOUR_MS = 3_600_000
MAX_PAGES = 400


def classify(exc: BaseException, meter: Meter, since: int, host: str) -> LiveError:
    if (net := network_failure(exc, host)) is not None:
        return net
    name = {c.__name__ for c in type(exc).__mro__}
    if (err := meter.last_error(since)) is not None:
        return http_failure(err)
    retryable = bool(name & {"RateLimitExceeded", "DDoSProtection", "ExchangeNotAvailable",
                             "OnMaintenance", "RequestTimeout", "NetworkError"})
    text = " ".join(str(exc).split())
    return LiveError(host, "api", f"{host}: {type(exc).__name__}: {text[:200]}", retryable=retryable)


@dataclass
class Venue:
    """One ccxt exchange with its markets loaded once, shared by the venue's assets."""

    name: str
    exchange: Any
    meter: Meter
    call: Callable  # (fn, since_call_index) -> result, with retries and one-line errors
    _intervals: dict[str, int] | None = field(default=None)

    @property
    def spec(self) -> dict:
        return VENUES[self.name]

    def load(self) -> None:
        if self.exchange.markets is None:
            self.call(self.exchange.load_markets, len(self.meter.calls))

    def market_interval_h(self, symbol: str) -> int | None:
        """The funding interval the venue states for the market today, when it states one."""
        market = self.exchange.market(symbol)
        info = market.get("info") or {}
        if self.name == "hyperliquid":
            return 1  # Hyperliquid funds every hour, every market (its docs)
        if self.name == "bybit":
            minutes = info.get("fundingInterval")
            try:
                return int(minutes) // 60 if minutes else None
            except (TypeError, ValueError):
                return None
        if self.name == "binance":
            if self._intervals is None:
                # /fapi/v1/fundingInfo lists only the symbols whose interval or cap was adjusted;
                # it only adds to the observed spacing, so the history does not depend on it.
                try:
                    got = self.call(lambda: self.exchange.fetch_funding_intervals(), len(self.meter.calls))
                except LiveError as e:
                    if e.unreachable:
                        raise
                    got = {}
                self._intervals = {}
                for sym, rec in (got or {}).items():
                    h = (rec.get("info") or {}).get("fundingIntervalHours")
                    if h:
                        self._intervals[sym] = int(h)
            return self._intervals.get(symbol)
        return None


def make_exchange(venue: str, session: Any, timeout_s: float) -> Any:
    import ccxt

    spec = VENUES[venue]
    return getattr(ccxt, venue)({"enableRateLimit": True, "timeout": int(timeout_s * 1000),
                                 "options": json.loads(json.dumps(spec["options"])),
                                 "session": session})


def _page(venue: Venue, symbol: str, start_ms: int, end_ms: int, interval_h: int | None) -> tuple[list[dict], int]:
    """Every record in [start_ms, end_ms], oldest first, and the number of requests it took."""
    ex, spec = venue.exchange, venue.spec
    limit = spec["page"]
    got: dict[int, dict] = {}
    pages = 0

    def fetch(since, params):
        n = len(venue.meter.calls)
        return venue.call(lambda: ex.fetch_funding_rate_history(symbol, since, limit, params), n) or []

    def keep(batch):
        fresh = [r for r in batch if isinstance(r.get("timestamp"), int)
                 and start_ms <= r["timestamp"] <= end_ms and r["timestamp"] not in got]
        for r in fresh:
            got[r["timestamp"]] = r
        return fresh

    if spec["paging"] == "backward":  # OKX: newest first, `after` = older than
        cursor = end_ms + 1
        while pages < MAX_PAGES:
            pages += 1
            batch = fetch(None, {"after": cursor})
            fresh = keep(batch)
            if not fresh:
                break
            cursor = min(r["timestamp"] for r in fresh)
            if cursor <= start_ms or len(batch) < limit:
                break
    else:
        since = start_ms
        # Bybit answers the newest `limit` events of [since, until]: a window of `limit` intervals
        # of the market's stated length (1 h when unknown, the shortest any venue uses).
        window_ms = limit * (interval_h or 1) * HOUR_MS
        while since <= end_ms and pages < MAX_PAGES:
            pages += 1
            until = min(end_ms, since + window_ms - 1) if spec["paging"] == "window" else end_ms
            batch = fetch(since, {"until": until})
            if spec["paging"] == "window" and len(batch) >= limit and window_ms > HOUR_MS:
                window_ms //= 2  # the window held more events than one answer: halve, ask again
                continue
            fresh = keep(batch)
            if spec["paging"] == "window":
                since = until + 1
                continue
            if not fresh:
                break
            since = max(r["timestamp"] for r in fresh) + 1
            if len(batch) < limit:
                break
    return [got[t] for t in sorted(got)], pages


def with_intervals(records: list[dict], market_h: int | None) -> tuple[list[dict], dict[str, int]]:
    """Each record's `interval` ("8h"): the hours since the previous event when that is a funding
    interval (the first event: to the next one), else the market's stated interval, else none (the
    reader then infers it). Returns the records and how many intervals came from where."""
    ts = [r["timestamp"] for r in records]
    gaps = [round((b - a) / HOUR_MS) for a, b in zip(ts, ts[1:], strict=False)]
    counts = {"spacing": 0, "market": 0, "none": 0}
    out = []
    for i, r in enumerate(records):
        prev = gaps[i - 1] if i > 0 else None
        nxt = gaps[i] if i < len(gaps) else None
        h, src = None, "none"
        if prev in INTERVALS_H:
            h, src = prev, "spacing"
        elif i == 0 and nxt in INTERVALS_H:
            h, src = nxt, "spacing"
        elif market_h:
            h, src = market_h, "market"
        counts[src] += 1
        rec = dict(r)
        if h:
            rec["interval"] = f"{h}h"
        out.append(rec)
    return out, {k: v for k, v in counts.items() if v}


def fetch_funding(venue: Venue, asset: str, as_of: date, days: int, *, close_utc: datetime) -> Payload:
    """Funding events of `asset`'s perpetual on `venue` from `days` before the night's close to the
    close (events after it belong to the next session)."""
    spec = venue.spec
    venue.load()
    symbol = spec["symbol"].format(a=asset.upper())
    if symbol not in (venue.exchange.markets or {}):
        raise LiveError(spec["host"], "data", f"{venue.name} lists no {symbol} market")
    market_h = venue.market_interval_h(symbol)
    end_ms = int(close_utc.timestamp() * 1000)
    start_ms = int((close_utc - timedelta(days=days)).timestamp() * 1000)
    n0 = len(venue.meter.calls)
    records, pages = _page(venue, symbol, start_ms, end_ms, market_h)
    if not records:
        raise LiveError(spec["host"], "data", f"{venue.name} returned no {symbol} funding between "
                        f"{datetime.fromtimestamp(start_ms / 1000, UTC):%Y-%m-%d} and {as_of}")
    records, sources = with_intervals(records, market_h)
    first = venue.meter.first_ok(n0, "fundingHistory" if venue.name == "hyperliquid" else "")
    url = first.url if first else f"https://{spec['host']}"
    if first is not None and first.method == "POST" and first.body:
        url = f"POST {url} {first.body}"
    return Payload(
        name=f"ccxt_{venue.name}_{asset.upper()}_funding_{as_of.isoformat()}.json",
        data=(json.dumps(records, indent=2, default=str) + "\n").encode(),
        source=venue.name, url=url,
        what=f"{asset.upper()} perpetual funding ({venue.name})",
        meta={"symbol": symbol, "events": len(records), "requests": pages,
              "market_interval_h": market_h, "interval_from": sources,
              "first": records[0]["datetime"], "last": records[-1]["datetime"]},
    )
