"""flows/research.py on a small synthetic history folder (Cboe layouts): files land through the
readers with lineage, the three books and the CNDR tracking land in research.*."""

from __future__ import annotations

from datetime import date

import pytest

from flows.research import print_result, run_research
from flows.settings import load_settings
from warehouse.db import Warehouse


@pytest.fixture(scope="module")
def run(tmp_path_factory, fixtures):
    settings = load_settings(home=tmp_path_factory.mktemp("home"))
    wh = Warehouse.memory()
    res = run_research(wh, settings, fixtures / "research_history", date(2015, 1, 1), date(2015, 4, 30),
                       show=False)
    yield wh, res
    wh.close()


def test_history_lands_in_raw_with_lineage(run):
    wh, res = run
    got = wh.sql("select symbol, count(*) n, count(file_id) f, min(line) l from raw.index_bars "
                 "group by 1 order by 1").rows()
    assert got == [("CNDR", 82, 82, 2), ("SKEW", 82, 82, 2), ("SPX", 82, 82, 2), ("VIX", 82, 82, 2)]
    assert res.files_failed == ()  # the fixture's README.md is a note, not a vendor file


def test_books_and_metrics_are_written(run, capsys):
    wh, res = run
    n = dict(wh.sql("select strategy, count(*) from research.backtest_daily group by 1").rows())
    assert n == {"cndr_replica": 72, "plain_ic": 82, "spx": 72}  # CNDR and SPX from the first roll
    eq = wh.sql("select equity, daily_return from research.backtest_daily where strategy = 'spx' "
                "order by date").rows()
    assert eq[0][0] == pytest.approx(100.0)
    m = {r[0]: r for r in wh.sql("select strategy, sessions, cagr, notes, rate_source "
                                 "from research.metrics").rows()}
    assert m["plain_ic"][1] == 82 and m["plain_ic"][2] is not None
    assert "built-in" in m["cndr_replica"][4]
    assert wh.sql("select count(*) from research.tracking").item() == 0  # no full calendar year
    assert res.tracking["months"] == 3  # February to April: January is the replica's partial month
    print_result(res)
    assert "CNDR tracking: monthly return correlation" in capsys.readouterr().out


def test_a_rerun_replaces_its_rows(run, fixtures):
    wh, res = run
    before = wh.sql("select count(*) from research.backtest_daily").item()
    run_research(wh, load_settings(), fixtures / "research_history", date(2015, 1, 1), date(2015, 4, 30),
                 show=False)
    assert wh.sql("select count(*) from research.backtest_daily").item() == before
