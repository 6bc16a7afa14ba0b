"""Reader for Cboe index history CSVs (VIX_History.csv and friends) -> raw.index_bars.

Two layouts: `DATE,OPEN,HIGH,LOW,CLOSE` (VIX, VIX3M, VIX9D ...) and close-only `DATE,<SYMBOL>`
(SPX, VVIX, SKEW). Dates are MM/DD/YYYY. The OHLC layout does not name its index, so the symbol
comes from the file name (`VIX_History.csv`, `VIX3M_History_2019_2020.csv`).
"""

from __future__ import annotations

import re
from pathlib import PurePath

import polars as pl

from sources.base import (
    Format,
    Parsed,
    SourceError,
    bad_number,
    decode_text,
    read_fields,
    read_lines,
    rejects_frame,
    to_number,
)

FORMAT_NAME = "cboe_index_history"
TABLE = "raw.index_bars"

COLUMNS: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "date": pl.Date(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "ohlc_flag": pl.String(),
    "line": pl.Int64(),
}

_OHLC = ["DATE", "OPEN", "HIGH", "LOW", "CLOSE"]
_HEADER = re.compile(r"^\ufeff?DATE,([A-Z0-9^._]+)(,HIGH,LOW,CLOSE)?\s*$", re.M)


def sniff(head: str) -> bool:
    first = head.lstrip("\ufeff").split("\n", 1)[0].strip().upper()
    if first == ",".join(_OHLC):
        return True
    parts = first.split(",")
    return len(parts) == 2 and parts[0] == "DATE" and re.fullmatch(r"[A-Z0-9]{2,8}", parts[1]) is not None


def symbol_from_name(file: str) -> str | None:
    m = re.match(r"^\^?([A-Za-z0-9]+?)_History", PurePath(file).name)
    return m.group(1).upper() if m else None


def parse(data: bytes, file: str = "<bytes>") -> Parsed:
    text = decode_text(data, file).replace("\r\n", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = [h.strip().upper() for h in lines[0].split(",")]
    if header == _OHLC:
        symbol = symbol_from_name(file)
        if symbol is None:
            raise SourceError(file, 1, "DATE,OPEN,HIGH,LOW,CLOSE does not name its index: "
                              "name the file <SYMBOL>_History.csv (e.g. VIX_History.csv)")
        names = ["date", "open", "high", "low", "close"]
    elif len(header) == 2 and header[0] == "DATE":
        symbol = header[1]
        names = ["date", "close"]
    else:
        raise SourceError(file, 1, f"header {lines[0][:60]!r} is neither DATE,OPEN,HIGH,LOW,CLOSE "
                          "nor DATE,<SYMBOL>")
    body = "\n".join(lines[1:])
    raw = read_lines(body)
    f = read_fields(body, names).with_columns(
        raw=raw, line=pl.int_range(2, 2 + raw.len(), dtype=pl.Int64))
    f = f.filter(pl.col("raw").str.strip_chars(", \t") != "")
    values = [n for n in names if n != "date"]
    f = f.with_columns(
        d=pl.col("date").str.strip_chars().str.strptime(pl.Date, "%m/%d/%Y", strict=False),
        **{f"n_{n}": to_number(n) for n in values},
    )
    checks = [pl.when(pl.col("d").is_null()).then(pl.format("bad date {}", pl.col("date").fill_null("(empty)")))]
    checks += [pl.when(bad_number(n, f"n_{n}")).then(pl.format(f"{n.upper()}: {{}} is not a number", pl.col(n)))
               for n in values]
    checks.append(pl.when(pl.col("n_close").is_null()).then(pl.lit("missing CLOSE")))
    checks.append(pl.when(pl.col("n_close") <= 0).then(pl.format("CLOSE {} is not positive", "n_close")))
    f = f.with_columns(reason=pl.coalesce(checks))
    bad = f.filter(pl.col("reason").is_not_null())
    good = f.filter(pl.col("reason").is_null())

    rows = good.select(
        symbol=pl.lit(symbol),
        date="d",
        open=pl.col("n_open") if "open" in names else pl.lit(None, pl.Float64),
        high=pl.col("n_high") if "high" in names else pl.lit(None, pl.Float64),
        low=pl.col("n_low") if "low" in names else pl.lit(None, pl.Float64),
        close="n_close",
        volume=pl.lit(None, pl.Float64),
        line="line",
    )
    # Cboe's own history has bars whose open or close lies outside [low, high]: keep and flag.
    rows = rows.with_columns(ohlc_flag=pl.when(pl.col("high") < pl.col("low")).then(pl.lit("high<low"))
                             .when((pl.col("open") > pl.col("high")) | (pl.col("open") < pl.col("low")))
                             .then(pl.lit("open outside [low, high]"))
                             .when((pl.col("close") > pl.col("high")) | (pl.col("close") < pl.col("low")))
                             .then(pl.lit("close outside [low, high]")))
    rows = rows.with_columns(first=pl.col("line").first().over("date"))
    dups = rows.filter(pl.col("line") != pl.col("first"))
    rows = rows.filter(pl.col("line") == pl.col("first")).select(list(COLUMNS)).cast(COLUMNS)
    rejects = pl.concat([
        bad.select("line", "raw", "reason"),
        dups.join(f.select("line", "raw"), on="line").select(
            "line", "raw", reason=pl.format("duplicate date: first seen on line {}", "first")),
    ]).sort("line").cast(rejects_frame().schema)
    fatal = None
    if rows.is_empty():
        fatal = SourceError(file, 2 if bad.is_empty() else int(bad["line"][0]),
                            "no readable rows" if bad.is_empty() else f"no readable rows, e.g. {bad['reason'][0]}")
    return Parsed(format=FORMAT_NAME, table=TABLE, rows=rows, rejects=rejects,
                  partition_by=("symbol", "date"), meta={"symbol": symbol}, fatal=fatal)


FORMAT = Format(
    name=FORMAT_NAME,
    source="cboe_index",
    table=TABLE,
    sniff=sniff,
    parse=parse,
    description="Cboe index history (DATE,OPEN,HIGH,LOW,CLOSE or DATE,<SYMBOL>)",
)
