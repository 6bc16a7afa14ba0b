"""Readers for CFE VX futures files -> raw.vx_futures: per-contract history and daily settlements.

Recognise each file by its header; resolve every contract's final settlement date by the CFE rule.
Never touches the warehouse.

History, one file per contract (`VX_2024-01-17.csv`, legacy `CFE_J07_VX.csv`):
    <a legal disclaimer line, in some legacy files>
    Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest
    2023-04-25,F (Jan 2024),24.2000,25.2100,24.2000,25.2000,25.20,0.20,24,0,24        modern
    10/24/2006,J (Apr 07),154.10,154.10,154.10,154.10,154.30,-1.00,10,0,10          legacy, CRLF
Daily settlement CSV (https://www.cboe.com/us/futures/market_statistics/settlement/csv?dt=...):
    Product,Symbol,Expiration Date,Price
    VX,VX35/U6,2026-09-02,17.2528           weekly (week 35 of 2026)
    VX,VX/U6,2026-09-16,17.2528             monthly; VXM, VA, IBHY ... rows are other products
The settlement CSV does not carry its trade date: it comes from the file name (`..._2026-08-21.csv`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import PurePath

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.calendar import is_session, previous_session
from sources.rows import (
    bad_count,
    bad_date,
    body_fields,
    count_of,
    date_of,
    field_count,
    finish,
    head_lines,
    header_names,
    join_flags,
    not_a_number,
    number,
    range_flags,
    text_of,
)

TABLE = "raw.vx_futures"
HISTORY = "cfe_vx_history"
SETTLEMENT = "cfe_settlement"

MONTH_CODES = "FGHJKMNQUVXZ"
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
# Before this trade date VX was quoted at 10x VIX (the contract was re-denominated on
# 2007-03-26: CFE_J07_VX.csv prints Settle 133.30 on 03/23 and 13.38, Change -119.92, on 03/26).
RESCALE_DATE = date(2007, 3, 26)
_PRICES = ("open", "high", "low", "close", "settle")

# `J (Apr 07)`, `F (Jan 2024)`, `VX/F4`, `VX03/F4`, `03 F (Jan 2024)`.
_LABEL = re.compile(
    r"^(?:VX)?\s*(?P<week>\d{1,2})?\s*/?\s*(?P<code>[FGHJKMNQUVXZ])\s*"
    r"(?:\(\s*(?P<mon>[A-Z]{3})[A-Z]*\.?\s+(?P<yr>\d{2}|\d{4})\s*\)|(?P<y1>\d{1,2}))$")
_HISTORY_HEADER = re.compile(r"^trade date,\s*futures,", re.I)
_SETTLE_HEADER = re.compile(r"^product,\s*symbol,\s*expiration date,\s*price\b", re.I)
_SETTLE_SYMBOL = r"^VX(\d{2})?/([FGHJKMNQUVXZ])(\d{1,2})$"
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")

# History header names -> canonical column.
_COLUMNS = {"trade date": "trade_date", "futures": "contract", "open": "open", "high": "high",
            "low": "low", "close": "close", "settle": "settle", "change": "change",
            "total volume": "volume", "volume": "volume", "efp": "efp",
            "open interest": "open_interest"}
_REQUIRED = ("trade_date", "contract", "open", "high", "low", "close", "settle")


# -- the CFE expiry rule --------------------------------------------------------------------------
def _third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def _earlier_if_holiday(d: date, *also: date) -> date:
    """The business day before `d` when `d` (or a date tied to it) is not a session."""
    try:
        if all(is_session(x) for x in (d, *also)):
            return d
        return previous_session(d)
    except ValueError:  # beyond the calendar: the plain rule
        return d


def monthly_expiry(year: int, month: int) -> date:
    """Final settlement date of the VX monthly for (year, month): the Wednesday 30 days before the
    third Friday of the following month (SPX standard expiry); when that Wednesday or that Friday
    is a Cboe holiday, the business day before the Wednesday (CFE VX contract specifications)."""
    ny, nm = (year + 1, 1) if month == 12 else (year, month + 1)
    friday = _third_friday(ny, nm)
    wednesday = friday - timedelta(days=30)
    return _earlier_if_holiday(wednesday, friday)


def weekly_expiry(year: int, week: int) -> date:
    """`VX35/U6`: the Wednesday of week 35 of 2026 (weeks counted from the first Monday, as CFE's
    settlement file shows: VX35/U6 -> 2026-09-02, VX04/F0 -> 2020-01-29)."""
    wednesday = datetime.strptime(f"{year} {week} 3", "%Y %W %w").date()
    return _earlier_if_holiday(wednesday)


def _year(digits: str, near: date) -> int:
    """A 1-, 2- or 4-digit year; one digit is the year of that ending nearest to `near`."""
    if len(digits) == 4:
        return int(digits)
    if len(digits) == 2:
        return 2000 + int(digits)
    d = int(digits)
    base = near.year - near.year % 10 + d
    return min((base - 10, base, base + 10), key=lambda y: abs(y - near.year))


def contract_expiry(label: str, near: date) -> tuple[date, bool] | str:
    """(expiry, weekly) of a contract label, or the reason it cannot be read."""
    m = _LABEL.match(label.strip().upper())
    if not m:
        return f"bad contract label {label!r}"
    month = MONTH_CODES.index(m["code"]) + 1
    if m["mon"] and m["mon"] != _MONTHS[month - 1]:
        return f"contract label {label!r}: month code {m['code']} is not {m['mon'].title()}"
    year = _year(m["yr"] or m["y1"], near)
    if m["week"]:
        week = int(m["week"])
        try:
            d = weekly_expiry(year, week)
        except ValueError:
            return f"contract label {label!r}: no week {week} in {year}"
        # Week 1 of January can print a December code: compare with a month of slack.
        if abs((d.year * 12 + d.month) - (year * 12 + month)) > 1:
            return f"contract label {label!r}: week {week} of {year} is not in {_MONTHS[month - 1].title()}"
        return d, True
    return monthly_expiry(year, month), False


# -- history files ---------------------------------------------------------------------------------
def sniff_history(head: str) -> bool:
    lines = head.lstrip("\ufeff").replace("\r", "").split("\n")[:4]
    return any(_HISTORY_HEADER.match(ln.replace('"', "")) for ln in lines)


def _name_date(file: str) -> date | None:
    m = _NAME_DATE.search(PurePath(file).name)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def parse_history(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    head = head_lines(text, 4)
    at = next((i for i, ln in enumerate(head) if _HISTORY_HEADER.match(ln.replace('"', ""))), None)
    if at is None:
        raise SourceError(file, 1, "no 'Trade Date,Futures,Open,High,Low,Close,Settle,...' header in "
                          "the first lines: not a CFE VX history file")
    header = header_names(head[at])
    while header and header[-1] == "":  # trailing commas
        header.pop()
    names = [_COLUMNS.get(h, f"x{i}") for i, h in enumerate(header)]
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        raise SourceError(file, at + 1, f"CFE header lacks column(s) {', '.join(missing)}")
    numeric = [c for c in (*_PRICES, "volume", "open_interest") if c in names]

    f = body_fields(text, at + 1, names)
    f = f.with_columns(d=date_of("trade_date", "%Y-%m-%d", "%m/%d/%Y"),
                       label=pl.col("contract").str.to_uppercase().str.replace_all(r"\s+", " "),
                       **{f"n_{c}": number(c) for c in numeric})
    # Resolve each distinct contract label once (a file normally holds one).
    near = f["d"].drop_nulls().min() or date.today()
    resolved = {lab: contract_expiry(lab, near) for lab in f["label"].drop_nulls().unique()}
    expiry_of = {k: v[0] for k, v in resolved.items() if isinstance(v, tuple)}
    weekly_of = {k: v[1] for k, v in resolved.items() if isinstance(v, tuple)}
    label_err = {k: v for k, v in resolved.items() if isinstance(v, str)}
    meta: dict = {}
    named = _name_date(file)
    if named and len(expiry_of) == 1:
        (lab, rule), = expiry_of.items()
        if named != rule and abs((named - rule).days) <= 7:
            # The exchange's own file name wins over the rule on an odd exchange closure.
            meta["expiry_rule"] = rule.isoformat()
            expiry_of[lab] = named
    f = f.with_columns(
        expiry=pl.col("label").replace_strict(expiry_of, default=None, return_dtype=pl.Date),
        weekly=pl.col("label").replace_strict(weekly_of, default=None, return_dtype=pl.Boolean),
        label_err=pl.col("label").replace_strict(label_err, default=None, return_dtype=pl.String),
    )
    pre = pl.col("d") < RESCALE_DATE
    f = f.with_columns(**{
        f"p_{c}": pl.when(pl.col(f"n_{c}") == 0).then(None)
        .when(pre).then((pl.col(f"n_{c}") / 10).round(6)).otherwise(pl.col(f"n_{c}"))
        for c in _PRICES
    })
    zeros = pl.concat_str([pl.when(pl.col(f"n_{c}") == 0).then(pl.lit(c)) for c in _PRICES[:4]],
                          separator="/", ignore_nulls=True)
    all_zero = pl.all_horizontal([pl.col(f"n_{c}").fill_null(0) == 0 for c in _PRICES])
    f = f.with_columns(reason=pl.coalesce([
        field_count(len(names), at_least=len(_REQUIRED)),
        bad_date("trade_date", pl.col("d"), "trade date"),
        pl.col("label_err"),
        pl.when(pl.col("label").is_null()).then(pl.lit("missing contract label")),
        *[not_a_number(c, c) for c in numeric],
        *[bad_count(c, c.replace("_", " ")) for c in ("volume", "open_interest") if c in names],
        pl.when(pl.any_horizontal([pl.col(f"n_{c}") < 0 for c in _PRICES]))
        .then(pl.lit("negative price")),
        # CFE lists a contract with zero-filled rows before its first quote: no trade, no
        # settlement, nothing to keep.
        pl.when(all_zero).then(pl.lit("placeholder row: every price is zero (no trade, no settlement)")),
        pl.when(pl.col("d") > pl.col("expiry"))
        .then(pl.format("trade date after the contract's final settlement date {}", "expiry")),
    ]))
    good = f.filter(pl.col("reason").is_null())
    o, h, lo, c = (pl.col(f"p_{x}") for x in ("open", "high", "low", "close"))
    flag = join_flags([
        pl.when(pl.col("d") < RESCALE_DATE).then(pl.lit("price /10 (quoted at 10x VIX before 2007-03-26)")),
        pl.when(zeros == "open/high/low/close").then(pl.lit("no trade: open/high/low/close are zero"))
        .when(zeros != "").then(pl.format("zero {} read as missing", zeros)),
        *range_flags(o, h, lo, c),
        pl.when(pl.col("p_settle").is_null()).then(pl.lit("no settlement price")),
        pl.when(pl.col("d") == pl.col("expiry"))
        .then(pl.lit("final settlement day: settle is the final settlement value")),
    ])
    rows = good.select(
        trade_date="d", expiry="expiry", contract=pl.col("contract"), weekly="weekly",
        open="p_open", high="p_high", low="p_low", close="p_close", settle="p_settle",
        volume=count_of("volume") if "volume" in names else pl.lit(None, pl.Int64),
        open_interest=count_of("open_interest") if "open_interest" in names else pl.lit(None, pl.Int64),
        price_flag=flag, line="line",
    )
    iso = f["trade_date"].drop_nulls().head(1).str.contains("-").any()
    meta.update(layout="modern" if iso else "legacy",
                contracts=sorted(expiry_of), expiries=sorted({d.isoformat() for d in expiry_of.values()}),
                rescaled_rows=int(good.filter(pl.col("d") < RESCALE_DATE).height))
    return finish(format=HISTORY, table=TABLE, file=file, checked=f, rows=rows,
                  keys=("trade_date", "expiry"), partition_by=("trade_date", "expiry"),
                  ends_clean=text.endswith("\n"), ncols=len(_REQUIRED), meta=meta)


# -- daily settlement CSV --------------------------------------------------------------------------
def sniff_settlement(head: str) -> bool:
    return bool(_SETTLE_HEADER.match(head.lstrip("\ufeff").replace('"', "")))


def parse_settlement(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    if not _SETTLE_HEADER.match(text.replace('"', "")):
        raise SourceError(file, 1, "no 'Product,Symbol,Expiration Date,Price' header: not a CFE "
                          "settlement CSV")
    trade_date = _name_date(file)
    if trade_date is None:
        raise SourceError(file, None, "a CFE settlement CSV does not print its trade date: name the "
                          "file with it, e.g. cfe_settlement_2026-08-21.csv")
    names = ["product", "symbol", "expiration", "price"]
    f = body_fields(text, 1, names)
    others = f.filter(pl.col("product").str.to_uppercase() != "VX")
    f = f.filter(pl.col("product").str.to_uppercase() == "VX")
    sym = pl.col("symbol").str.to_uppercase().str.extract_groups(_SETTLE_SYMBOL)
    month_code = pl.col("sym").struct.field("2")
    f = f.with_columns(
        sym=sym,
        expiry=date_of("expiration", "%Y-%m-%d", "%m/%d/%Y"),
        settle=number("price"),
    ).with_columns(
        weekly=pl.col("sym").struct.field("1").is_not_null(),
        code_month=month_code.replace_strict({c: i + 1 for i, c in enumerate(MONTH_CODES)},
                                             default=None, return_dtype=pl.Int8),
    )
    f = f.with_columns(reason=pl.coalesce([
        field_count(len(names)),
        pl.when(month_code.is_null()).then(pl.format("bad VX symbol {}", pl.col("symbol").fill_null("(empty)"))),
        bad_date("expiration", pl.col("expiry"), "expiration date"),
        not_a_number("price", "Price"),
        pl.when(pl.col("settle").is_null()).then(pl.lit("missing price")),
        pl.when(pl.col("settle") <= 0).then(pl.format("price {} is not positive", "settle")),
        pl.when(pl.col("code_month") != pl.col("expiry").dt.month())
        .then(pl.format("symbol {} does not expire in the month of {}", "symbol", "expiry")),
        pl.when(pl.col("expiry") < pl.lit(trade_date))
        .then(pl.format("contract expired ({}) before the trade date", "expiry")),
    ]))
    good = f.filter(pl.col("reason").is_null())
    rows = good.select(
        trade_date=pl.lit(trade_date), expiry="expiry", contract=pl.col("symbol").str.to_uppercase(),
        weekly="weekly", open=pl.lit(None, pl.Float64), high=pl.lit(None, pl.Float64),
        low=pl.lit(None, pl.Float64), close=pl.lit(None, pl.Float64), settle="settle",
        volume=pl.lit(None, pl.Int64), open_interest=pl.lit(None, pl.Int64),
        price_flag=pl.lit(None, pl.String), line="line",
    )
    meta = {"trade_date": trade_date.isoformat(), "other_products_ignored": others.height,
            "other_products": sorted(others["product"].drop_nulls().unique().to_list())}
    if good.is_empty() and f.is_empty():
        raise SourceError(file, 2 if others.height else None,
                          f"no VX rows for {trade_date} (a settlement file for a day without "
                          "settlements, or a download before the close)")
    # Settlement files carry only the settle: merge so a history file's OHLC for the day stays.
    return finish(format=SETTLEMENT, table=TABLE, file=file, checked=f, rows=rows,
                  keys=("expiry",), partition_by=("trade_date", "expiry"),
                  ends_clean=text.endswith("\n"), ncols=len(names), meta=meta, mode="merge")


FORMATS = [
    Format(name=HISTORY, source="cfe_vx", table=TABLE, sniff=sniff_history, parse=parse_history,
           description="CFE VX futures history per contract (VX_<expiry>.csv, legacy CFE_<M><YY>_VX.csv)"),
    Format(name=SETTLEMENT, source="cfe_vx", table=TABLE, sniff=sniff_settlement,
           parse=parse_settlement,
           description="CFE daily settlement CSV (Product,Symbol,Expiration Date,Price); VX rows only"),
]
