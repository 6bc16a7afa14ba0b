"""Plotly helpers shared by report sections: one look, deterministic HTML, no CDN.

Figures only draw what tables hold; no new numbers are computed here.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import plotly.graph_objects as go

PLOTLY_ASSET = "assets/plotly.min.js"

COLORS = {
    "call": "#1a7f5a",
    "put": "#c0392b",
    "net": "#1f3b73",
    "spot": "#6b7280",
    "flip": "#d97706",
    "muted": "#9ca3af",
    "alvh": "#1f3b73",
    "ic": "#7c3aed",
    "spx": "#6b7280",
}

_LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=56, r=24, t=56, b=40),
    font=dict(family="Inter, -apple-system, Segoe UI, Roboto, sans-serif", size=12, color="#1f2937"),
    legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
    hovermode="x unified",
    height=320,
)


def style(fig: go.Figure, *, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(**_LAYOUT)
    if title:
        fig.update_layout(title=dict(text=title, x=0, xanchor="left", font=dict(size=13)))
    if height:
        fig.update_layout(height=height)
    return fig


def to_div(fig: go.Figure, div_id: str) -> str:
    """An HTML fragment for the figure; the div id is fixed so reports are byte-stable."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


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
