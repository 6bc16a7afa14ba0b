"""flows/research.py on a small synthetic history folder (Cboe and SqueezeMetrics layouts): files land
through the readers with lineage, the books, CNDR tracking, the score's coverage and drawdown
evidence land in research.*, and the Real history page renders from them."""

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
    assert got == [("CNDR", 82, 82, 2), ("SKEW", 82, 82, 2), ("SPX", 82, 82, 2), ("VIX", 82, 82, 2),
                   ("VIX3M", 82, 82, 2)]
    assert wh.sql("select count(*) from raw.dix_gex").item() == 82
    assert res.files_failed == ()  # the fixture's README.md is a note, not a vendor file


def test_books_and_metrics_are_written(run, capsys):
    wh, res = run
    n = dict(wh.sql("select strategy, count(*) from research.backtest_daily group by 1").rows())
    # CNDR, its replica and SPX from the first roll; the engine's books from the first session
    assert n == {"cndr_replica": 72, "cndr": 72, "alvh": 82, "plain_ic": 82, "spx": 72}
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


def test_the_score_from_real_inputs_says_what_it_rests_on(run):
    wh, res = run
    cov = dict(wh.sql("select component, present_share from research.coverage").rows())
    # DIX gives gamma from its first day; VIX/VIX3M the term structure; no breadth, funding, macro
    assert cov["gamma"] > 0.9 and cov["volatility"] > 0.9
    assert cov["breadth"] == 0.0 and cov["funding"] == 0.0 and cov["events"] == 0.0
    missing = wh.sql("select distinct components_missing from research.signals "
                     "where gamma_score is not null").rows()
    assert missing == [("funding,breadth,events",)]
    ev = {r[:2]: r for r in wh.sql('select score, "group", sessions, auc from research.drawdown_evidence').rows()}
    assert set(ev) == {(s, g) for s in ("unwind_score", "unwind_score_raw") for g in ("before_drawdown", "other")}
    assert ev[("unwind_score", "before_drawdown")][2] + ev[("unwind_score", "other")][2] == 82


def test_alvh_trades_follow_the_regime_and_the_engines_rules(run):
    wh, _ = run
    m = {r[0]: r[1] for r in wh.sql("select strategy, sessions from research.metrics").rows()}
    assert m["alvh"] == 82 and m["plain_ic"] == 82
    # the engine's books trade: their equity moves off the account's capital
    moved = wh.sql("select strategy, max(abs(pnl)) from research.backtest_daily "
                   "where strategy in ('alvh', 'plain_ic') group by 1").rows()
    assert all(v > 0 for _, v in moved)


def test_the_real_history_page_renders_from_the_research_tables(run, tmp_path):
    from reports.research import render_research

    wh, res = run
    page = render_research(wh, tmp_path, res.run_id)
    html = page.read_text()
    for text in ("Real history", "2015-01-01 to 2015-04-30", "Plain IC", "CNDR replica", "CNDR (Cboe)",
                 "built-in annual averages", "research-tearsheet.html", "fig-research-equity",
                 "unwind_score_raw", "10 before a drawdown", "volatility"):
        assert text in html, text
    # every book's CAGR is a stored value, shown with its source
    cagr = dict(wh.sql("select strategy, cagr from research.metrics where run_id = ?", [res.run_id]).rows())
    for v in cagr.values():
        assert f'data-source="research.metrics.cagr" data-value="{v}"' in html
    months = wh.sql("select months from research.tracking_summary where run_id = ?", [res.run_id]).item()
    assert f"over {months} months" in html
    assert (tmp_path / "research-tearsheet.html").exists()
