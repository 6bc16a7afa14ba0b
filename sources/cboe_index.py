"""Reader for Cboe index history CSVs (VIX_History.csv and friends) -> raw.index_bars.

Recognises the file by its header and its MM/DD/YYYY dates; never touches the warehouse.

Layouts (dates M/D/YYYY, zero-padded or not):
    DATE,OPEN,HIGH,LOW,CLOSE              VIX, VIX3M, VIX9D ... (the content does not name the index)
    01/02/2019,27.540000,28.530000,23.050000,23.220000
    DATE,SPX                              close-only: SPX, VVIX, SKEW (the header names it)
    Date,VIX Open,VIX High,VIX Low,VIX Close   the pre-2019 vixcurrent.csv, after a disclaimer line
The OHLC layout takes its symbol from the file name: `VIX_History.csv`, `VIX3M_History_2019_2020.csv`,
`vix3mdailyprices.csv`. Bars with open or close outside [low, high] are kept and flagged.
"""

from __future__ import annotations

import re
from pathlib import PurePath

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.rows import (
    bad_date,
    body_fields,
    canonical_index,
    date_of,
    field_count,
    finish,
    head_lines,
    not_a_number,
    number,
    ohlc_checked,
    text_of,
)

FORMAT_NAME = "cboe_index_history"
TABLE = "raw.index_bars"

_OHLC = ["DATE", "OPEN", "HIGH", "LOW", "CLOSE"]
_DATE = re.compile(r"^\s*\"?\d{1,2}/\d{1,2}/\d{4}\"?\s*,")
_CLOSE_ONLY = re.compile(r"^DATE,\s*\^?([A-Z][A-Z0-9]{1,9})$")
_LEGACY = re.compile(r"^DATE,\s*([A-Z0-9]+) OPEN,\s*\1 HIGH,\s*\1 LOW,\s*\1 CLOSE$")
_PREAMBLE = 3  # disclaimer lines a Cboe download may carry above the header
# Cboe's older download names: vixcurrent.csv, vix3mdailyprices.csv, vvixtimeseries.csv ...
_OLD_NAME = re.compile(r"^\^?([a-z0-9]+?)(?:current|dailyprices|timeseries|_history)", re.I)


def _layout(header: str) -> tuple[str, str | None] | None:
    """('ohlc', None) | ('close', SYMBOL) | ('legacy', SYMBOL) for a header line, else None."""
    h = header.replace('"', "").strip().rstrip(",").upper()
    if h.replace(" ", "") == ",".join(_OHLC):
        return "ohlc", None
    if m := _LEGACY.match(h):
        return "legacy", m.group(1)
    if m := _CLOSE_ONLY.match(h):
        return "close", m.group(1)
    return None


def _find_header(lines: list[str]) -> tuple[int, str, str | None] | None:
    for i, ln in enumerate(lines[: _PREAMBLE + 1]):
        lay = _layout(ln.lstrip("\ufeff"))
        if lay:
            return i, lay[0], lay[1]
    return None


def sniff(head: str) -> bool:
    lines = head.lstrip("\ufeff").replace("\r", "").split("\n")
    found = _find_header(lines)
    if not found:
        return False
    # The first data line must carry a US date: FRED's `DATE,VIXCLS` and Stooq's
    # `Date,Open,High,Low,Close` share these headers but print ISO dates.
    data = next((ln for ln in lines[found[0] + 1:] if ln.strip(", \t")), "")
    return bool(_DATE.match(data)) or data == ""


def symbol_from_name(file: str) -> str | None:
    m = _OLD_NAME.match(PurePath(file).name)
    return canonical_index(m.group(1)) if m else None


def parse(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    found = _find_header(head_lines(text, _PREAMBLE + 1))
    if found is None:
        first = text.split("\n", 1)[0][:60]
        raise SourceError(file, 1, f"header {first!r} is neither DATE,OPEN,HIGH,LOW,CLOSE nor "
                          "DATE,<SYMBOL>: not a Cboe index history file")
    at, layout, symbol = found
    names = ["date", "close"] if layout == "close" else ["date", "open", "high", "low", "close"]
    if layout == "ohlc":
        symbol = symbol_from_name(file)
        if symbol is None:
            raise SourceError(file, at + 1, "DATE,OPEN,HIGH,LOW,CLOSE does not name its index: "
                              "name the file <SYMBOL>_History.csv (e.g. VIX_History.csv)")
    symbol = canonical_index(symbol or "")
    values = names[1:]
    f = body_fields(text, at + 1, names)
    f = f.with_columns(d=date_of("date", "%m/%d/%Y"), **{f"n_{n}": number(n) for n in values})
    f = f.with_columns(reason=pl.coalesce([
        field_count(len(names)),
        bad_date("date", pl.col("d")),
        *[not_a_number(n, n.upper()) for n in values],
        pl.when(pl.col("n_close").is_null()).then(pl.lit("missing CLOSE")),
        pl.when(pl.col("n_close") <= 0).then(pl.format("CLOSE {} is not positive", "n_close")),
    ]))
    good = f.filter(pl.col("reason").is_null())
    rows = good.select(
        symbol=pl.lit(symbol),
        date="d",
        **{n: (pl.col(f"n_{n}") if n in values else pl.lit(None, pl.Float64))
           for n in ("open", "high", "low", "close")},
        volume=pl.lit(None, pl.Float64),
        line="line",
    ).with_columns(ohlc_checked())
    return finish(format=FORMAT_NAME, table=TABLE, file=file, checked=f, rows=rows,
                  keys=("date",), partition_by=("symbol", "date"),
                  ends_clean=text.endswith("\n"), ncols=len(names),
                  meta={"symbol": symbol, "layout": layout})


FORMAT = Format(
    name=FORMAT_NAME,
    source="cboe_index",
    table=TABLE,
    sniff=sniff,
    parse=parse,
    description="Cboe index history (DATE,OPEN,HIGH,LOW,CLOSE or DATE,<SYMBOL>; MM/DD/YYYY)",
)
