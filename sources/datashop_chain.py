"""Reader for DataShop / historicaloptiondata-style end-of-day option chains -> raw.option_quotes.

One row per contract per quote date (a file may hold many days); never touches the warehouse.

Layout (see ../shared/realdata/history/README.md, `optopsy_SPX_2018-01.csv`; UTF-8 BOM, CRLF):
    underlying,underlying_last, exchange,optionroot,optionext,type,expiration,quotedate,strike,last,
    bid,ask,volume,openinterest,impliedvol,delta,gamma,theta,vega,optionalias
    SPXW,2695.79,W,SPXW180131C01200000,,call,01/31/2018,01/02/2018,1200,1395.46,1483.6,1503.2,0,...
Column names are matched blank- and case-insensitively (note the leading space in " exchange");
the vendor's own CamelCase names (UnderlyingSymbol, UnderlyingPrice, OptionSymbol, DataDate, IV,
...) are accepted too. The root comes from the OSI option symbol (`SPXW180131C01200000`, the
root padded to 6 with blanks or not), checked against the expiration, type and strike columns.
The vendor prints placeholder IVs (0.3, 0.0908) on contracts it could not price (gamma 0): those
IVs are read as missing (counted in meta["iv_placeholders"]) so no greek is rebuilt from them.
quote_ts is the quote date's 16:15 New York close, in UTC (the file carries no time of day).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.cboe_chain import COLUMNS, ROOT_UNDERLYING
from sources.dates import NEW_YORK
from sources.rows import (
    bad_date,
    body_fields,
    date_of,
    field_count,
    finish,
    head_lines,
    header_names,
    not_a_number,
    number,
    text_of,
)

FORMAT_NAME = "datashop_eod_chain"
TABLE = "raw.option_quotes"

# canonical name -> accepted header spellings (lower-case, blanks stripped)
_ALIASES: dict[str, tuple[str, ...]] = {
    "underlying": ("underlying", "underlyingsymbol"),
    "underlying_last": ("underlying_last", "underlyingprice"),
    "optionroot": ("optionroot", "optionsymbol"),
    "type": ("type",),
    "expiration": ("expiration",),
    "quotedate": ("quotedate", "datadate"),
    "strike": ("strike",),
    "last": ("last",),
    "bid": ("bid",),
    "ask": ("ask",),
    "volume": ("volume",),
    "openinterest": ("openinterest",),
    "impliedvol": ("impliedvol", "iv"),
    "delta": ("delta",),
    "gamma": ("gamma",),
}
_REQUIRED = ("underlying_last", "optionroot", "type", "expiration", "quotedate", "strike",
             "bid", "ask", "openinterest")
_NUMERIC = ("underlying_last", "strike", "last", "bid", "ask", "volume", "openinterest",
            "impliedvol", "delta", "gamma")
_OSI = r"^([A-Z]{1,6})\s*(\d{6})([CP])(\d{8})$"
# IVs the vendor prints where its model did not converge (measured on the January 2018 file).
IV_PLACEHOLDERS = (0.3, 0.0908)
CLOSE_NY = time(16, 15)


def _positions(names: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for canon, spellings in _ALIASES.items():
        for i, n in enumerate(names):
            if n.replace(" ", "") in spellings:
                out[canon] = i
                break
    return out


def sniff(head: str) -> bool:
    line = head.lstrip("\ufeff").split("\n", 1)[0]
    pos = _positions(header_names(line))
    return all(k in pos for k in _REQUIRED)


def parse(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    header = head_lines(text, 1)[0]
    names = header_names(header)
    pos = _positions(names)
    missing = [k for k in _REQUIRED if k not in pos]
    if missing:
        raise SourceError(file, 1, f"header lacks column(s) {', '.join(missing)}: "
                          "not a DataShop end-of-day option chain")
    ncols = len(names)
    cols = [f"c{i}" for i in range(ncols)]
    f = body_fields(text, 1, cols)

    def c(k: str) -> str:
        return cols[pos[k]]

    f = f.with_columns(
        qd=date_of(c("quotedate"), "%m/%d/%Y", "%Y-%m-%d"),
        exp=date_of(c("expiration"), "%m/%d/%Y", "%Y-%m-%d"),
        osi=pl.col(c("optionroot")).str.extract_groups(_OSI),
        kind=pl.col(c("type")).str.to_lowercase(),
        **{f"n_{k}": number(c(k)) for k in _NUMERIC if k in pos},
    ).with_columns(
        root=pl.col("osi").struct.field("1"),
        osi_exp=pl.col("osi").struct.field("2").str.strptime(pl.Date, "%y%m%d", strict=False),
        osi_right=pl.col("osi").struct.field("3"),
        osi_strike=pl.col("osi").struct.field("4").cast(pl.Float64, strict=False) / 1000.0,
        right=pl.col("kind").replace_strict({"call": "C", "put": "P", "c": "C", "p": "P"},
                                            default=None, return_dtype=pl.String),
    )
    f = f.with_columns(reason=pl.coalesce([
        field_count(ncols, at_least=max(pos[k] for k in _REQUIRED) + 1),
        bad_date(c("quotedate"), pl.col("qd"), "quote date"),
        bad_date(c("expiration"), pl.col("exp"), "expiration"),
        pl.when(pl.col("root").is_null())
        .then(pl.format("bad option symbol {}", pl.col(c("optionroot")).fill_null("(empty)"))),
        pl.when(pl.col("right").is_null())
        .then(pl.format("bad type {} (call|put)", pl.col(c("type")).fill_null("(empty)"))),
        *[not_a_number(c(k), k) for k in _NUMERIC if k in pos],
        pl.when(pl.col("n_strike").is_null() | (pl.col("n_strike") <= 0)).then(pl.lit("missing strike")),
        pl.when(pl.col("n_underlying_last").is_null() | (pl.col("n_underlying_last") <= 0))
        .then(pl.lit("missing or non-positive underlying_last")),
        pl.when(pl.col("osi_right") != pl.col("right"))
        .then(pl.format("type {} does not match option symbol {}", c("type"), c("optionroot"))),
        pl.when(pl.col("osi_exp") != pl.col("exp"))
        .then(pl.format("expiration {} does not match option symbol {}", c("expiration"), c("optionroot"))),
        pl.when((pl.col("osi_strike") - pl.col("n_strike")).abs() > 1e-6)
        .then(pl.format("strike {} does not match option symbol {}", c("strike"), c("optionroot"))),
    ]))
    good = f.filter(pl.col("reason").is_null())

    def opt(k: str) -> pl.Expr:
        return pl.col(f"n_{k}") if k in pos else pl.lit(None, pl.Float64)

    iv = opt("impliedvol")
    placeholder = iv.is_in(list(IV_PLACEHOLDERS)) & (opt("gamma") == 0)
    # 16:15 New York on each quote date, as naive UTC (DST-correct per date).
    dates = good["qd"].unique().to_list()
    ts = {d: datetime.combine(d, CLOSE_NY, NEW_YORK).astimezone(UTC).replace(tzinfo=None) for d in dates}
    rows = good.select(
        quote_date="qd",
        root="root",
        expiry="exp",
        strike="n_strike",
        right="right",
        underlying=pl.col("root").replace_strict(ROOT_UNDERLYING, default=pl.col("root")),
        option_symbol=pl.col(c("optionroot")).str.replace_all(" ", "", literal=True),
        quote_ts=pl.col("qd").replace_strict(ts, return_dtype=pl.Datetime("us")) if ts
        else pl.lit(None, pl.Datetime("us")),
        spot="n_underlying_last",
        bid=opt("bid"),
        ask=opt("ask"),
        last=opt("last"),
        volume=opt("volume").round().cast(pl.Int64),
        open_interest=opt("openinterest").round().cast(pl.Int64),
        iv=pl.when(placeholder).then(None).otherwise(iv),
        delta=opt("delta"),
        gamma=opt("gamma"),
        expired=pl.col("exp") < pl.col("qd"),
        line="line",
        _ph=placeholder,
    )
    n_placeholder = int(rows["_ph"].sum() or 0)
    spots = good.group_by("qd").agg(pl.col("n_underlying_last").n_unique().alias("n"))
    return finish(
        format=FORMAT_NAME, table=TABLE, file=file, checked=f, rows=rows,
        keys=("quote_date", "root", "expiry", "strike", "right"),
        partition_by=("quote_date", "root"), ends_clean=text.endswith("\n"), ncols=ncols,
        columns=COLUMNS,
        meta={"quote_dates": sorted(dates), "iv_placeholders": n_placeholder,
              "roots": sorted(good["root"].unique().to_list()),
              "days_with_several_spots": int((spots["n"] > 1).sum()) if spots.height else 0},
    )


FORMAT = Format(
    name=FORMAT_NAME,
    source="datashop_chain",
    table=TABLE,
    sniff=sniff,
    parse=parse,
    description="DataShop/historicaloptiondata end-of-day option chain (underlying,underlying_last,"
                " exchange,optionroot,...; many quote dates per file)",
)

