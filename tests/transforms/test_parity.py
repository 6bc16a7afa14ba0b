"""core.parity_daily on inline chains: a worked example where parity holds exactly (forward,
discount, carry, residuals, extrinsic, short strikes), a mispriced pair that is an arbitrage, the
short-tenor unit discount, point in time, and the extrinsic roll rule."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

from transforms.alvh import AlvhParams
from transforms.parity import ParityParams, extrinsic_term, parity_daily

D0 = date(2026, 3, 2)
S, R, Q, DAYS = 100.0, 0.05, 0.02, 73  # SPXW (PM): T = 73 / 365 = 0.2
T = DAYS / 365.0
F = S * math.exp((R - Q) * T)          # 100.6018
DF = math.exp(-R * T)                  # 0.99005
HALF = 0.10                            # half spread of every quote
STRIKES = (90.0, 95.0, 100.0, 105.0, 110.0)
DELTAS = {("P", 90.0): -0.10, ("P", 95.0): -0.17, ("P", 100.0): -0.45,
          ("C", 100.0): 0.55, ("C", 105.0): 0.30, ("C", 110.0): 0.15}


def call_mid(k: float) -> float:
    return max(DF * (F - k), 0.0) + 2.0  # 2 points of time value on top of the discounted intrinsic


def put_mid(k: float) -> float:
    return call_mid(k) - DF * (F - k)   # put-call parity, exactly


def chain(quote_date: date = D0, days: int = DAYS, put_shift: dict | None = None) -> pl.DataFrame:
    rows = []
    for k in STRIKES:
        for right, mid in (("C", call_mid(k)), ("P", put_mid(k) + (put_shift or {}).get(k, 0.0))):
            rows.append({"quote_date": quote_date, "root": "SPXW", "expiry": quote_date + timedelta(days=days),
                         "strike": k, "right": right, "underlying": "SPX", "spot": S,
                         "bid": mid - HALF, "ask": mid + HALF, "iv": 0.2,
                         "delta": DELTAS.get((right, k), 0.9 if right == "C" else -0.9), "expired": False})
    return pl.DataFrame(rows)


def test_worked_example_recovers_the_forward_discount_and_carry():
    r = parity_daily(chain()).row(0, named=True)
    assert (r["root"], r["dte_days"], r["pairs_quoted"], r["pairs_fit"], r["fit_method"]) == ("SPXW", 73, 5, 5, "wls")
    assert r["t_years"] == pytest.approx(0.2)
    assert r["forward_implied"] == pytest.approx(F, abs=1e-9)          # 100.6018
    assert r["forward_basis_pts"] == pytest.approx(F - S, abs=1e-9)    # 0.6018
    assert r["discount_factor_implied"] == pytest.approx(DF, abs=1e-12)
    assert r["rate_implied"] == pytest.approx(R, abs=1e-9)             # 5 %
    assert r["carry_implied"] == pytest.approx(R - Q, abs=1e-9)        # r - q = 3 %
    assert r["dividend_yield_implied"] == pytest.approx(Q, abs=1e-9)
    assert r["parity_fit_rmse_pts"] == pytest.approx(0.0, abs=1e-9)
    # at the quotes a conversion gives up both half spreads plus the costs: -0.1 - 0.1 - 0.15
    assert r["parity_residual_conversion_max_pts"] == pytest.approx(-0.35, abs=1e-9)
    assert r["parity_residual_reversal_max_pts"] == pytest.approx(-0.35, abs=1e-9)
    assert (r["parity_arb_conversions"], r["parity_arb_reversals"]) == (0, 0)
    # ATM = strike nearest F (100): mean of call (2 + D x 0.6018) and put (2.0) over intrinsic 0
    assert r["atm_strike"] == 100.0
    assert r["extrinsic_atm_pts"] == pytest.approx(0.5 * (call_mid(100.0) + put_mid(100.0)), abs=1e-9)
    assert r["extrinsic_atm_vol_pct"] == pytest.approx(
        100 * r["extrinsic_atm_pts"] / (S * math.sqrt(T) / math.sqrt(2 * math.pi)), rel=1e-12)
    # condor shorts: |delta| nearest 0.16, out of the money; OTM so the mid is all extrinsic
    assert (r["short_put_strike"], r["short_call_strike"]) == (95.0, 110.0)
    assert r["extrinsic_short_put_pts"] == pytest.approx(put_mid(95.0), abs=1e-9)
    assert r["extrinsic_short_call_pts"] == pytest.approx(call_mid(110.0), abs=1e-9)


def test_a_put_offered_too_cheap_is_a_conversion_after_costs():
    # put at 110 offered 1 point under parity: buy it at ask, sell the call at bid, long forward
    r = parity_daily(chain(put_shift={110.0: -1.0})).row(0, named=True)
    assert r["forward_implied"] == pytest.approx(F, abs=1e-9)  # the outlier is trimmed from the fit
    assert r["parity_residual_conversion_max_pts"] == pytest.approx(1.0 - 0.35, abs=1e-9)
    assert (r["parity_arb_conversions"], r["parity_arb_reversals"]) == (1, 0)


def test_short_tenor_uses_a_unit_discount_and_no_rate():
    r = parity_daily(chain(days=3)).row(0, named=True)
    assert r["fit_method"] == "unit_discount" and r["discount_factor_implied"] == 1.0
    assert r["rate_implied"] is None and r["dividend_yield_implied"] is None
    assert r["carry_implied"] == pytest.approx(math.log(r["forward_implied"] / S) / (3 / 365), rel=1e-12)


def test_settled_and_one_sided_expiries():
    q = chain(days=0)  # SPXW expiring at tonight's close: no time left, no row
    assert parity_daily(q).is_empty()
    one_sided = chain().with_columns(bid=pl.when(pl.col("right") == "P").then(None).otherwise(pl.col("bid")))
    r = parity_daily(one_sided).row(0, named=True)
    assert r["pairs_quoted"] == 0 and r["forward_implied"] is None and r["parity_arb_conversions"] == 0


def test_point_in_time_a_later_session_changes_no_earlier_row():
    d1 = D0 + timedelta(days=1)
    alone = parity_daily(chain(D0))
    both = parity_daily(pl.concat([chain(D0), chain(d1, put_shift={100.0: 0.3})]))
    assert both.filter(pl.col("quote_date") == D0).equals(alone)
    assert both["quote_date"].unique().sort().to_list() == [D0, d1]


def test_short_delta_is_the_condors():
    assert ParityParams().short_delta == AlvhParams().short_delta


def _night(front_vol: float, back_vol: float) -> pl.DataFrame:
    return pl.DataFrame({"root": ["SPXW", "SPXW", "SPXW"], "expiry": [date(2026, 3, 16), date(2026, 4, 16), date(2026, 5, 1)],
                         "dte_days": [14, 45, 60], "extrinsic_atm_vol_pct": [front_vol, back_vol, 30.0]})


@pytest.mark.parametrize("front, ok", [(22.0, True), (22.2, False), (18.0, True)])
def test_roll_rule_front_extrinsic_at_most_10pct_richer_than_back(front, ok):
    out = extrinsic_term(_night(front, 20.0))
    assert out["extrinsic_term_ratio"] == pytest.approx(front / 20.0)
    assert out["extrinsic_roll_ok"] is ok
    assert (out["front_expiry"], out["back_expiry"]) == (date(2026, 3, 16), date(2026, 4, 16))


def test_roll_rule_unknown_without_a_back_tenor():
    out = extrinsic_term(_night(22.0, 20.0).filter(pl.col("dte_days") < 28))
    assert out["extrinsic_term_ratio"] is None and out["extrinsic_roll_ok"] is None
