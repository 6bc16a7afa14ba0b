"""Dealer gamma: tonight's SPX profile with spot and flip, GEX by strike (calls and puts) with the
walls, net GEX history with its MACD panel, the by-expiry table (with vanna and charm), a compact
table of the other underlyings stored tonight (SPY, QQQ, NDX ...) and the conventions in force.

Reads core.gamma_daily, core.gamma_profile, core.gamma_by_strike, core.gamma_by_expiry only.
"""

from __future__ import annotations

import polars as pl

from reports.figures import COLORS, Figure, style, to_div, trading_days, vline
from reports.formatting import fmt
from reports.sections import Blank, Context, key, why

# Strikes drawn in the by-strike chart: within this share of spot (a display window only).
STRIKE_WINDOW = 0.08

CONVENTIONS = {
    "default": "model gamma from each quote's IV, calendar time to the real settlement instant, "
               "flip found by root-finding on the profile",
    "perfiliev": "vendor gamma at spot, T = business days / 262 (0DTE = 1/262), r = q = 0, flip = "
                 "first sign change on a 0.8-1.2 x spot grid (Perfiliev's published method)",
}


def _bn(s: pl.Series) -> list[float]:
    return (s / 1e9).to_list()


def build(ctx: Context) -> dict:
    wh, d, preset = ctx.wh, ctx.as_of, ctx.preset
    hist = wh.sql(
        "select date, spot, net_gex_usd_per_pct, zero_gamma, gex_macd_usd, gex_macd_signal_usd, "
        "gex_macd_hist_usd from core.gamma_daily where underlying = 'SPX' and preset = ? and "
        "date <= ? order by date", [preset, d])
    night = wh.sql("select * from core.gamma_daily where underlying = 'SPX' and preset = ? and date = ?",
                   [preset, d])
    if night.is_empty():
        reason = why(ctx, "gamma", f"no SPX chain for {d}: no dealer-gamma row")
        return {"g": Blank(), "rk": None, "charts": Blank(), "takeaway": "", "reason": reason, "by_expiry": [],
                "preset": preset, "method": CONVENTIONS.get(preset, "custom conventions (see core.gamma_daily.preset)"),
                "others": [], "others_flips": []}
    g = night.row(0, named=True)
    rk = key(date=d, underlying="SPX", preset=preset)
    spot = g["spot"]
    charts = Blank()

    # -- profile: net GEX if spot moved, with spot and flip marked
    prof = wh.sql("select spot_level, call_gex_usd_per_pct, put_gex_usd_per_pct, net_gex_usd_per_pct from core.gamma_profile "
                  "where underlying = 'SPX' and preset = ? and date = ? order by spot_level", [preset, d])
    if prof.height:
        fig = Figure()
        net = _bn(prof["net_gex_usd_per_pct"])
        fig.add_scatter(x=prof["spot_level"], y=[v if v >= 0 else 0 for v in net], mode="lines",
                        line=dict(width=0), fill="tozeroy", fillcolor="rgba(26,127,90,0.14)",
                        hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=prof["spot_level"], y=[v if v < 0 else 0 for v in net], mode="lines",
                        line=dict(width=0), fill="tozeroy", fillcolor="rgba(192,57,43,0.14)",
                        hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=prof["spot_level"], y=net, name="net", mode="lines",
                        line=dict(color=COLORS["net"], width=2.2),
                        hovertemplate="net %{y:+.2f} bn<extra></extra>")
        fig.add_scatter(x=prof["spot_level"], y=_bn(prof["call_gex_usd_per_pct"]), name="calls", mode="lines",
                        line=dict(color=COLORS["call"], width=1, dash="dot"),
                        hovertemplate="calls %{y:+.2f} bn<extra></extra>")
        fig.add_scatter(x=prof["spot_level"], y=_bn(prof["put_gex_usd_per_pct"]), name="puts", mode="lines",
                        line=dict(color=COLORS["put"], width=1, dash="dot"),
                        hovertemplate="puts %{y:+.2f} bn<extra></extra>")
        vline(fig, spot, f"spot {spot:,.0f}", COLORS["spot"], dash="solid")
        for f in g.get("zero_gamma_flips") or []:
            if f != g["zero_gamma"]:
                fig.add_vline(x=f, line=dict(color=COLORS["flip"], width=1, dash="dot"), opacity=0.5)
        if g["zero_gamma"] is not None:
            vline(fig, g["zero_gamma"], f"flip {g['zero_gamma']:,.0f}", COLORS["flip"], level=1)
        fig.update_layout(xaxis=dict(title="SPX level", tickformat=",.0f"),
                          yaxis=dict(title="$bn per 1 % move", zeroline=True,
                                     zerolinecolor="#cbd5e1"), hovermode="x unified")
        style(fig, title="Gamma profile: net dealer GEX if SPX moved there tonight", height=330)
        charts["profile"] = to_div(fig, "fig-gamma-profile")

    # -- GEX by strike: calls up, puts down, walls marked
    lo, hi = spot * (1 - STRIKE_WINDOW), spot * (1 + STRIKE_WINDOW)
    by_k = wh.sql("select strike, call_gex_usd_per_pct, put_gex_usd_per_pct, net_gex_usd_per_pct, call_oi, put_oi "
                  "from core.gamma_by_strike where underlying = 'SPX' and preset = ? and date = ? "
                  "and strike between ? and ? order by strike", [preset, d, lo, hi])
    if by_k.height:
        fig = Figure()
        fig.add_bar(x=by_k["strike"], y=_bn(by_k["call_gex_usd_per_pct"]), name="calls",
                    marker_color=COLORS["call"], opacity=0.85,
                    customdata=by_k["call_oi"], hovertemplate="calls %{y:+.2f} bn · OI %{customdata:,}<extra></extra>")
        fig.add_bar(x=by_k["strike"], y=_bn(by_k["put_gex_usd_per_pct"]), name="puts",
                    marker_color=COLORS["put"], opacity=0.85,
                    customdata=by_k["put_oi"], hovertemplate="puts %{y:+.2f} bn · OI %{customdata:,}<extra></extra>")
        fig.add_scatter(x=by_k["strike"], y=_bn(by_k["net_gex_usd_per_pct"]), name="net", mode="markers",
                        marker=dict(color=COLORS["net"], size=4),
                        hovertemplate="net %{y:+.2f} bn<extra></extra>")
        vline(fig, spot, f"spot {spot:,.0f}", COLORS["spot"], dash="solid")
        if g["call_wall"] is not None and lo <= g["call_wall"] <= hi:
            vline(fig, g["call_wall"], f"call wall {g['call_wall']:,.0f}", COLORS["wall_call"],
                  level=1)
        if g["put_wall"] is not None and lo <= g["put_wall"] <= hi and g["put_wall"] != g["call_wall"]:
            vline(fig, g["put_wall"], f"put wall {g['put_wall']:,.0f}", COLORS["wall_put"],
                  level=2)
        fig.update_layout(barmode="relative", bargap=0.1,
                          xaxis=dict(title="strike", tickformat=",.0f"),
                          yaxis=dict(title="$bn per 1 % move"), hovermode="x unified")
        style(fig, title=f"GEX by strike, calls and puts (strikes within ±{STRIKE_WINDOW:.0%} of spot)",
              height=330)
        charts["by_strike"] = to_div(fig, "fig-gamma-by-strike")

    # -- history: net GEX and SPX (with the flip), MACD panel below
    if hist.height:
        fig = Figure.subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                              row_heights=[0.64, 0.36], specs=[[{"secondary_y": True}], [{}]])
        fig.add_bar(x=hist["date"], y=_bn(hist["net_gex_usd_per_pct"]), name="net spot GEX",
                    marker_color=[COLORS["pos"] if v >= 0 else COLORS["neg"] for v in hist["net_gex_usd_per_pct"]],
                    opacity=0.75, hovertemplate="net GEX %{y:+.2f} bn<extra></extra>", row=1, col=1)
        fig.add_scatter(x=hist["date"], y=hist["spot"], name="SPX", mode="lines",
                        line=dict(color=COLORS["spot"], width=1.6),
                        hovertemplate="SPX %{y:,.2f}<extra></extra>", row=1, col=1, secondary_y=True)
        fig.add_scatter(x=hist["date"], y=hist["zero_gamma"], name="flip", mode="lines",
                        line=dict(color=COLORS["flip"], width=1.2, dash="dot"), connectgaps=False,
                        hovertemplate="flip %{y:,.0f}<extra></extra>", row=1, col=1, secondary_y=True)
        fig.add_bar(x=hist["date"], y=_bn(hist["gex_macd_hist_usd"]), name="MACD histogram",
                    marker_color=[COLORS["pos"] if (v or 0) >= 0 else COLORS["neg"]
                                  for v in hist["gex_macd_hist_usd"]], opacity=0.45,
                    hovertemplate="hist %{y:+.2f} bn<extra></extra>", row=2, col=1)
        fig.add_scatter(x=hist["date"], y=_bn(hist["gex_macd_usd"]), name="MACD", mode="lines",
                        line=dict(color=COLORS["macd"], width=1.5),
                        hovertemplate="MACD %{y:+.2f} bn<extra></extra>", row=2, col=1)
        fig.add_scatter(x=hist["date"], y=_bn(hist["gex_macd_signal_usd"]), name="signal", mode="lines",
                        line=dict(color=COLORS["signal"], width=1.2),
                        hovertemplate="signal %{y:+.2f} bn<extra></extra>", row=2, col=1)
        if hist["gex_macd_usd"].null_count() == hist.height:
            fig.add_annotation(text=f"the MACD starts once 26 sessions of net GEX are stored "
                                    f"({hist.height} so far)", xref="x domain", yref="y3 domain",
                               x=0.5, y=0.5, showarrow=False, font=dict(size=12, color=COLORS["muted"]))
        fig.update_yaxes(title_text="$bn / 1 %", row=1, col=1, secondary_y=False)
        # The flip can sit far from spot on quiet days: keep the axis on SPX, let the flip clip.
        spx_lo, spx_hi = hist["spot"].min(), hist["spot"].max()
        pad = (spx_hi - spx_lo) * 0.08 or spx_hi * 0.01
        fig.update_yaxes(title_text="SPX", row=1, col=1, secondary_y=True, showgrid=False,
                         tickformat=",.0f", range=[spx_lo - pad, spx_hi + pad])
        fig.update_yaxes(title_text="MACD $bn", row=2, col=1)
        style(fig, title="Net spot GEX and SPX (flip dotted), GEX MACD 12/26/9 below", height=440)
        fig.update_layout(bargap=0.1)
        trading_days(fig, hist["date"].to_list(), rows=[1, 2])
        charts["history"] = to_div(fig, "fig-gamma-history")

    by_exp = wh.sql("select root, expiry, dte_days, bucket, call_gex_usd_per_pct, put_gex_usd_per_pct, net_gex_usd_per_pct, "
                    "net_vanna_usd_per_vol_pt, net_charm_usd_per_day, "
                    "call_oi, put_oi from core.gamma_by_expiry where underlying = 'SPX' and preset = ? "
                    "and date = ? order by expiry, root", [preset, d])
    # the other underlyings of the night, one compact row each (same preset, same date)
    others = wh.sql("select underlying, spot, net_gex_usd_per_pct, zero_gamma, zero_gamma_distance_pct, "
                    "call_wall, put_wall, zero_dte_share_pct, net_vanna_usd_per_vol_pt, "
                    "net_charm_usd_per_day from core.gamma_daily where underlying <> 'SPX' and "
                    "preset = ? and date = ? order by underlying", [preset, d])

    gex = g["net_gex_usd_per_pct"]
    dist = g["zero_gamma_distance_pct"]
    side = "long" if gex >= 0 else "short"
    take = f"Dealers are {side} gamma: {fmt(gex, 'bn')} USD per 1 % move"
    if g["zero_gamma"] is not None and dist is not None:
        where = "above" if dist > 0 else "below"
        take += f"; the flip {g['zero_gamma']:,.0f} is {abs(dist):.1f} % {where} spot {spot:,.0f}"
    else:
        take += f"; no flip between {g['flip_search_low']:,.0f} and {g['flip_search_high']:,.0f}" \
            if g["flip_search_low"] is not None else ""
    take += "."
    return {
        "g": g, "rk": rk, "charts": charts, "takeaway": take, "reason": None,
        "by_expiry": [{**r, "rk": key(date=d, underlying="SPX", preset=preset, root=r["root"],
                                      expiry=r["expiry"])} for r in by_exp.to_dicts()],
        "others": [{**r, "rk": key(date=d, underlying=r["underlying"], preset=preset)}
                   for r in others.to_dicts()],
        "preset": preset,
        "method": CONVENTIONS.get(preset, "custom conventions (see core.gamma_daily.preset)"),
        "others_flips": [f for f in (g.get("zero_gamma_flips") or []) if f != g["zero_gamma"]],
    }
