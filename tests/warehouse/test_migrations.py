"""A home built by the previous version (its DDL, commit a50bad6, kept in tests/fixtures) opens
under today's code: the renamed columns keep their rows, a unit change is applied once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from warehouse import migrations
from warehouse.db import Warehouse, ddl_statements

PREVIOUS_DDL = Path(__file__).resolve().parents[1] / "fixtures" / "warehouse" / "ddl_a50bad6"


def _previous_home(path: Path) -> None:
    con = duckdb.connect(str(path))
    for f in sorted(PREVIOUS_DDL.glob("*.sql")):
        con.execute(f.read_text())
    con.execute("insert into core.gamma_daily (date, underlying, spot, spot_gex_usd, call_gex_usd, "
                "put_gex_usd, contracts, expired_rows, preset) values "
                "('2026-03-05', 'SPX', 6000, -1.9e10, 6.2e10, -8.1e10, 9000, 0, 'default')")
    con.execute("insert into core.gamma_profile (date, underlying, preset, spot_level, level_pct, "
                "call_gex_usd, put_gex_usd, net_gex_usd) values "
                "('2026-03-05', 'SPX', 'default', 6060, 1.0, 5e10, -6e10, -1e10)")
    con.execute("insert into core.signals_daily (date, spx_ret_pct, spx_ret5_pct, gamma_pts) "
                "values ('2026-03-05', -2.5, -4.25, 31.5)")
    con.execute("insert into core.vol_daily (date, vx1_dte, spx_rv20_pct, iv_rv_spread_pts) "
                "values ('2026-03-05', 12, 14.5, 3.25)")
    con.close()


def test_every_rename_names_a_column_of_the_previous_version_and_of_todays_ddl():
    old = duckdb.connect(":memory:")
    for f in sorted(PREVIOUS_DDL.glob("*.sql")):
        old.execute(f.read_text())
    new = duckdb.connect(":memory:")
    for sql in ddl_statements():
        new.execute(sql)
    cols = "select table_schema || '.' || table_name, column_name from information_schema.columns"
    before, after = set(old.sql(cols).fetchall()), set(new.sql(cols).fetchall())
    for r in migrations.RENAMES:
        assert (r.table, r.old) in before and (r.table, r.old) not in after, r
        assert (r.table, r.new) in after and (r.table, r.new) not in before, r


def test_a_previous_home_is_migrated_once_and_keeps_its_rows(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    _previous_home(path)
    for _ in range(2):  # the second open finds nothing left to do
        wh = Warehouse.open(path)
        try:
            g = wh.table("core.gamma_daily").row(0, named=True)
            assert (g["net_gex_usd_per_pct"], g["call_gex_usd_per_pct"], g["put_gex_usd_per_pct"]) \
                == (-1.9e10, 6.2e10, -8.1e10)
            assert "spot_gex_usd" not in wh.columns("core.gamma_daily")
            # issue 19: vanna / charm columns added, NULL on rows built before them (rebuild fills)
            assert (g["underlying"], g["net_vanna_usd_per_vol_pt"], g["net_charm_usd_per_day"]) == (
                "SPX", None, None)
            p = wh.table("core.gamma_profile").row(0, named=True)
            assert p["net_gex_usd_per_pct"] == -1e10
            s = wh.table("core.signals_daily").row(0, named=True)
            assert s["spx_ret"] == pytest.approx(-0.025) and s["spx_ret5"] == pytest.approx(-0.0425)
            assert s["gamma_score_pts"] == 31.5
            v = wh.table("core.vol_daily").row(0, named=True)
            assert (v["vx1_dte_days"], v["spx_rv20_vol_pts"], v["iv_rv_spread_vol_pts"]) == (12, 14.5, 3.25)
            assert v["date"] == date(2026, 3, 5)
            # today's tables that the previous version did not have exist after the open
            assert "core.parity_daily" in wh.tables()
        finally:
            wh.close()
