"""Macro readers: an event calendar CSV -> raw.macro_events, FRED CSV -> raw.macro_series.

Recognised by header (and ISO dates for FRED, whose old `DATE,<SERIES>` header is Cboe's too).
Never touches the warehouse.

    date,event,time_et          one release per row; time_et optional (`08:30`, `2:00 PM`, blank)
    2024-01-11,CPI,08:30
    observation_date,DGS10      FRED download (older files: `DATE,DGS10`); '.' = no observation
    2024-01-01,.                several series may share the file (one column each)
"""

from __future__ import annotations

import re

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.rows import (
    bad_date,
    body_fields,
    date_of,
    field_count,
    finish,
    first_line,
    header_names,
    not_a_number,
    number,
    text_of,
)

EVENTS, FRED = "macro_events_csv", "fred_csv"
_EVENT = re.compile(r"^[A-Z0-9][A-Z0-9 &/()._+-]{0,39}$")
# Case matters: FRED prints `observation_date` (or `DATE`) and upper-case series ids, which keeps
# `date,event` and Stooq/Yahoo's `Date,...` out.
_FRED_HEADER = re.compile(r"^(observation_date|DATE),([A-Z0-9_]+)(,[A-Z0-9_]+)*$")
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*,")
_DATES = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d")


# -- event calendar ---------------------------------------------------------------------------------
def sniff_events(head: str) -> bool:
    cols = first_line(head).lower().replace(" ", "").split(",")
    return cols[:2] == ["date", "event"]


def _time_et(col: str) -> pl.Expr:
    """`8:30`, `08:30`, `2:00 PM`, `14:00:00` -> `HH:MM`; blank -> null; else `?` (refused)."""
    t = pl.col(col).str.strip_chars().str.to_uppercase()
    parts = t.str.extract_groups(r"^(\d{1,2}):(\d{2})(?::\d{2})?\s*(AM|PM)?$")
    h = parts.struct.field("1").cast(pl.Int32, strict=False)
    m = parts.struct.field("2").cast(pl.Int32, strict=False)
    ap = parts.struct.field("3")
    h24 = (pl.when((ap == "PM") & (h < 12)).then(h + 12)
           .when((ap == "AM") & (h == 12)).then(0).otherwise(h))
    ok = h.is_not_null() & (m < 60) & (h24 < 24) & (ap.is_null() | ((h >= 1) & (h <= 12)))
    text = pl.format("{}:{}", h24.cast(pl.String).str.zfill(2), m.cast(pl.String).str.zfill(2))
    return pl.when(t.is_null() | (t == "")).then(None).when(ok).then(text).otherwise(pl.lit("?"))


def parse_events(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    header = header_names(text.split("\n", 1)[0])
    if header[:2] != ["date", "event"]:
        raise SourceError(file, 1, "header must start date,event[,time_et]")
    names = [h if h in ("date", "event", "time_et") else f"x{i}" for i, h in enumerate(header)]
    f = body_fields(text, 1, names)
    if "time_et" not in names:
        f = f.with_columns(time_et=pl.lit(None, pl.String))
    f = f.with_columns(d=date_of("date", *_DATES),
                       ev=pl.col("event").str.strip_chars().str.to_uppercase(),
                       t=_time_et("time_et"))
    f = f.with_columns(reason=pl.coalesce([
        field_count(len(names), at_least=2),
        bad_date("date", pl.col("d")),
        pl.when(pl.col("ev").fill_null("") == "").then(pl.lit("missing event")),
        pl.when(~pl.col("ev").str.contains(_EVENT.pattern))
        .then(pl.format("event name {} is not a short code (CPI, FOMC, NFP ...)", "event")),
        pl.when(pl.col("t") == "?").then(pl.format("bad time_et {} (want HH:MM, New York)", "time_et")),
    ]))
    rows = f.filter(pl.col("reason").is_null()).select(date="d", event="ev", time_et="t", line="line")
    return finish(format=EVENTS, table="raw.macro_events", file=file, checked=f, rows=rows,
                  keys=("date", "event"), partition_by=("date", "event"),
                  ends_clean=text.endswith("\n"), ncols=2,
                  meta={"events": sorted(rows["event"].unique().to_list())})


# -- FRED ---------------------------------------------------------------------------------------------
def sniff_fred(head: str) -> bool:
    line = first_line(head)
    if not _FRED_HEADER.match(line):
        return False
    if line.startswith("observation_date,"):
        return True
    data = next((ln for ln in head.replace("\r", "").split("\n")[1:] if ln.strip()), "")
    return data == "" or bool(_ISO.match(data))  # Cboe's DATE,SPX prints US dates


def parse_fred(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    header = header_names(text.split("\n", 1)[0], lower=False)
    if not _FRED_HEADER.match(",".join(header)):
        raise SourceError(file, 1, "header must be observation_date,<SERIES>[,<SERIES>...]")
    series = [s.upper() for s in header[1:]]
    names = ["date", *[f"s{i}" for i in range(len(series))]]
    f = body_fields(text, 1, names).with_columns(d=date_of("date", "%Y-%m-%d"))
    # One output row per (series, date): reshape wide files, keep the line of each value.
    long = pl.concat([
        f.select("raw", "line", "nfields", "d", "date", series_id=pl.lit(s), v=pl.col(f"s{i}"))
        for i, s in enumerate(series)
    ])
    long = long.with_columns(v=pl.when(pl.col("v") == ".").then(pl.lit("")).otherwise(pl.col("v")))
    prefix = pl.lit("") if len(series) == 1 else pl.col("series_id") + pl.lit(": ")
    long = long.with_columns(reason=pl.coalesce([
        field_count(len(names)),
        bad_date("date", pl.col("d")),
        pl.when(not_a_number("v", "value").is_not_null()).then(prefix + not_a_number("v", "value")),
    ]))
    rows = long.filter(pl.col("reason").is_null()).select(
        series_id="series_id", date="d", value=number("v"), line="line")
    checked = long.group_by("line", maintain_order=True).agg(
        pl.col("raw").first(), pl.col("nfields").first(), pl.col("reason").drop_nulls().first())
    return finish(format=FRED, table="raw.macro_series", file=file, checked=checked, rows=rows,
                  keys=("series_id", "date"), partition_by=("series_id", "date"),
                  ends_clean=text.endswith("\n"), ncols=len(names),
                  meta={"series": series,
                        "missing_values": int(rows["value"].is_null().sum())})


FORMATS = [
    Format(name=FRED, source="macro", table="raw.macro_series", sniff=sniff_fred, parse=parse_fred,
           description="FRED CSV (observation_date,<SERIES> or DATE,<SERIES>; '.' = missing)"),
    Format(name=EVENTS, source="macro", table="raw.macro_events", sniff=sniff_events,
           parse=parse_events, description="macro event calendar CSV (date,event[,time_et])"),
]
