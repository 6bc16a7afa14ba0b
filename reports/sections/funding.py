"""Funding: perpetual funding APR per venue and symbol with the composite, its z-score against the
trailing window and the spikes, tonight's table with basis and open interest.

Reads core.funding_daily (and core.vol_daily's SPX RSI for the funding-premium chart).
"""

from __future__ import annotations

import polars as pl

from reports.figures import COLORS, SERIES, Figure, style, to_div, trading_days
from reports.formatting import fmt
from reports.sections import Blank, Context, key, why

COMPOSITE = ("composite", "ALL")
SPIKE_Z = 2.0  # core.funding_daily.funding_spike threshold (docs/market-tables.md)


def build(ctx: Context) -> dict:
    h = ctx.wh.sql("select * from core.funding_daily where date <= ? order by venue, symbol, date",
                   [ctx.as_of])
    tonight = h.filter(pl.col("date") == ctx.as_of)
    if tonight.is_empty():
        reason = why(ctx, "funding", f"no perp funding for {ctx.as_of}")
        return {"c": Blank(), "rk": None, "rows": [], "takeaway": "", "reason": reason,
                "charts": {"apr": "", "z": None, "positioning": None, "premium": None}}
    comp = h.filter((pl.col("venue") == COMPOSITE[0]) & (pl.col("symbol") == COMPOSITE[1])).sort("date")
    c_now = comp.filter(pl.col("date") == ctx.as_of)
    c = c_now.row(0, named=True) if c_now.height else None
    dates = sorted(set(h["date"].to_list()))

    fig = Figure()
    series = h.filter(pl.col("venue") != COMPOSITE[0]).partition_by(["venue", "symbol"], as_dict=True)
    for i, ((venue, symbol), s) in enumerate(sorted(series.items())):
        s = s.sort("date")
        fig.add_scatter(x=s["date"], y=s["funding_apr"] * 100, name=f"{venue} {symbol}", mode="lines",
                        line=dict(color=SERIES[(i + 1) % len(SERIES)], width=1.1), opacity=0.75,
                        hovertemplate=f"{venue} {symbol} %{{y:.1f}} %<extra></extra>")
    if comp.height:
        fig.add_scatter(x=comp["date"], y=comp["funding_apr"] * 100, name="composite", mode="lines",
                        line=dict(color=COLORS["net"], width=2.6),
                        hovertemplate="composite %{y:.1f} %<extra></extra>")
        spikes = comp.filter(pl.col("funding_spike").fill_null(False))
        if spikes.height:
            fig.add_scatter(x=spikes["date"], y=spikes["funding_apr"] * 100, name="spike (z > 2)",
                            mode="markers", marker=dict(color=COLORS["neg"], size=8, symbol="circle-open",
                                                        line=dict(width=2)),
                            hovertemplate="spike %{y:.1f} %<extra></extra>")
    fig.update_layout(yaxis=dict(title="APR, % a year", ticksuffix=" %"))
    style(fig, title="Funding APR by venue and symbol (composite bold, spikes circled)", height=320)
    trading_days(fig, dates)
    apr_chart = to_div(fig, "fig-funding-apr")

    z_chart = None
    if comp.height:
        fig = Figure()
        fig.add_hrect(y0=-SPIKE_Z, y1=SPIKE_Z, fillcolor=COLORS["band"], line_width=0)
        fig.add_hline(y=SPIKE_Z, line=dict(color=COLORS["neg"], width=1, dash="dot"))
        fig.add_bar(x=comp["date"], y=comp["funding_apr_z"], name="composite z",
                    marker_color=[COLORS["neg"] if (v or 0) > SPIKE_Z else COLORS["net"]
                                  for v in comp["funding_apr_z"]], opacity=0.75,
                    hovertemplate="z %{y:+.2f}<extra></extra>")
        fig.add_scatter(x=comp["date"], y=comp["funding_apr_pctile"], name="percentile", mode="lines",
                        yaxis="y2", line=dict(color=COLORS["flip"], width=1.2),
                        hovertemplate="pctile %{y:.0f}<extra></extra>")
        fig.update_layout(yaxis=dict(title="z vs 90 prior sessions"),
                          yaxis2=dict(title="percentile", overlaying="y", side="right", range=[0, 100],
                                      tickvals=[0, 25, 50, 75, 100], showgrid=False), bargap=0.1)
        style(fig, title="Composite funding z-score (band ±2, spike above) and percentile", height=320)
        trading_days(fig, comp["date"].to_list())
        z_chart = to_div(fig, "fig-funding-z")

    # open interest and liquidations beside funding (composite 'ALL'), when the warehouse has them
    positioning_chart = None
    if comp.height and "liquidations_long_usd" in comp.columns and \
            comp["open_interest_usd"].is_not_null().any():
        fig = Figure()
        fig.add_bar(x=comp["date"], y=-comp["liquidations_long_usd"].fill_null(0) / 1e6,
                    name="longs liquidated", marker_color=COLORS["neg"], opacity=0.8,
                    hovertemplate="longs %{y:,.0f} $m<extra></extra>")
        fig.add_bar(x=comp["date"], y=comp["liquidations_short_usd"].fill_null(0) / 1e6,
                    name="shorts liquidated", marker_color=COLORS["pos"], opacity=0.8,
                    hovertemplate="shorts %{y:,.0f} $m<extra></extra>")
        fig.add_scatter(x=comp["date"], y=comp["open_interest_usd"] / 1e9, name="open interest", mode="lines",
                        yaxis="y2", line=dict(color=COLORS["net"], width=2),
                        hovertemplate="OI %{y:.2f} $bn<extra></extra>")
        casc = comp.filter(pl.col("liquidation_cascade").fill_null(False))
        if casc.height:
            fig.add_scatter(x=casc["date"], y=-casc["liquidations_long_usd"] / 1e6, name="cascade",
                            mode="markers", marker=dict(color=COLORS["neg"], size=9, symbol="x"),
                            hovertemplate="cascade<extra></extra>")
        fig.update_layout(barmode="relative", yaxis=dict(title="liquidations, $m (longs below 0)"),
                          yaxis2=dict(title="open interest, $bn", overlaying="y", side="right", showgrid=False))
        style(fig, title="Open interest and liquidations (composite): longs below the line, cascades marked", height=320)
        trading_days(fig, comp["date"].to_list())
        positioning_chart = to_div(fig, "fig-funding-positioning")

    # funding-implied vol premium of the perp against SPX RSI(14) (core.vol_daily)
    premium_chart = None
    if comp.height and "funding_vol_premium_perp" in comp.columns and \
            comp["funding_vol_premium_perp"].is_not_null().any() and ctx.has("core.vol_daily"):
        rsi = ctx.wh.sql("select date, spx_rsi14 from core.vol_daily where date <= ? order by date", [ctx.as_of])
        fig = Figure()
        fig.add_hrect(y0=30, y1=70, fillcolor=COLORS["band"], line_width=0, yref="y2")
        fig.add_scatter(x=comp["date"], y=comp["funding_vol_premium_perp"], name="funding APR / perp RV20",
                        mode="lines", line=dict(color=COLORS["net"], width=2),
                        hovertemplate="premium %{y:.2f}<extra></extra>")
        fig.add_scatter(x=rsi["date"], y=rsi["spx_rsi14"], name="SPX RSI(14)", mode="lines", yaxis="y2",
                        line=dict(color=COLORS["flip"], width=1.4), hovertemplate="RSI %{y:.0f}<extra></extra>")
        fig.update_layout(yaxis=dict(title="funding APR per unit of perp realised vol"),
                          yaxis2=dict(title="RSI", overlaying="y", side="right", range=[0, 100], showgrid=False))
        style(fig, title="Funding-implied vol premium (composite) against SPX RSI(14)", height=320)
        trading_days(fig, comp["date"].to_list())
        premium_chart = to_div(fig, "fig-funding-premium-rsi")

    rows = []
    for r in tonight.sort(pl.col("venue") == COMPOSITE[0], "venue", "symbol").iter_rows(named=True):
        rows.append({**r, "rk": key(venue=r["venue"], symbol=r["symbol"], date=ctx.as_of)})
    if c is not None:
        z = c["funding_apr_z"]
        take = f"Composite funding {fmt(c['funding_apr'], 'apr')} a year"
        if z is not None:
            take += (f", z {fmt(z, 'signed2')} against its last 90 sessions "
                     f"({fmt(c['funding_apr_pctile'], 'num0')}th percentile)")
        n_spike = int(tonight.filter(pl.col("venue") != COMPOSITE[0])["funding_spike"].fill_null(False).sum())
        take += f"; {n_spike} venue series spiking tonight." if n_spike else "; no venue spiking tonight."
    else:
        take = "No composite funding row tonight."
    return {"c": c if c is not None else Blank(),
            "rk": key(venue=COMPOSITE[0], symbol=COMPOSITE[1], date=ctx.as_of) if c is not None else None,
            "rows": rows, "takeaway": take, "reason": None if c is not None else take.rstrip("."),
            "charts": {"apr": apr_chart, "z": z_chart, "positioning": positioning_chart,
                       "premium": premium_chart}}
