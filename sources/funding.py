"""Perpetual funding readers -> raw.funding_rates: the CSV layouts and the rules every venue shares.

Shared: symbols normalised to the base asset, funding_ts floored to the UTC hour, interval_h always
set (from the row, the venue, or the observed spacing - never an assumed 8 h). Never touches the
warehouse; the JSON API shapes live in sources/funding_json.py.

CSV layouts:
    calc_time,funding_interval_hours,last_funding_rate      Binance archive (data.binance.vision),
    1704067200000,8,0.00037409                              with or without the header line
    funding_time,funding_rate                               Binance /fapi/v1/fundingRate saved as CSV
    1673740800010,0.00013712                                (ms epoch with 0-29 ms jitter)
    timestamp,symbol,funding_rate,mark_price                a Hyperliquid collector's snapshots of
    2026-02-04T21:19:43.348876+00:00,BTC,1.25e-05,73306.0   the current hourly rate
    Symbol,Date,Funding Rate                                a history fetcher's per-venue file
    BTC-USDT,2020-01-01 03:00:00.000,-0.00012359            (<PAIR>_<venue>_<from>_<to>_funding_history.csv)
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePath

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.rows import (
    SCHEMAS,
    body_fields,
    field_count,
    finish,
    header_names,
    not_a_number,
    number,
    text_of,
)

TABLE = "raw.funding_rates"
COLUMNS = SCHEMAS[TABLE]

# Hours per funding interval where the venue fixes it for every market.
FIXED_INTERVAL_H = {"hyperliquid": 1, "dydx": 1}
# Only for a lone row whose spacing cannot be observed: the venue's standard interval.
VENUE_DEFAULT_H = {"binance": 8, "bybit": 8, "okx": 8, "hyperliquid": 1, "dydx": 1, "gate": 8}
VENUES = ("binance", "bybit", "okx", "hyperliquid", "dydx", "gate")
# Venues whose 8-hourly funding settles at 00/08/16 UTC: a history file stamped at other hours
# was written in a fixed local zone (the collector's), recovered from the hours it prints.
SETTLES_ON_8H_UTC = ("binance", "bybit", "okx", "gate")
ALLOWED_H = (1, 2, 4, 8)
# No venue lets a perpetual pay more than a few percent per interval: 10 % is a broken row.
MAX_ABS_RATE = 0.1
_EARLIEST, _LATEST = datetime(2015, 1, 1), datetime(2100, 1, 1)
_LATEST_MS = 4_102_444_800_000  # 2100-01-01 in ms
_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDE", "USD", "PERP")
_ARCHIVE_HEADER = "calc_time,funding_interval_hours,last_funding_rate"
_ARCHIVE_ROW = re.compile(r"^\d{10,13},\d{1,2},-?[0-9.eE+-]+,?$")
_REST_CSV = re.compile(r"^funding_time,funding_rate(,|$)")
_SNAPSHOT = re.compile(r"^timestamp,symbol,funding_rate(,|$)")
_NAME_SYMBOL = re.compile(r"([A-Z0-9]{2,20}?(?:USDT|USDC|BUSD|USD)(?:_PERP)?)-fundingRate", re.I)
_TOKEN_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}?(?:USDT|USDC|BUSD|FDUSD|USD)$")


# -- shared rules -----------------------------------------------------------------------------------
def base_asset(symbol: str) -> str:
    """BTCUSDT, BTC-USD, BTC-USDT-SWAP, BTC/USDT:USDT, BTCUSD_PERP, ETHPERP -> BTC / ETH."""
    s = symbol.strip().upper().split(":")[0]
    s = re.split(r"[/\-]", s)[0]
    s = re.sub(r"_PERP$|_SWAP$", "", s)
    for q in _QUOTES:
        if s.endswith(q) and len(s) > len(q):
            return s[: -len(q)]
    return s


def venue_from_name(file: str) -> str | None:
    name = PurePath(file).name.lower()
    return next((v for v in VENUES if v in name), None)


def symbol_from_name(file: str) -> str | None:
    """`BTCUSDT-fundingRate-2024-01.csv`, `binance_rest_BTCUSDT_fundingTime.csv` -> BTCUSDT."""
    name = PurePath(file).name
    if m := _NAME_SYMBOL.search(name):
        return m.group(1).upper()
    tokens = re.split(r"[_\-.\s]+", name.upper())
    return next((t for t in tokens if _TOKEN_SYMBOL.match(t)), None)


def epoch_ms(col: str) -> pl.Expr:
    """An epoch field (ms, or s when it has 10 digits or fewer) as a UTC Datetime."""
    n = pl.col(col).str.strip_chars().cast(pl.Int64, strict=False)
    ms = pl.when(n.abs() < 100_000_000_000).then(n * 1000).otherwise(n)
    # Out-of-range epochs must become null here: casting them makes polars panic.
    ms = pl.when((ms >= 0) & (ms < _LATEST_MS)).then(ms)
    return ms.cast(pl.Datetime("ms")).cast(pl.Datetime("us"))


def iso_utc(col: str) -> pl.Expr:
    """ISO 8601 text (`...Z`, `+00:00` or no zone, which is read as UTC) as a naive UTC Datetime."""
    t = pl.col(col).str.strip_chars().str.replace(r"[Zz]$", "+00:00").str.replace(" ", "T")
    aware = t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", strict=False, time_unit="us")
    naive = t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
    return pl.coalesce(aware.dt.replace_time_zone(None), naive).cast(pl.Datetime("us"))


def _intervals(good: pl.DataFrame) -> pl.DataFrame:
    """interval_h and where it came from, per event (rows sorted by venue, base, funding_ts).

    A venue with a fixed interval gives it. Otherwise the hours since the series' previous event
    when that is a funding interval (1, 2, 4, 8); for the first event its successor's spacing; over
    a missing event (a 16 h gap) the series' most common spacing; a lone event the venue standard.
    """
    series = ["venue", "base"]
    gap = (pl.col("funding_ts").diff().dt.total_minutes() / 60).round().cast(pl.Int64).over(series)
    g = good.with_columns(_gap=gap).with_columns(_next=pl.col("_gap").shift(-1).over(series))
    allowed = list(ALLOWED_H)
    modal = (g.filter(pl.col("_gap").is_in(allowed))
             .group_by(series).agg(_modal=pl.col("_gap").mode().min()))
    g = g.join(modal, on=series, how="left")
    fixed = pl.col("venue").replace_strict(FIXED_INTERVAL_H, default=None, return_dtype=pl.Int64)
    default = pl.col("venue").replace_strict(VENUE_DEFAULT_H, default=0, return_dtype=pl.Int64)
    spacing = (pl.when(pl.col("_gap").is_in(allowed)).then(pl.col("_gap"))
               .when(pl.col("_gap").is_null() & pl.col("_next").is_in(allowed)).then(pl.col("_next"))
               .otherwise(pl.col("_modal")))
    return g.with_columns(
        _interval=pl.coalesce(fixed, spacing, default),
        _src=pl.when(fixed.is_not_null()).then(pl.lit("venue"))
        .when(spacing.is_not_null()).then(pl.lit("spacing")).otherwise(pl.lit("venue default")),
    ).drop("_gap", "_next", "_modal")


def finish_funding(f: pl.DataFrame, *, file: str, format: str, meta: dict,
                   snapshot: bool = False, ncols: int | None = None,
                   ends_clean: bool = True) -> Parsed:
    """Check and normalise a frame of funding events into a Parsed.

    `f` holds per input row: raw, line, venue, symbol (venue spelling), ts (UTC Datetime, null when
    unreadable), ts_text, rate (text), and optionally interval_h, mark_price, index_price, premium,
    open_interest_usd (text) and a prior `reason`. `snapshot=True` reads rows as sub-hourly
    snapshots of the current hourly rate: the last one in each hour is that hour's settlement,
    stamped at the hour it settles (the same instant a venue's funding history reports).
    """
    opt = ("interval_h", "mark_price", "index_price", "premium", "open_interest_usd")
    f = f.with_columns(**{c: pl.lit(None, pl.String) for c in (*opt, "reason") if c not in f.columns})
    symbols = {s: base_asset(s) for s in f["symbol"].drop_nulls().unique().to_list()}
    f = f.with_columns(
        base=pl.col("symbol").replace_strict(symbols, default=None, return_dtype=pl.String),
        n_rate=number("rate"),
        n_interval=number("interval_h"),
        **{f"n_{c}": number(c) for c in opt[1:]},
    )
    f = f.with_columns(reason=pl.coalesce([
        pl.col("reason"),
        *([field_count(ncols)] if ncols else []),
        pl.when(pl.col("ts").is_null()).then(pl.format("bad time {}", pl.col("ts_text").fill_null("(empty)"))),
        pl.when((pl.col("ts") < _EARLIEST) | (pl.col("ts") >= _LATEST))
        .then(pl.format("time {} is outside 2015..2100", "ts")),
        pl.when(pl.col("base").is_null() | (pl.col("base") == "")).then(pl.lit("missing symbol")),
        not_a_number("rate", "funding rate"),
        pl.when(pl.col("n_rate").is_null()).then(pl.lit("missing funding rate")),
        pl.when(pl.col("n_rate").abs() >= MAX_ABS_RATE)
        .then(pl.format("funding rate {} is not a per-interval rate (|rate| >= 0.1)", "n_rate")),
        not_a_number("interval_h", "funding interval"),
        pl.when(pl.col("n_interval").is_not_null() & ~pl.col("n_interval").is_in([float(h) for h in range(1, 25)]))
        .then(pl.format("funding interval {} h is not a whole number of hours in 1..24", "n_interval")),
        *[not_a_number(c, c) for c in opt[1:]],
    ]))
    good = f.filter(pl.col("reason").is_null()).with_columns(
        funding_ts=pl.col("ts").dt.truncate("1h") + pl.duration(hours=1 if snapshot else 0),
    )
    collapsed = 0
    if snapshot:
        # Keep the last snapshot of each hour: the rate that settled (earlier ones were estimates).
        last = good.sort("ts", "line").group_by("venue", "base", "funding_ts", maintain_order=True).agg(
            pl.col("line").last())
        collapsed = good.height - last.height
        good = good.join(last, on=["venue", "base", "funding_ts", "line"], how="semi")
    # interval_h: the row's own, else the venue's fixed one, else the observed spacing.
    good = _intervals(good.sort("venue", "base", "funding_ts", "line")).with_columns(
        interval_h=pl.coalesce(pl.col("n_interval").cast(pl.Int32, strict=False),
                               pl.col("_interval").cast(pl.Int32)),
        _src=pl.when(pl.col("n_interval").is_not_null()).then(pl.lit("row")).otherwise("_src"),
    )
    rows = good.select(
        venue="venue", symbol="base", funding_ts="funding_ts", interval_h="interval_h",
        rate="n_rate", mark_price="n_mark_price", index_price="n_index_price",
        premium="n_premium", open_interest_usd="n_open_interest_usd", line="line",
    )
    meta = {**meta, "interval_from": dict(good.group_by("_src").len().sort("_src").rows()),
            "symbols": sorted(set(symbols.values()))}
    if snapshot:
        meta["snapshots_collapsed"] = collapsed
    return finish(format=format, table=TABLE, file=file, checked=f, rows=rows,
                  keys=("venue", "symbol", "funding_ts"),
                  partition_by=("venue", "symbol", "funding_ts"), meta=meta,
                  ncols=ncols, ends_clean=ends_clean)


# -- Binance archive CSV ------------------------------------------------------------------------------
def _data_lines(head: str) -> list[str]:
    """Lines after leading `#` comments, stripped (quoted-row excerpts carry such comments)."""
    lines = [ln.strip() for ln in head.lstrip("\ufeff").replace("\r", "").split("\n")]
    i = 0
    while i < len(lines) and (lines[i].startswith("#") or not lines[i]):
        i += 1
    return lines[i:]


def sniff_archive(head: str) -> bool:
    lines = _data_lines(head)
    if not lines:
        return False
    first = lines[0].replace('"', "").rstrip(",").lower()
    return first == _ARCHIVE_HEADER or bool(_ARCHIVE_ROW.match(lines[0]))


def parse_archive(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    lines = text.split("\n")
    at = 0
    while at < len(lines) and (lines[at].lstrip().startswith("#") or not lines[at].strip()):
        at += 1
    comments = "\n".join(lines[:at])
    has_header = at < len(lines) and lines[at].strip().replace('"', "").lower().startswith("calc_time")
    symbol = symbol_from_name(file)
    if symbol is None and (m := _NAME_SYMBOL.search(comments)):
        symbol = m.group(1).upper()
    if symbol is None:
        raise SourceError(file, None, "the Binance archive CSV does not name its symbol: keep "
                          "Binance's file name <SYMBOL>-fundingRate-YYYY-MM.csv")
    names = ["calc_time", "interval_h", "rate"]
    f = body_fields(text, at + (1 if has_header else 0), names)
    f = f.with_columns(venue=pl.lit("binance"), symbol=pl.lit(symbol),
                       ts=epoch_ms("calc_time"), ts_text="calc_time")
    meta = {"header": has_header, "comment_lines": at}
    return finish_funding(f, file=file, format="binance_funding_archive", meta=meta, ncols=3,
                          ends_clean=text.endswith("\n"))


# -- Binance REST saved as CSV ----------------------------------------------------------------------
def sniff_rest_csv(head: str) -> bool:
    lines = _data_lines(head)
    return bool(lines) and bool(_REST_CSV.match(lines[0].lower().replace('"', "")))


def _header_frame(text: str, file: str, required: tuple[str, ...]) -> tuple[int, list[str], pl.DataFrame]:
    lines = text.split("\n", 50)
    at = next((i for i, ln in enumerate(lines[:50]) if ln.strip() and not ln.startswith("#")), 0)
    header = header_names(lines[at])
    missing = [c for c in required if c not in header]
    if missing:
        raise SourceError(file, at + 1, f"header lacks column(s) {', '.join(missing)}")
    names = [h or f"x{i}" for i, h in enumerate(header)]
    return at, names, body_fields(text, at + 1, names)


def parse_rest_csv(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    at, names, f = _header_frame(text, file, ("funding_time", "funding_rate"))
    venue = venue_from_name(file) or "binance"
    if "symbol" in names:
        sym = pl.col("symbol")
    else:
        symbol = symbol_from_name(file)
        if symbol is None:
            raise SourceError(file, at + 1, "funding_time,funding_rate does not name its symbol: put "
                              "it in the file name (binance_rest_BTCUSDT_fundingTime.csv)")
        sym = pl.lit(symbol)
    f = f.with_columns(venue=pl.lit(venue), symbol=sym, ts=epoch_ms("funding_time"),
                       ts_text="funding_time", rate="funding_rate",
                       **({"mark_price": pl.col("mark_price")} if "mark_price" in names else {}))
    return finish_funding(f, file=file, format="binance_funding_rest_csv", meta={"venue": venue},
                          ncols=2, ends_clean=text.endswith("\n"))


# -- Hyperliquid collector snapshots -------------------------------------------------------------------
def sniff_snapshot(head: str) -> bool:
    lines = _data_lines(head)
    return bool(lines) and bool(_SNAPSHOT.match(lines[0].lower().replace('"', "")))


def parse_snapshot(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    at, names, f = _header_frame(text, file, ("timestamp", "symbol", "funding_rate"))
    venue = venue_from_name(file) or "hyperliquid"
    f = f.with_columns(venue=pl.lit(venue), ts=iso_utc("timestamp"), ts_text="timestamp",
                       rate="funding_rate",
                       **({"mark_price": pl.col("mark_price")} if "mark_price" in names else {}))
    return finish_funding(f, file=file, format="hyperliquid_funding_snapshots",
                          meta={"venue": venue}, snapshot=True, ncols=3,
                          ends_clean=text.endswith("\n"))


# -- per-venue funding history files (Symbol,Date,Funding Rate) ----------------------------------------
_HISTORY_HEADER = "symbol,date,funding rate"


def sniff_history(head: str) -> bool:
    lines = _data_lines(head)
    return bool(lines) and lines[0].replace('"', "").rstrip(",").lower() == _HISTORY_HEADER


def parse_history(data: bytes, file: str = "<bytes>") -> Parsed:
    """`Symbol,Date,Funding Rate` files of a history fetcher, one venue per file named in the file
    name (`BTC-USDT_binance_2020-01-01_2024-01-01_funding_history.csv`). Dates carry no zone: UTC,
    except that an 8-hourly venue settling at 00/08/16 UTC whose stamps all fall on one other hour
    of the 8-hour cycle (03/11/19: a collector writing UTC+3) is shifted back by that offset, and
    meta says so."""
    text = text_of(data, file)
    at, names, f = _header_frame(text, file, ("symbol", "date", "funding rate"))
    venue = venue_from_name(file)
    if venue is None:
        raise SourceError(file, at + 1, "Symbol,Date,Funding Rate does not name its venue: keep the "
                          f"fetcher's file name (<PAIR>_<venue>_..._funding_history.csv; venues {', '.join(VENUES)})")
    f = f.with_columns(venue=pl.lit(venue), ts=iso_utc("date"), ts_text="date", rate="funding rate")
    shift = 0
    if venue in SETTLES_ON_8H_UTC:
        hours = f.filter(pl.col("ts").is_not_null()).select(h=pl.col("ts").dt.hour() % 8)["h"]
        common = hours.mode().sort()
        if hours.len() and common.len() and int(common[0]) != 0 and (hours == common[0]).mean() > 0.9:
            shift = int(common[0])
            f = f.with_columns(ts=pl.col("ts") - pl.duration(hours=shift))
    return finish_funding(f, file=file, format="funding_history_csv",
                          meta={"venue": venue, "utc_shift_h": -shift}, ncols=3,
                          ends_clean=text.endswith("\n"))


FORMATS = [
    Format(name="binance_funding_archive", source="funding", table=TABLE, sniff=sniff_archive,
           parse=parse_archive,
           description="Binance fundingRate archive CSV (calc_time,funding_interval_hours,last_funding_rate)"),
    Format(name="binance_funding_rest_csv", source="funding", table=TABLE, sniff=sniff_rest_csv,
           parse=parse_rest_csv, description="Binance /fapi/v1/fundingRate saved as funding_time,funding_rate"),
    Format(name="hyperliquid_funding_snapshots", source="funding", table=TABLE,
           sniff=sniff_snapshot, parse=parse_snapshot,
           description="Hyperliquid collector snapshots (timestamp,symbol,funding_rate,mark_price)"),
    Format(name="funding_history_csv", source="funding", table=TABLE, sniff=sniff_history,
           parse=parse_history, description="per-venue funding history (Symbol,Date,Funding Rate)"),
]
