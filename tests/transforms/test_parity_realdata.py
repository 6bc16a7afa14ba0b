"""Conformance of core.parity_daily on the real CBOE SPX chains (../shared/realdata): no pair out
to two years is an arbitrage after costs, the implied rate is positive and carry is positive where
the rate exceeded the dividend yield (figures in docs/options.md). Skips when the files are absent."""

from __future__ import annotations

import polars as pl
import pytest

from expectations.contracts import check_rows
from sources.formats import parse_file
from transforms.parity import parity_daily

pytestmark = pytest.mark.realdata

FILES = ("spx_2022-02-05.csv", "spx_2022-07-12_no_leading_blank.csv", "spx_2026-03-14_expired_rows.csv")


@pytest.fixture(scope="module")
def tables(realdata) -> dict[str, pl.DataFrame]:
    return {f: parity_daily(parse_file(realdata / "cboe_chains" / f).rows) for f in FILES}


@pytest.mark.parametrize("name", FILES)
def test_no_arbitrage_within_two_years_and_the_contract_holds(tables, name):
    t = tables[name]
    near = t.filter(pl.col("dte_days") <= 730)
    assert near.height >= 40
    assert near["parity_arb_conversions"].sum() == 0 and near["parity_arb_reversals"].sum() == 0
    worst = near.select(pl.max_horizontal("parity_residual_conversion_max_pts",
                                          "parity_residual_reversal_max_pts").max()).item()
    assert -1.0 < worst < 0.0  # the best pair loses less than a point after costs: parity holds
    good, bad = check_rows("core.parity_daily", t)
    assert bad.is_empty(), bad.head(5)


@pytest.mark.parametrize("name, rate_lo, rate_hi, carry_positive", [
    ("spx_2022-02-05.csv", 0.0, 0.02, False),                  # rates ~0.9 % < dividend yield
    ("spx_2022-07-12_no_leading_blank.csv", 0.02, 0.04, True),
    ("spx_2026-03-14_expired_rows.csv", 0.03, 0.05, True),
])
def test_implied_rate_and_carry_from_three_months(tables, name, rate_lo, rate_hi, carry_positive):
    b = tables[name].filter(pl.col("dte_days").is_between(90, 400))
    rate, carry = b["rate_implied"].median(), b["carry_implied"].median()
    assert rate_lo < rate < rate_hi
    assert (carry > 0) is carry_positive
