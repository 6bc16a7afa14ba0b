"""Constituent price-to-cash-flow CSV -> raw.constituent_fundamentals: a simple layout a user can
export from any fundamentals source. Reader only: never touches the warehouse.

    date,ticker,index_weight,price,ocf_per_share_ttm
    2026-03-10,AAPL,0.0712,227.48,7.58
index_weight: decimal (0.0712 = 7.12 %) or percent (7.12) - a file whose weights sum above 1.5 is
read as percent; price and ocf_per_share_ttm (operating cash flow per share, trailing twelve
months) in USD; OCF may be negative. Dates ISO (YYYY-MM-DD) or MM/DD/YYYY.
"""

from __future__ import annotations

import polars as pl

from sources.base import Format, Parsed
from sources.rows import (
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

TABLE = "raw.constituent_fundamentals"
HEADER = ["date", "ticker", "index_weight", "price", "ocf_per_share_ttm"]
COLUMNS: dict[str, pl.DataType] = {
    "date": pl.Date(), "ticker": pl.String(), "index_weight": pl.Float64(), "price": pl.Float64(),
    "ocf_per_share_ttm": pl.Float64(), "line": pl.Int64(),
}


def sniff(head: str) -> bool:
    return first_line(head).lower().replace(" ", "") == ",".join(HEADER)


def parse(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    f = body_fields(text, 1, header_names(text.split("\n", 1)[0]))
    d = date_of("date", "%Y-%m-%d", "%m/%d/%Y")
    w, px, ocf = number("index_weight"), number("price"), number("ocf_per_share_ttm")
    reason = pl.coalesce(
        field_count(len(HEADER)),
        pl.when(d.is_null()).then(pl.format("bad date {}", pl.col("date").fill_null("(empty)"))),
        pl.when(pl.col("ticker").fill_null("") == "").then(pl.lit("no ticker")),
        not_a_number("index_weight"), not_a_number("price"), not_a_number("ocf_per_share_ttm"),
        pl.when(w.is_null() | (w < 0)).then(pl.format("index_weight {} is not a weight", pl.col("index_weight").fill_null("(empty)"))),
        pl.when(px.is_null() | (px <= 0)).then(pl.format("price {} is not positive", pl.col("price").fill_null("(empty)"))),
        pl.when(ocf.is_null()).then(pl.lit("no ocf_per_share_ttm")),
    )
    checked = f.with_columns(reason=reason)
    good = checked.filter(pl.col("reason").is_null())
    # percent weights: a file whose weights sum well above 1 per date prints them in percent
    pct = good.group_by(d.alias("_d")).agg((w.sum() > 1.5).alias("_pct")) if good.height else None
    rows = good.with_columns(_d=d)
    if pct is not None:
        rows = rows.join(pct, on="_d", how="left")
    else:
        rows = rows.with_columns(_pct=pl.lit(False))
    rows = rows.select(date="_d", ticker=pl.col("ticker").str.to_uppercase(),
                       index_weight=pl.when(pl.col("_pct")).then(w / 100.0).otherwise(w),
                       price=px, ocf_per_share_ttm=ocf, line="line")
    return finish(format="constituents_pcf_csv", table=TABLE, file=file, checked=checked, rows=rows,
                  keys=("date", "ticker"), partition_by=("date", "ticker"), ends_clean=text.endswith("\n"),
                  ncols=len(HEADER), columns=COLUMNS)


FORMAT = Format(name="constituents_pcf_csv", source="fundamentals", table=TABLE, sniff=sniff, parse=parse,
                description="constituent price / operating cash flow per share (user export)")
