"""HTTP plumbing of the live fetchers: one-line errors, retries with backoff, a token bucket, and
sessions instrumented to remember what they asked and what the API answered.

Works with any session whose `request(method, url, **kw)` returns a requests-like response
(requests, curl_cffi, `recorded.RecordedSession`); yfinance and ccxt call exactly that method.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

T = TypeVar("T")

USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
# Query parameters that must never reach a log line, a manifest or audit.files.
_SECRET_PARAMS = {"crumb", "apikey", "api_key", "signature", "token", "key"}


class LiveError(Exception):
    """One request that failed, in one line: `kind` is unreachable | http | api | data."""

    def __init__(self, host: str, kind: str, reason: str, *, retryable: bool = False,
                 retry_after_s: float | None = None):
        self.host, self.kind, self.reason = host, kind, reason
        self.retryable, self.retry_after_s = retryable, retry_after_s
        super().__init__(reason)

    @property
    def unreachable(self) -> bool:
        return self.kind == "unreachable"


class LiveFetchError(Exception):
    """Nothing could be fetched: str() is the one line the CLI prints."""


@dataclass
class Call:
    """One HTTP exchange an instrumented session made (secrets stripped from the URL)."""

    method: str
    url: str
    body: str | None = None  # a POST body (Hyperliquid's /info says what it asks in the body)
    status: int | None = None
    message: str | None = None  # the API's own words when status >= 400
    error: str | None = None  # the exception when no answer came
    retry_after_s: float | None = None


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url


def clean_url(url: str, params: Any = None) -> str:
    """The URL with its query (params merged), secrets such as Yahoo's crumb removed."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in _query_pairs(parts.query) if k.lower() not in _SECRET_PARAMS]
    if isinstance(params, dict):
        query += [(str(k), str(v)) for k, v in params.items() if str(k).lower() not in _SECRET_PARAMS]
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return f"{base}?{urlencode(query)}" if query else base


def _query_pairs(q: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(q, keep_blank_values=True)


def api_message(body: bytes | str | None, limit: int = 160) -> str:
    """What an error response says, in one short line: the JSON message field when there is one
    (Yahoo `description`, Bybit `retMsg`, OKX `msg`, Binance `msg`, `error`, `message`), else the
    text with HTML tags removed."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        doc = None
    found = _find_message(doc) if doc is not None else None
    if found is None:
        found = re.sub(r"<[^>]+>", " ", text)
    found = re.sub(r"\s+", " ", found).strip()
    return found[:limit] + ("..." if len(found) > limit else "")


def _find_message(doc: Any, depth: int = 0) -> str | None:
    if depth > 4:
        return None
    if isinstance(doc, dict):
        code = next((str(doc[k]) for k in ("code", "retCode") if isinstance(doc.get(k), (int, str))), "")
        numeric = re.fullmatch(r"-?\d+", code) is not None and code != "0"
        for key in ("description", "retMsg", "msg", "message", "error", "detail"):
            v = doc.get(key)
            if isinstance(v, str) and v.strip():
                return f"{v} (code {code})" if numeric else v
        for v in doc.values():
            if isinstance(v, (dict, list)) and (m := _find_message(v, depth + 1)):
                return m
    if isinstance(doc, list) and doc:
        return _find_message(doc[0], depth + 1)
    return None


# -- classifying failures -------------------------------------------------------------------------
_DNS = re.compile(r"NameResolution|Failed to resolve|Name or service not known|nodename nor servname|"
                  r"Could not resolve host|Temporary failure in name resolution|getaddrinfo failed|"
                  r"No address associated", re.I)
_REFUSED = re.compile(r"Connection refused|ECONNREFUSED|Couldn't connect|Failed to connect", re.I)
_TIMEOUT = re.compile(r"timed out|Timeout|Operation too slow", re.I)
_UNREACH = re.compile(r"Network is unreachable|No route to host|ENETUNREACH|EHOSTUNREACH", re.I)
_RESET = re.compile(r"Connection reset|Connection aborted|RemoteDisconnected|ECONNRESET|"
                    r"Connection broken|EOF occurred|SSL", re.I)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen and len(seen) < 10:
        seen.append(e)
        e = e.__cause__ or e.__context__
    return seen


def network_failure(exc: BaseException, host: str) -> LiveError | None:
    """A LiveError when `exc` (or its cause) is a connection-level failure, else None."""
    chain = _chain(exc)
    text = " | ".join(f"{type(e).__name__}: {e}" for e in chain)
    names = {c.__name__ for e in chain for c in type(e).__mro__}
    if any(isinstance(e, socket.gaierror) for e in chain) or "DNSError" in names or _DNS.search(text):
        return LiveError(host, "unreachable", f"cannot reach {host} (network unreachable)")
    if _UNREACH.search(text):
        return LiveError(host, "unreachable", f"cannot reach {host} (network unreachable)")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or _REFUSED.search(text):
        return LiveError(host, "unreachable", f"cannot reach {host} (connection refused)", retryable=True)
    timeout_types = {"Timeout", "ReadTimeout", "ConnectTimeout", "RequestTimeout", "TimeoutError"}
    if names & timeout_types or any(isinstance(e, (TimeoutError, socket.timeout)) for e in chain):
        return LiveError(host, "unreachable", f"cannot reach {host} (timed out)", retryable=True)
    # (ccxt's NetworkError also covers HTTP 5xx answers: only its cause tells a connection apart)
    if (names & {"ConnectionError", "ConnectionResetError", "ChunkedEncodingError",
                 "ProtocolError", "SSLError"} and "HTTPError" not in names) or _RESET.search(text):
        why = "connection reset" if _RESET.search(text) else "connection failed"
        return LiveError(host, "unreachable", f"cannot reach {host} ({why})", retryable=True)
    if _TIMEOUT.search(text) and names & {"OSError", "CurlError"}:
        return LiveError(host, "unreachable", f"cannot reach {host} (timed out)", retryable=True)
    return None


def http_failure(call: Call) -> LiveError:
    """The API answered with an error status: its status and its own message, one line."""
    host = host_of(call.url)
    msg = f": {call.message}" if call.message else ""
    status = call.status or 0
    retryable = status == 429 or status >= 500 or status == 418
    return LiveError(host, "http", f"HTTP {status} from {host}{msg}", retryable=retryable,
                     retry_after_s=call.retry_after_s)


# -- instrumented sessions -----------------------------------------------------------------------
class TokenBucket:
    """At most `rate_per_min` requests a minute on average, bursts of `burst`; `take()` waits."""

    def __init__(self, rate_per_min: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate = max(rate_per_min, 1e-9) / 60.0
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.clock, self.sleep = clock, sleep
        self.last = clock()
        self.waited_s = 0.0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                self.sleep(wait)
                self.waited_s += wait
                self.tokens = 1.0
                self.last = now + wait  # the instant the token became available
            self.tokens -= 1


@dataclass
class Meter:
    """What one provider's session did: every call, and the bucket that paced it."""

    bucket: TokenBucket | None = None
    calls: list[Call] = field(default_factory=list)

    def last_error(self, since: int = 0, prefer: str = "") -> Call | None:
        """The last error answer since call `since`; one whose URL holds `prefer` first."""
        errors = [c for c in self.calls[since:] if (c.status or 0) >= 400]
        return next((c for c in reversed(errors) if prefer in c.url), errors[-1] if errors else None)

    def last_ok(self, since: int = 0, path: str = "") -> Call | None:
        return next((c for c in reversed(self.calls[since:])
                     if c.status and c.status < 400 and path in c.url), None)

    def first_ok(self, since: int = 0, body: str = "") -> Call | None:
        return next((c for c in self.calls[since:]
                     if c.status and c.status < 400 and body in (c.body or "")), None)


def instrument(session: Any, meter: Meter) -> Any:
    """Wrap `session.request` (an instance attribute, so requests/curl_cffi/ccxt/yfinance all go
    through it): pace it with the meter's bucket and record each exchange."""
    inner = session.request

    def request(method, url, *args, **kw):
        if meter.bucket is not None:
            meter.bucket.take()
        call = Call(str(method).upper(), clean_url(str(url), kw.get("params")),
                    _body_text(kw.get("data"), kw.get("json")))
        meter.calls.append(call)
        try:
            resp = inner(method, url, *args, **kw)
        except BaseException as e:
            call.error = f"{type(e).__name__}: {e}"[:300]
            raise
        call.status = int(getattr(resp, "status_code", 0) or 0)
        if call.status >= 400:
            call.message = api_message(getattr(resp, "content", None))
            ra = (getattr(resp, "headers", None) or {}).get("Retry-After")
            try:
                call.retry_after_s = float(ra) if ra is not None else None
            except (TypeError, ValueError):
                call.retry_after_s = None
        return resp

    session.request = request
    return session


def _body_text(data: Any, js: Any) -> str | None:
    if js is not None:
        return json.dumps(js, separators=(",", ":"))[:200]
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")[:200]
    return str(data)[:200] if isinstance(data, str) and data else None


# -- retries -------------------------------------------------------------------------------------
def retrying(fn: Callable[[], T], *, classify: Callable[[BaseException], LiveError], attempts: int,
             backoff_s: float, sleep: Callable[[float], None] = time.sleep,
             max_wait_s: float = 60.0) -> T:
    """Call `fn`; on a transient failure (as `classify` judges) wait backoff_s x 2^i (or the API's
    Retry-After) and try again, up to `attempts` tries. Raises the last LiveError."""
    attempts = max(attempts, 1)
    for i in range(attempts):
        try:
            return fn()
        except LiveError as e:
            err = e
        except Exception as e:  # noqa: BLE001 - every library error becomes one LiveError
            err = classify(e)
        if not err.retryable or i == attempts - 1:
            raise err
        wait = err.retry_after_s if err.retry_after_s is not None else backoff_s * (2 ** i)
        sleep(min(max(wait, 0.0), max_wait_s))
    raise AssertionError("unreachable")  # pragma: no cover


# -- what a fetcher hands back -----------------------------------------------------------------------
@dataclass
class Payload:
    """One vendor file a fetcher produced, with where it came from."""

    name: str  # file name in the drop folder
    data: bytes
    source: str  # provider: cboe | yahoo | binance | bybit | okx | hyperliquid
    url: str  # the request that produced it (secrets stripped)
    what: str  # e.g. "SPX option chain"
    meta: dict = field(default_factory=dict)
    warning: str | None = None  # fetched, but something is off (e.g. no bar for the night yet)
