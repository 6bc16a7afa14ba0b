"""The offline twin of the public APIs: a requests.Session that answers from recorded payloads.

yfinance accepts it (it is a `requests.Session`), ccxt uses it as `exchange.session`, the Cboe
fetcher calls it directly. Used by the tests and by `ALVH_LIVE_REPLAY=<folder>` (a folder with a
`routes.json` and the payload files it names). Never opens a socket.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass(frozen=True)
class Request:
    method: str
    url: str  # without the query
    query: dict[str, str]
    body: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def json(self) -> dict:
        try:
            return json.loads(self.body) if self.body else {}
        except ValueError:
            return {}


Responder = Callable[[Request], Reply]


@dataclass
class Route:
    """Requests whose method matches, whose `url` regex matches the URL with its query, and whose
    `body` regex (if any) matches the request body, get `reply` (or what `reply(request)` returns)."""

    method: str
    url: str
    reply: Reply | Responder
    body: str | None = None

    def matches(self, req: Request, full_url: str) -> bool:
        return ((self.method in ("*", req.method)) and re.search(self.url, full_url) is not None
                and (self.body is None or re.search(self.body, req.body) is not None))


def dns_failure(url: str) -> requests.ConnectionError:
    """The exception requests raises when a host name does not resolve (what an offline machine gives)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    err = requests.ConnectionError(
        f"HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded with url: {parts.path} "
        f"(Caused by NameResolutionError(\"HTTPSConnection(host='{host}', port=443): Failed to resolve "
        f"'{host}' ([Errno -2] Name or service not known)\"))")
    err.__cause__ = socket.gaierror(-2, "Name or service not known")
    return err


class RecordedSession(requests.Session):
    """Answers every request from `routes` (first match wins); `offline` hosts fail like DNS does.
    Unmatched requests get HTTP 404 naming the request, so a missing recording is obvious."""

    def __init__(self, routes: list[Route] | None = None, *, offline: set[str] | bool = False):
        super().__init__()
        self.routes: list[Route] = list(routes or [])
        self.offline = offline
        self.requests: list[Request] = []

    def request(self, method, url, params=None, data=None, headers=None, cookies=None, files=None,
                auth=None, timeout=None, allow_redirects=True, proxies=None, hooks=None, stream=None,
                verify=None, cert=None, json=None, **kw):  # noqa: A002 - requests' own signature
        parts = urlsplit(str(url))
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if isinstance(params, dict):
            query.update({str(k): str(v) for k, v in params.items() if v is not None})
        if json is not None:
            body = _json_dumps(json)
        elif isinstance(data, bytes):
            body = data.decode("utf-8", "replace")
        else:
            body = "" if data is None else str(data)
        base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        req = Request(str(method).upper(), base, query, body)
        self.requests.append(req)
        if self.offline is True or (isinstance(self.offline, set) and req.host in self.offline):
            raise dns_failure(str(url))
        full = f"{base}?{urlencode(query)}" if query else base
        for route in self.routes:
            if route.matches(req, full):
                reply = route.reply(req) if callable(route.reply) else route.reply
                return _response(reply, full)
        return _response(Reply(404, f"no recorded payload for {req.method} {full}".encode(),
                               {"Content-Type": "text/plain"}), full)

    @classmethod
    def from_dir(cls, folder: str | Path) -> RecordedSession:
        """Routes from `<folder>/routes.json`: [{"method", "url" (regex), "body" (regex, optional),
        "file", "status" (default 200), "content_type" (default application/json)}], after the
        paging twins of the funding endpoints (`paged_routes`) for the lists the folder holds."""
        folder = Path(folder)
        index = folder / "routes.json"
        if not index.is_file():
            raise FileNotFoundError(f"{index}: no routes.json in the replay folder")
        routes = paged_routes(folder)
        for r in _json_loads(index.read_text()):
            body = (folder / r["file"]).read_bytes() if r.get("file") else r.get("text", "").encode()
            routes.append(Route(r.get("method", "GET"), r["url"],
                                Reply(int(r.get("status", 200)), body,
                                      {"Content-Type": r.get("content_type", "application/json")}),
                                r.get("body")))
        return cls(routes)


def _json_dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _json_loads(text: str):
    return json.loads(text)


def _response(reply: Reply, url: str) -> requests.Response:
    r = requests.Response()
    r.status_code = reply.status
    r._content = reply.body
    r.headers.update(reply.headers)
    r.url = url
    r.encoding = "utf-8"
    r.reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                429: "Too Many Requests", 500: "Internal Server Error",
                503: "Service Unavailable"}.get(reply.status, "")
    return r


# -- paging twins: recorded funding lists answered the way each API pages them ---------------------
HYPERLIQUID_PAGE = 500  # fundingHistory answers at most this many events


def _reply(doc) -> Reply:
    return Reply(200, json.dumps(doc).encode())


def _int(q: dict, key: str, default: int) -> int:
    try:
        return int(q[key])
    except (KeyError, ValueError):
        return default


def paged_routes(folder: Path) -> list[Route]:
    """Routes for the recorded full funding lists in `folder` that honour each API's window and
    page parameters: Binance startTime/endTime/limit (oldest first; its open-interest history
    too, 500 at most), Bybit startTime/endTime/limit (newest first), OKX after/before/limit (newest
    first; its liquidation fills too, 100 at most), Hyperliquid startTime/endTime (oldest first,
    HYPERLIQUID_PAGE at most)."""
    big = 1 << 62
    routes: list[Route] = []

    def load(path: Path):
        return json.loads(path.read_text())

    for path in sorted(folder.glob("binance/fundingRate_*.json")):
        sym = path.stem.split("_", 1)[1]

        def binance(req: Request, path=path) -> Reply:
            q = req.query
            lo, hi, lim = _int(q, "startTime", 0), _int(q, "endTime", big), _int(q, "limit", 100)
            rows = sorted(load(path), key=lambda r: r["fundingTime"])
            return _reply([r for r in rows if lo <= r["fundingTime"] <= hi][:lim])
        routes.append(Route("GET", rf"^https://fapi\.binance\.com/fapi/v1/fundingRate\?(.*&)?symbol={sym}\b", binance))

    for path in sorted(folder.glob("bybit/funding_*.json")):
        sym = path.stem.split("_", 1)[1]

        def bybit(req: Request, path=path) -> Reply:
            q, doc = req.query, load(path)
            lo, hi, lim = _int(q, "startTime", 0), _int(q, "endTime", big), _int(q, "limit", 200)
            rows = sorted(doc["result"]["list"], key=lambda r: -int(r["fundingRateTimestamp"]))
            doc["result"]["list"] = [r for r in rows if lo <= int(r["fundingRateTimestamp"]) <= hi][:lim]
            return _reply(doc)
        routes.append(Route("GET", rf"^https://api\.bybit\.com/v5/market/funding/history\?(.*&)?symbol={sym}\b", bybit))
    if (folder / "bybit").is_dir():
        routes.append(Route("GET", r"^https://api\.bybit\.com/v5/market/instruments-info\?(.*&)?status=PreLaunch",
                            _reply({"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [],
                                    "nextPageCursor": ""}, "retExtInfo": {}, "time": 0})))

    for path in sorted(folder.glob("okx/funding_*.json")):
        inst = path.stem.split("_", 1)[1]

        def okx(req: Request, path=path) -> Reply:
            q, doc = req.query, load(path)
            after, before, lim = _int(q, "after", big), _int(q, "before", -1), min(_int(q, "limit", 100), 100)
            rows = sorted(doc["data"], key=lambda r: -int(r["fundingTime"]))
            doc["data"] = [r for r in rows if before < int(r["fundingTime"]) < after][:lim]
            return _reply(doc)
        routes.append(Route("GET", rf"^https://www\.okx\.com/api/v5/public/funding-rate-history\?(.*&)?instId={inst}\b", okx))

    for path in sorted(folder.glob("binance/openInterestHist_*.json")):
        sym = path.stem.split("_", 1)[1]

        def binance_oi(req: Request, path=path) -> Reply:
            q = req.query
            lo, hi, lim = _int(q, "startTime", 0), _int(q, "endTime", big), min(_int(q, "limit", 30), 500)
            rows = sorted(load(path), key=lambda r: r["timestamp"])
            return _reply([r for r in rows if lo <= r["timestamp"] <= hi][:lim])
        routes.append(Route("GET", rf"^https://fapi\.binance\.com/futures/data/openInterestHist\?(.*&)?symbol={sym}\b",
                            binance_oi))

    for path in sorted(folder.glob("okx/liquidations_*.json")):
        family = path.stem.split("_", 1)[1]

        def okx_liq(req: Request, path=path) -> Reply:
            q, doc = req.query, load(path)
            after, before, lim = _int(q, "after", big), _int(q, "before", -1), min(_int(q, "limit", 100), 100)
            for block in doc["data"]:
                rows = sorted(block["details"], key=lambda r: -int(r["ts"]))
                block["details"] = [r for r in rows if before < int(r["ts"]) < after][:lim]
            return _reply(doc)
        routes.append(Route("GET", rf"^https://www\.okx\.com/api/v5/public/liquidation-orders\?(.*&)?instFamily={family}\b",
                            okx_liq))

    for path in sorted(folder.glob("hyperliquid/fundingHistory_*.json")):
        coin = path.stem.split("_", 1)[1]

        def hyperliquid(req: Request, path=path) -> Reply:
            body = req.json()
            lo, hi = int(body.get("startTime") or 0), int(body.get("endTime") or big)
            rows = sorted(load(path), key=lambda r: r["time"])
            return _reply([r for r in rows if lo <= r["time"] <= hi][:HYPERLIQUID_PAGE])
        routes.append(Route("POST", r"^https://api\.hyperliquid\.xyz/info$", hyperliquid,
                            body=rf'^(?=.*"type":\s*"fundingHistory")(?=.*"coin":\s*"{coin}")'))
    return routes
