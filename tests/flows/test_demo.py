"""The demo flow: a fresh home gets N sessions built and the last night reported; extending the
home to a later as-of simulates and loads only the new sessions."""

from __future__ import annotations

from datetime import date

import pytest

from flows.demo import demo
from sources import calendar
from warehouse.db import Warehouse

AS_OF = date(2026, 3, 10)


def _state(home) -> tuple[list[date], dict[date, int], int]:
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        days = wh.sql("select distinct date from core.gamma_daily order by 1")["date"].to_list()
        files = dict(wh.execute(
            "select q.quote_date, count(distinct f.file_id) from audit.files f join raw.option_quotes q "
            "using (file_id) group by 1"))
        recs = wh.scalar("select count(*) from core.recommendations")
    return days, files, recs


@pytest.mark.usefixtures("prefect_harness")
def test_demo_builds_then_extends_by_the_new_sessions_only(tmp_path):
    home = tmp_path / "home"
    first = demo(as_of=AS_OF, days=2, pages=1, home=home)
    sessions = calendar.sessions_between(calendar.FIRST, AS_OF)[-2:]
    assert first.as_of == AS_OF and first.sessions == 2
    assert first.night.status == "ok", first.night.failed
    assert first.night.report == home / "reports" / f"{AS_OF}.html" and first.night.report.exists()
    days, files, recs = _state(home)
    assert days == sessions and recs == 2

    later = calendar.next_session(AS_OF)
    second = demo(as_of=later, days=3, pages=1, home=home)
    assert second.night.status == "ok", second.night.failed
    days2, files2, recs2 = _state(home)
    assert days2 == [*sessions, later] and recs2 == 3
    # the earlier sessions were not simulated or loaded again: their files are the same ones
    assert {d: files2[d] for d in sessions} == files
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        new = wh.scalar("select count(*) from audit.files where batch_id like ?", [f"night-{later}%"])
    assert second.added == new > 0  # only the new session's drop was landed by the second run
