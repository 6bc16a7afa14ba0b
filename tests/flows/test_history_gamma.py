"""Issue 16 done-when: the real DataShop January 2018 chains ingest and build 20 nights of dealer
gamma (skipped with the reason when the real files are absent)."""

from __future__ import annotations

from flows.build import build_gamma
from flows.ingest import land_files, load_files
from flows.settings import load_settings
from warehouse.db import Warehouse
from warehouse.files import batch_id_for


def test_datashop_january_2018_builds_twenty_nights_of_gamma(realdata, tmp_path):
    settings = load_settings(home=tmp_path / "home")
    wh = Warehouse.memory()
    landed = land_files.fn([realdata / "history" / "optopsy_SPX_2018-01.csv"], settings.root)
    out = load_files.fn(wh, landed, settings.root, batch_id_for([x.landed.file_id for x in landed], "t"),
                        force=False, max_reject_ratio=settings.max_reject_ratio, show=False)
    assert [f.status for f in out.files] == ["loaded"] and out.rows == 7588
    # lineage: every row names its file and line
    assert wh.sql("select count(*) from raw.option_quotes where file_id is null or line is null").item() == 0
    dates = [r[0] for r in wh.sql("select distinct quote_date from raw.option_quotes order by 1").rows()]
    assert len(dates) == 21
    build_gamma.fn(wh, dates, settings)
    daily = wh.sql("select date, net_gex_usd_per_pct from core.gamma_daily order by date")
    assert daily.height == 21
    # 01/31 is the only expiry's own day: nothing left open, so 20 nights carry dealer gamma
    assert daily.filter(daily["net_gex_usd_per_pct"] != 0).height == 20
