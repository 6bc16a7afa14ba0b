"""Public history files, fetched only when asked (`alvh fetch --history`): Cboe's daily index CSVs
(VIX family, SKEW, VVIX, SPX and the strategy benchmarks) and SqueezeMetrics' DIX.csv, saved as received.

Each file is checked with the reader that will ingest it (sources/cboe_index.py, sources/dix.py)
before it is kept; no warehouse here. The offline twin is sources/live/recorded.py.
"""

from __future__ import annotations

from typing import Any

from sources.base import SourceError
from sources.live.net import USER_AGENT, Call, LiveError, Payload, api_message, http_failure

CBOE_HOST = "cdn.cboe.com"
CBOE_URL = "https://cdn.cboe.com/api/global/us_indices/daily_prices/{symbol}_History.csv"
DIX_HOST = "squeezemetrics.com"
DIX_URL = "https://squeezemetrics.com/monitor/static/DIX.csv"
DIX = "DIX"  # the SqueezeMetrics file's name in a plan's list of history files
# What the signals and the research books read (docs/research.md); PPUT and VIX1Y on request.
DEFAULT_FILES = ("VIX", "VIX9D", "VIX3M", "VIX6M", "SKEW", "VVIX", "SPX", "PUT", "BXM", "CNDR", DIX)


def provider(name: str) -> str:
    return "squeezemetrics" if name.upper() == DIX else "cboe"


def url_of(name: str) -> str:
    sym = name.strip().upper().lstrip("^$_")
    return DIX_URL if sym == DIX else CBOE_URL.format(symbol=sym)


def file_name(name: str) -> str:
    """The name it gets in the folder: the vendor's own (VIX_History.csv, DIX.csv)."""
    sym = name.strip().upper().lstrip("^$_")
    return "DIX.csv" if sym == DIX else f"{sym}_History.csv"


def fetch_history_file(name: str, *, session: Any, timeout_s: float) -> Payload:
    """GET one history file; the bytes are kept exactly as the vendor sent them. Refused (LiveError,
    one line) when the answer is an HTTP error or not the file the reader expects."""
    from sources.formats import parse_bytes

    url = url_of(name)
    host = DIX_HOST if provider(name) == "squeezemetrics" else CBOE_HOST
    resp = session.request("GET", url, timeout=(min(10.0, timeout_s), timeout_s),
                           headers={"User-Agent": USER_AGENT, "Accept": "text/csv,*/*"})
    status = int(resp.status_code)
    if status >= 400:
        raise http_failure(Call("GET", url, status=status, message=api_message(resp.content)))
    data = bytes(resp.content)
    fname = file_name(name)
    want = "raw.dix_gex" if host == DIX_HOST else "raw.index_bars"
    try:
        parsed = parse_bytes(data, fname)
    except SourceError as e:
        raise LiveError(host, "data", f"{url} answered HTTP {status} but not with a history file: "
                        f"{e.reason}") from None
    if parsed.table != want:
        raise LiveError(host, "data", f"{url} answered HTTP {status} with a {parsed.format} file, "
                        f"not a {want} history")
    if parsed.fatal is not None:
        raise LiveError(host, "data", f"{fname} from {host} is unusable: {parsed.fatal.reason}")
    rows = parsed.rows
    first, last = (rows["date"].min(), rows["date"].max()) if rows.height else (None, None)
    sym = parsed.meta.get("symbol") or name.upper()
    warning = (f"{parsed.rejects.height:,} row(s) the reader refuses (they go to audit.quarantine "
               "on ingest)") if parsed.rejects.height else None
    return Payload(name=fname, data=data, source=provider(name), url=url,
                   what=f"{sym} daily history, {rows.height:,} rows {first}..{last}",
                   meta={"bars": rows.height, "first": str(first), "last": str(last)}, warning=warning)
