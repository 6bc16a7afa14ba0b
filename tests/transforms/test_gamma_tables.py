"""gamma_tables' frames match the DDL of warehouse/ddl/20_core_gamma.sql (names and types, round trip
through DuckDB), empty input gives empty typed frames, and the lead's spot_gex is a subset."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from transforms.gamma import (
    BY_EXPIRY_SCHEMA,
    BY_STRIKE_SCHEMA,
    DAILY_SCHEMA,
    MACD_COLUMNS,
    PROFILE_SCHEMA,
    add_gex_macd,
    gamma_tables,
    spot_gex,
)
from warehouse.db import Warehouse

SCHEMAS = {"core.gamma_by_strike": BY_STRIKE_SCHEMA, "core.gamma_by_expiry": BY_EXPIRY_SCHEMA,
           "core.gamma_profile": PROFILE_SCHEMA, "core.gamma_daily": {**DAILY_SCHEMA, **MACD_COLUMNS}}


def small_chain(quote_date=date(2022, 2, 4)) -> pl.DataFrame:
    rows = []
    for k, right, oi, iv in [(3900, "P", 2000, 0.24), (4000, "C", 1500, 0.2), (4000, "P", 900, 0.2),
                             (4100, "C", 2500, 0.17), (4200, "C", 300, 0.15)]:
        rows.append({"quote_date": quote_date, "root": "SPXW", "expiry": date(2022, 2, 18),
                     "strike": float(k), "right": right, "underlying": "SPX",
                     "quote_ts": datetime.combine(quote_date, datetime.min.time()).replace(hour=21, minute=15),
                     "spot": 4010.0, "open_interest": oi, "iv": iv, "gamma": 0.001})
    return pl.DataFrame(rows)


def test_frames_round_trip_through_the_warehouse_ddl():
    tables = gamma_tables(pl.concat([small_chain(), small_chain(date(2022, 2, 7))]), "default")
    tables["core.gamma_daily"] = add_gex_macd(tables["core.gamma_daily"], fast=1, slow=2, signal=1)
    wh = Warehouse.memory()
    try:
        for name, frame in tables.items():
            assert dict(frame.schema) == SCHEMAS[name], name
            assert wh.write(name, frame, by=["date", "underlying", "preset"]) == frame.height
            back = wh.table(name, order_by="all")
            assert set(back.columns) == set(frame.columns), name
            assert back.select(frame.columns).sort(back.columns[:4]).equals(
                frame.sort(frame.columns[:4])), name
    finally:
        wh.close()


def test_empty_quotes_give_empty_typed_frames():
    empty = small_chain().clear()
    tables = gamma_tables(empty, "perfiliev")
    assert set(tables) == set(SCHEMAS)
    for name, frame in tables.items():
        assert frame.is_empty()
        assert all(frame.schema[c] == t for c, t in SCHEMAS[name].items() if c in frame.columns)
    assert spot_gex(empty).is_empty()
    assert add_gex_macd(tables["core.gamma_daily"]).columns[-3:] == list(MACD_COLUMNS)


def test_spot_gex_is_the_first_columns_of_gamma_daily():
    q = small_chain()
    daily = gamma_tables(q, "default")["core.gamma_daily"]
    minimal = spot_gex(q, "default")
    assert daily.select(minimal.columns).equals(minimal)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="iv"):
        gamma_tables(small_chain().drop("iv"), "default")
