"""Fundamentals: the index-level price-to-cash-flow ratio of the major constituents, its change over
20 and 60 sessions, against the SPX close: is crowded positioning fundamentally justified?

Reads core.pcf_daily and core.breadth_daily's spx_close only.
"""

from __future__ import annotations

from reports.figures import COLORS, Figure, style, to_div, trading_days
from reports.formatting import fmt
from reports.sections import Blank, Context, key, why


def _empty(reason: str) -> dict:
    return {"r": Blank(), "rk": None, "takeaway": "", "reason": reason, "charts": {}}


def build(ctx: Context) -> dict:
    if not ctx.has("core.pcf_daily"):
        return _empty(why(ctx, "fundamentals", "no P/CF table in this warehouse yet"))
    h = ctx.wh.sql("select * from core.pcf_daily where date <= ? order by date", [ctx.as_of])
    now = h.filter(h["date"] == ctx.as_of)
    if now.is_empty():
        return _empty(why(ctx, "fundamentals", f"no constituent P/CF file for {ctx.as_of}"))
    r = now.row(0, named=True)
    fig = Figure()
    fig.add_scatter(x=h["date"], y=h["pcf_index"], name="index P/CF (cap-weighted)", mode="lines",
                    line=dict(color=COLORS["net"], width=2.2), hovertemplate="P/CF %{y:.2f}<extra></extra>")
    fig.add_scatter(x=h["date"], y=h["pcf_median"], name="median constituent P/CF", mode="lines",
                    line=dict(color=COLORS["muted"], width=1.4), hovertemplate="median %{y:.2f}<extra></extra>")
    fig.update_layout(yaxis=dict(title="price / operating cash flow (TTM)"))
    style(fig, title="Price-to-cash-flow of the major constituents", height=300)
    trading_days(fig, h["date"].to_list())
    chg = r["pcf_chg_20d_pct"]
    take = (f"Index P/CF {fmt(r['pcf_index'], 'num1')} (cash-flow yield {fmt(r['cf_yield_pct'], 'pctpts')})"
            + (f", {fmt(chg, 'pctpts_signed')} over 20 sessions" if chg is not None else "")
            + (f", {fmt(r['pcf_chg_60d_pct'], 'pctpts_signed')} over 60" if r["pcf_chg_60d_pct"] is not None else "")
            + f"; {r['constituents']} constituents, {fmt(r['weight_covered_pct'], 'pctpts')} of the index.")
    return {"r": r, "rk": key(date=ctx.as_of), "takeaway": take, "reason": None,
            "charts": {"pcf": to_div(fig, "fig-pcf")}}
