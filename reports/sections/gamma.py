"""Dealer gamma section: spot GEX history and tonight's exposure (reads core.gamma_* tables)."""

from __future__ import annotations

import plotly.graph_objects as go

from reports.figures import COLORS, style, to_div
from reports.sections import Context


def build(ctx: Context) -> dict | None:
    hist = ctx.wh.sql(
        "select date, spot, spot_gex_usd, call_gex_usd, put_gex_usd from core.gamma_daily "
        "where underlying = 'SPX' and preset = ? and date <= ? order by date", [ctx.preset, ctx.as_of])
    if hist.is_empty():
        return None
    fig = go.Figure()
    fig.add_bar(x=hist["date"], y=hist["spot_gex_usd"] / 1e9, name="net spot GEX ($bn / 1 %)",
                marker_color=[COLORS["call"] if v >= 0 else COLORS["put"] for v in hist["spot_gex_usd"]])
    fig.add_scatter(x=hist["date"], y=hist["spot"], name="SPX", yaxis="y2",
                    line=dict(color=COLORS["spot"], width=1.5))
    fig.update_layout(yaxis=dict(title="$bn per 1 % move"),
                      yaxis2=dict(title="SPX", overlaying="y", side="right", showgrid=False))
    style(fig, title="Net dealer gamma (spot GEX) and SPX")
    tonight = hist.filter(hist["date"] == ctx.as_of)
    return {
        "tonight": tonight.row(0, named=True) if tonight.height else None,
        "history_chart": to_div(fig, "fig-gex-history"),
        "convention": "Dealers long calls, short puts (SqueezeMetrics / Perfiliev). "
                      "GEX = gamma x open interest x 100 x spot^2 x 0.01: USD per 1 % move.",
    }
