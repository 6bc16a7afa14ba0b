"""ALVH output schemas: core.recommendations, core.recommendation_legs, core.recommendation_payoff.

Column names and dtypes only; no logic, no I/O.
"""

from __future__ import annotations

import polars as pl

LEG_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "layer": pl.String(),          # condor | calendar | vx_hedge | roll
    "leg_no": pl.Int64(),
    "instrument": pl.String(),     # option | future
    "underlying": pl.String(),     # SPX | VIX | VX
    "root": pl.String(),
    "expiry": pl.Date(),
    "strike": pl.Float64(),
    "right": pl.String(),          # C | P | null (futures)
    "side": pl.String(),           # sell | buy
    "ratio": pl.Int64(),           # per structure unit
    "quantity": pl.Int64(),        # contracts tonight (ratio x units)
    "bid": pl.Float64(),
    "ask": pl.Float64(),
    "mid": pl.Float64(),
    "price": pl.Float64(),         # sell at bid, buy at ask; futures at settle
    "iv": pl.Float64(),
    "delta": pl.Float64(),
    "delta_source": pl.String(),   # vendor | model | null
    "dte_days": pl.Int64(),        # calendar days to expiry
    "t_years": pl.Float64(),       # snapshot to settlement (AM/PM), years
    "multiplier": pl.Float64(),
    "note": pl.String(),
}

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "status": pl.String(),
    "skip_reason": pl.String(),
    "structure": pl.String(),
    "regime": pl.String(),
    "unwind_score": pl.Float64(),
    "convergence": pl.Boolean(),
    "spot": pl.Float64(),
    "vix": pl.Float64(),
    "root": pl.String(),
    "expiry": pl.Date(),
    "dte_days": pl.Int64(),
    "short_put": pl.Float64(),
    "long_put": pl.Float64(),
    "short_call": pl.Float64(),
    "long_call": pl.Float64(),
    "put_width_pts": pl.Float64(),
    "call_width_pts": pl.Float64(),
    "credit_pts": pl.Float64(),
    "max_loss_pts": pl.Float64(),
    "be_low": pl.Float64(),
    "be_high": pl.Float64(),
    "be_low_dist_pct": pl.Float64(),
    "be_high_dist_pct": pl.Float64(),
    "pop": pl.Float64(),
    "expected_move_pts": pl.Float64(),
    "expected_move_pct": pl.Float64(),
    "widen_pct": pl.Float64(),
    "base_short_put": pl.Float64(),
    "base_short_call": pl.Float64(),
    "contracts": pl.Int64(),
    "size_mult": pl.Float64(),
    "size_capped": pl.Boolean(),
    "credit_usd": pl.Float64(),
    "max_loss_usd": pl.Float64(),
    "risk_budget_usd": pl.Float64(),
    "risk_used_usd": pl.Float64(),
    "risk_used_pct": pl.Float64(),
    "risk_condor_usd": pl.Float64(),
    "stress_worst_spx": pl.Float64(),
    "stress_range_pct": pl.Float64(),
    "calendar_strike": pl.Float64(),
    "calendar_near_expiry": pl.Date(),
    "calendar_far_expiry": pl.Date(),
    "calendar_forward": pl.Float64(),
    "calendar_forward_source": pl.String(),
    "calendar_debit_pts": pl.Float64(),
    "calendar_contracts": pl.Int64(),
    "calendar_cost_usd": pl.Float64(),
    "vx_expiry": pl.Date(),
    "vx_price": pl.Float64(),
    "vx_contracts": pl.Int64(),
    "vx_budget_usd": pl.Float64(),
    "vx_risk_per_contract_usd": pl.Float64(),
    "widened_root": pl.String(),
    "widened_expiry": pl.Date(),
    "widened_short_put": pl.Float64(),
    "widened_long_put": pl.Float64(),
    "widened_short_call": pl.Float64(),
    "widened_long_call": pl.Float64(),
    "widened_contracts": pl.Int64(),
    "roll": pl.Boolean(),
    "roll_expiry": pl.Date(),
    "roll_from_short_put": pl.Float64(),
    "roll_to_short_put": pl.Float64(),
    "roll_from_short_call": pl.Float64(),
    "roll_to_short_call": pl.Float64(),
    "rationale": pl.String(),
    "params_json": pl.String(),
}

PAYOFF_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "spx_level": pl.Float64(),
    "level_pct": pl.Float64(),
    "vix_level": pl.Float64(),
    "condor_pnl_usd": pl.Float64(),
    "calendar_pnl_usd": pl.Float64(),
    "vx_pnl_usd": pl.Float64(),
    "total_pnl_usd": pl.Float64(),
}
