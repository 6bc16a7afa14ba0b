"""Plotly helpers shared by report sections: one calm look, trading-day axes, deterministic HTML,
plotly.min.js stored once beside the reports (no CDN).

Figures only draw what tables hold; no new numbers are computed here.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import plotly.graph_objects as go

PLOTLY_ASSET = "assets/plotly.min.js"

# One palette for every page: calm, print-friendly, colour-blind-safe pairs (green/red only where
# a trader expects them: calls/puts, gains/losses).
COLORS = {
    "ink": "#1f2937",
    "muted": "#9ca3af",
    "grid": "#eef0f3",
    "call": "#1a7f5a",
    "put": "#c0392b",
    "net": "#1f3b73",
    "spot": "#374151",
    "flip": "#d97706",
    "wall_call": "#1a7f5a",
    "wall_put": "#c0392b",
    "alvh": "#1f3b73",
    "plain_ic": "#8b5cf6",
    "ic": "#8b5cf6",  # the spine's name for the condor colour (kept for sections using it)
    "spx": "#9ca3af",
    "macd": "#1f3b73",
    "signal": "#d97706",
    "pos": "#1a7f5a",
    "neg": "#c0392b",
    "tonight": "#1f3b73",
    "month_ago": "#9ca3af",
    "band": "rgba(31,59,115,0.06)",
}
SERIES = ["#1f3b73", "#d97706", "#0f766e", "#8b5cf6", "#be185d", "#4b5563", "#65a30d", "#0369a1"]
FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

_LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=56, r=20, t=44, b=36),
    font=dict(family=FONT, size=12, color=COLORS["ink"]),
    legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1,
                font=dict(size=11), bgcolor="rgba(0,0,0,0)"),
    hovermode="x unified",
    hoverlabel=dict(font=dict(family=FONT, size=12)),
    height=300,
    paper_bgcolor="#ffffff",
    plot_bgcolor="#ffffff",
)


def style(fig: go.Figure, *, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(**_LAYOUT)
    fig.update_xaxes(showgrid=False, linecolor="#d1d5db", ticks="outside", tickcolor="#d1d5db",
                     zeroline=False)
    fig.update_yaxes(gridcolor=COLORS["grid"], zeroline=False, linecolor="#d1d5db")
    if title:
        fig.update_layout(title=dict(text=title, x=0, xanchor="left", y=0.98, yanchor="top",
                                     font=dict(size=13, color=COLORS["ink"])))
    if height:
        fig.update_layout(height=height)
    return fig


def trading_days(fig: go.Figure, dates: Iterable[date], *, rows: Sequence[int] | None = None
                 ) -> go.Figure:
    """Date axes without weekend or holiday gaps: weekends and the weekdays missing from the
    plotted sessions (exchange holidays) are range breaks."""
    ds = sorted(set(dates))
    breaks: list[dict] = [dict(bounds=["sat", "mon"])]
    if len(ds) > 1:
        have = set(ds)
        gaps, d = [], ds[0]
        while d < ds[-1]:
            if d.weekday() < 5 and d not in have:
                gaps.append(d.isoformat())
            d += timedelta(days=1)
        if gaps:
            breaks.append(dict(values=gaps))
    if rows:
        for r in rows:
            fig.update_xaxes(rangebreaks=breaks, row=r, col=1)
    else:
        fig.update_xaxes(rangebreaks=breaks)
    # Plotly sizes date bars by the smallest gap between points (3 days over a weekend), which the
    # breaks then stretch: one session is one day wide, drawn at 80 %.
    for trace in fig.data:
        if trace.type == "bar" and trace.width is None:
            trace.width = 0.8 * 86_400_000
    return fig


def vline(fig: go.Figure, x: float, text: str, color: str, *, dash: str = "dot",
          level: int = 0) -> None:
    """A labelled vertical marker (spot, flip, walls) drawn as a shape, not a trace. Labels sit
    inside the plot at the top, one row lower per `level`, so close markers do not collide."""
    fig.add_vline(x=x, line=dict(color=color, width=1.4, dash=dash))
    fig.add_annotation(x=x, y=0.99 - 0.085 * level, yref="paper", text=text, showarrow=False,
                       font=dict(size=11, color=color), bgcolor="rgba(255,255,255,0.9)",
                       yanchor="top", xanchor="left", xshift=3)


def to_div(fig: go.Figure, div_id: str) -> str:
    """An HTML fragment for the figure; the div id is fixed so reports are byte-stable."""
    html = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True,
                               "displayModeBar": False})
    return f'<div class="figure" data-figure="{div_id}">{html}</div>'


def install_plotly_js(reports_dir: Path) -> Path:
    """Store plotly.min.js once beside the reports (copied from the installed package)."""
    dest = reports_dir / PLOTLY_ASSET
    src = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not dest.exists() or dest.stat().st_size != src.stat().st_size:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
    return dest
