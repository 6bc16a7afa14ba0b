"""Volatility: the VIX term structure tonight against a month ago, the VX futures curve, the
VIX9D/VIX and VIX/VIX3M ratios over time, and implied against realized volatility.

Reads core.vol_daily and raw.vx_futures (monthly settles as delivered) only.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from reports.figures import COLORS, Figure, style, to_div, trading_days
from reports.formatting import fmt
from reports.sections import Blank, Context, key, why

MONTH_AGO_DAYS = 30  # "a month ago": the last session on or before as_of - 30 calendar days
# Nominal maturities of the Cboe indices, calendar days (VIX9D 9, VIX 30, VIX3M 93).
INDEX_TENORS = (("VIX9D", "vix9d", 9), ("VIX", "vix", 30), ("VIX3M", "vix3m", 93))


def _vx_curve(ctx: Context, day) -> pl.DataFrame:
    return ctx.wh.sql(
        "select expiry, settle, (expiry - trade_date) as dte from raw.vx_futures where trade_date = ? "
        "and not weekly and settle > 0 and expiry > trade_date order by expiry", [day])


def build(ctx: Context) -> dict:
    h = ctx.wh.sql("select * from core.vol_daily where date <= ? order by date", [ctx.as_of])
    now = h.filter(pl.col("date") == ctx.as_of)
    if now.is_empty():
        reason = why(ctx, "volatility", f"no VIX term structure for {ctx.as_of}")
        return {"v": Blank(), "m": None, "rk": None, "charts": {}, "takeaway": "", "reason": reason}
    v = now.row(0, named=True)
    back = h.filter(pl.col("date") <= ctx.as_of - timedelta(days=MONTH_AGO_DAYS))
    m = back.row(-1, named=True) if back.height else None
    rk = key(date=ctx.as_of)
    charts = {}

    # -- term structure: the indices at their nominal tenors, tonight vs a month ago
    fig = Figure()
    for row, label, color, width in ((m, "a month ago", COLORS["month_ago"], 1.6),
                                     (v, "tonight", COLORS["tonight"], 2.4)):
        if row is None:
            continue
        pts = [(t, row[c], n) for n, c, t in INDEX_TENORS if row[c] is not None]
        fig.add_scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], text=[p[2] for p in pts],
                        name=f"{label} ({row['date']:%b %d})", mode="lines+markers+text",
                        textposition="top center", textfont=dict(size=10, color=color),
                        line=dict(color=color, width=width), marker=dict(size=7),
                        hovertemplate="%{text} %{y:.2f}<extra></extra>")
    fig.update_layout(xaxis=dict(title="calendar days to maturity", tickvals=[9, 30, 93]),
                      yaxis=dict(title="vol points"), hovermode="closest")
    style(fig, title="VIX term structure: VIX9D · VIX · VIX3M, tonight vs a month ago", height=300)
    charts["term"] = to_div(fig, "fig-vol-term-structure")

    # -- VX futures curve, tonight vs a month ago (monthly contracts as settled)
    fig = Figure()
    curves = []
    for row, label, color, width in ((m, "a month ago", COLORS["month_ago"], 1.6),
                                     (v, "tonight", COLORS["tonight"], 2.4)):
        if row is None:
            continue
        c = _vx_curve(ctx, row["date"])
        if c.is_empty():
            continue
        curves.append(label)
        fig.add_scatter(x=c["expiry"], y=c["settle"], name=f"{label} ({row['date']:%b %d})",
                        mode="lines+markers", line=dict(color=color, width=width), marker=dict(size=6),
                        customdata=c["dte"], hovertemplate="VX %{x|%b %y} %{y:.2f} · %{customdata} d<extra></extra>")
    if v["vix"] is not None:
        fig.add_hline(y=v["vix"], line=dict(color=COLORS["flip"], width=1, dash="dot"),
                      annotation_text=f"VIX {v['vix']:.2f}", annotation_position="bottom right",
                      annotation_font=dict(size=11, color=COLORS["flip"]))
    fig.update_layout(xaxis=dict(title="contract expiry", tickformat="%b %y"), yaxis=dict(title="settle"),
                      hovermode="closest")
    style(fig, title="VX futures curve (monthly settles), tonight vs a month ago", height=300)
    if curves:
        charts["vx"] = to_div(fig, "fig-vol-vx-curve")

    dates = h["date"].to_list()
    fig = Figure()
    fig.add_hrect(y0=1.0, y1=max(1.3, float(h.select(pl.max_horizontal("vix9d_vix_ratio", "vix_vix3m_ratio")).max().item() or 1.3)),
                  fillcolor="rgba(192,57,43,0.06)", line_width=0)
    fig.add_hline(y=1.0, line=dict(color=COLORS["neg"], width=1, dash="dot"),
                  annotation_text="backwardation above 1", annotation_position="top left",
                  annotation_font=dict(size=11, color=COLORS["neg"]))
    fig.add_scatter(x=h["date"], y=h["vix9d_vix_ratio"], name="VIX9D / VIX", mode="lines",
                    line=dict(color=COLORS["flip"], width=1.4), hovertemplate="9D/VIX %{y:.3f}<extra></extra>")
    fig.add_scatter(x=h["date"], y=h["vix_vix3m_ratio"], name="VIX / VIX3M", mode="lines",
                    line=dict(color=COLORS["net"], width=2), hovertemplate="VIX/3M %{y:.3f}<extra></extra>")
    fig.update_layout(yaxis=dict(title="ratio"))
    style(fig, title="Term-structure ratios (above 1 = inverted)", height=300)
    trading_days(fig, dates)
    charts["ratios"] = to_div(fig, "fig-vol-ratios")

    fig = Figure()
    fig.add_scatter(x=h["date"], y=h["vix"], name="VIX (implied 30 d)", mode="lines",
                    line=dict(color=COLORS["net"], width=2), hovertemplate="VIX %{y:.2f}<extra></extra>")
    fig.add_scatter(x=h["date"], y=h["spx_rv20_vol_pts"], name="SPX realized 20 d", mode="lines",
                    line=dict(color=COLORS["flip"], width=1.5), hovertemplate="RV20 %{y:.2f}<extra></extra>")
    fig.add_scatter(x=h["date"], y=h["vx1"], name="VX1", mode="lines",
                    line=dict(color=COLORS["muted"], width=1.2, dash="dot"),
                    hovertemplate="VX1 %{y:.2f}<extra></extra>")
    fig.update_layout(yaxis=dict(title="vol points"))
    style(fig, title="Implied vs realized: VIX, VX1 and SPX 20-day realized vol", height=300)
    trading_days(fig, dates)
    charts["iv_rv"] = to_div(fig, "fig-vol-iv-rv")

    shape = "inverted (backwardation)" if v["vix_vix3m_inverted"] else "in contango"
    take = f"VIX {v['vix']:.2f}, term structure {shape}: VIX/VIX3M {v['vix_vix3m_ratio']:.3f}" \
        if v["vix"] is not None and v["vix_vix3m_ratio"] is not None else "VIX term structure incomplete tonight"
    if v["vx1"] is not None and v["vx1_roll_yield"] is not None:
        take += f"; VX1 {v['vx1']:.2f} rolls {fmt(v['vx1_roll_yield'], 'pct')} to spot"
    if v["iv_rv_spread_vol_pts"] is not None:
        take += f"; implied over realized {fmt(v['iv_rv_spread_vol_pts'], 'signed1')} pts"
    if m is not None and m["vix"] is not None and v["vix"] is not None:
        take += f" (VIX {m['vix']:.2f} a month ago)"
    return {"v": v, "m": m, "rk": rk, "charts": charts, "takeaway": take + ".", "reason": None}
