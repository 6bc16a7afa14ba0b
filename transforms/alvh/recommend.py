"""ALVH: the night's recommendation (condor + hedge layers + roll guidance + sizing) and its why.

Pure polars; no I/O, DuckDB, Prefect or sources. Method in docs/alvh.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import polars as pl

from transforms.alvh.chain import _legs_frame, prepare_chain
from transforms.alvh.condor import (
    _leg_rows,
    _roll_legs,
    build_condor,
    condor_metrics,
    expected_move,
)
from transforms.alvh.hedges import Calendar, vix_calendar, vx_hedge
from transforms.alvh.params import AlvhParams
from transforms.alvh.payoff import payoff_table
from transforms.alvh.schemas import LEG_SCHEMA, PAYOFF_SCHEMA, SUMMARY_SCHEMA
from transforms.conventions import SPX_MULTIPLIER, VIX_MULTIPLIER


@dataclass(frozen=True)
class Recommendation:
    summary: pl.DataFrame  # one row: core.recommendations
    legs: pl.DataFrame     # core.recommendation_legs
    payoff: pl.DataFrame   # core.recommendation_payoff

    @property
    def row(self) -> dict:
        return self.summary.row(0, named=True)


class _Why:
    """The rationale: which metric, with which value, drove which choice (stored as JSON)."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, choice: str, metric: str, value, rule: str) -> None:
        if isinstance(value, float):
            value = None if math.isnan(value) else round(value, 6)
        elif isinstance(value, date):
            value = value.isoformat()
        self.items.append({"choice": choice, "metric": metric, "value": value, "rule": rule})

    def json(self) -> str:
        return json.dumps(self.items, separators=(",", ":"))


def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def _night_chain(as_of: date, spx_quotes: pl.DataFrame) -> pl.DataFrame:
    """The SPX rows of tonight's quote date."""
    q = spx_quotes.filter(pl.col("quote_date") == as_of) if "quote_date" in spx_quotes.columns else spx_quotes
    if "underlying" in q.columns:
        q = q.filter(pl.col("underlying") == "SPX")
    return q


def _condor_layer(chain: pl.DataFrame, spot: float, score_used: float, p: AlvhParams, row: dict,
                  why: _Why) -> tuple[pl.DataFrame, dict, float]:
    """Tonight's condor (widened when the score is elevated): (legs, metrics, widening applied).
    Empty legs when the chain cannot make one."""
    widen = p.widen_pct(score_used)
    legs = build_condor(chain, spot, p, score_used)
    if legs.is_empty():
        return legs, {}, 0.0
    m = condor_metrics(legs, spot, p)
    row.update({k: m[k] for k in ("root", "expiry", "dte_days", "short_put", "long_put", "short_call",
                                  "long_call", "put_width_pts", "call_width_pts", "credit_pts",
                                  "max_loss_pts", "be_low", "be_high", "be_low_dist_pct",
                                  "be_high_dist_pct", "pop")})
    why.add("expiry", "raw.option_quotes.expiry", m["expiry"],
            f"{m['root']} expiry nearest {p.target_dte} calendar days ({m['dte_days']} d)")
    base = build_condor(chain, spot, p, None) if widen > 0 else legs
    bm = condor_metrics(base, spot, p)
    row.update(base_short_put=bm["short_put"], base_short_call=bm["short_call"])
    sp_leg, sc_leg = _leg_rows(base, ("P", "sell"), ("C", "sell"))
    why.add("short strikes", "raw.option_quotes.delta", [sp_leg["delta"], sc_leg["delta"]],
            f"|delta| nearest {p.short_delta:g} ({sp_leg['delta_source']}): "
            f"{bm['short_put']:g} P / {bm['short_call']:g} C")
    applied = widen if (m["short_put"] != bm["short_put"] or m["short_call"] != bm["short_call"]) else 0.0
    row["widen_pct"] = applied
    if widen > 0:
        why.add("wings widened", "core.signals_daily.unwind_score", score_used,
                f"score >= {p.elevated_score:g}: shorts moved out {widen:.1f} % of the spot-to-break-even "
                f"distance ({bm['short_put']:g} -> {m['short_put']:g} P, {bm['short_call']:g} -> "
                f"{m['short_call']:g} C)" if applied else
                f"score >= {p.elevated_score:g} but no listed strike beyond the target: base strikes kept")
    em, em_k = expected_move(chain, m["root"], m["expiry"], spot)
    row.update(expected_move_pts=em, expected_move_pct=None if em is None else 100.0 * em / spot)
    if em is not None:
        why.add("expected move", "raw.option_quotes.bid/ask", em,
                f"ATM straddle mid at {em_k:g}: +-{em:.1f} pts; break-evens {m['be_low']:.1f} / {m['be_high']:.1f}")
    return legs, m, applied


def _night_vix(as_of: date, row: dict, cal: Calendar | None, vix_quotes: pl.DataFrame | None) -> float | None:
    """VIX tonight: the signal row's, else the calendar chain's spot, else the VIX chain's spot."""
    vix0 = row["vix"] if row["vix"] is not None else (cal.vix if cal is not None else None)
    if vix0 is None and vix_quotes is not None and not vix_quotes.is_empty():
        vq = vix_quotes.filter(pl.col("quote_date") == as_of)
        vix0 = float(vq["spot"][0]) if vq.height else None
    return vix0


def _size(m: dict, regime: str, cal: Calendar | None, prev: dict | None, p: AlvhParams, row: dict,
          why: _Why) -> tuple[int, float, float]:
    """Condors tonight within the regime's risk budget (never more than last night's in an unwind):
    (contracts, max loss per condor USD, calendar share of the condors' max loss)."""
    mult = float(p.size_mult.get(regime, 1.0))
    budget = p.capital_usd * p.max_risk_pct / 100.0 * mult
    ml_unit = m["max_loss_pts"] * SPX_MULTIPLIER
    cal_frac = p.calendar_budget_pct / 100.0 if cal is not None else 0.0
    n = int(budget // (ml_unit * (1.0 + cal_frac))) if ml_unit > 0 else 0
    capped = False
    prev_n = (prev or {}).get("contracts") if (prev or {}).get("status") == "ok" else None
    if regime == "unwinding" and prev_n is not None and n > prev_n:
        n, capped = int(prev_n), True
    why.add("size", "core.signals_daily.regime", regime,
            f"risk budget {p.max_risk_pct:g} % of {p.capital_usd:,.0f} x {mult:g} ({regime}) = "
            f"{budget:,.0f} USD; {ml_unit:,.0f} USD max loss per condor -> {n} condor(s)"
            + (f"; capped at last night's {prev_n} (no size increase in an unwind)" if capped else ""))
    row.update(contracts=n, size_mult=mult, size_capped=capped, credit_usd=n * m["credit_pts"] * SPX_MULTIPLIER,
               max_loss_usd=n * ml_unit, risk_budget_usd=budget)
    return n, ml_unit, cal_frac


def _calendar_layer(cal: Calendar | None, cal_why: str, elevated: bool, score_used: float, n: int,
                    ml_unit: float, cal_frac: float, p: AlvhParams, row: dict, why: _Why,
                    all_legs: list[pl.DataFrame], structure: list[str]) -> Calendar | None:
    """The VIX call calendar sized to its budget; None when there is none (or it sizes to 0)."""
    cal_cost = 0.0
    if cal is not None:
        k = int((cal_frac * n * ml_unit) // (cal.debit * VIX_MULTIPLIER)) if cal.debit > 0 else 0
        row.update(calendar_strike=cal.strike, calendar_near_expiry=cal.near, calendar_far_expiry=cal.far,
                   calendar_forward=cal.forward, calendar_forward_source=cal.forward_source,
                   calendar_debit_pts=cal.debit, calendar_contracts=k)
        cal_cost = k * cal.debit * VIX_MULTIPLIER
        row["calendar_cost_usd"] = cal_cost
        why.add("VIX call calendar", "core.signals_daily.unwind_score", score_used,
                f"score >= {p.elevated_score:g}: sell {cal.near} / buy {cal.far} {cal.strike:g} C "
                f"(>= {p.calendar_otm_pct:g} % over the VX forward {cal.forward:.2f}, {cal.forward_source}); "
                f"debit {cal.debit:.2f} x {k} = {cal_cost:,.0f} USD "
                f"({p.calendar_budget_pct:g} % of the condors' max loss)")
        if k > 0:
            all_legs.append(_legs_frame(cal.legs).with_columns(quantity=pl.col("ratio") * k))
            structure.append("vix_call_calendar")
        else:
            cal = None
    elif elevated:
        why.add("no VIX calendar", "raw.option_quotes", None, cal_why)
    row["risk_condor_usd"] = n * ml_unit + cal_cost  # risk_used_*: the stress grid (_complete_risk)
    return cal


def _vx_layer(as_of: date, vx_futures: pl.DataFrame | None, regime: str, vix0: float | None,
              prev: dict | None, p: AlvhParams, row: dict, why: _Why, all_legs: list[pl.DataFrame],
              structure: list[str]) -> dict | None:
    """The VX futures roll (second engine), capped at last night's contracts in an unwind."""
    vx, vx_why = vx_hedge(vx_futures, as_of, regime, vix0, p)
    if vx is not None:
        k = vx["contracts"]
        prev_vx = (prev or {}).get("vx_contracts")
        if regime == "unwinding" and prev_vx is not None and k > prev_vx:
            k = int(prev_vx)
            vx["contracts"] = k
        row.update(vx_expiry=vx["expiry"], vx_price=vx["price"], vx_contracts=k,
                   vx_budget_usd=vx["budget"], vx_risk_per_contract_usd=vx["risk"])
        why.add("VX futures roll", "raw.vx_futures.settle", vx["price"],
                f"{regime}: {p.vx_budget_pct[regime]:g} % of capital = {vx['budget']:,.0f} USD / "
                f"{vx['risk']:,.0f} USD risk per contract -> long {k} VX {vx['expiry']}")
        if k > 0:
            all_legs.append(_legs_frame([{
                "layer": "vx_hedge", "leg_no": 1, "instrument": "future", "underlying": "VX",
                "root": "VX", "expiry": vx["expiry"], "strike": None, "right": None, "side": "buy",
                "ratio": 1, "quantity": k, "price": vx["price"], "multiplier": p.vx_multiplier,
                "dte_days": (vx["expiry"] - as_of).days, "note": "settle"}]))
            structure.append("vx_futures")
    else:
        why.add("no VX futures", "core.signals_daily.regime", regime, vx_why)
    return vx


def _carry_and_roll(as_of: date, chain: pl.DataFrame, spot: float, m: dict, n: int, applied: float,
                    score_used: float, sig: dict, prev: dict | None, p: AlvhParams, row: dict,
                    why: _Why, all_legs: list[pl.DataFrame]) -> None:
    """The widened position carried night to night, and the roll back once funding normalises."""
    carried = None
    if prev and prev.get("widened_expiry") is not None and prev["widened_expiry"] > as_of:
        carried = {k: prev.get(k) for k in ("widened_root", "widened_expiry", "widened_short_put",
                                           "widened_long_put", "widened_short_call", "widened_long_call",
                                           "widened_contracts")}
        carried["widened_root"] = carried["widened_root"] or m["root"]
    fz = _num(sig.get("funding_apr_z"))
    normal = (fz < p.funding_normal_z) if fz is not None else None
    row["roll"] = False
    calm_enough = score_used < p.roll_below_score
    # the extrinsic-by-tenor rule (docs/options.md): the flow passes transforms.parity.extrinsic_term
    term_ratio, term_ok = _num(sig.get("extrinsic_term_ratio")), sig.get("extrinsic_roll_ok")
    term_max = _num(sig.get("extrinsic_roll_max")) or 1.10
    if carried is not None and calm_enough and normal and term_ok is False:
        why.add("hold widened strikes", "core.parity_daily.extrinsic_atm_vol_pct", term_ratio,
                f"funding normalised but the front ATM extrinsic (as vol) is {term_ratio:.2f} x the "
                f"next month's (> {term_max:.2f}): the front end still prices stress, the roll waits")
    elif carried is not None and calm_enough and normal:
        roll_legs, to = _roll_legs(chain, spot, carried, p)
        if roll_legs:
            units = int(carried.get("widened_contracts") or 1)
            all_legs.append(_legs_frame(roll_legs).with_columns(quantity=pl.col("ratio") * units))
            row.update(roll=True, roll_expiry=carried["widened_expiry"],
                       roll_from_short_put=carried["widened_short_put"] if "put" in to else None,
                       roll_to_short_put=to.get("put"),
                       roll_from_short_call=carried["widened_short_call"] if "call" in to else None,
                       roll_to_short_call=to.get("call"))
            why.add("roll back in", "core.signals_daily.funding_apr_z", fz,
                    f"funding normalised (z < {p.funding_normal_z:g}) and score < {p.roll_below_score:g}: roll "
                    f"the {carried['widened_expiry']} widened shorts to the {p.short_delta:g}-delta strikes "
                    + ", ".join(f"{k} -> {v:g}" for k, v in to.items())
                    + (f"; front/back ATM extrinsic {term_ratio:.2f} <= {term_max:.2f}" if term_ratio is not None else ""))
        carried = None  # rolled (or nothing left to roll): the widened position is closed out
    elif carried is not None and normal is None and calm_enough:
        why.add("no roll guidance", "core.signals_daily.funding_apr_z", None,
                "widened position open but no funding data to tell normalisation")
    if applied > 0:
        carried = {"widened_root": m["root"], "widened_expiry": m["expiry"],
                   "widened_short_put": m["short_put"], "widened_long_put": m["long_put"],
                   "widened_short_call": m["short_call"], "widened_long_call": m["long_call"],
                   "widened_contracts": n}
    if carried is not None:
        row.update(carried)


def _scaled(legs: pl.DataFrame, n: int, k_cal: int, k_vx: int) -> pl.DataFrame:
    """The night's legs with n condors, k_cal calendars and k_vx VX futures (layers at 0 dropped)."""
    q = (pl.when(pl.col("layer") == "condor").then(pl.col("ratio") * n)
         .when(pl.col("layer") == "calendar").then(pl.col("ratio") * k_cal)
         .when(pl.col("layer") == "vx_hedge").then(pl.lit(k_vx))
         .otherwise(pl.col("quantity")))
    return legs.with_columns(quantity=q.cast(legs.schema["quantity"])).filter(pl.col("quantity") > 0)


def stress_worst(payoff: pl.DataFrame) -> tuple[float, float | None]:
    """Tonight's risk: the worst loss of all layers together on the payoff table's stress grid
    (the points the payoff chart draws), as a positive USD figure, and the SPX level it falls at."""
    if payoff.is_empty():
        return 0.0, None
    i = int(payoff["total_pnl_usd"].arg_min())
    worst = float(payoff["total_pnl_usd"][i])
    return max(-worst, 0.0), float(payoff["spx_level"][i])


def _complete_risk(as_of: date, spot: float, legs: pl.DataFrame, p: AlvhParams, vix0: float | None,
                   cal: Calendar | None, vx: dict | None, m: dict, n: int, ml_unit: float,
                   cal_frac: float, row: dict, why: _Why) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Risk tonight = the worst loss of every layer together on the stress grid (SPX +- the
    payoff range, VIX and the VX curve moved by the scenario VIX = VIX0 x (S / S0)^-elasticity):
    the payoff chart's own lowest point. Sizing holds it within the night's budgets (the condors'
    risk budget + the VX hedge budget): VX futures are cut first, then condors (the calendar follows
    them) down to one."""
    k_vx = int(vx["contracts"]) if vx is not None else 0
    k_cal = int(row.get("calendar_contracts") or 0) if cal is not None else 0
    budget = float(row.get("risk_budget_usd") or 0.0) + float(row.get("vx_budget_usd") or 0.0)

    def table(n_: int, kc: int, kv: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        lg = _scaled(legs, n_, kc, kv)
        vx_ = {**vx, "contracts": kv} if vx is not None else None
        return lg, payoff_table(as_of, spot, lg, p, vix0, cal if kc > 0 else None, vx_, metrics=m)

    def cal_for(n_: int) -> int:
        if cal is None or cal.debit <= 0:
            return 0
        return min(k_cal, int((cal_frac * n_ * ml_unit) // (cal.debit * VIX_MULTIPLIER)))

    n0, kv0 = n, k_vx
    out, payoff = table(n, k_cal, k_vx)
    worst, _ = stress_worst(payoff)
    while p.size_to_stress and worst > budget + 1e-6 and (n > 1 or k_vx > 0):
        # the VX future first: it is sized on its roll-down, and its loss on a rally is what the
        # roll-down understates; then condors, keeping one (the base layer of a recommendation)
        if k_vx > 0:
            k_vx -= 1
        else:
            n -= 1
            k_cal = cal_for(n)
        out, payoff = table(n, k_cal, k_vx)
        worst, _ = stress_worst(payoff)
    worst, at = stress_worst(payoff)
    if (n, k_vx) != (n0, kv0):
        row.update(contracts=n, credit_usd=n * m["credit_pts"] * SPX_MULTIPLIER, max_loss_usd=n * ml_unit)
        if cal is not None:
            row.update(calendar_contracts=k_cal, calendar_cost_usd=k_cal * cal.debit * VIX_MULTIPLIER)
        if vx is not None:
            row["vx_contracts"] = k_vx
            vx["contracts"] = k_vx
        kept = set(out["layer"].unique().to_list())
        row["structure"] = "+".join(
            s for s, layer in (("iron_condor", "condor"), ("vix_call_calendar", "calendar"),
                               ("vx_futures", "vx_hedge")) if layer in kept and s in row["structure"])
    row.update(risk_condor_usd=n * ml_unit + (row.get("calendar_cost_usd") or 0.0) if cal is not None
               else n * ml_unit,
               risk_used_usd=worst, risk_used_pct=100.0 * worst / p.capital_usd,
               stress_worst_spx=at, stress_range_pct=p.payoff_range_pct)
    why.add("risk tonight", "core.recommendation_payoff.total_pnl_usd", -worst,
            f"worst loss of every layer on the stress grid SPX -{p.payoff_range_pct:g} %..+"
            f"{p.payoff_range_pct:g} % (VIX = VIX0 x (S/S0)^-{p.vix_spx_elasticity:g}, VX moved with it): "
            f"{worst:,.0f} USD at SPX {at if at is not None else float('nan'):,.0f}, against the "
            f"{budget:,.0f} USD of the condor and VX budgets"
            + (f"; sized down from {n0} condor(s) / {kv0} VX to {n} / {k_vx}" if (n, k_vx) != (n0, kv0)
               else ""))
    return out, payoff


def recommend(as_of: date, spx_quotes: pl.DataFrame, *, signals: dict | None = None,
              vix_quotes: pl.DataFrame | None = None, vx_futures: pl.DataFrame | None = None,
              prev: dict | None = None, params: AlvhParams | None = None,
              trusted: bool = True, untrusted_reason: str = "") -> Recommendation:
    """The night's recommendation from that night's chains and signal row (see docs/alvh.md).

    prev: the previous night's core.recommendations row (size caps in an unwind, the widened
    position carried for roll guidance). An untrusted night yields a row that says why and no legs.
    """
    p = params or AlvhParams()
    sig = signals or {}
    why = _Why()
    row: dict = {c: None for c in SUMMARY_SCHEMA}
    score = _num(sig.get("unwind_score"))
    regime = sig.get("regime") or "calm"
    row.update(as_of=as_of, regime=regime, unwind_score=score, convergence=sig.get("convergence"),
               vix=_num(sig.get("vix")), params_json=json.dumps(p.model_dump(mode="json"), sort_keys=True,
                                                                 separators=(",", ":")))

    def done(status: str, reason: str = "", legs: pl.DataFrame | None = None,
             payoff: pl.DataFrame | None = None) -> Recommendation:
        row.update(status=status, skip_reason=reason or None, rationale=why.json())
        if legs is None or legs.is_empty():
            legs = pl.DataFrame(schema=LEG_SCHEMA)
        return Recommendation(pl.DataFrame([row], schema=SUMMARY_SCHEMA),
                              legs.with_columns(as_of=pl.lit(as_of)).select(list(LEG_SCHEMA)).cast(LEG_SCHEMA),
                              payoff if payoff is not None else pl.DataFrame(schema=PAYOFF_SCHEMA))

    if not trusted:
        why.add("no recommendation", "audit.validations", untrusted_reason or "critical check failed",
                "a night whose critical checks failed emits no recommendation")
        return done("untrusted", untrusted_reason or "critical data-quality check failed")
    q = _night_chain(as_of, spx_quotes)
    if q.is_empty():
        why.add("no recommendation", "raw.option_quotes", 0, "no SPX chain for the night")
        return done("no_chain", "no SPX chain for this night")
    chain = prepare_chain(q, p)
    spot = float(chain["spot"][0])
    row["spot"] = spot
    if score is None:
        why.add("base layer only", "core.signals_daily.unwind_score", None,
                "no unwind score tonight: treated as 0 (no widening, no calendar)")
    score_used = score if score is not None else 0.0
    legs, m, applied = _condor_layer(chain, spot, score_used, p, row, why)
    if legs.is_empty():
        why.add("no recommendation", "raw.option_quotes", chain.height,
                f"no expiry {p.min_dte}-{p.max_dte} days with {p.short_delta:g}-delta shorts and wings")
        return done("no_condor", "the chain cannot make the condor")

    elevated = score_used >= p.elevated_score
    cal, cal_why = (vix_calendar(vix_quotes, vx_futures, as_of, p) if elevated
                    else (None, f"score < {p.elevated_score:g}: no VIX calendar"))
    vix0 = _night_vix(as_of, row, cal, vix_quotes)
    row["vix"] = vix0

    n, ml_unit, cal_frac = _size(m, regime, cal, prev, p, row, why)
    all_legs = [legs.with_columns(quantity=pl.col("ratio") * n)]
    structure = ["iron_condor"]
    cal = _calendar_layer(cal, cal_why, elevated, score_used, n, ml_unit, cal_frac, p, row, why,
                          all_legs, structure)
    vx = _vx_layer(as_of, vx_futures, regime, vix0, prev, p, row, why, all_legs, structure)
    _carry_and_roll(as_of, chain, spot, m, n, applied, score_used, sig, prev, p, row, why, all_legs)
    row["structure"] = "+".join(structure)
    for c, v in (("credit", m["credit_pts"]), ("max loss", m["max_loss_pts"])):
        why.add(c, "raw.option_quotes.bid/ask", v, "per condor, points: sell at bid, buy at ask")
    legs_out = pl.concat(all_legs, how="vertical")
    legs_out, payoff = _complete_risk(as_of, spot, legs_out, p, vix0, cal, vx, m, n, ml_unit, cal_frac,
                                      row, why)  # may size layers down: row["structure"] follows
    return done("ok", "", legs_out, payoff)
