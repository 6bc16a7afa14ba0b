"""Options: put-call parity by tenor (implied forward carry, conversion/reversal residuals after
costs) and the extrinsic value of the ATM and of the condor's short strikes by tenor.

Reads core.parity_daily only; the roll rule's ratio is read from core.recommendations' rationale
by the headline, not recomputed here.
"""

from __future__ import annotations

import polars as pl

from reports.figures import COLORS, Figure, style, to_div
from reports.formatting import fmt
from reports.sections import Context, key, why

ROOT_ORDER = ("SPXW", "SPX")  # one row per expiry on the charts: SPXW (PM) when both list it
MAX_CHART_DTE = 400            # LEAPS quotes are thin: the charts stop at ~13 months


def _empty(reason: str) -> dict:
    return {"rows": [], "takeaway": "", "reason": reason, "charts": {}, "arbs": None, "cost": None}


def build(ctx: Context) -> dict:
    if not ctx.has("core.parity_daily"):
        return _empty(why(ctx, "options", "no parity table in this warehouse yet"))
    night = ctx.wh.sql("select * from core.parity_daily where quote_date = ? order by expiry, root",
                       [ctx.as_of])
    if night.is_empty():
        return _empty(why(ctx, "options", f"no SPX chain for {ctx.as_of}: no put-call parity row"))
    rank = {r: i for i, r in enumerate(ROOT_ORDER)}
    curve = (night.with_columns(_rank=pl.col("root").replace_strict(rank, default=9))
             .sort("expiry", "_rank").unique("expiry", keep="first", maintain_order=True)
             .filter(pl.col("dte_days") <= MAX_CHART_DTE).drop("_rank"))
    charts = {}

    fig = Figure()
    c = curve.filter(pl.col("carry_implied").is_not_null())
    fig.add_scatter(x=c["dte_days"], y=c["carry_implied"] * 100, name="carry r − q", mode="lines+markers",
                    line=dict(color=COLORS["net"], width=2), marker=dict(size=5),
                    text=c["expiry"].cast(pl.String), hovertemplate="%{text}: %{y:.2f} %<extra></extra>")
    r = curve.filter(pl.col("rate_implied").is_not_null())
    fig.add_scatter(x=r["dte_days"], y=r["rate_implied"] * 100, name="rate r (from D)", mode="markers",
                    marker=dict(color=COLORS["flip"], size=5), text=r["expiry"].cast(pl.String),
                    hovertemplate="%{text}: r %{y:.2f} %<extra></extra>")
    fig.add_hline(y=0, line=dict(color=COLORS["muted"], width=1))
    fig.update_layout(xaxis=dict(title="calendar days to expiry"),
                      yaxis=dict(title="% a year, continuous", ticksuffix=" %"))
    style(fig, title="Implied carry ln(F/S)/T and rate −ln(D)/T by tenor (put-call parity)", height=320)
    charts["carry"] = to_div(fig, "fig-options-carry")

    fig = Figure()
    e = curve.filter(pl.col("extrinsic_atm_pts").is_not_null())
    fig.add_bar(x=e["dte_days"], y=e["extrinsic_atm_pts"], name="ATM extrinsic, pts",
                marker_color=COLORS["muted"], opacity=0.6, text=e["expiry"].cast(pl.String),
                hovertemplate="%{text}: ATM %{y:.2f} pts<extra></extra>")
    for col, name, color in (("extrinsic_short_put_pts", "short put (16 Δ), pts", COLORS["put"]),
                             ("extrinsic_short_call_pts", "short call (16 Δ), pts", COLORS["call"])):
        s = curve.filter(pl.col(col).is_not_null())
        fig.add_scatter(x=s["dte_days"], y=s[col], name=name, mode="lines+markers",
                        line=dict(color=color, width=1.6), marker=dict(size=4),
                        hovertemplate=f"{name} %{{y:.2f}}<extra></extra>")
    fig.add_scatter(x=e["dte_days"], y=e["extrinsic_atm_vol_pct"], name="ATM extrinsic as vol, %",
                    mode="lines", yaxis="y2", line=dict(color=COLORS["net"], width=2, dash="dot"),
                    hovertemplate="vol equiv %{y:.1f} %<extra></extra>")
    fig.update_layout(xaxis=dict(title="calendar days to expiry"), yaxis=dict(title="index points"),
                      yaxis2=dict(title="vol equivalent, %", overlaying="y", side="right", showgrid=False),
                      bargap=0.2)
    style(fig, title="Extrinsic value by tenor: ATM and the condor's short strikes", height=320)
    charts["extrinsic"] = to_div(fig, "fig-options-extrinsic")

    rows = [{**x, "rk": key(quote_date=ctx.as_of, root=x["root"], expiry=x["expiry"])}
            for x in curve.filter(pl.col("dte_days") <= 120).iter_rows(named=True)]
    arbs = int(night["parity_arb_conversions"].sum() + night["parity_arb_reversals"].sum())
    worst = night.select(pl.max_horizontal("parity_residual_conversion_max_pts",
                                           "parity_residual_reversal_max_pts").max()).item()
    m = curve.filter(pl.col("dte_days").is_between(25, 45) & pl.col("carry_implied").is_not_null())
    take = f"{night.height} expiries; "
    if m.height:
        mm = m.row(0, named=True)
        take += (f"the {mm['dte_days']}-day forward implies carry {fmt(mm['carry_implied'], 'apr')} a year"
                 + (f" (rate {fmt(mm['rate_implied'], 'apr')})" if mm["rate_implied"] is not None else "") + "; ")
    take += (f"{arbs} pair(s) would have been arbitrage at the quotes after costs" if arbs else
             f"no conversion or reversal pays after costs (best {fmt(worst, 'signed2')} pts)")
    return {"rows": rows, "takeaway": take + ".", "reason": None, "charts": charts, "arbs": arbs,
            "cost": night["cost_per_pair_pts"][0]}
