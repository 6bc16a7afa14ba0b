"""The night's recommendation on inline frames: sizing by regime and risk budget, the VIX call
calendar (strike vs the VX forward, debit, size as a share of the condor's max loss), the VX
futures roll, no size increase in an unwind, roll guidance when funding normalises, the audit
gate, the payoff table; and on a sample-market night, every leg is a row of that night's data."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from transforms.alvh import (
    LEG_SCHEMA,
    PAYOFF_SCHEMA,
    SUMMARY_SCHEMA,
    AlvhParams,
    recommend,
    vix_calendar,
)
from warehouse.db import Warehouse

D = date(2024, 3, 1)
E14 = date(2024, 3, 15)
NEAR, FAR = date(2024, 3, 20), date(2024, 4, 17)
SPOT = 5000.0

PUTS = [(4750, 1.00, 1.20, -0.05, 0.22), (4800, 2.00, 2.20, -0.08, 0.21),
        (4850, 4.00, 4.30, -0.16, 0.20), (4900, 8.00, 8.40, -0.28, 0.19), (5000, 40.0, 41.0, -0.50, 0.16)]
CALLS = [(5000, 45.0, 46.0, 0.50, 0.16), (5100, 6.00, 6.30, 0.25, 0.14), (5150, 3.00, 3.20, 0.15, 0.135),
         (5200, 1.40, 1.60, 0.08, 0.13), (5250, 0.60, 0.75, 0.04, 0.13)]


def spx() -> pl.DataFrame:
    rows = [("SPXW", E14, float(k), "P", b, a, d, iv) for k, b, a, d, iv in PUTS] + \
           [("SPXW", E14, float(k), "C", b, a, d, iv) for k, b, a, d, iv in CALLS]
    return pl.DataFrame(rows, schema=["root", "expiry", "strike", "right", "bid", "ask", "delta", "iv"],
                        orient="row").with_columns(quote_date=pl.lit(D), spot=pl.lit(SPOT),
                                                   underlying=pl.lit("SPX"))


def vix() -> pl.DataFrame:
    #        expiry strike bid   ask   iv
    rows = [(NEAR, 16.0, 1.00, 1.10, 0.9), (NEAR, 17.0, 0.70, 0.80, 0.95), (NEAR, 18.0, 0.50, 0.60, 1.0),
            (NEAR, 20.0, 0.25, 0.30, 1.1),
            (FAR, 17.0, 1.35, 1.45, 0.8), (FAR, 18.0, 1.05, 1.15, 0.82), (FAR, 20.0, 0.70, 0.80, 0.85)]
    return pl.DataFrame(rows, schema=["expiry", "strike", "bid", "ask", "iv"], orient="row").with_columns(
        quote_date=pl.lit(D), root=pl.lit("VIX"), right=pl.lit("C"), spot=pl.lit(15.0),
        underlying=pl.lit("VIX"), delta=pl.lit(0.3))


def vx() -> pl.DataFrame:
    return pl.DataFrame({"trade_date": [D] * 3, "expiry": [date(2024, 3, 4), NEAR, FAR],
                         "settle": [15.2, 16.2, 17.0], "weekly": [True, False, False]})


def sig(score: float, regime: str = "crowded", z: float | None = 1.5, **kw) -> dict:
    return {"unwind_score": score, "regime": regime, "convergence": False, "vix": 15.0,
            "funding_apr_z": z, **kw}


# the layers' own sizing rules in isolation (the stress-grid cut has its own tests at the end)
RULES_ONLY = AlvhParams(size_to_stress=False)


def night(score=100.0, regime="crowded", prev=None, params=RULES_ONLY,
          **kw) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    r = recommend(D, spx(), signals=sig(score, regime, **kw), vix_quotes=vix(), vx_futures=vx(), prev=prev,
                  params=params)
    return r.row, r.legs, r.payoff


def test_calendar_strike_debit_and_size():
    row, legs, _ = night(score=100.0, regime="crowded")
    # widened condor (see test_alvh_condor): credit 1.45, max loss 48.55 -> 4,855 USD per condor.
    # Risk budget 2 % x 1,000,000 x 0.75 (crowded) = 15,000; the calendar takes 15 % on top:
    # 15,000 / (4,855 x 1.15) = 2.69 -> 2 condors.
    assert row["max_loss_pts"] == pytest.approx(48.55)
    assert row["contracts"] == 2 and row["size_mult"] == 0.75
    # forward = VX settle of the near expiry 16.20; strike >= 16.20 x 1.10 = 17.82 -> 18
    assert row["calendar_forward"] == 16.2 and row["calendar_forward_source"] == "vx_futures"
    assert row["calendar_strike"] == 18.0
    # debit: buy the far 18 C at its ask 1.15, sell the near at its bid 0.50
    assert row["calendar_debit_pts"] == pytest.approx(0.65)
    # budget 15 % x 2 x 4,855 = 1,456.5 USD -> floor(1,456.5 / 65) = 22 calendars
    assert row["calendar_contracts"] == 22
    assert row["calendar_cost_usd"] == pytest.approx(22 * 65.0)
    assert row["risk_condor_usd"] == pytest.approx(2 * 4855 + 22 * 65)
    assert row["risk_condor_usd"] <= row["risk_budget_usd"]
    cal = legs.filter(pl.col("layer") == "calendar")
    assert cal.select("expiry", "side", "price", "quantity").rows() == [
        (NEAR, "sell", 0.50, 22), (FAR, "buy", 1.15, 22)]
    assert row["structure"] == "iron_condor+vix_call_calendar+vx_futures"


def test_calendar_falls_back_to_parity_without_vx():
    puts = vix().with_columns(right=pl.lit("P"), bid=pl.lit(1.0), ask=pl.lit(1.1))
    cal, why = vix_calendar(pl.concat([vix(), puts]), None, D)
    # parity at the strike where |C - P| is smallest: near 16 C mid 1.05, P mid 1.05 -> F = 16.00
    assert why == "" and cal.forward_source == "parity" and cal.forward == pytest.approx(16.0)
    assert cal.strike == 18.0  # >= 17.60
    assert vix_calendar(None, vx(), D) == (None, "no VIX chain tonight")


def test_no_hedges_below_the_elevated_score():
    row, legs, _ = night(score=30.0, regime="calm")
    assert row["widen_pct"] == 0.0 and row["calendar_contracts"] is None
    assert row["vx_contracts"] is None  # calm: no VX allocation
    assert set(legs["layer"]) == {"condor"}
    # calm: 20,000 budget / 4,680 per condor = 4
    assert row["contracts"] == 4 and row["structure"] == "iron_condor"


def test_vx_roll_allocation_by_regime():
    row, legs, _ = night(score=30.0, regime="crowded")
    # crowded: 0.5 % of capital = 5,000; front monthly with > 5 days left = 2024-03-20 (the weekly
    # is skipped); risk per contract max(16.2 - 15.0, 1.0) x 1,000 = 1,200 -> 4 contracts
    assert (row["vx_expiry"], row["vx_price"], row["vx_contracts"]) == (NEAR, 16.2, 4)
    assert row["vx_risk_per_contract_usd"] == pytest.approx(1200.0)
    fut = legs.filter(pl.col("layer") == "vx_hedge")
    assert fut.select("instrument", "expiry", "side", "quantity", "multiplier").rows() == [
        ("future", NEAR, "buy", 4, 1000.0)]
    # the hedge is bought before the unwind only: once VIX has spiked, no VX allocation
    for regime in ("unwinding", "recovery"):
        after, after_legs, _ = night(score=30.0, regime=regime)
        assert after["vx_contracts"] is None and "vx_hedge" not in set(after_legs["layer"])
    assert AlvhParams().vx_budget_pct == {"calm": 0.0, "crowded": 0.5, "unwinding": 0.0, "recovery": 0.0}
    custom, _, _ = night(score=30.0, regime="recovery",
                         params=AlvhParams(vx_budget_pct={"calm": 0.0, "crowded": 0.5, "unwinding": 0.0,
                                                          "recovery": 0.25}, size_to_stress=False))
    assert custom["vx_contracts"] == 2  # 0.25 % -> 2,500 / 1,200


def test_never_size_up_into_an_unwind():
    prev = {"status": "ok", "contracts": 1, "vx_contracts": 2}
    # a VX budget in the unwind (the default has none) is capped like the condors
    vx_in_unwind = AlvhParams(vx_budget_pct={"calm": 0.0, "crowded": 0.5, "unwinding": 0.5, "recovery": 0.0},
                              size_to_stress=False)
    row, legs, _ = night(score=30.0, regime="unwinding", prev=prev, params=vx_in_unwind)
    # the unwinding budget (0.5 x 20,000 = 10,000 -> 2 condors) is capped at last night's 1
    assert row["contracts"] == 1 and row["size_capped"] is True
    assert row["vx_contracts"] == 2  # 5,000 / 1,200 = 4, capped at last night's 2
    assert set(legs.filter(pl.col("layer") == "condor")["quantity"]) == {1}
    free, _, _ = night(score=30.0, regime="unwinding", prev=None)
    assert free["contracts"] == 2 and free["size_capped"] is False
    with pytest.raises(ValueError, match="never size"):
        AlvhParams(size_mult={"calm": 1.0, "crowded": 0.5, "unwinding": 1.5, "recovery": 0.5})


def test_roll_guidance_once_funding_normalises():
    widened, _, _ = night(score=100.0)
    assert widened["widened_expiry"] == E14 and widened["widened_short_put"] == 4800.0
    assert widened["widened_contracts"] == 2
    # funding still elevated: the widened position is carried, no roll
    held, _, _ = night(score=30.0, regime="crowded", z=1.5, prev=widened)
    assert held["roll"] is False and held["widened_short_call"] == 5200.0
    # funding normal and the score below 40: roll the shorts back to the delta-target strikes
    row, legs, _ = night(score=30.0, regime="crowded", z=0.2, prev=held)
    assert row["roll"] is True and row["roll_expiry"] == E14
    assert (row["roll_from_short_put"], row["roll_to_short_put"]) == (4800.0, 4850.0)
    assert (row["roll_from_short_call"], row["roll_to_short_call"]) == (5200.0, 5150.0)
    roll = legs.filter(pl.col("layer") == "roll")
    # put side: close 4800/4750 (buy 4800, sell 4750), open 4850/4800 (sell 4850, buy 4800):
    # netted, 4800 is bought twice
    assert roll.select("strike", "right", "side", "ratio", "quantity", "price").rows() == [
        (4750.0, "P", "sell", 1, 2, 1.00), (4800.0, "P", "buy", 2, 4, 2.20), (4850.0, "P", "sell", 1, 2, 4.00),
        (5150.0, "C", "sell", 1, 2, 3.00), (5200.0, "C", "buy", 2, 4, 1.60), (5250.0, "C", "sell", 1, 2, 0.60)]
    assert row["widened_expiry"] is None  # rolled: nothing carried any more
    assert any(r["choice"] == "roll back in" for r in json.loads(row["rationale"]))
    # the score between 40 and 50 holds the widened position (no churn around the threshold)
    churn, _, _ = night(score=45.0, regime="crowded", z=0.2, prev=held)
    assert churn["roll"] is False


def test_untrusted_night_emits_no_recommendation():
    r = recommend(D, spx(), signals=sig(80.0), vix_quotes=vix(), vx_futures=vx(),
                  trusted=False, untrusted_reason="2 critical check(s) failed: raw.option_quotes:bid<=ask")
    assert r.row["status"] == "untrusted" and r.row["skip_reason"].startswith("2 critical")
    assert r.legs.is_empty() and r.payoff.is_empty()
    assert r.row["contracts"] is None and r.row["structure"] is None


def test_no_chain_and_no_signal():
    r = recommend(D, spx().clear())
    assert r.row["status"] == "no_chain"
    r = recommend(D, spx(), signals=None)
    assert r.row["status"] == "ok" and r.row["widen_pct"] == 0.0 and r.row["regime"] == "calm"
    assert "no unwind score" in r.row["rationale"]


def test_payoff_is_piecewise_linear_in_the_stored_legs():
    row, legs, pay = night(score=30.0, regime="calm")
    n, credit, ml = row["contracts"], row["credit_pts"], row["max_loss_pts"]
    at = {round(x, 6): v for x, v in zip(pay["spx_level"], pay["condor_pnl_usd"], strict=True)}
    assert at[SPOT] == pytest.approx(n * credit * 100)          # inside the shorts: keep the credit
    assert at[round(row["be_low"], 6)] == pytest.approx(0.0, abs=1e-6)
    assert at[round(row["be_high"], 6)] == pytest.approx(0.0, abs=1e-6)
    assert pay["condor_pnl_usd"].min() == pytest.approx(-n * ml * 100)
    assert pay["total_pnl_usd"].to_list() == pytest.approx(
        (pay["condor_pnl_usd"] + pay["calendar_pnl_usd"] + pay["vx_pnl_usd"]).to_list())
    # with hedges: the VX leg gains when SPX falls (VIX up in the scenario)
    _, _, hedged = night(score=100.0)
    low = hedged.sort("spx_level").row(0, named=True)
    assert low["vx_pnl_usd"] > 0 and low["vix_level"] > 15.0


def test_frames_match_the_ddl_and_load():
    rec = recommend(D, spx(), signals=sig(100.0), vix_quotes=vix(), vx_futures=vx())
    with Warehouse.memory() as wh:
        assert wh.columns("core.recommendations") == list(SUMMARY_SCHEMA)
        assert wh.columns("core.recommendation_legs") == list(LEG_SCHEMA)
        assert wh.columns("core.recommendation_payoff") == list(PAYOFF_SCHEMA)
        wh.write("core.recommendations", rec.summary, by=["as_of"])
        wh.write("core.recommendation_legs", rec.legs, by=["as_of"])
        wh.write("core.recommendation_payoff", rec.payoff, by=["as_of"])
        assert wh.scalar("select count(*) from core.recommendation_legs") == rec.legs.height
    assert rec.legs.group_by("layer", "leg_no").len()["len"].max() == 1


def test_every_leg_is_a_row_of_the_nights_data_on_the_sample_market():
    from sources import cboe_chain
    from sources.cfe_vx import FORMATS as VX_FORMATS
    from sources.sample import SampleMarket, chains
    from sources.sample import vx as sample_vx

    m = SampleMarket(7)
    day = date(2024, 8, 2)
    spx_q = cboe_chain.parse(chains.spx_chain(m, day).text().encode(), "spx.csv").rows
    vix_q = cboe_chain.parse(chains.vix_chain(m, day).text().encode(), "vix.csv").rows
    text = sample_vx.settlement_text(m, day).encode()
    fmt = next(f for f in VX_FORMATS if f.sniff(text.decode()[:2000]))
    vx_rows = fmt.parse(text, f"cfe_settlement_{day.isoformat()}.csv").rows
    rec = recommend(day, spx_q, signals=sig(80.0, "crowded"), vix_quotes=vix_q, vx_futures=vx_rows,
                    params=RULES_ONLY)
    legs = rec.legs
    assert set(legs["layer"]) == {"condor", "calendar", "vx_hedge"}
    keys = ["root", "expiry", "strike", "right"]
    opts = legs.filter(pl.col("instrument") == "option")
    quotes = pl.concat([spx_q, vix_q]).filter(pl.col("quote_date") == day).select(
        *keys, pl.col("bid").alias("q_bid"), pl.col("ask").alias("q_ask"))
    joined = opts.join(quotes, on=keys, how="left")
    assert joined["q_bid"].null_count() == 0, "a leg is not in the night's chain"
    for r in joined.iter_rows(named=True):
        assert r["price"] == (r["q_bid"] if r["side"] == "sell" else r["q_ask"])
    fut = legs.filter(pl.col("instrument") == "future").join(
        vx_rows.filter(pl.col("trade_date") == day).select("expiry", "settle"), on="expiry", how="left")
    assert fut["settle"].null_count() == 0 and (fut["settle"] == fut["price"]).all()
    assert rec.row["expiry"] in set(spx_q["expiry"])


def test_roll_waits_while_the_front_extrinsic_is_rich():
    """The extrinsic-by-tenor rule (docs/options.md): funding normal and score < 40, but the front
    ATM extrinsic (as vol) 1.25 x the next month's: the widened strikes are held; at 1.05 they roll."""
    widened, _, _ = night(score=100.0)
    rich, _, _ = night(score=30.0, z=0.2, prev=widened, extrinsic_term_ratio=1.25, extrinsic_roll_ok=False)
    assert rich["roll"] is False and rich["widened_expiry"] == E14
    held = [r for r in json.loads(rich["rationale"]) if r["choice"] == "hold widened strikes"]
    assert held and held[0]["value"] == 1.25
    flat, legs, _ = night(score=30.0, z=0.2, prev=rich, extrinsic_term_ratio=1.05, extrinsic_roll_ok=True)
    assert flat["roll"] is True and (flat["roll_from_short_put"], flat["roll_to_short_put"]) == (4800.0, 4850.0)
    assert any("1.05 <= 1.10" in r["rule"] for r in json.loads(flat["rationale"]) if r["choice"] == "roll back in")


def test_risk_tonight_is_the_payoff_charts_worst_point():
    # every layer together on the stress grid: SPX -20 %..+20 %, VIX = 15 x (S / 5000)^-5
    for score, regime in ((100.0, "crowded"), (30.0, "crowded"), (30.0, "calm")):
        row, _, pay = night(score=score, regime=regime, params=AlvhParams())
        assert pay["level_pct"].min() == pytest.approx(-20.0) and pay["level_pct"].max() == pytest.approx(20.0)
        worst = pay.sort("total_pnl_usd").row(0, named=True)
        assert row["risk_used_usd"] == pytest.approx(-worst["total_pnl_usd"])
        assert row["stress_worst_spx"] == pytest.approx(worst["spx_level"])
        assert row["risk_used_pct"] == pytest.approx(100 * row["risk_used_usd"] / 1_000_000)
        # sizing holds it within the condor + VX budgets
        assert row["risk_used_usd"] <= row["risk_budget_usd"] + (row["vx_budget_usd"] or 0.0) + 1e-6


def test_a_vx_layer_the_stress_grid_cannot_afford_is_cut_first():
    # crowded, score 30: 3 condors (4,680 USD max loss each, 14,040) and 4 VX at 16.20 by the
    # roll-down rule. At SPX +20 % the scenario VIX is 15 x 1.2^-5 = 6.03, the VX 16.20 x 0.402
    # = 6.51: -9,690 USD per contract; with the condors' -14,040 even one VX (-23,730) exceeds the
    # 15,000 + 5,000 budgets, so the VX layer goes and the condors stay.
    row, legs, pay = night(score=30.0, regime="crowded", params=AlvhParams())
    assert row["contracts"] == 3 and row["vx_contracts"] == 0
    assert "vx_hedge" not in set(legs["layer"]) and row["structure"] == "iron_condor"
    assert row["risk_used_usd"] == pytest.approx(14_040.0)
