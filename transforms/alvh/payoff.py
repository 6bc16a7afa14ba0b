"""ALVH payoff table: P&L on an SPX grid at the condor's expiry, hedges under a VIX scenario.

Pure numpy + polars; no I/O, DuckDB, Prefect or sources.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from transforms import greeks
from transforms.alvh.condor import condor_metrics
from transforms.alvh.hedges import Calendar
from transforms.alvh.params import AlvhParams
from transforms.alvh.schemas import PAYOFF_SCHEMA
from transforms.conventions import VIX_MULTIPLIER


def _intrinsic(level: np.ndarray, strike: float, right: str) -> np.ndarray:
    return np.maximum(level - strike, 0.0) if right == "C" else np.maximum(strike - level, 0.0)


def payoff_table(as_of: date, spot: float, legs: pl.DataFrame, p: AlvhParams,
                 vix0: float | None = None, calendar: Calendar | None = None,
                 vx: dict | None = None, metrics: dict | None = None) -> pl.DataFrame:
    """P&L (USD) on a grid of SPX levels at the condor's expiry: the condor exactly (piecewise
    linear in the stored legs, strikes and break-evens on the grid), the calendar at its near
    expiry and the VX future with VIX = vix0 x (S / spot)^-vix_spx_elasticity (a scenario).
    `metrics`: condor_metrics of the condor legs when the caller has them already."""
    c = legs.filter(pl.col("layer") == "condor")
    if c.is_empty():
        return pl.DataFrame(schema=PAYOFF_SCHEMA)
    lo = min(spot * (1 - p.payoff_range_pct / 100.0), float(c["strike"].min()) * 0.98)
    hi = max(spot * (1 + p.payoff_range_pct / 100.0), float(c["strike"].max()) * 1.02)
    m = metrics if metrics is not None else condor_metrics(c, spot, p)
    kinks = [*c["strike"].to_list(), m["be_low"], m["be_high"], spot]
    x = np.unique(np.round(np.concatenate([np.linspace(lo, hi, p.payoff_points), kinks]), 6))
    condor = np.zeros_like(x)
    for r in c.iter_rows(named=True):
        sgn = 1.0 if r["side"] == "buy" else -1.0
        condor += sgn * r["quantity"] * r["multiplier"] * (_intrinsic(x, r["strike"], r["right"]) - r["price"])
    vix_x = np.full_like(x, np.nan) if not vix0 else vix0 * (x / spot) ** (-p.vix_spx_elasticity)
    cal = np.zeros_like(x)
    cal_legs = legs.filter(pl.col("layer") == "calendar")
    if calendar is not None and vix0 and not cal_legs.is_empty():
        qty = int(cal_legs["quantity"][0])
        far = cal_legs.filter(pl.col("side") == "buy").row(0, named=True)
        t_left = (calendar.far - calendar.near).days / 365.0
        f2 = (calendar.far_forward or calendar.forward) * vix_x / vix0
        far_val = greeks.black76_call(f2, calendar.strike, t_left, far["iv"] or 0.0)
        near_pay = np.maximum(vix_x - calendar.strike, 0.0)
        cal = qty * VIX_MULTIPLIER * (far_val - near_pay - calendar.debit)
    vxp = np.zeros_like(x)
    if vx is not None and vix0 and vx["contracts"] > 0:
        vxp = vx["contracts"] * p.vx_multiplier * (vx["price"] * vix_x / vix0 - vx["price"])
    return pl.DataFrame({
        "as_of": [as_of] * x.size, "spx_level": x, "level_pct": 100.0 * (x / spot - 1.0),
        "vix_level": vix_x, "condor_pnl_usd": condor, "calendar_pnl_usd": cal,
        "vx_pnl_usd": vxp, "total_pnl_usd": condor + cal + vxp,
    }, schema=PAYOFF_SCHEMA).with_columns(pl.col("vix_level").fill_nan(None))
