"""Reader for Cboe's delayed-quotes option chain JSON (`cdn.cboe.com/api/global/delayed_quotes/
options/_SPX.json`) -> raw.option_quotes, one row per contract. Never touches the warehouse.

    {"timestamp": "2026-05-20 23:02:44",
     "data": {"options": [{"option": "SPXW260522C05800000", "bid": 12.1, "ask": 12.6, "iv": 0.1523,
                           "open_interest": 1234.0, "volume": 56.0, "delta": 0.41, "gamma": 0.0031,
                           "last_trade_price": 12.3, "last_trade_time": "2026-05-20T15:59:58", ...}],
              "symbol": "_SPX", "current_price": 5791.23, "close": ..., "prev_day_close": ..., ...}}

The contract is in the OCC-style symbol: root, YYMMDD expiry, C/P, strike x 1000 (8 digits, three
implied decimals). The file's `timestamp` carries no zone: it is read as UTC (see docs/formats.md).
The same night's quotedata CSV (sources/cboe_chain.py) and this JSON fill the same partitions.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from datetime import UTC, datetime

import polars as pl

from sources.base import Format, Parsed, SourceError, rejects_frame
from sources.calendar import session_of_snapshot
from sources.cboe_chain import COLUMNS, ROOT_UNDERLYING, TABLE
from sources.dates import new_york_date
from sources.funding_json import record_offsets
from sources.rows import text_of

FORMAT_NAME = "cboe_delayed_json"
_SYMBOL = re.compile(r"^([A-Z]{1,6})(\d{2})(\d{2})(\d{2})([CP])(\d{8})$")
_SNIFF_OPTION = re.compile(r'"option"\s*:\s*"[A-Z]{1,6}\d{6}[CP]\d{8}"')
_TIMESTAMP = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f")
# Spot: the live price, else the session's close, else the previous close (a weekend file may
# print current_price 0).
_SPOT_KEYS = ("current_price", "close", "prev_day_close")
# Vendor field -> canonical column, with whether it is a whole count.
_NUMBERS = {"bid": ("bid", False), "ask": ("ask", False), "last_trade_price": ("last", False),
            "volume": ("volume", True), "open_interest": ("open_interest", True),
            "iv": ("iv", False), "delta": ("delta", False), "gamma": ("gamma", False)}


def sniff(head: str) -> bool:
    h = head.lstrip("\ufeff \t\r\n")
    return (h.startswith("{") and re.search(r'"data"\s*:\s*\{', h) is not None
            and re.search(r'"options"\s*:\s*\[', h) is not None and _SNIFF_OPTION.search(h) is not None)


def _timestamp(doc: dict, file: str) -> datetime:
    raw = doc.get("timestamp")
    if not isinstance(raw, str) or not raw.strip():
        raise SourceError(file, 1, "no 'timestamp' at the top level: cannot date the snapshot")
    text = raw.strip().replace("Z", "").replace("+00:00", "")
    for fmt in _TIMESTAMP:
        try:
            ts = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        if not 2000 <= ts.year < 2100:
            break
        return ts
    raise SourceError(file, 1, f"unreadable timestamp {raw!r} (expected YYYY-MM-DD HH:MM:SS)")


def _spot(data: dict, file: str) -> tuple[float, str]:
    for key in _SPOT_KEYS:
        v = data.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            return float(v), key
        if isinstance(v, str):
            try:
                f = float(v.replace(",", ""))
            except ValueError:
                continue
            if math.isfinite(f) and f > 0:
                return f, key
    raise SourceError(file, 1, "no positive underlying price in data.current_price / close / "
                      "prev_day_close")


def _number(rec: dict, key: str, whole: bool) -> tuple[float | None, str | None]:
    """A record's numeric field: (value, None), (None, None) when absent/null, or (None, reason)."""
    v = rec.get(key)
    if v is None or v == "":
        return None, None
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None, f"{key}: {json.dumps(v)[:40]} is not a number"
    try:
        f = float(v)
    except (ValueError, OverflowError):
        return None, f"{key}: {v!r} is not a number"
    if not math.isfinite(f):
        return None, f"{key}: {v!r} is not a finite number"
    if whole:
        if f < 0:
            return None, f"{key} {v} is negative"
        if f >= 1e15 or f != round(f):
            return None, f"{key} {v} is not a whole count"
    return f, None


def _record_lines(text: str, n: int) -> list[int]:
    """1-based line of each record's `{`; Cboe serves the file on one line (then all are 1)."""
    body = text.rstrip()
    if "\n" not in body:
        return [1] * n
    try:
        offsets = record_offsets(text, ("data", "options"))
    except Exception:  # valid JSON of an unexpected layout: fall back to line 1, never crash
        offsets = []
    if len(offsets) != n:
        return [1] * n
    newlines = [m.start() for m in re.finditer("\n", text)]
    return [bisect.bisect_right(newlines, off) + 1 for off in offsets]


def parse(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        cut = not text.rstrip().endswith("}")  # a download that stopped early
        raise SourceError(file, e.lineno, ("truncated JSON: " if cut else "invalid JSON: ") + e.msg) from None
    except RecursionError:
        raise SourceError(file, None, "JSON nested too deeply") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        raise SourceError(file, 1, "no 'data' object: not a Cboe delayed-quotes file")
    body = doc["data"]
    options = body.get("options")
    if not isinstance(options, list):
        raise SourceError(file, 1, "no list of contracts at data.options")
    ts = _timestamp(doc, file)
    spot, spot_from = _spot(body, file)
    try:
        quote_date = session_of_snapshot(ts)
    except ValueError as e:  # outside the XNYS calendar's range
        raise SourceError(file, 1, f"timestamp {doc['timestamp']!r}: {e}") from None
    snapshot_date = new_york_date(ts)
    lines = _record_lines(text, len(options))

    good: dict[str, list] = {k: [] for k in ("root", "expiry", "strike", "right", "option_symbol",
                                              "bid", "ask", "last", "volume", "open_interest", "iv",
                                              "delta", "gamma", "line", "raw", "record")}
    bad: list[tuple[int, str, str]] = []
    for i, (rec, line) in enumerate(zip(options, lines, strict=True), start=1):
        raw = json.dumps(rec, separators=(",", ":"))[:500]
        if not isinstance(rec, dict):
            bad.append((line, raw, f"record {i} is not a JSON object"))
            continue
        sym = rec.get("option")
        m = _SYMBOL.match(sym.strip()) if isinstance(sym, str) else None
        if m is None:
            bad.append((line, raw, f"bad option symbol {json.dumps(sym)[:40]}"))
            continue
        root, yy, mm, dd, right, strike_txt = m.groups()
        try:
            expiry = datetime(2000 + int(yy), int(mm), int(dd)).date()
        except ValueError:
            bad.append((line, raw, f"bad expiry {yy}{mm}{dd} in option symbol {sym}"))
            continue
        strike = int(strike_txt) / 1000.0
        if strike <= 0:
            bad.append((line, raw, f"strike 0 in option symbol {sym}"))
            continue
        values, why = {}, None
        for key, (col, whole) in _NUMBERS.items():
            values[col], why = _number(rec, key, whole)
            if why:
                break
        if why:
            bad.append((line, raw, why))
            continue
        for k, v in (("root", root), ("expiry", expiry), ("strike", strike), ("right", right),
                     ("option_symbol", sym.strip()), ("line", line), ("raw", raw), ("record", i)):
            good[k].append(v)
        for col, v in values.items():
            good[col].append(v)

    schema = {"root": pl.String, "expiry": pl.Date, "strike": pl.Float64, "right": pl.String,
              "option_symbol": pl.String, **{c: pl.Float64 for c, _ in _NUMBERS.values()},
              "line": pl.Int64, "raw": pl.String, "record": pl.Int64}
    rows = pl.DataFrame(good, schema=schema)
    # One row per contract: a repeated contract keeps its first record; later copies are refused.
    rows = rows.with_columns(first=pl.col("record").first().over("root", "expiry", "strike", "right"))
    dups = rows.filter(pl.col("record") != pl.col("first"))
    rows = rows.filter(pl.col("record") == pl.col("first"))
    rejects = pl.concat([
        rejects_frame(bad),
        dups.select("line", "raw", reason=pl.format("duplicate contract {}: first seen as record {}",
                                                     "option_symbol", "first")),
    ]).sort("line", maintain_order=True).cast(rejects_frame().schema)

    rows = rows.with_columns(
        quote_date=pl.lit(quote_date),
        underlying=pl.col("root").replace_strict(ROOT_UNDERLYING, default=pl.col("root")),
        quote_ts=pl.lit(ts.replace(tzinfo=None), dtype=pl.Datetime("us")),
        spot=pl.lit(spot),
        volume=pl.col("volume").round().cast(pl.Int64),
        open_interest=pl.col("open_interest").round().cast(pl.Int64),
        expired=pl.col("expiry") < pl.lit(snapshot_date),
    ).select(list(COLUMNS)).cast(COLUMNS)

    fatal = None
    if rows.height == 0:
        fatal = (SourceError(file, 1, "no contracts in data.options") if not bad else
                 SourceError(file, bad[0][0], f"none of {len(bad)} contracts is readable, e.g. {bad[0][2]}"))
    return Parsed(
        format=FORMAT_NAME,
        table=TABLE,
        rows=rows,
        rejects=rejects,
        partition_by=("quote_date", "root"),
        meta={"symbol": body.get("symbol"), "spot": spot, "spot_from": spot_from,
              "quote_ts": ts.replace(tzinfo=None), "timestamp_zone": "UTC (assumed: the file prints none)",
              "snapshot_date": snapshot_date, "quote_date": quote_date, "records": len(options),
              "underlyings": sorted(rows["underlying"].unique().to_list())},
        fatal=fatal,
    )


FORMAT = Format(
    name=FORMAT_NAME,
    source="cboe_chain",
    table=TABLE,
    sniff=sniff,
    parse=parse,
    description="Cboe delayed-quotes option chain JSON (cdn.cboe.com/api/global/delayed_quotes/options)",
)
