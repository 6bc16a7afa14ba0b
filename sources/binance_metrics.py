"""Binance public-data `metrics` daily files -> raw.perp_open_interest (open interest and long/short
ratios, 5-minute rows). Reader only: never touches the warehouse.

Layout (data.binance.vision/data/futures/um/daily/metrics/BTCUSDT/BTCUSDT-metrics-2024-01-01.csv):
    create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,
    sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio
    2024-01-01 00:05:00,BTCUSDT,81234.567,3425678901.23,1.2345,1.1111,1.5432,0.9876
create_time is UTC. sum_open_interest is in base units (BTC), _value in USDT (read as USD).
"""

from __future__ import annotations

import polars as pl

from sources.base import Format, Parsed
from sources.funding import base_asset
from sources.rows import (
    body_fields,
    field_count,
    finish,
    first_line,
    header_names,
    not_a_number,
    number,
    text_of,
)

TABLE = "raw.perp_open_interest"
COLUMNS: dict[str, pl.DataType] = {
    "venue": pl.String(), "symbol": pl.String(), "ts": pl.Datetime("us"),
    "open_interest": pl.Float64(), "open_interest_usd": pl.Float64(),
    "top_trader_long_short_ratio": pl.Float64(), "account_long_short_ratio": pl.Float64(),
    "taker_long_short_vol_ratio": pl.Float64(), "line": pl.Int64(),
}
HEADER = ["create_time", "symbol", "sum_open_interest", "sum_open_interest_value",
          "count_toptrader_long_short_ratio", "sum_toptrader_long_short_ratio",
          "count_long_short_ratio", "sum_taker_long_short_vol_ratio"]
NUMERIC = HEADER[2:]


def sniff(head: str) -> bool:
    return first_line(head).lower().startswith("create_time,symbol,sum_open_interest")


def parse(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    names = header_names(text.split("\n", 1)[0])
    f = body_fields(text, 1, names)
    for c in HEADER:
        if c not in f.columns:
            f = f.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    ts = pl.col("create_time").str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    nums = {c: number(c) for c in NUMERIC}
    reason = pl.coalesce(
        field_count(len(HEADER)),
        pl.when(ts.is_null()).then(pl.format("bad create_time {}", pl.col("create_time").fill_null("(empty)"))),
        pl.when(pl.col("symbol").fill_null("") == "").then(pl.lit("no symbol")),
        *(not_a_number(c) for c in NUMERIC),
        *(pl.when(nums[c] < 0).then(pl.format(f"{c} {{}} is negative", pl.col(c))) for c in NUMERIC),
    )
    checked = f.with_columns(reason=reason)
    good = checked.filter(pl.col("reason").is_null())
    rows = good.select(
        venue=pl.lit("binance"),
        symbol=pl.col("symbol").map_elements(base_asset, return_dtype=pl.String),
        ts=ts, open_interest=nums["sum_open_interest"], open_interest_usd=nums["sum_open_interest_value"],
        # count_* are ratios of accounts, sum_* of positions / taker volume (Binance's naming)
        top_trader_long_short_ratio=nums["sum_toptrader_long_short_ratio"],
        account_long_short_ratio=nums["count_long_short_ratio"],
        taker_long_short_vol_ratio=nums["sum_taker_long_short_vol_ratio"], line="line")
    return finish(format="binance_metrics", table=TABLE, file=file, checked=checked, rows=rows,
                  keys=("venue", "symbol", "ts"), partition_by=("venue", "symbol", "ts"),
                  ends_clean=text.endswith("\n"), ncols=len(HEADER), columns=COLUMNS,
                  meta={"venue": "binance"})


FORMAT = Format(name="binance_metrics", source="perp_metrics", table=TABLE, sniff=sniff, parse=parse,
                description="Binance public-data futures metrics (open interest, long/short ratios), 5-min rows")
