"""Breadth: the A/D line against SPX with divergence markers, the ratio-adjusted McClellan
oscillator and summation index, tonight's advancers and decliners.

Reads core.breadth_daily only (NYSE when present, else the exchange with the most rows).
"""

from __future__ import annotations

import polars as pl

from reports.figures import COLORS, Figure, style, to_div, trading_days
from reports.formatting import fmt
from reports.sections import Blank, Context, key, why

DIVERGENCE_LOOKBACK = 10  # sessions of recent divergences named in the takeaway


def _exchange(ctx: Context) -> str | None:
    ex = ctx.wh.sql("select exchange, count(*) as n from core.breadth_daily where date <= ? "
                    "group by exchange order by (exchange = 'NYSE') desc, n desc, exchange", [ctx.as_of])
    return ex["exchange"][0] if ex.height else None


def _empty(reason: str, exchange: str | None) -> dict:
    return {"b": Blank(), "rk": None, "exchange": exchange or "–", "takeaway": "", "reason": reason,
            "charts": {}, "divergence": None}


def build(ctx: Context) -> dict:
    exchange = _exchange(ctx)
    if exchange is None:
        return _empty(why(ctx, "breadth", f"no breadth (advancers/decliners) stored up to {ctx.as_of}"), None)
    h = ctx.wh.sql("select * from core.breadth_daily where exchange = ? and date <= ? order by date",
                   [exchange, ctx.as_of])
    night = h.filter(pl.col("date") == ctx.as_of)
    if night.is_empty():
        return _empty(why(ctx, "breadth", f"no {exchange} breadth for {ctx.as_of}"), exchange)
    b = night.row(0, named=True)
    rk = key(exchange=exchange, date=ctx.as_of)
    dates = h["date"].to_list()

    fig = Figure.subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=h["date"], y=h["ad_line"], name="A/D line", mode="lines",
                    line=dict(color=COLORS["net"], width=2), hovertemplate="A/D %{y:,}<extra></extra>")
    fig.add_scatter(x=h["date"], y=h["spx_close"], name="SPX", mode="lines",
                    line=dict(color=COLORS["spot"], width=1.4, dash="dot"),
                    hovertemplate="SPX %{y:,.2f}<extra></extra>", secondary_y=True)
    bear = h.filter(pl.col("ad_divergence_bearish").fill_null(False))
    bull = h.filter(pl.col("ad_divergence_bullish").fill_null(False))
    if bear.height:
        fig.add_scatter(x=bear["date"], y=bear["spx_close"], name="bearish divergence", mode="markers",
                        marker=dict(symbol="triangle-down", size=10, color=COLORS["neg"],
                                    line=dict(color="white", width=1)),
                        hovertemplate="bearish: SPX at a %{x|%b %d} high, A/D not<extra></extra>",
                        secondary_y=True)
    if bull.height:
        fig.add_scatter(x=bull["date"], y=bull["spx_close"], name="bullish divergence", mode="markers",
                        marker=dict(symbol="triangle-up", size=10, color=COLORS["pos"],
                                    line=dict(color="white", width=1)),
                        hovertemplate="bullish: SPX at a low, A/D not<extra></extra>", secondary_y=True)
    fig.update_yaxes(title_text="A/D line (issues)", secondary_y=False, tickformat=",")
    fig.update_yaxes(title_text="SPX", secondary_y=True, showgrid=False, tickformat=",.0f")
    style(fig, title=f"Advance/decline line vs SPX ({exchange}), divergences marked", height=320)
    trading_days(fig, dates)
    ad_chart = to_div(fig, "fig-breadth-ad-line")

    fig = Figure.subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=h["date"], y=h["mcclellan_osc"], name="McClellan oscillator",
                marker_color=[COLORS["pos"] if (v or 0) >= 0 else COLORS["neg"] for v in h["mcclellan_osc"]],
                opacity=0.7, hovertemplate="osc %{y:+.1f}<extra></extra>")
    fig.add_scatter(x=h["date"], y=h["mcclellan_sum"], name="summation index", mode="lines",
                    line=dict(color=COLORS["net"], width=1.8), hovertemplate="sum %{y:,.0f}<extra></extra>",
                    secondary_y=True)
    fig.update_yaxes(title_text="oscillator", secondary_y=False, zeroline=True, zerolinecolor="#cbd5e1")
    fig.update_yaxes(title_text="summation", secondary_y=True, showgrid=False)
    style(fig, title="McClellan oscillator (ratio-adjusted, EMA19 − EMA39) and summation index",
          height=320)
    fig.update_layout(bargap=0.1)
    trading_days(fig, dates)
    mc_chart = to_div(fig, "fig-breadth-mcclellan")

    recent = h.tail(DIVERGENCE_LOOKBACK)
    last_bear = recent.filter(pl.col("ad_divergence_bearish").fill_null(False))["date"].to_list()
    last_bull = recent.filter(pl.col("ad_divergence_bullish").fill_null(False))["date"].to_list()
    take = (f"{b['advances']:,} advancers vs {b['declines']:,} decliners "
            f"({fmt(b['ad_pct'], 'pctpts_signed')} net)" if b["advances"] is not None else "No advancers/decliners tonight")
    if b["mcclellan_osc"] is not None:
        take += (f"; McClellan {fmt(b['mcclellan_osc'], 'signed1')}, "
                 f"summation {fmt(b['mcclellan_sum'], 'num0')}")
    if last_bear:
        take += (f". Bearish A/D divergence on {last_bear[-1]:%b %d}: SPX at a "
                 "20-session high the A/D line did not confirm")
    elif last_bull:
        take += f". Bullish A/D divergence on {last_bull[-1]:%b %d}"
    else:
        take += f". No A/D divergence in the last {DIVERGENCE_LOOKBACK} sessions"
    return {"b": b, "rk": rk, "exchange": exchange, "takeaway": take + ".", "reason": None,
            "charts": {"ad": ad_chart, "mcclellan": mc_chart},
            "divergence": "bearish" if b["ad_divergence_bearish"] else
                          "bullish" if b["ad_divergence_bullish"] else "none"}
