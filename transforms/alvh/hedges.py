"""ALVH hedge layers: the VIX call calendar and the VX futures roll (second engine).

Pure polars; no I/O, DuckDB, Prefect or sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from transforms.alvh.chain import _leg, prepare_chain
from transforms.alvh.params import AlvhParams


def _vx_on(vx_futures: pl.DataFrame | None, as_of: date) -> pl.DataFrame:
    if vx_futures is None or vx_futures.is_empty():
        return pl.DataFrame(schema={"expiry": pl.Date(), "settle": pl.Float64(), "weekly": pl.Boolean()})
    f = vx_futures.filter((pl.col("trade_date") == as_of) & (pl.col("expiry") > as_of)
                          & pl.col("settle").is_not_null() & (pl.col("settle") > 0))
    if "weekly" in f.columns:
        f = f.filter(~pl.col("weekly").fill_null(False))
    return f.sort("expiry")


def parity_forward(chain: pl.DataFrame, root: str, expiry: date) -> float | None:
    """Forward from put-call parity (r = 0): K + C - P at the strike where |C - P| is smallest."""
    e = chain.filter((pl.col("root") == root) & (pl.col("expiry") == expiry) & pl.col("mid").is_not_null())
    w = e.pivot(on="right", index="strike", values="mid", aggregate_function="first")
    if "C" not in w.columns or "P" not in w.columns:
        return None
    w = w.drop_nulls(["C", "P"])
    if w.is_empty():
        return None
    r = w.sort((pl.col("C") - pl.col("P")).abs()).row(0, named=True)
    return float(r["strike"] + r["C"] - r["P"])


@dataclass(frozen=True)
class Calendar:
    legs: list[dict]  # near call sold, far call bought (one unit)
    strike: float
    near: date
    far: date
    forward: float
    forward_source: str
    far_forward: float | None
    debit: float
    vix: float | None


def vix_calendar(vix_quotes: pl.DataFrame | None, vx_futures: pl.DataFrame | None, as_of: date,
                 params: AlvhParams | None = None) -> tuple[Calendar | None, str]:
    """Sell the near VIX call, buy the next expiry's call at the same strike: the smallest strike
    listed in both at or above forward x (1 + calendar_otm_pct %), the forward being the VX future
    of the near expiry (VIX options settle with it) or, without one, put-call parity.
    Returns (calendar or None, why)."""
    p = params or AlvhParams()
    if vix_quotes is None or vix_quotes.is_empty():
        return None, "no VIX chain tonight"
    full = prepare_chain(vix_quotes.filter(pl.col("quote_date") == as_of), p)
    ch = full.filter(pl.col("root").is_in(list(p.vix_roots)) & (pl.col("right") == "C"))
    exps = sorted(ch.filter(pl.col("dte_days") >= p.calendar_min_dte)["expiry"].unique().to_list())
    if len(exps) < 2:
        return None, f"fewer than two VIX expiries {p.calendar_min_dte}+ days out"
    near, far = exps[0], exps[1]
    vx = _vx_on(vx_futures, as_of)
    fwd_row = vx.filter(pl.col("expiry") == near)
    far_row = vx.filter(pl.col("expiry") == far)
    root_near = ch.filter(pl.col("expiry") == near)["root"][0]
    if fwd_row.height:
        fwd, src = float(fwd_row["settle"][0]), "vx_futures"
    else:
        fwd, src = parity_forward(full, root_near, near), "parity"
        if fwd is None:
            return None, "no VX future and no put-call parity forward for the near VIX expiry"
    far_fwd = float(far_row["settle"][0]) if far_row.height else parity_forward(
        full, ch.filter(pl.col("expiry") == far)["root"][0], far)
    n = ch.filter((pl.col("expiry") == near) & (pl.col("bid") >= max(p.min_bid, 1e-9)))
    f = ch.filter((pl.col("expiry") == far) & pl.col("ask").is_not_null() & (pl.col("ask") > 0))
    both = n.join(f, on="strike", suffix="_far").filter(pl.col("strike") >= fwd * (1 + p.calendar_otm_pct / 100.0))
    both = both.filter(pl.col("ask_far") > pl.col("bid"))  # a calendar that pays a credit is a quote error
    if both.is_empty():
        return None, f"no strike >= {fwd * (1 + p.calendar_otm_pct / 100):.2f} listed in both VIX expiries"
    k = float(both.sort("strike")["strike"][0])
    near_row = n.filter(pl.col("strike") == k).row(0, named=True)
    far_leg = f.filter(pl.col("strike") == k).row(0, named=True)
    legs = [_leg(near_row, "sell", "calendar", 1), _leg(far_leg, "buy", "calendar", 2)]
    for leg in legs:
        leg["underlying"] = "VIX"
    spot_vix = float(ch["spot"][0]) if "spot" in ch.columns and ch.height else None
    return Calendar(legs, k, near, far, fwd, src, far_fwd, far_leg["ask"] - near_row["bid"], spot_vix), ""


def vx_hedge(vx_futures: pl.DataFrame | None, as_of: date, regime: str, vix: float | None,
             params: AlvhParams | None = None) -> tuple[dict | None, str]:
    """Second engine: long the nearest monthly VX future with more than vx_roll_dte days left
    (rolled forward before expiry). Contracts = floor(budget / risk per contract); budget =
    vx_budget_pct[regime] % of capital; risk per contract = max(VX - VIX, vx_min_risk_pts) x 1000
    (the roll-down to spot if nothing happens)."""
    p = params or AlvhParams()
    pct = p.vx_budget_pct.get(regime, 0.0)
    if pct <= 0:
        return None, f"no VX allocation in a {regime} regime"
    vx = _vx_on(vx_futures, as_of)
    vx = vx.filter((pl.col("expiry") - pl.lit(as_of)).dt.total_days() > p.vx_roll_dte)
    if vx.is_empty():
        return None, "no VX settlement tonight"
    row = vx.row(0, named=True)
    price = float(row["settle"])
    roll_down = price - vix if vix is not None else p.vx_min_risk_pts
    risk = max(roll_down, p.vx_min_risk_pts) * p.vx_multiplier
    budget = p.capital_usd * pct / 100.0
    return {"expiry": row["expiry"], "price": price, "budget": budget, "risk": risk,
            "contracts": int(budget // risk)}, ""
