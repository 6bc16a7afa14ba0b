"""Market breadth readers -> raw.breadth (exchange x date): Unicorn per-field files, a generic
breadth CSV, and breadth computed from a constituents' closes file. Never touches the warehouse.

    20140102, 1039            Unicorn Research: no header, one field per file; the field and the
    20140103, 1974            exchange come from the file name (NYSE_advn_2014.csv, NYSE_declv.csv)
    date,exchange,advances,declines,unchanged,up_volume,down_volume,new_highs,new_lows   generic
    date,symbol,close[,volume][,exchange]        constituents' daily closes (breadth is derived)
Rows dated on days the NYSE did not trade (holidays, one stray Saturday in Unicorn's history) are
refused with the reason; sources.calendar knows sessions from 1965, earlier dates are only checked
for weekends.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import PurePath

import polars as pl

from sources import calendar
from sources.base import Format, Parsed, SourceError
from sources.rows import (
    bad_count,
    bad_date,
    body_fields,
    count_of,
    date_of,
    field_count,
    finish,
    first_line,
    header_names,
    not_a_number,
    number,
    stem_tokens,
    text_of,
)

TABLE = "raw.breadth"
UNICORN, GENERIC, CONSTITUENTS = "unicorn_breadth", "breadth_csv", "constituents_closes"

# Unicorn switched its volume files from thousands of shares to shares on this date.
VOLUME_SHARES_FROM = date(2002, 6, 20)
UNICORN_FIELDS = {"advn": "advances", "decln": "declines", "unchn": "unchanged",
                  "advv": "up_volume", "declv": "down_volume", "unchv": "unchanged_volume",
                  "newhi": "new_highs", "newlo": "new_lows"}
# Unicorn-only fields (not in the generic layout's VALUES): NYSE_unchv.csv = unchanged volume.
EXTRA_VOLUMES = ("unchanged_volume",)
VALUES = ("advances", "declines", "unchanged", "up_volume", "down_volume", "new_highs", "new_lows")
COUNTS = ("advances", "declines", "unchanged", "new_highs", "new_lows")
EXCHANGE_ALIASES = {"NAS": "NASDAQ", "NASD": "NASDAQ", "NQ": "NASDAQ", "XNYS": "NYSE",
                    "NY": "NYSE", "ASE": "AMEX", "AM": "AMEX"}
_UNICORN_ROW = re.compile(r"^\d{8},\s*-?\d+(\.\d+)?\s*$")
_UNICORN_NAME = re.compile(r"^(?P<ex>[A-Za-z0-9]*?)[_\-\s.]*(?P<field>advn|decln|unchn|advv|declv|"
                           r"unchv|newhi|newlo)(?![a-z])", re.I)
_ISO_OR_US = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y")
NEW_HIGH_LOOKBACK = 252  # sessions in the 52-week window


def exchange_name(text: str) -> str:
    t = text.strip().upper()
    return EXCHANGE_ALIASES.get(t, t)


def session_reasons(dates: pl.Series) -> dict[date, str]:
    """Why each non-session date in `dates` is refused (sessions are absent from the dict)."""
    out: dict[date, str] = {}
    last = None
    for d in dates.drop_nulls().unique().to_list():
        if d.weekday() >= 5:
            out[d] = f"{d:%A}: not an XNYS session"
        elif d < calendar.FIRST:
            continue  # before the calendar: weekends only
        else:
            last = last or calendar.last_session_date()
            if d > last:
                out[d] = f"beyond the XNYS calendar (ends {last})"
            elif not calendar.is_session(d):
                out[d] = "not an XNYS session (exchange holiday)"
    return out


def _session_check(f: pl.DataFrame, col: str = "d") -> pl.Expr:
    reasons = session_reasons(f[col])
    return pl.col(col).replace_strict(reasons, default=None, return_dtype=pl.String)


def _value_checks(values: list[str]) -> list[pl.Expr]:
    return [e for v in values for e in (not_a_number(v, v), bad_count(v, whole=v in COUNTS))]


def _typed(values: list[str], scale: pl.Expr | None = None) -> dict[str, pl.Expr]:
    """Canonical columns from text; absent values are null (merge keeps what the table has)."""
    out: dict[str, pl.Expr] = {}
    for v in VALUES:
        if v not in values:
            out[v] = pl.lit(None, pl.Int64 if v in COUNTS else pl.Float64)
        elif v in COUNTS:
            out[v] = count_of(v)
        else:
            out[v] = number(v) * (scale if scale is not None else 1.0)
    for v in EXTRA_VOLUMES:
        if v in values:
            out[v] = number(v) * (scale if scale is not None else 1.0)
    return out


# -- Unicorn per-field files ----------------------------------------------------------------------
def sniff_unicorn(head: str) -> bool:
    return bool(_UNICORN_ROW.match(first_line(head)))


def parse_unicorn(data: bytes, file: str = "<bytes>") -> Parsed:
    m = _UNICORN_NAME.search(PurePath(file).name)
    if not m or not m["ex"]:
        raise SourceError(file, None, "a Unicorn breadth file has no header: name it "
                          "<EXCHANGE>_<field>.csv with field one of " + ", ".join(UNICORN_FIELDS))
    field, exchange = UNICORN_FIELDS[m["field"].lower()], exchange_name(m["ex"])
    text = text_of(data, file)
    f = body_fields(text, 0, ["date", field]).with_columns(d=date_of("date", "%Y%m%d"))
    f = f.with_columns(reason=pl.coalesce([
        field_count(2), bad_date("date", pl.col("d")), *_value_checks([field]), _session_check(f)]))
    scale = None
    if field in ("up_volume", "down_volume", *EXTRA_VOLUMES):
        scale = pl.when(pl.col("d") < VOLUME_SHARES_FROM).then(1000.0).otherwise(1.0)
    good = f.filter(pl.col("reason").is_null())
    rows = good.select(exchange=pl.lit(exchange), date="d", **_typed([field], scale), line="line")
    meta = {"exchange": exchange, "field": field,
            "volume_in_thousands_rows": (good.filter(pl.col("d") < VOLUME_SHARES_FROM).height
                                         if scale is not None else 0)}
    # One column per file: merge it into the (exchange, date) row the other files fill.
    return finish(format=UNICORN, table=TABLE, file=file, checked=f, rows=rows, keys=("date",),
                  partition_by=("exchange", "date"), ends_clean=text.endswith("\n"), ncols=2,
                  meta=meta, mode="merge")


# -- generic breadth CSV ----------------------------------------------------------------------------
def sniff_generic(head: str) -> bool:
    cols = first_line(head).lower().replace(" ", "").split(",")
    return cols[:2] == ["date", "exchange"] and any(c in VALUES for c in cols[2:])


def parse_generic(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    header = header_names(text.split("\n", 1)[0])
    values = [h for h in header if h in VALUES]
    if header[:2] != ["date", "exchange"] or not values:
        raise SourceError(file, 1, "header must start date,exchange and name breadth columns "
                          f"({', '.join(VALUES)})")
    names = [h if h in (*VALUES, "date", "exchange") else f"x{i}" for i, h in enumerate(header)]
    f = body_fields(text, 1, names).with_columns(d=date_of("date", *_ISO_OR_US))
    f = f.with_columns(reason=pl.coalesce([
        field_count(len(names)), bad_date("date", pl.col("d")),
        pl.when(pl.col("exchange").fill_null("") == "").then(pl.lit("missing exchange")),
        *_value_checks(values), _session_check(f)]))
    good = f.filter(pl.col("reason").is_null())
    exchanges = {e: exchange_name(e) for e in good["exchange"].unique().to_list()}
    rows = good.select(exchange=pl.col("exchange").replace_strict(exchanges, return_dtype=pl.String),
                       date="d", **_typed(values), line="line")
    full = len(values) == len(VALUES)
    return finish(format=GENERIC, table=TABLE, file=file, checked=f, rows=rows,
                  keys=("exchange", "date"), partition_by=("exchange", "date"),
                  ends_clean=text.endswith("\n"), ncols=len(names),
                  meta={"columns": values}, mode="replace" if full else "merge")


# -- breadth from constituents' closes ---------------------------------------------------------------
def sniff_constituents(head: str) -> bool:
    cols = first_line(head).lower().replace(" ", "").split(",")
    return cols[:3] == ["date", "symbol", "close"] and set(cols[3:]) <= {"volume", "exchange"}


def parse_constituents(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    header = header_names(text.split("\n", 1)[0])
    if header[:3] != ["date", "symbol", "close"]:
        raise SourceError(file, 1, "header must be date,symbol,close[,volume][,exchange]")
    f = body_fields(text, 1, header).with_columns(d=date_of("date", *_ISO_OR_US),
                                                  px=number("close"))
    has_vol, has_ex = "volume" in header, "exchange" in header
    if not has_ex:
        tokens = stem_tokens(file)
        if not tokens:
            raise SourceError(file, None, "no exchange column and no universe in the file name "
                              "(<UNIVERSE>_closes.csv)")
        f = f.with_columns(exchange=pl.lit(exchange_name(tokens[0])))
    f = f.with_columns(reason=pl.coalesce([
        field_count(len(header)), bad_date("date", pl.col("d")),
        pl.when(pl.col("symbol").fill_null("") == "").then(pl.lit("missing symbol")),
        not_a_number("close", "close"),
        pl.when(pl.col("px").is_null()).then(pl.lit("missing close")),
        pl.when(pl.col("px") <= 0).then(pl.format("close {} is not positive", "px")),
        *([not_a_number("volume", "volume")] if has_vol else []),
        _session_check(f)]))
    good = f.filter(pl.col("reason").is_null())
    names = {e: exchange_name(e or "") for e in good["exchange"].unique().to_list()}
    good = good.with_columns(exchange=pl.col("exchange").replace_strict(names, return_dtype=pl.String))
    # A (date, symbol) printed twice keeps its first line.
    good = good.sort("line").with_columns(_first=pl.col("line").first().over("exchange", "symbol", "d"))
    dups = good.filter(pl.col("line") != pl.col("_first")).select(
        "line", "raw", reason=pl.format("duplicate (date, symbol): first seen on line {}", "_first"))
    good = good.filter(pl.col("line") == pl.col("_first"))

    by = ["exchange", "symbol"]
    prior = pl.col("px").shift(1)
    per = good.sort("exchange", "symbol", "d").with_columns(
        chg=(pl.col("px") - prior).over(by),
        hi=prior.rolling_max(NEW_HIGH_LOOKBACK, min_samples=NEW_HIGH_LOOKBACK).over(by),
        lo=prior.rolling_min(NEW_HIGH_LOOKBACK, min_samples=NEW_HIGH_LOOKBACK).over(by),
        vol=number("volume") if has_vol else pl.lit(None, pl.Float64),
    )
    daily = per.group_by("exchange", "d").agg(
        advances=(pl.col("chg") > 0).sum(), declines=(pl.col("chg") < 0).sum(),
        unchanged=(pl.col("chg") == 0).sum(), compared=pl.col("chg").is_not_null().sum(),
        up_volume=pl.when(pl.col("chg") > 0).then(pl.col("vol")).sum(),
        down_volume=pl.when(pl.col("chg") < 0).then(pl.col("vol")).sum(),
        new_highs=(pl.col("px") > pl.col("hi")).sum(), new_lows=(pl.col("px") < pl.col("lo")).sum(),
        windowed=pl.col("hi").is_not_null().sum(), line=pl.col("line").min(),
    )
    # A day no symbol can be compared with its previous close has no breadth (the file's first).
    skipped = daily.filter(pl.col("compared") == 0).height
    daily = daily.filter(pl.col("compared") > 0)
    rows = daily.select(
        "exchange", date="d", advances="advances", declines="declines", unchanged="unchanged",
        up_volume=pl.col("up_volume") if has_vol else pl.lit(None, pl.Float64),
        down_volume=pl.col("down_volume") if has_vol else pl.lit(None, pl.Float64),
        # New 52-week highs/lows only where some symbol has 252 prior closes.
        new_highs=pl.when(pl.col("windowed") > 0).then(pl.col("new_highs")),
        new_lows=pl.when(pl.col("windowed") > 0).then(pl.col("new_lows")),
        line="line",
    )
    meta = {"symbols": good["symbol"].n_unique(), "days_without_previous_close": skipped,
            "exchanges": sorted(good["exchange"].unique().to_list())}
    return finish(format=CONSTITUENTS, table=TABLE, file=file, checked=f, rows=rows,
                  keys=("exchange", "date"), partition_by=("exchange", "date"),
                  ends_clean=text.endswith("\n"), ncols=len(header), meta=meta, extra_rejects=dups)


FORMATS = [
    Format(name=UNICORN, source="breadth", table=TABLE, sniff=sniff_unicorn, parse=parse_unicorn,
           description="Unicorn Research per-field breadth file (YYYYMMDD, value; no header)"),
    Format(name=GENERIC, source="breadth", table=TABLE, sniff=sniff_generic, parse=parse_generic,
           description="breadth CSV (date,exchange,advances,declines,unchanged,up_volume,...)"),
    Format(name=CONSTITUENTS, source="breadth", table=TABLE, sniff=sniff_constituents,
           parse=parse_constituents, description="constituents' closes (date,symbol,close) -> breadth"),
]
