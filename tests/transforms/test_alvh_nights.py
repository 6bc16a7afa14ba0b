"""transforms/alvh_nights.py: the night-to-night carry of the ALVH recommendation (a night's prev is
the newest 'ok' row stored or built before it) and the refusal loop (a row the contract refuses is
nobody's prev). Five-row inline frames, a stand-in `recommend` that records each night's prev."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.alvh import AlvhParams, Recommendation
from transforms.alvh_nights import NightInputs, prev_row, recommend_nights

D = [date(2026, 3, d) for d in range(2, 10)]  # D[0] .. D[7]
EMPTY = pl.DataFrame(schema={"quote_date": pl.Date, "underlying": pl.String})
TRUSTED = {d: (True, "") for d in D}


def nights(days: list[date]) -> list[NightInputs]:
    return [NightInputs(d, EMPTY, EMPTY, EMPTY) for d in days]


class Fake:
    """recommend(): status 'ok' unless `status` says otherwise; records prev and the trust seen."""

    def __init__(self, status: dict[date, str] | None = None):
        self.status = status or {}
        self.prev: dict[date, date | None] = {}
        self.trusted: dict[date, tuple[bool, str]] = {}
        self.calls = 0

    def __call__(self, d, spx, *, prev=None, trusted=True, untrusted_reason="", **kw) -> Recommendation:
        self.calls += 1
        self.prev[d] = None if prev is None else prev["as_of"]
        self.trusted[d] = (trusted, untrusted_reason)
        summary = pl.DataFrame({"as_of": [d], "status": [self.status.get(d, "ok")]})
        legs = pl.DataFrame({"as_of": [d], "leg": ["short_put"]})
        return Recommendation(summary, legs, legs.clear())


def ok_row(d: date) -> dict:
    return {"as_of": d, "status": "ok"}


def test_prev_is_the_newer_of_the_latest_built_and_the_latest_stored_row():
    assert prev_row(None, None) is None
    assert prev_row(ok_row(D[1]), None)["as_of"] == D[1]
    assert prev_row(ok_row(D[1]), ok_row(D[0]))["as_of"] == D[1]
    assert prev_row(ok_row(D[1]), ok_row(D[2]))["as_of"] == D[2]


def test_each_night_sees_the_latest_ok_row_stored_or_built_before_it():
    fake = Fake({D[2]: "no_chain"})
    out = recommend_nights(nights([D[1], D[2], D[3], D[5]]), [ok_row(D[0]), ok_row(D[4])], TRUSTED,
                           AlvhParams(), accept=lambda f: f, recommend_fn=fake)
    assert fake.prev == {D[1]: D[0], D[2]: D[1], D[3]: D[1], D[5]: D[4]}
    assert out.summary["as_of"].to_list() == [D[1], D[2], D[3], D[5]]
    assert out.accepted.equals(out.summary)
    assert out.frame("legs")["as_of"].to_list() == [D[1], D[2], D[3], D[5]]
    assert fake.calls == 4  # nothing refused: one pass


def test_a_row_the_contract_refuses_is_nobodys_prev():
    fake = Fake()
    accepted = []

    def accept(summary: pl.DataFrame) -> pl.DataFrame:
        accepted.append(summary.height)
        return summary.filter(pl.col("as_of") != D[1])

    out = recommend_nights(nights(D[1:4]), [ok_row(D[0])], TRUSTED, AlvhParams(), accept, fake)
    # written one by one, D[1]'s row would never have reached the table: D[2] builds on D[0]
    assert fake.prev == {D[1]: D[0], D[2]: D[0], D[3]: D[2]}
    assert accepted == [3, 3]  # the nights were rebuilt once without the refused row
    assert out.accepted["as_of"].to_list() == [D[2], D[3]]
    assert out.summary["as_of"].to_list() == [D[1], D[2], D[3]]


def test_the_trust_verdict_reaches_each_night():
    fake = Fake()
    trust = {D[1]: (True, ""), D[2]: (False, "raw.option_quotes: freshness - no rows")}
    recommend_nights(nights(D[1:3]), [], trust, AlvhParams(), lambda f: f, fake)
    assert fake.trusted == trust


def test_the_real_recommendation_without_chains_carries_no_prev():
    out = recommend_nights(nights(D[:2]), [], TRUSTED, AlvhParams(), lambda f: f)
    assert out.summary.height == 2 and out.summary["as_of"].to_list() == D[:2]
    assert "ok" not in out.summary["status"].to_list()  # no chain, no condor
