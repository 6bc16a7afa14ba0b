"""Every raw and core table of the DDL has a contract, and every contract matches its DDL:
same columns, compatible types, NOT NULL columns not nullable, grain columns present.

When a new table lands without a model this test fails, lists the tables and prints a skeleton
(`expectations.contracts.scaffold`) to paste into expectations/.
"""

from __future__ import annotations

import polars as pl
import pytest

from expectations.contracts import DUCKDB_TYPES, contracts, scaffold
from warehouse.db import Warehouse

POLARS_OF = {"VARCHAR": pl.String, "DATE": pl.Date, "TIMESTAMP": pl.Datetime, "DOUBLE": pl.Float64,
             "BIGINT": pl.Int64, "INTEGER": pl.Int32, "BOOLEAN": pl.Boolean}


def _ddl() -> dict[str, list[tuple[str, str, bool]]]:
    wh = Warehouse.memory()
    rows = wh.execute(
        "select table_schema || '.' || table_name, column_name, data_type, is_nullable = 'NO' "
        "from information_schema.columns where table_schema in ('raw', 'core') "
        "order by 1, ordinal_position")
    out: dict[str, list] = {}
    for t, c, d, nn in rows:
        out.setdefault(t, []).append((c, d, nn))
    return out


DDL = _ddl()


def test_every_warehouse_table_has_a_contract():
    missing = sorted(set(DDL) - set(contracts()))
    skeletons = "\n\n".join(scaffold(t, DDL[t]) for t in missing)
    assert not missing, (f"{len(missing)} table(s) without a pandera model: {', '.join(missing)}\n"
                         f"add to expectations/ (skeletons below):\n\n{skeletons}")


def test_no_contract_for_a_table_that_does_not_exist():
    assert sorted(set(contracts()) - set(DDL)) == []


@pytest.mark.parametrize("table", sorted(contracts()))
def test_contract_matches_its_ddl(table):
    assert table in DDL, f"{table} has a contract but no table in warehouse/ddl"
    schema = contracts()[table].schema
    ddl = {c: (d, nn) for c, d, nn in DDL[table]}
    assert set(schema.columns) == set(ddl), (
        f"model-only: {sorted(set(schema.columns) - set(ddl))}, DDL-only: {sorted(set(ddl) - set(schema.columns))}")
    problems = []
    for name, col in schema.columns.items():
        dtype, not_null = ddl[name]
        want = POLARS_OF.get(dtype)
        got = col.dtype.type
        if dtype.endswith("[]"):
            ok = isinstance(got, pl.List)
        else:
            ok = want is not None and (got == want or isinstance(got, want))
        if not ok:
            problems.append(f"{name}: model {got}, DDL {dtype} ({DUCKDB_TYPES.get(dtype)})")
        if not_null and col.nullable:
            problems.append(f"{name}: NOT NULL in the DDL but nullable in the model")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("table", sorted(contracts()))
def test_grain_and_date_column_exist(table):
    c = contracts()[table]
    assert c.grain, f"{table}: Config.unique (the grain) is empty"
    assert set(c.grain) <= set(c.columns)
    assert c.date_col is None or c.date_col in c.columns
    assert set(c.session_cols) <= set(c.columns)
    assert set(c.drift) <= set(c.columns)
    for col in c.grain:
        assert not c.schema.columns[col].nullable, f"{table}.{col} is in the grain but nullable"


def test_scaffold_reads_like_a_model():
    text = scaffold("core.example_daily", [("date", "DATE", True), ("score", "DOUBLE", False)])
    assert '@contract("core.example_daily", date_col=\'date\')' in text
    assert "score: pl.Float64 = pa.Field(nullable=True)" in text and "unique = ['date']" in text
