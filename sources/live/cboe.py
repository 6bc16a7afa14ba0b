"""Cboe delayed quotes: the whole option chain of an index or ETF in one GET, saved as received
(`sources/cboe_json.py` reads it). Public CDN, no key, ~15 min delayed, latest snapshot only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sources.base import SourceError
from sources.live.net import USER_AGENT, Call, LiveError, Payload, api_message, http_failure

HOST = "cdn.cboe.com"
URL = "https://cdn.cboe.com/api/global/delayed_quotes/options/{symbol}.json"
# Index chains live under a leading underscore (_SPX.json); equities and ETFs do not (SPY.json).
INDEXES = {"SPX", "SPXW", "VIX", "VIXW", "VIX1D", "NDX", "RUT", "XSP", "DJX", "OEX", "XEO", "MRUT"}


def chain_url(symbol: str) -> str:
    sym = symbol.strip().upper().lstrip("_^$")
    return URL.format(symbol=f"_{sym}" if sym in INDEXES else sym)


def fetch_chain(symbol: str, as_of: date, *, session: Any, timeout_s: float) -> Payload:
    """GET the chain; the bytes are kept exactly as Cboe sent them. Refused (LiveError) when the
    answer is an error, not a chain, or a snapshot of another session than `as_of`."""
    from sources.cboe_json import parse

    sym = symbol.strip().upper().lstrip("_^$")
    url = chain_url(sym)
    resp = session.request("GET", url, timeout=(min(10.0, timeout_s), timeout_s),
                           headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    status = int(resp.status_code)
    if status >= 400:
        raise http_failure(Call("GET", url, status=status, message=api_message(resp.content)))
    data = bytes(resp.content)
    name = f"cboe_{sym}_delayed_quotes_{as_of.isoformat()}.json"
    try:
        parsed = parse(data, name)
    except SourceError as e:
        raise LiveError(HOST, "data", f"{HOST} answered HTTP {status} but not with an option chain: "
                        f"{e.reason}") from None
    if parsed.fatal is not None:
        raise LiveError(HOST, "data", f"{sym} chain from {HOST} is unusable: {parsed.fatal.reason}")
    session_of = parsed.meta["quote_date"]
    if session_of != as_of:
        raise LiveError(HOST, "data", f"Cboe serves the latest snapshot only: the {sym} chain is of "
                        f"session {session_of} (timestamp {parsed.meta['quote_ts']:%Y-%m-%d %H:%M} UTC), "
                        f"not {as_of}")
    return Payload(name=name, data=data, source="cboe", url=url, what=f"{sym} option chain",
                   meta={"contracts": parsed.rows.height, "spot": parsed.meta["spot"],
                         "quote_ts": parsed.meta["quote_ts"].isoformat(),
                         "roots": sorted(parsed.rows["root"].unique().to_list())})
