"""Yahoo Finance through yfinance: daily index history (saved as the yfinance 3-row-header CSV) and
option chains (saved as a CBOE quotedata CSV: open interest and IV, no vendor greeks - the default
gamma preset prices gamma from IV). yfinance is imported only when a fetch runs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sources.live.net import LiveError, Meter, Payload, host_of, http_failure, network_failure

HOST = "query2.finance.yahoo.com"
# Yahoo's `range` values, each with the calendar days it surely covers (the shortest that covers
# the lookback is asked for: no start/end means no time-zone lookup and no cached responses).
_RANGES = (("1mo", 28), ("3mo", 89), ("6mo", 180), ("1y", 364), ("2y", 729), ("5y", 1825),
           ("10y", 3650))


@contextlib.contextmanager
def quiet_yfinance(cache_dir: Path | None) -> Iterator[Any]:
    """yfinance for one fetch: exceptions raised (not logged and swallowed), no retries of its
    own (ours have backoff), nothing on the terminal, its caches under `cache_dir`."""
    import yfinance as yf

    log = logging.getLogger("yfinance")
    saved = (log.level, log.propagate, yf.config.debug.hide_exceptions, yf.config.network.retries)
    log.setLevel(logging.CRITICAL + 1)
    log.propagate = False
    yf.config.debug.hide_exceptions = False
    yf.config.network.retries = 0
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(cache_dir))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # yfinance's pandas deprecations are not ours to print
            yield yf
    finally:
        log.setLevel(saved[0])
        log.propagate = saved[1]
        yf.config.debug.hide_exceptions = saved[2]
        yf.config.network.retries = saved[3]


def classify(exc: BaseException, meter: Meter, since: int, prefer: str = "") -> LiveError:
    """A yfinance failure as one line: the network, else the HTTP error Yahoo answered, else
    yfinance's own words."""
    failed = next((c for c in reversed(meter.calls[since:]) if c.error), None)
    host = host_of(failed.url) if failed else HOST
    if (net := network_failure(exc, host)) is not None:
        return net
    if type(exc).__name__ == "YFRateLimitError":
        return LiveError(HOST, "http", f"HTTP 429 from {HOST}: too many requests (rate limited)",
                         retryable=True, retry_after_s=30.0)
    if (err := meter.last_error(since, prefer)) is not None:
        return http_failure(err)
    text = str(exc).strip().replace("\n", " ")
    return LiveError(HOST, "api", f"Yahoo: {text[:200] or type(exc).__name__}")


def yahoo_range(start: date, today: date) -> str:
    span = (today - start).days
    return next((name for name, days in _RANGES if days >= span), "max")


def history_csv(ticker: str, frame: Any) -> bytes:
    """A one-ticker yfinance frame as `yf.download(...).to_csv()` writes it: three header rows
    (Price / Ticker / Date), columns Close, High, Low, Open, Volume, ISO dates."""
    cols = ("Close", "High", "Low", "Open", "Volume")
    out = io.StringIO()
    out.write("Price," + ",".join(cols) + "\n")
    out.write("Ticker," + ",".join([ticker] * len(cols)) + "\n")
    out.write("Date" + "," * len(cols) + "\n")
    for ts, row in frame.iterrows():
        values = []
        for c in cols:
            v = row.get(c)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                values.append("")
            elif c == "Volume":
                values.append(str(int(v)))
            else:
                values.append(repr(float(v)))
        out.write(f"{ts.date().isoformat()}," + ",".join(values) + "\n")
    return out.getvalue().encode()


def fetch_history(ticker: str, as_of: date, days: int, *, session: Any, meter: Meter,
                  timeout_s: float, cache_dir: Path | None, today: date | None = None) -> Payload:
    """Daily bars of `ticker` from `as_of - days` to `as_of` (inclusive)."""
    today = today or datetime.now(UTC).date()
    start = as_of - timedelta(days=days)
    n0 = len(meter.calls)
    with quiet_yfinance(cache_dir) as yf:
        try:
            frame = yf.Ticker(ticker, session=session).history(
                period=yahoo_range(start, max(today, as_of)), interval="1d", auto_adjust=False,
                actions=False, timeout=timeout_s)
        except Exception as e:  # noqa: BLE001 - yfinance raises many types; one line each
            raise classify(e, meter, n0, "/v8/finance/chart/") from None
    if frame is None or frame.empty:
        if (err := meter.last_error(n0, "/v8/finance/chart/")) is not None:
            raise http_failure(err)
        raise LiveError(HOST, "api", f"Yahoo returned no daily bars for {ticker}")
    dates = [ts.date() for ts in frame.index]
    keep = [start <= d <= as_of for d in dates]
    frame = frame[keep]
    if frame.empty:
        raise LiveError(HOST, "data", f"Yahoo has no {ticker} bar between {start} and {as_of} "
                        f"(it returned {min(dates)} .. {max(dates)})")
    last = frame.index[-1].date()
    warning = None if last == as_of else f"no {ticker} bar for {as_of} yet (last {last})"
    call = meter.last_ok(n0, "/v8/finance/chart/")
    safe = ticker.lstrip("^").replace("/", "-")
    return Payload(name=f"yahoo_{safe}_history_{as_of.isoformat()}.csv",
                   data=history_csv(ticker, frame), source="yahoo",
                   url=call.url if call else f"https://{HOST}/v8/finance/chart/{ticker}",
                   what=f"{ticker} daily bars", warning=warning,
                   meta={"bars": len(frame), "first": frame.index[0].date().isoformat(),
                         "last": last.isoformat()})


# -- option chains -> CBOE quotedata CSV ----------------------------------------------------------
QUOTEDATA_HEADER = ("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,"
                    "Strike,Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest")


def _num(v: Any, whole: bool = False) -> str:
    if v is None:
        return ""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    if math.isnan(f) or math.isinf(f):
        return ""
    return str(int(round(f))) if whole else repr(f)


def _side(c: dict) -> list[str]:
    """Last Sale, Net, Bid, Ask, Volume, IV, Delta, Gamma, Open Interest of one contract."""
    return [_num(c.get("lastPrice")), _num(c.get("change")), _num(c.get("bid")), _num(c.get("ask")),
            _num(c.get("volume"), True), _num(c.get("impliedVolatility")), "", "",
            _num(c.get("openInterest"), True)]


def quotedata_csv(name: str, spot: float, change: float | None, snapshot: datetime,
                  contracts: list[dict]) -> tuple[bytes, int]:
    """Contracts (yfinance option rows with their `expiry` date) as a quotedata export: one call
    and one put per line, keyed by root, expiry and strike. Returns the bytes and the number of
    contracts left out because the other side of their line does not exist."""
    import re

    from sources.dates import NEW_YORK

    pairs: dict[tuple[str, date, float], dict[str, dict]] = {}
    for c in contracts:
        m = re.match(r"^([A-Z]{1,6})\d{6}([CP])\d{8}$", str(c.get("contractSymbol", "")))
        if m is None or c.get("strike") is None:
            continue
        key = (m.group(1), c["expiry"], float(c["strike"]))
        pairs.setdefault(key, {})[m.group(2)] = c
    local = snapshot.astimezone(NEW_YORK)
    stamp = f"{local:%B} {local.day}, {local.year} at {local:%I:%M %p} {local.tzname()}"
    lines = ["", f"{name.replace(',', ' ')},Last: {spot!r},Change: {_num(change) or '0'}",
             f'"Date: {stamp}",Bid: 0,Ask: 0,Size: 0*0,Volume: 0', QUOTEDATA_HEADER]
    unpaired = 0
    for (_root, exp, strike), sides in sorted(pairs.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        if set(sides) != {"C", "P"}:
            unpaired += len(sides)
            continue
        call, put = sides["C"], sides["P"]
        lines.append(",".join([f"{exp:%a %b %d %Y}", call["contractSymbol"], *_side(call),
                               f"{strike:.2f}", put["contractSymbol"], *_side(put)]))
    return ("\n".join(lines) + "\n").encode(), unpaired


def fetch_chain(ticker: str, as_of: date, *, max_expiries: int, session: Any, meter: Meter,
                timeout_s: float, cache_dir: Path | None,
                call: Any = None) -> Payload:
    """The first `max_expiries` expiries on or after `as_of` of `ticker`'s chain (one request per
    expiry, each through `call` - the caller's retry wrapper), as one quotedata CSV."""
    from sources.calendar import session_of_snapshot

    call = call or (lambda fn, since: fn())
    n0 = len(meter.calls)
    with quiet_yfinance(cache_dir) as yf:
        tk = yf.Ticker(ticker, session=session)

        def expiries() -> tuple:
            got = tk.options
            if not got:
                if (err := meter.last_error(n0, "/v7/finance/options/")) is not None:
                    raise http_failure(err)
                raise LiveError(HOST, "api", f"Yahoo lists no option expiries for {ticker}")
            return got

        chosen = [e for e in call(expiries, n0) if e >= as_of.isoformat()][:max(max_expiries, 1)]
        if not chosen:
            raise LiveError(HOST, "data", f"Yahoo lists no {ticker} expiry on or after {as_of}")
        contracts: list[dict] = []
        underlying: dict = {}
        for exp in chosen:
            n1 = len(meter.calls)

            def one(exp: str = exp, n1: int = n1):
                oc = tk.option_chain(exp)
                if oc.calls is None:
                    if (err := meter.last_error(n1, "/v7/finance/options/")) is not None:
                        raise http_failure(err)
                    raise LiveError(HOST, "api", f"Yahoo returned no {ticker} chain for {exp}")
                return oc

            oc = call(one, n1)
            underlying = oc.underlying or underlying
            exp_date = date.fromisoformat(exp)
            for frame in (oc.calls, oc.puts):
                for rec in frame.to_dict("records"):
                    rec["expiry"] = exp_date
                    contracts.append(rec)
    spot = underlying.get("regularMarketPrice")
    if not isinstance(spot, (int, float)) or not spot > 0:
        raise LiveError(HOST, "data", f"Yahoo's {ticker} chain carries no underlying price")
    when = underlying.get("regularMarketTime")
    snap = (datetime.fromtimestamp(int(when), UTC) if isinstance(when, (int, float)) and when > 0
            else datetime.now(UTC))
    session_of = session_of_snapshot(snap)
    if session_of != as_of:
        raise LiveError(HOST, "data", f"Yahoo serves the current chain only: {ticker} quotes are of "
                        f"session {session_of} ({snap:%Y-%m-%d %H:%M} UTC), not {as_of}")
    label = underlying.get("longName") or underlying.get("shortName") or ticker
    data, unpaired = quotedata_csv(str(label), float(spot), underlying.get("regularMarketChange"),
                                   snap, contracts)
    last = meter.last_ok(n0, "/v7/finance/options/")
    safe = ticker.lstrip("^").replace("/", "-")
    return Payload(
        name=f"yahoo_{safe}_quotedata_{as_of.isoformat()}.csv", data=data, source="yahoo",
        url=last.url.split("?")[0] if last else f"https://{HOST}/v7/finance/options/{ticker}",
        what=f"{ticker} option chain ({len(chosen)} expiries)",
        meta={"expiries": chosen, "contracts": len(contracts) - unpaired, "spot": float(spot),
              "one_sided_contracts_left_out": unpaired, "requests": [c.url for c in meter.calls[n0:]
                                                                    if "/v7/finance/options/" in c.url]},
    )
