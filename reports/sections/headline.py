"""Headline: tonight's regime, unwind score and its components, the recommended structure and legs,
the payoff at expiry, the rationale and the regime evidence; or why there is no recommendation.

Reads core.signals_daily, core.signal_evidence, core.recommendations, core.recommendation_legs,
core.recommendation_payoff, core.gamma_daily and audit.validations; computes nothing new.
"""

from __future__ import annotations

import json

from reports.figures import COLORS, Figure, style, to_div
from reports.sections import Blank, Context, why
from warehouse import queries

COMPONENTS = (
    # name, label, the metrics shown beside the sub-score: (column, label, kind)
    ("gamma", "Dealer gamma", (("gex_z", "net GEX z", "num"), ("spot_below_flip", "below flip", "flag"),
                               ("gex_macd_bearish", "MACD bearish", "flag"))),
    ("funding", "Perp funding", (("funding_apr", "APR", "pctd"), ("funding_apr_z", "z", "num"),
                                 ("funding_apr_pctile", "pctile", "num0"))),
    ("breadth", "Breadth", (("ad_divergence_recent", "A/D divergences (10 d)", "int"),
                            ("mcclellan_osc", "McClellan", "num"))),
    ("volatility", "Vol term structure", (("vix_vix3m_ratio", "VIX/VIX3M", "num3"),
                                          ("vx1_roll_yield", "VX1 roll", "pctd"))),
    ("events", "Macro events", (("days_to_event_td", "sessions to next", "int"),)),
)
LAYER_LABEL = {"condor": "SPX iron condor", "calendar": "VIX call calendar", "vx_hedge": "VX futures (2nd engine)",
               "roll": "Roll guidance"}


def _one(ctx: Context, sql: str, params: list) -> dict | None:
    f = ctx.wh.sql(sql, params)
    return f.row(0, named=True) if f.height else None


def _audit_failures(ctx: Context) -> list[dict]:
    """Failed critical checks of the night's latest audit run (an earlier failed run that a later
    audit superseded does not count)."""
    if "audit.validations" not in ctx.wh.tables():
        return []
    return ctx.wh.sql(
        "with last as (select run_id from audit.validations where as_of = ? "
        "order by validated_at desc, run_id desc limit 1) "
        "select table_name, suite, expectation, column_name, unexpected_count from audit.validations "
        "where as_of = ? and run_id = (select run_id from last) and severity = 'critical' "
        "and not success order by 1, 3", [ctx.as_of, ctx.as_of]).to_dicts()


def _payoff_chart(ctx: Context, rec: dict) -> str | None:
    pay = ctx.wh.sql("select * from core.recommendation_payoff where as_of = ? order by spx_level", [ctx.as_of])
    if pay.is_empty():
        return None
    fig = Figure()
    x = pay["spx_level"]
    fig.add_scatter(x=x, y=pay["condor_pnl_usd"], name="iron condor", line=dict(color=COLORS["ic"], width=2))
    if pay["calendar_pnl_usd"].abs().max() > 0:
        fig.add_scatter(x=x, y=pay["calendar_pnl_usd"], name="VIX calendar (scenario)",
                        line=dict(color=COLORS["flip"], width=1.5, dash="dot"))
    if pay["vx_pnl_usd"].abs().max() > 0:
        fig.add_scatter(x=x, y=pay["vx_pnl_usd"], name="VX futures (scenario)",
                        line=dict(color=COLORS["call"], width=1.5, dash="dot"))
    fig.add_scatter(x=x, y=pay["total_pnl_usd"], name="total", line=dict(color=COLORS["net"], width=2.5))
    for level, label, color in ((rec["spot"], "spot", COLORS["spot"]), (rec["be_low"], "BE", COLORS["put"]),
                                (rec["be_high"], "BE", COLORS["put"])):
        if level is not None:
            fig.add_vline(x=level, line=dict(color=color, width=1, dash="dash"),
                          annotation_text=label, annotation_position="top")
    fig.add_hline(y=0, line=dict(color=COLORS["muted"], width=1))
    fig.update_layout(xaxis=dict(title=f"SPX at the condor's expiry ({rec['expiry']})"),
                      yaxis=dict(title="P&L, USD"), hovermode="x unified")
    style(fig, title="Payoff at expiry: condor exact, hedges under the VIX scenario", height=340)
    return to_div(fig, "fig-alvh-payoff")


def _moved(ctx: Context, sig: dict | None) -> str | None:
    """'since 2026-11-20: +23.0 (gamma +20.0, funding +3.0)': what moved the score since the
    previous night, its components' points largest change first (warehouse.queries.score_moves)."""
    if sig is None or sig.get("unwind_score") is None:
        return None
    before = queries.previous_signals_row(ctx.wh, ctx.as_of)
    if before is None or before.get("unwind_score") is None:
        return None
    moves = [m for m in queries.score_moves(sig, before) if m["change"] and abs(m["change"]) >= 0.05]
    what = ", ".join(f"{m['component']} {m['change']:+.1f}" for m in moves[:3]) or "no component moved"
    return f"since {before['date']}: {sig['unwind_score'] - before['unwind_score']:+.1f} ({what})"


def _missing(ctx: Context, gamma: dict | None, sig: dict | None, rec: dict | None) -> str | None:
    """Why tiles show "–" tonight: the rows the warehouse lacks for the night (stale first)."""
    d = ctx.as_of
    gone = ([f"no SPX chain for {d}"] if gamma is None else []) + \
        ([f"no unwind-score row for {d}"] if sig is None else []) + \
        ([f"no recommendation for {d}"] if rec is None else [])
    if not gone:
        return None
    return why(ctx, "headline", "; ".join(gone))


def build(ctx: Context) -> dict:
    gamma = _one(ctx, "select * from core.gamma_daily where date = ? and underlying = 'SPX' and preset = ?",
                 [ctx.as_of, ctx.preset])
    sig = _one(ctx, "select * from core.signals_daily where date = ?", [ctx.as_of])
    rec = _one(ctx, "select * from core.recommendations where as_of = ?", [ctx.as_of])
    reason = _missing(ctx, gamma, sig, rec)
    failures = _audit_failures(ctx)
    untrusted = None
    if failures or (rec is not None and rec["status"] == "untrusted"):
        untrusted = {"reason": (rec or {}).get("skip_reason") or f"{len(failures)} critical check(s) failed",
                     "checks": failures}
        # nothing read from untrusted data is shown: the tiles keep their places with "–"
        gamma, sig = None, None
        rec = {"status": "untrusted", "skip_reason": untrusted["reason"]}
    components = []
    for name, label, metrics in COMPONENTS:
        row = sig or {}
        components.append({"name": name, "label": label, "score": row.get(f"{name}_score"),
                           "pts": row.get(f"{name}_score_pts"),
                           "metrics": [{"col": c, "label": lab, "kind": k, "value": row.get(c)}
                                       for c, lab, k in metrics]})
    legs, rationale, chart = [], [], None
    if rec is not None and untrusted is None and rec["status"] == "ok":
        legs = ctx.wh.sql("select * from core.recommendation_legs where as_of = ? order by "
                          "case layer when 'condor' then 0 when 'calendar' then 1 when 'vx_hedge' then 2 "
                          "else 3 end, leg_no", [ctx.as_of]).to_dicts()
        for leg in legs:
            leg["layer_label"] = LAYER_LABEL.get(leg["layer"], leg["layer"])
        chart = _payoff_chart(ctx, rec)
    if rec is not None and untrusted is None and rec["rationale"]:
        rationale = json.loads(rec["rationale"])
        for r in rationale:  # display only: the stored JSON keeps full precision
            vals = r["value"] if isinstance(r["value"], list) else [r["value"]]
            r["value"] = ", ".join("–" if v is None else f"{v:,.4g}" if isinstance(v, float) else str(v)
                                   for v in vals)
    evidence = ctx.wh.sql("select * from core.signal_evidence where as_of = ? order by "
                          "case regime when 'calm' then 0 when 'crowded' then 1 when 'unwinding' then 2 "
                          "when 'recovery' then 3 else 4 end, horizon_sessions", [ctx.as_of]).to_dicts() \
        if untrusted is None else []
    rec_ok = rec is not None and untrusted is None and rec["status"] == "ok"
    return {"gamma": Blank(gamma or {}), "signal": Blank(sig or {}), "rec": Blank(rec or {}),
            "rec_tiles": Blank(rec if rec_ok else {}),
            "has_signal": sig is not None, "reason": reason, "untrusted": untrusted, "components": components,
            "moved": _moved(ctx, sig),
            "legs": legs, "payoff_chart": chart, "rationale": rationale, "evidence": evidence,
            "source_table": "core.recommendations"}
