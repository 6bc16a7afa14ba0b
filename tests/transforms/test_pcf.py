"""core.pcf_daily on inline frames: the cap-weighted P/CF (weighted harmonic mean), the median, a
negative cash flow, the 20/60-session changes, and point in time; plus the CSV reader."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from sources.formats import parse_file
from transforms.pcf import pcf_daily

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "constituents_pcf_csv"


def test_worked_example_from_the_fixture():
    p = parse_file(FIX / "constituents_pcf.csv")
    assert p.format == "constituents_pcf_csv" and p.rejects["reason"].to_list() == ["price: abc is not a number"]
    t = pcf_daily(p.rows)
    d9, d10 = t.row(0, named=True), t.row(1, named=True)
    # 2026-03-09: yields 5/100, 5/50, -1/20 with weights .5 .3 .2 -> .025 + .03 - .01 = .045
    assert d9["pcf_index"] == pytest.approx(1.0 / 0.045)      # 22.22: market cap over cash flow
    assert d9["cf_yield_pct"] == pytest.approx(4.5)
    assert d9["pcf_median"] == pytest.approx(15.0)            # median of 20 and 10 (CCC's OCF < 0 left out)
    assert (d9["constituents"], d9["weight_covered_pct"]) == (3, pytest.approx(100.0))
    # 2026-03-10: AAA at 110 -> .5 x 5/110 + .03 - .01
    assert d10["pcf_index"] == pytest.approx(1.0 / (0.5 * 5 / 110 + 0.02))
    assert d10["pcf_chg_20d_pct"] is None                     # not 20 sessions of history yet


def test_changes_over_20_and_60_sessions_and_point_in_time():
    days = [date(2026, 1, 1) + timedelta(days=k) for k in range(70)]
    f = pl.DataFrame({"date": days, "ticker": ["A"] * 70, "index_weight": [1.0] * 70,
                      "price": [100.0 + k for k in range(70)], "ocf_per_share_ttm": [5.0] * 70})
    t = pcf_daily(f)
    last = t.row(-1, named=True)  # P/CF = price / 5
    assert last["pcf_index"] == pytest.approx(169.0 / 5)
    assert last["pcf_chg_20d_pct"] == pytest.approx(100 * (169 / 149 - 1))
    assert last["pcf_chg_60d_pct"] == pytest.approx(100 * (169 / 109 - 1))
    early = pcf_daily(f.filter(pl.col("date") <= days[40]))
    assert early.equals(t.filter(pl.col("date") <= days[40]))


def test_no_positive_cash_flow_gives_no_ratio():
    f = pl.DataFrame({"date": [date(2026, 3, 2)], "ticker": ["A"], "index_weight": [1.0], "price": [10.0],
                      "ocf_per_share_ttm": [-1.0]})
    r = pcf_daily(f).row(0, named=True)
    assert r["pcf_index"] is None and r["cf_yield_pct"] is None and r["pcf_median"] is None


def test_percent_weights_are_read_as_decimals():
    from sources.pcf_csv import parse

    p = parse(b"date,ticker,index_weight,price,ocf_per_share_ttm\n2026-03-02,A,60,10,1\n2026-03-02,B,40,20,1\n",
              "w.csv")
    assert p.rows["index_weight"].to_list() == [0.6, 0.4]
