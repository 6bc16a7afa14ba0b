"""Every reader's rows load into its raw table as the ingest flow writes them (DDL types, keys)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sources.base import SourceError
from sources.formats import formats, parse_file
from warehouse.db import Warehouse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MINE = {f.name for f in formats()} - {"cboe_quotedata", "cboe_delayed_json", "datashop_eod_chain"}  # chains: a partition is a whole chain
CASES = sorted(p for d in FIXTURES.iterdir() if d.name in MINE for p in d.iterdir())


@pytest.fixture(scope="module")
def wh():
    w = Warehouse.memory()
    yield w
    w.close()


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rows_load_into_their_table(wh, path):
    try:
        p = parse_file(path)
    except SourceError:  # files meant to be refused whole (tested with their reader)
        return
    if p.fatal is not None or p.rows.is_empty():
        return
    rows = p.rows.with_columns(file_id=pl.lit("f" * 64), batch_id=pl.lit("b"))
    with wh.transaction():
        n = wh.write(p.table, rows, by=p.partition_by, mode=p.mode)
    assert n == p.rows.height
    keys = ", ".join(f'"{k}"' for k in p.partition_by)
    dup = wh.scalar(f"select count(*) from (select {keys} from {p.table} group by all having count(*) > 1)")
    assert dup == 0


def test_settlement_merges_into_the_history_row_of_the_day():
    w = Warehouse.memory()
    hist = parse_file(FIXTURES / "cfe_vx_history" / "VX_2024-01-17.csv")
    w.write(hist.table, hist.rows, by=hist.partition_by, mode=hist.mode)
    settle = hist.rows.filter(pl.col("trade_date") == date(2024, 1, 16)).select(
        "trade_date", "expiry", contract=pl.lit("VX/F4"), weekly=pl.lit(False),
        settle=pl.lit(13.96), line=pl.lit(2, pl.Int64))
    w.write("raw.vx_futures", settle, by=("trade_date", "expiry"), mode="merge")
    row = w.sql("select open, close, settle, contract from raw.vx_futures "
                "where trade_date = '2024-01-16'").row(0)
    assert row == (13.3, 13.9, 13.96, "VX/F4")  # OHLC kept, settle updated
