"""Issue 19 done-when: SPY gamma rows exist after ingesting the real SPY chain and building, beside
SPX's, with the README's reference figures under `perfiliev` (skipped with the reason when the real
files are absent)."""

from __future__ import annotations

import polars as pl
import pytest

from flows.build import build_gamma, gamma_conventions, gamma_partitions
from flows.ingest import land_files, load_files
from flows.settings import load_settings
from sources.formats import parse_file
from warehouse.db import Warehouse
from warehouse.files import batch_id_for

FILES = ("spy_2025-09-25.csv", "spx_2022-02-05.csv")
TABLES = ("core.gamma_daily", "core.gamma_by_strike", "core.gamma_by_expiry", "core.gamma_profile")


def test_the_real_spy_chain_builds_gamma_rows_beside_spx(realdata, tmp_path):
    settings = load_settings(home=tmp_path / "home")
    wh = Warehouse.memory()
    paths = [realdata / "cboe_chains" / f for f in FILES]
    landed = land_files.fn(paths, settings.root)
    out = load_files.fn(wh, landed, settings.root, batch_id_for([x.landed.file_id for x in landed], "t"),
                        force=False, max_reject_ratio=settings.max_reject_ratio, show=False)
    assert [f.status for f in out.files] == ["loaded", "loaded"]
    dates = [r[0] for r in wh.sql("select distinct quote_date from raw.option_quotes order by 1").rows()]
    for preset in ("default", "perfiliev"):
        s = settings.model_copy(update={"gamma_preset": preset})
        res = build_gamma.fn(wh, dates, s)
        for table in TABLES:
            got = wh.sql(f"select underlying, count(*) from {table} where preset = ? group by 1 order by 1",
                         [preset]).rows()
            assert [u for u, n in got if n > 0] == ["SPX", "SPY"], (table, preset)
        # the stored SPY row is the pure computation on the file's rows, to the bit
        spy = wh.sql("select * from core.gamma_daily where underlying = 'SPY' and preset = ?", [preset])
        pure = gamma_partitions(parse_file(paths[0]).rows, gamma_conventions(s))["core.gamma_daily"]
        for col in ("spot", "net_gex_usd_per_pct", "zero_gamma", "call_wall", "put_wall",
                    "zero_dte_share_pct", "net_vanna_usd_per_vol_pt", "net_charm_usd_per_day"):
            assert spy[col][0] == pure[col][0], (preset, col)
        assert res.note == "1 session(s) without an SPX chain"  # 2025-09-25 has SPY's only; no root left out
    ref = wh.sql("select * from core.gamma_daily where underlying = 'SPY' and preset = 'perfiliev'")
    r = ref.row(0, named=True)  # ../shared/realdata/README.md reference figures
    assert r["spot"] == 658.05
    assert r["net_gex_usd_per_pct"] == pytest.approx(-3.917836e9, rel=1e-6)
    assert r["zero_gamma"] == pytest.approx(668.43, abs=0.01)
    assert (r["call_wall"], r["put_wall"]) == (670.0, 655.0)
    # SPX's rows are untouched by SPY's presence: the same as SPX's file alone
    spx = wh.sql("select * from core.gamma_daily where underlying = 'SPX' and preset = 'perfiliev'")
    alone = gamma_partitions(parse_file(paths[1]).rows, gamma_conventions(
        settings.model_copy(update={"gamma_preset": "perfiliev"})))["core.gamma_daily"]
    assert spx["net_gex_usd_per_pct"][0] == alone["net_gex_usd_per_pct"][0]
    assert spx.select(pl.col("zero_gamma_flips")).item().to_list() == alone["zero_gamma_flips"][0].to_list()
