"""A small planted-fault sample (bench/bench_corruption.py runs the full 260 nights): three sample
nights of seed 11, the third judged clean and then with each planted fault, family by family."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_corruption import (  # noqa: E402
    History,
    audit_breadth,
    judge_night,
    judge_planted,
    night_breadth,
    night_files,
)

from expectations.plausibility import critical  # noqa: E402
from sources.calendar import sessions_between  # noqa: E402
from sources.sample.faults import FAULTS, plant  # noqa: E402
from sources.sample.market import SampleMarket  # noqa: E402

DAYS = sessions_between(date(2025, 3, 3), date(2025, 3, 5))


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """(history after nights 1-2, night 2's drop, night 3's drop, night 3's clean verdicts)."""
    m = SampleMarket(11)
    tmp = tmp_path_factory.mktemp("faults")
    hist = History()
    drops = []
    for day in DAYS:
        drop = night_files(m, day, tmp)
        res = judge_night(drop, hist)
        drops.append((drop, res))
        if day != DAYS[-1]:
            for _, (_, _, rows, table) in res.items():
                if rows is not None:
                    hist.add(table, rows, day)
    return hist, drops[-2][0], drops[-1][0], drops[-1][1]


def test_the_clean_night_raises_no_critical(nights):
    hist, _, _, clean = nights
    for name, (refusal, findings, _, _) in clean.items():
        assert refusal is None, refusal
        assert critical(findings) == [], (name, [f.one_line() for f in findings])
    # The nightly audit's complete breadth row of the clean night.
    assert audit_breadth(night_breadth(clean), hist) == []


@pytest.mark.parametrize("family", sorted({f.family for f in FAULTS}))
def test_every_planted_fault_is_caught(nights, family):
    hist, prev, drop, clean = nights
    missed = []
    for fault in (f for f in FAULTS if f.family == family):
        planted = plant(fault, drop, prev)
        assert planted is not None, fault.name
        name, bad = planted
        refusal, findings = judge_planted(name, bad, hist, clean)
        what = refusal or (critical(findings)[0].one_line() if critical(findings) else None)
        if what is None:
            missed.append(fault.name)
        else:  # one clear line naming the file
            assert name in what and "\n" not in what and len(what) < 400, what
    assert missed == []
