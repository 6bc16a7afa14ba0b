"""The demo flow: a fresh home gets N sessions built and the last night reported (the test session's
sample home, tests/conftest.py); extending a copy to a later as-of simulates and loads only the new
sessions."""

from __future__ import annotations

from datetime import date

from flows.demo import demo
from sources import calendar
from warehouse.db import Warehouse


def _state(home) -> tuple[list[date], dict[date, int], int]:
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        days = wh.sql("select distinct date from core.gamma_daily order by 1")["date"].to_list()
        files = dict(wh.execute(
            "select q.quote_date, count(distinct f.file_id) from audit.files f join raw.option_quotes q "
            "using (file_id) group by 1"))
        recs = wh.scalar("select count(*) from core.recommendations")
    return days, files, recs


def test_demo_builds_then_extends_by_the_new_sessions_only(sample_home, copy_home, tmp_path):
    # the first demo: the test session's sample home (SAMPLE_DAYS sessions up to its as-of)
    home = copy_home(sample_home.home, tmp_path / "home")
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        runs = wh.sql("select as_of, status from audit.runs where flow = 'demo'").rows()
    sessions = sample_home.nights
    assert runs == [(sample_home.as_of, "ok")] and sessions[-1] == sample_home.as_of
    assert sample_home.page().exists()
    days, files, recs = _state(home)
    assert days == sessions and recs == len(sessions)

    later = calendar.next_session(sample_home.as_of)
    second = demo(as_of=later, days=len(sessions) + 1, pages=1, home=home)
    assert second.as_of == later and second.sessions == len(sessions) + 1
    assert second.night.status == "ok", second.night.failed
    assert second.night.report == home / "reports" / f"{later}.html" and second.night.report.exists()
    days2, files2, recs2 = _state(home)
    assert days2 == [*sessions, later] and recs2 == len(sessions) + 1
    # the earlier sessions were not simulated or loaded again: their files are the same ones
    assert {d: files2[d] for d in sessions} == files
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        new = wh.scalar("select count(*) from audit.files where batch_id like ?", [f"night-{later}%"])
    assert second.added == new > 0  # only the new session's drop was landed by the second run
