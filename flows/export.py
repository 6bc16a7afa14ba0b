"""`alvh export`: a table (or recommendations, trades, daily) to CSV or Parquet, for a date range.
Wiring only: the rows come from warehouse/queries.py, read-only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows import console
from flows.settings import Settings
from warehouse import queries
from warehouse.db import Warehouse

FORMATS = ("csv", "parquet")


def export(settings: Settings, name: str, fmt: str, out: Path | None, start: date | None,
           end: date | None) -> Path:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose csv or parquet")
    with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
        table, frame = queries.export_table(wh, name, start, end)
    if out is None:
        span = "" if start is None and end is None else f"_{start or 'first'}_{end or 'last'}"
        out = Path(f"{table.replace('.', '_')}{span}.{fmt}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.write_csv(out)
    else:
        frame.write_parquet(out)
    console.info(f"{table}: {frame.height:,} rows -> {out}")
    return out
