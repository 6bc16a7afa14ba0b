"""Funding history as the venues' APIs return it (saved JSON) -> raw.funding_rates.

Each shape is recognised by its keys, each record keeps the 1-based line where it starts; the
shared rules (base asset, hour flooring, interval) are in sources/funding.py. No network here.

    Binance  GET /fapi/v1/fundingRate        [{"symbol","fundingTime"(ms),"fundingRate","markPrice"}]
    Bybit    GET /v5/market/funding/history  {"retCode":0,"result":{"list":[{"symbol","fundingRate",
                                             "fundingRateTimestamp"(ms, string)}]}}   newest first
    Hyperliquid POST /info fundingHistory    [{"coin","fundingRate","premium","time"(ms)}]   hourly
    dYdX v4  GET /v4/historicalFunding/{t}   {"historicalFunding":[{"ticker","rate","price",
                                             "effectiveAt"(ISO)}]}   hourly, newest first
    OKX      GET /api/v5/public/funding-rate-history  {"code":"0","data":[{"instId","fundingRate",
                                             "realizedRate","fundingTime"(ms, string)}]}
    ccxt     fetch_funding_rate_history()    [{"info":{...},"symbol","fundingRate","timestamp",
                                             "datetime"}]   venue read from `info` or the file name
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.funding import TABLE, epoch_ms, finish_funding, iso_utc, venue_from_name
from sources.rows import text_of

_WS = re.compile(r"[ \t\n\r]*")


def _key(head: str, key: str) -> bool:
    return re.search(r'"' + re.escape(key) + r'"\s*:', head) is not None


def _json_head(head: str) -> str | None:
    h = head.lstrip("\ufeff \t\r\n")
    return h if h[:1] in "[{" else None


def record_offsets(text: str, path: tuple[str, ...]) -> list[int]:
    """Character offset of each element of the array found at `path` (object keys from the top;
    () for a top-level array). The document is already known to be valid JSON."""
    dec = json.JSONDecoder()

    def skip(i: int) -> int:
        return _WS.match(text, i).end()

    i = skip(0)
    for key in path:
        i = skip(i + 1)  # past '{'
        while text[i] != "}":
            k, i = dec.raw_decode(text, i)
            i = skip(skip(i) + 1)  # past ':'
            if k == key:
                break
            _, i = dec.raw_decode(text, i)
            i = skip(i)
            if text[i] == ",":
                i = skip(i + 1)
        else:
            return []
    if text[i] != "[":
        return []
    offsets: list[int] = []
    i = skip(i + 1)
    while text[i] != "]":
        offsets.append(i)
        _, i = dec.raw_decode(text, i)
        i = skip(i)
        if text[i] == ",":
            i = skip(i + 1)
    return offsets


@dataclass(frozen=True)
class Shape:
    """One venue's JSON: where the records are, which keys identify it, how a record maps."""

    name: str
    venue: str | None  # None: decided per file (ccxt)
    path: tuple[str, ...]
    keys: tuple[str, ...]  # keys whose presence in the head identifies the shape
    fields: Callable[[dict], dict]  # record -> {symbol, time, rate, mark_price, ...} as text
    time: str  # "ms" | "iso"
    check: Callable[[object], str | None] = lambda doc: None  # envelope error, if any
    excludes: tuple[str, ...] = ()
    error_head: re.Pattern | None = None  # an error envelope of this API, claimed to report it


def _s(v: object) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    return str(v)


def _okx_rate(r: dict) -> str | None:
    # `realizedRate` is what was charged; `fundingRate` the rate set for the period.
    real = _s(r.get("realizedRate"))
    return real if real not in (None, "") else _s(r.get("fundingRate"))


def _envelope(code_key: str, ok: object, msg_key: str) -> Callable[[object], str | None]:
    def check(doc: object) -> str | None:
        if isinstance(doc, dict) and code_key in doc and str(doc[code_key]) != str(ok):
            return f"API error {code_key}={doc[code_key]}: {doc.get(msg_key, '')!s:.120}"
        return None
    return check


# Which raw `info` keys betray the venue of a ccxt record.
_INFO_VENUE = (("fundingRateTimestamp", "bybit"), ("instId", "okx"), ("effectiveAt", "dydx"),
               ("coin", "hyperliquid"), ("fundingTime", "binance"))

SHAPES = [
    Shape("ccxt_funding_history", None, (), ("info", "fundingRate", "timestamp", "datetime"),
          lambda r: {"symbol": _s(r.get("symbol")), "time": _s(r.get("timestamp")),
                     "rate": _s(r.get("fundingRate")), "interval_h": _s(r.get("interval"))}, "ms"),
    Shape("bybit_funding_v5", "bybit", ("result", "list"), ("fundingRateTimestamp",),
          lambda r: {"symbol": _s(r.get("symbol")), "time": _s(r.get("fundingRateTimestamp")),
                     "rate": _s(r.get("fundingRate"))}, "ms", _envelope("retCode", 0, "retMsg"),
          error_head=re.compile(r'^\{\s*"retCode"\s*:\s*[1-9]')),
    Shape("okx_funding_history", "okx", ("data",), ("instId", "fundingTime", "fundingRate"),
          lambda r: {"symbol": _s(r.get("instId")), "time": _s(r.get("fundingTime")),
                     "rate": _okx_rate(r)}, "ms", _envelope("code", "0", "msg"),
          error_head=re.compile(r'^\{\s*"code"\s*:\s*"[1-9]\d*"\s*,\s*"msg"')),
    Shape("dydx_historical_funding", "dydx", ("historicalFunding",), ("historicalFunding",),
          lambda r: {"symbol": _s(r.get("ticker")), "time": _s(r.get("effectiveAt")),
                     "rate": _s(r.get("rate")), "index_price": _s(r.get("price"))}, "iso"),
    Shape("hyperliquid_funding_history", "hyperliquid", (), ("coin", "fundingRate", "time"),
          lambda r: {"symbol": _s(r.get("coin")), "time": _s(r.get("time")),
                     "rate": _s(r.get("fundingRate")), "premium": _s(r.get("premium"))}, "ms"),
    Shape("binance_funding_rest_json", "binance", (), ("symbol", "fundingTime", "fundingRate"),
          lambda r: {"symbol": _s(r.get("symbol")), "time": _s(r.get("fundingTime")),
                     "rate": _s(r.get("fundingRate")), "mark_price": _s(r.get("markPrice"))}, "ms",
          excludes=("instId", "info")),
]


def _sniffer(shape: Shape) -> Callable[[str], bool]:
    def sniff(head: str) -> bool:
        h = _json_head(head)
        if h is None:
            return False
        if shape.error_head is not None and shape.error_head.match(h):
            return True
        if shape.path and not h.startswith("{"):
            return False
        if not shape.path and not h.startswith("["):
            return False
        return all(_key(h, k) for k in shape.keys) and not any(_key(h, k) for k in shape.excludes)
    return sniff


def _ccxt_venue(records: list, file: str) -> str:
    for r in records:
        info = r.get("info") if isinstance(r, dict) else None
        if isinstance(info, dict):
            for key, venue in _INFO_VENUE:
                if key in info:
                    return venue
    venue = venue_from_name(file)
    if venue is None:
        raise SourceError(file, None, "ccxt records do not say their exchange (no telling `info`): "
                          "put the exchange id in the file name, e.g. binance_BTC_funding.json")
    return venue


def _parser(shape: Shape) -> Callable[[bytes, str], Parsed]:
    def parse(data: bytes, file: str = "<bytes>") -> Parsed:
        text = text_of(data, file)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            cut = not text.rstrip().endswith(("]", "}"))  # a download that stopped early
            raise SourceError(file, e.lineno, ("truncated JSON: " if cut else "invalid JSON: ")
                              + e.msg) from None
        except RecursionError:
            raise SourceError(file, None, "JSON nested too deeply") from None
        if err := shape.check(doc):
            raise SourceError(file, 1, err)
        node = doc
        for key in shape.path:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, list):
            where = ".".join(shape.path) or "the top level"
            raise SourceError(file, 1, f"no list of funding records at {where}")
        offsets = record_offsets(text, shape.path)
        if len(offsets) != len(node):  # cannot happen for valid JSON; never mislabel lines
            offsets = [0] * len(node)
        newlines = [m.start() for m in re.finditer("\n", text)]
        venue = shape.venue or _ccxt_venue(node, file)
        cols: dict[str, list] = {k: [] for k in ("line", "raw", "symbol", "time", "rate",
                                                 "interval_h", "mark_price", "index_price",
                                                 "premium", "reason")}
        for rec, off in zip(node, offsets, strict=True):
            cols["line"].append(bisect.bisect_right(newlines, off) + 1)
            cols["raw"].append(json.dumps(rec, separators=(",", ":"))[:500])
            got = shape.fields(rec) if isinstance(rec, dict) else {}
            for k in ("symbol", "time", "rate", "interval_h", "mark_price", "index_price", "premium"):
                v = got.get(k)
                cols[k].append(re.sub(r"h$", "", v) if (k == "interval_h" and v) else v)
            cols["reason"].append(None if isinstance(rec, dict) else "record is not a JSON object")
        f = pl.DataFrame(cols, schema={"line": pl.Int64, **{k: pl.String for k in cols if k != "line"}})
        f = f.with_columns(venue=pl.lit(venue), ts_text="time",
                           ts=epoch_ms("time") if shape.time == "ms" else iso_utc("time"))
        return finish_funding(f, file=file, format=shape.name, meta={"venue": venue})
    return parse


FORMATS = [
    Format(name=s.name, source="funding", table=TABLE, sniff=_sniffer(s), parse=_parser(s),
           description=f"{s.name.replace('_', ' ')} (saved JSON)")
    for s in SHAPES
]
