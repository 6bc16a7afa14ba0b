"""Reader for SqueezeMetrics' DIX.csv (dark-pool index and gamma exposure) -> raw.dix_gex.

Header `date,price,dix,gex`, ISO dates, CRLF; never touches the warehouse.

    date,price,dix,gex
    2011-05-02,1361.219971,0.37884209915686345,1897312571.4860
`price` is the S&P 500 close, `dix` a fraction (0.33 ... 0.55, not a percent), `gex` the vendor's
dealer gamma exposure in dollars (signed). A dix outside [0, 1] is refused: it is a percent or garbage.
"""

from __future__ import annotations

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.rows import (
    bad_date,
    body_fields,
    date_of,
    field_count,
    finish,
    first_line,
    head_lines,
    header_names,
    not_a_number,
    number,
    text_of,
)

FORMAT_NAME = "squeezemetrics_dix"
TABLE = "raw.dix_gex"
_HEADER = ["date", "price", "dix", "gex"]
COLUMNS: dict[str, pl.DataType] = {
    "date": pl.Date(), "price": pl.Float64(), "dix": pl.Float64(), "gex_usd": pl.Float64(),
    "line": pl.Int64(),
}


def sniff(head: str) -> bool:
    return header_names(first_line(head)) == _HEADER


def parse(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    if header_names(head_lines(text, 1)[0]) != _HEADER:
        raise SourceError(file, 1, "header is not date,price,dix,gex: not a SqueezeMetrics DIX file")
    f = body_fields(text, 1, _HEADER)
    f = f.with_columns(d=date_of("date", "%Y-%m-%d"), **{f"n_{k}": number(k) for k in _HEADER[1:]})
    f = f.with_columns(reason=pl.coalesce([
        field_count(4),
        bad_date("date", pl.col("d")),
        *[not_a_number(k) for k in _HEADER[1:]],
        pl.when(pl.col("n_price").is_null() | (pl.col("n_price") <= 0))
        .then(pl.lit("missing or non-positive price")),
        pl.when(~pl.col("n_dix").is_between(0, 1))
        .then(pl.format("dix {} outside [0, 1] (a fraction, not a percent)", "dix")),
    ]))
    good = f.filter(pl.col("reason").is_null())
    rows = good.select(date="d", price="n_price", dix="n_dix", gex_usd="n_gex", line="line")
    return finish(format=FORMAT_NAME, table=TABLE, file=file, checked=f, rows=rows, keys=("date",),
                  partition_by=("date",), ends_clean=text.endswith("\n"), ncols=4, columns=COLUMNS,
                  meta={"first": good["d"].min(), "last": good["d"].max()})


FORMAT = Format(
    name=FORMAT_NAME,
    source="squeezemetrics",
    table=TABLE,
    sniff=sniff,
    parse=parse,
    description="SqueezeMetrics DIX.csv (date,price,dix,gex; gex in dollars)",
)
