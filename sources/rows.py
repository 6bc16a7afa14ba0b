"""Shared steps of the line-oriented vendor readers: text -> numbered fields -> checked rows.

Holds CSV mechanics, the canonical column sets of the raw tables these readers fill, and the
assembly of a `Parsed`; it knows nothing about any one vendor.
"""

from __future__ import annotations

import re
from pathlib import PurePath

import polars as pl

from sources.base import Parsed, SourceError, bad_number, decode_text, rejects_frame, to_number

# Canonical columns per raw table (warehouse/ddl/10_raw.sql) as the readers produce them:
# lineage file_id/batch_id is added at ingest, `line` is the 1-based source line.
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "raw.index_bars": {
        "symbol": pl.String(), "date": pl.Date(), "open": pl.Float64(), "high": pl.Float64(),
        "low": pl.Float64(), "close": pl.Float64(), "volume": pl.Float64(),
        "ohlc_flag": pl.String(), "line": pl.Int64(),
    },
    "raw.vx_futures": {
        "trade_date": pl.Date(), "expiry": pl.Date(), "contract": pl.String(),
        "weekly": pl.Boolean(), "open": pl.Float64(), "high": pl.Float64(), "low": pl.Float64(),
        "close": pl.Float64(), "settle": pl.Float64(), "volume": pl.Int64(),
        "open_interest": pl.Int64(), "price_flag": pl.String(), "line": pl.Int64(),
    },
    "raw.funding_rates": {
        "venue": pl.String(), "symbol": pl.String(), "funding_ts": pl.Datetime("us"),
        "interval_h": pl.Int32(), "rate": pl.Float64(), "mark_price": pl.Float64(),
        "index_price": pl.Float64(), "premium": pl.Float64(),
        "open_interest_usd": pl.Float64(), "line": pl.Int64(),
    },
    "raw.breadth": {  # unchanged_volume: OPTIONAL
        "exchange": pl.String(), "date": pl.Date(), "advances": pl.Int64(),
        "declines": pl.Int64(), "unchanged": pl.Int64(), "up_volume": pl.Float64(),
        "down_volume": pl.Float64(), "unchanged_volume": pl.Float64(), "new_highs": pl.Int64(),
        "new_lows": pl.Int64(),
        "line": pl.Int64(),
    },
    "raw.macro_events": {
        "date": pl.Date(), "event": pl.String(), "time_et": pl.String(), "line": pl.Int64(),
    },
    "raw.macro_series": {
        "series_id": pl.String(), "date": pl.Date(), "value": pl.Float64(), "line": pl.Int64(),
    },
}


# Reasons for rows a vendor format refuses by design (see Parsed.expected_rejects).
EXPECTED_REJECTS = r"^placeholder row|not an XNYS session"

def text_of(data: bytes, file: str) -> str:
    """The file as text: BOM dropped, CRLF and lone CR turned into LF."""
    text = decode_text(data, file).lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def head_lines(text: str, n: int = 40) -> list[str]:
    """The first `n` lines (for locating headers and preambles)."""
    return text[: 64 * 1024].split("\n")[:n]


def header_names(line: str, *, lower: bool = True) -> list[str]:
    """A header line's column names: blanks and double quotes stripped, lower-cased by default."""
    names = [h.strip().strip('"').strip() for h in line.lstrip("\ufeff").split(",")]
    return [n.lower() for n in names] if lower else names


def first_line(head: str) -> str:
    """The sniffer's view of the first line: BOM, quotes and trailing blanks/commas removed."""
    line = head.lstrip("\ufeff").split("\n", 1)[0]
    return line.replace('"', "").rstrip("\r\t ,")


def body_fields(text: str, start: int, names: list[str], sep: str = ",") -> pl.DataFrame:
    """Lines `start`.. (0-based) split into string columns `names`, one row per non-blank line.

    Columns: `raw` (the line), `line` (1-based), `nfields`, then `names` (stripped of blanks and
    surrounding double quotes; a missing field is null). No CSV quoting: vendor files here have
    none, and a stray quote must not swallow the rest of the file.
    """
    pos = 0
    for _ in range(start):
        nxt = text.find("\n", pos)
        if nxt < 0:
            pos = len(text)
            break
        pos = nxt + 1
    body = text[pos:]
    if body.endswith("\n"):
        body = body[:-1]
    schema = {"raw": pl.String(), "line": pl.Int64(), "nfields": pl.Int64(),
              **{n: pl.String() for n in names}}
    if not body:
        return pl.DataFrame(schema=schema)
    raw = pl.Series("raw", [body], dtype=pl.String()).str.split("\n").explode()
    parts = raw.str.split(sep)
    f = pl.DataFrame({"raw": raw}).with_columns(
        line=pl.int_range(start + 1, start + 1 + raw.len(), dtype=pl.Int64),
        nfields=parts.list.len().cast(pl.Int64),
        **{n: parts.list.get(i, null_on_oob=True).str.strip_chars(' \t"') for i, n in enumerate(names)},
    )
    return f.filter(pl.col("raw").str.strip_chars(sep + ' \t"') != "").select(list(schema))


def number(col: str) -> pl.Expr:
    """A field as Float64 (blank or non-numeric -> null); see `not_a_number` for the check.
    No thousands separators: a comma is always a field separator in these files."""
    return to_number(col, thousands=False)


def not_a_number(text_col: str, label: str | None = None) -> pl.Expr:
    """A reason when the field holds text that is not a finite number (blank is not an error)."""
    bad = bad_number(text_col, number(text_col))  # the one non-number rule (sources/base.py)
    return pl.when(bad).then(pl.format(f"{label or text_col}: {{}} is not a number", pl.col(text_col)))


# Larger than any count or volume a vendor prints: beyond it a field is garbage, not a number.
MAX_COUNT = 1e15


def count_of(col: str) -> pl.Expr:
    """A count field (volume, open interest, issues) as Int64; see `bad_count` for the checks."""
    return number(col).round().cast(pl.Int64, strict=False)


def bad_count(col: str, label: str | None = None, *, whole: bool = True) -> pl.Expr:
    """A reason when a count is negative, not whole (when `whole`) or absurdly large."""
    v, name = number(col), label or col
    return (pl.when(v < 0).then(pl.format(f"{name} {{}} is negative", pl.col(col)))
            .when(v.abs() >= MAX_COUNT).then(pl.format(f"{name} {{}} is out of range", pl.col(col)))
            .when(pl.lit(whole) & (v != v.round()))
            .then(pl.format(f"{name} {{}} is not a whole count", pl.col(col))))


def date_of(col: str, *formats: str) -> pl.Expr:
    """A date field tried against each strptime format in turn (null when none fits)."""
    txt = pl.col(col)
    return pl.coalesce([txt.str.strptime(pl.Date, f, strict=False) for f in formats])


def bad_date(col: str, parsed: pl.Expr, label: str = "date") -> pl.Expr:
    return pl.when(parsed.is_null()).then(
        pl.format(f"bad {label} {{}}", pl.col(col).fill_null("(empty)")))


def field_count(ncols: int, *, at_least: int | None = None) -> pl.Expr:
    """A reason for rows with too few fields (more than `ncols` is tolerated: trailing commas)."""
    need = ncols if at_least is None else at_least
    return pl.when(pl.col("nfields") < need).then(
        pl.format("truncated row: {} of {} fields", pl.col("nfields"), pl.lit(ncols)))


OPTIONAL = frozenset({"unchanged_volume"})  # columns only some readers of a table fill


def finish(
    *,
    format: str,
    table: str,
    file: str,
    checked: pl.DataFrame,
    rows: pl.DataFrame,
    keys: tuple[str, ...],
    partition_by: tuple[str, ...],
    ends_clean: bool = True,
    ncols: int | None = None,
    meta: dict | None = None,
    mode: str = "replace",
    columns: dict[str, pl.DataType] | None = None,
    extra_rejects: pl.DataFrame | None = None,
) -> Parsed:
    """Assemble a Parsed from the checked input frame and the good rows built from it.

    `checked` has raw/line/nfields/reason for every data line; `rows` holds the canonical rows
    of the lines whose reason is null (plus `line`). A key seen again keeps its first line; later
    copies are refused. The file is fatal when it has no good row, or when its last line is cut
    short without a final newline (a truncated download).
    """
    columns = columns or SCHEMAS[table]
    rows = rows.sort("line").with_columns(_first=pl.col("line").first().over(list(keys)))
    dups = rows.filter(pl.col("line") != pl.col("_first"))
    rows = rows.filter(pl.col("line") == pl.col("_first"))
    bad = checked.filter(pl.col("reason").is_not_null())
    key_label = ", ".join(keys)
    parts = [bad.select("line", "raw", "reason")]
    if dups.height:
        parts.append(dups.join(checked.select("line", "raw"), on="line", how="left").select(
            "line", "raw", reason=pl.format(f"duplicate ({key_label}): first seen on line {{}}", "_first")))
    if extra_rejects is not None and extra_rejects.height:
        parts.append(extra_rejects.select("line", "raw", "reason"))
    rejects = pl.concat(parts).sort("line").cast(rejects_frame().schema)
    expected = rejects.filter(pl.col("reason").str.contains(EXPECTED_REJECTS)).height

    fatal = None
    if not ends_clean and ncols and bad.height and checked.height:
        last = checked.row(checked.height - 1, named=True)
        if last["reason"] is not None and last["nfields"] < ncols:
            fatal = SourceError(file, last["line"], f"file is truncated: the last row has "
                                f"{last['nfields']} of {ncols} fields")
    if rows.is_empty() and fatal is None:
        if rejects.is_empty():
            fatal = SourceError(file, None, "no data rows")
        else:
            fatal = SourceError(file, int(rejects["line"][0]),
                                f"no readable rows ({rejects.height} refused), e.g. {rejects['reason'][0]}")
    # A nullable column a reader does not produce (Unicorn's unchanged volume) comes out null.
    rows = rows.with_columns(pl.lit(None, dt).alias(c) for c, dt in columns.items()
                             if c not in rows.columns and c in OPTIONAL)
    rows = rows.select(list(columns)).cast(columns)
    return Parsed(format=format, table=table, rows=rows, rejects=rejects,
                  partition_by=partition_by, meta=meta or {}, fatal=fatal, mode=mode,
                  expected_rejects=expected)


def stem_tokens(file: str) -> list[str]:
    """The file name's stem split on _ - . and blanks (`^GSPC` keeps its caret)."""
    stem = PurePath(file).name
    stem = re.sub(r"\.(csv|txt|json|tsv)$", "", stem, flags=re.I)
    return [t for t in re.split(r"[_\-.\s]+", stem.replace("%5E", "^")) if t]


# Vendor tickers of the indices the pipeline uses -> canonical raw.index_bars symbols.
INDEX_ALIASES: dict[str, str] = {
    "^GSPC": "SPX", "GSPC": "SPX", "^SPX": "SPX", "SPX": "SPX", "$SPX": "SPX", "SPX.X": "SPX",
    "^VIX": "VIX", "VIX": "VIX", "$VIX": "VIX", "VIX.X": "VIX",
    "^VIX3M": "VIX3M", "VIX3M": "VIX3M", "^VXV": "VIX3M", "VXV": "VIX3M",
    "^VIX9D": "VIX9D", "VIX9D": "VIX9D", "^VXST": "VIX9D", "VXST": "VIX9D",
    "^VIX6M": "VIX6M", "VIX6M": "VIX6M", "^VIX1D": "VIX1D", "VIX1D": "VIX1D",
    "^VVIX": "VVIX", "VVIX": "VVIX", "^SKEW": "SKEW", "SKEW": "SKEW",
    "^NDX": "NDX", "NDX": "NDX", "^RUT": "RUT", "RUT": "RUT", "^DJI": "DJI", "DJI": "DJI",
    "^IXIC": "IXIC", "^XSP": "XSP", "XSP": "XSP",
}


def canonical_index(ticker: str) -> str:
    """`^GSPC` / `^SPX` / `spx` -> SPX; an unknown ticker comes back upper-cased, caret kept."""
    t = ticker.strip().upper()
    return INDEX_ALIASES.get(t, INDEX_ALIASES.get(t.lstrip("^$"), t))


def range_flags(o: pl.Expr, h: pl.Expr, lo: pl.Expr, c: pl.Expr) -> list[pl.Expr]:
    """Reasons a bar is suspect though kept: high < low, open or close outside [low, high]."""
    return [
        pl.when(h < lo).then(pl.lit("high<low")),
        pl.when((o > h) | (o < lo)).then(pl.lit("open outside [low, high]")),
        pl.when((c > h) | (c < lo)).then(pl.lit("close outside [low, high]")),
    ]


def join_flags(flags: list[pl.Expr]) -> pl.Expr:
    """Every applicable flag, '; '-joined; null when none applies."""
    joined = pl.concat_str(flags, separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def zero_as_missing(col: str) -> pl.Expr:
    return pl.when(pl.col(col) == 0).then(None).otherwise(pl.col(col)).alias(col)


def ohlc_checked(open_: str = "open", high: str = "high", low: str = "low",
                 close: str = "close") -> list[pl.Expr]:
    """Bar columns cleaned and flagged: zero open/high/low mean 'not reported' (null, flagged);
    a bar whose open or close lies outside [low, high] is kept with the reason in `ohlc_flag`."""
    o, h, lo = (zero_as_missing(x) for x in (open_, high, low))
    zero = ((pl.col(open_) == 0) | (pl.col(high) == 0) | (pl.col(low) == 0)).fill_null(False)
    flag = join_flags([pl.when(zero).then(pl.lit("zero open/high/low read as missing")),
                       *range_flags(o, h, lo, pl.col(close))])
    return [o, h, lo, flag.alias("ohlc_flag")]
