"""flows/build.py, the recommendation step: the nights are computed in memory and written once,
yet each night's `prev` is the row the table would hold had they been written one by one."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

import flows.build as build
import transforms.alvh as alvh
import transforms.alvh_nights as alvh_nights
from flows.gate import Verdict
from flows.settings import load_settings
from warehouse.db import Warehouse

D = [date(2026, 3, d) for d in range(2, 10)]  # D[0] .. D[7]
EMPTY = pl.DataFrame(schema={"quote_date": pl.Date, "underlying": pl.String})
RECOMMEND = alvh.recommend


def summary(d: date, status: str) -> pl.DataFrame:
    return RECOMMEND(d, EMPTY).summary.with_columns(status=pl.lit(status))


@pytest.fixture
def night_log(monkeypatch):
    """recommend stubbed: records the `prev` each night saw; a night's status is ok unless the
    test says otherwise. The contract gate refuses the recommendation rows of `refuse`."""
    log: dict = {"prev": {}, "status": {}, "refuse": set(), "gates": 0}

    def recommend(d, spx, *, prev=None, **kw):
        log["prev"][d] = None if prev is None else prev["as_of"]
        rec = RECOMMEND(d, EMPTY)
        return alvh.Recommendation(summary(d, log["status"].get(d, "ok")), rec.legs, rec.payoff)

    def judge(table, frame, dates=None, date_col=None, **kw):
        if table == "core.recommendations":
            log["gates"] += 1
            return Verdict(table, frame.filter(~pl.col("as_of").is_in(sorted(log["refuse"]))))
        return Verdict(table, frame)

    monkeypatch.setattr(alvh, "recommend", recommend)
    monkeypatch.setattr(alvh_nights, "recommend", recommend)
    monkeypatch.setattr(build, "judge", judge)
    monkeypatch.setattr(build, "nights_trust", lambda wh, dates: {d: (True, "") for d in dates})
    return log


def stored(wh: Warehouse) -> list[tuple[date, str]]:
    return wh.sql("select as_of, status from core.recommendations order by 1").rows()


def run(wh: Warehouse, dates: list[date]) -> build.StepResult:
    return build.build_recommendations.fn(wh, dates, load_settings())


def test_prev_is_the_latest_ok_row_stored_or_built_before_the_night(night_log):
    wh = Warehouse.memory()
    for d in (D[0], D[2], D[4], D[7]):  # stored earlier; D[2] is rebuilt below
        wh.append("core.recommendations", summary(d, "ok"))
    night_log["status"] = {D[2]: "no_chain", D[5]: "no_chain"}
    res = run(wh, [D[6], D[1], D[2], D[3], D[5]])  # any order, not contiguous
    assert night_log["prev"] == {
        D[1]: D[0],   # stored, outside the build
        D[2]: D[1],   # built just before
        D[3]: D[1],   # D[2] rebuilt as no_chain: its stored 'ok' row is not a prev
        D[5]: D[4],   # stored, newer than the built D[3]
        D[6]: D[4],   # D[5] is not ok
    }
    assert night_log["gates"] == 1 and res.rows["core.recommendations"] == 5
    assert stored(wh) == [(D[0], "ok"), (D[1], "ok"), (D[2], "no_chain"), (D[3], "ok"), (D[4], "ok"),
                          (D[5], "no_chain"), (D[6], "ok"), (D[7], "ok")]


def test_a_row_the_contract_refuses_is_nobodys_prev(night_log):
    wh = Warehouse.memory()
    wh.append("core.recommendations", summary(D[0], "ok"))
    night_log["refuse"] = {D[1]}
    run(wh, D[1:4])
    # written one by one, D[1]'s row would never have reached the table: D[2] and D[3] build on D[0]
    # and D[2] in turn
    assert night_log["prev"] == {D[1]: D[0], D[2]: D[0], D[3]: D[2]}
    assert night_log["gates"] == 2  # the nights were rebuilt once without the refused row
    assert stored(wh) == [(D[0], "ok"), (D[2], "ok"), (D[3], "ok")]
