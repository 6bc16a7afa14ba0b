"""reports.figures.Figure (plain dicts, no plotly validators) gives what plotly.graph_objects gives
for every call the sections make, and every figure on a rendered page is a valid plotly figure."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pytest
from plotly.subplots import make_subplots

from reports.figures import Figure, style, to_div

DAYS = [d for d in (date(2026, 3, 2) + timedelta(days=i) for i in range(14)) if d.weekday() < 5]
H = pl.DataFrame({
    "date": DAYS,
    "v": [1.5, None, -2.25, 3.0, 4.125, 0.0, -1.0, 2.0, 5.5, 6.0][: len(DAYS)],
    "n": list(range(len(DAYS))),
    "s": ["calm", None, "crowded", "calm", "unwinding", "calm", "calm", "recovery", "calm", "calm"][: len(DAYS)],
})


def _json(fig) -> dict:
    """The figure as plotly.js receives it."""
    return json.loads(pio.to_json(fig.to_dict(), validate=False))


def _draw(new: bool) -> list:
    """The same figures through either API: the calls (and their argument shapes) the sections
    use, traces with polars series, lists, magic underscores, None, subplots, spanning shapes."""
    blank = Figure if new else go.Figure
    subplots = Figure.subplots if new else make_subplots
    figs = []

    fig = blank()
    fig.add_scatter(x=H["date"], y=H["v"] * 100, name="a", mode="lines", fill=None,
                    line=dict(color="#1f3b73", width=2), customdata=H["s"],
                    hovertemplate="%{y:.1f}<extra></extra>")
    fig.add_bar(x=H["date"], y=H["n"], marker_color=["#1a7f5a" if i % 2 else "#c0392b" for i in H["n"]],
                opacity=0.7, yaxis="y2")
    fig.add_hrect(y0=-2.0, y1=2.0, fillcolor="rgba(31,59,115,0.06)", line_width=0)
    fig.add_hline(y=1.0, line=dict(color="#c0392b", width=1, dash="dot"),
                  annotation_text="above 1", annotation_position="top left",
                  annotation_font=dict(size=11, color="#c0392b"))
    fig.add_hline(y=12.5, annotation_text="VIX 12.50", annotation_position="bottom right")
    fig.add_vline(x=5.0, line=dict(color="#374151", width=1, dash="dash"), annotation_text="spot",
                  annotation_position="top")
    fig.add_vline(x=6.0, line=dict(color="#d97706", width=1, dash="dot"), opacity=0.5)
    fig.add_annotation(x=5.0, y=0.99, yref="paper", text="flip", showarrow=False,
                       font=dict(size=11), bgcolor="rgba(255,255,255,0.9)", xshift=3)
    fig.update_layout(yaxis=dict(title="score", range=[0, 100]),
                      yaxis2=dict(title="SPX", overlaying="y", side="right", showgrid=False),
                      hovermode="closest", bargap=0.15)
    style(fig, title="one", height=260)
    figs.append(fig)

    fig = subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.64, 0.36],
                   specs=[[{"secondary_y": True}], [{}]])
    fig.add_bar(x=H["date"], y=H["v"], name="bars", row=1, col=1)
    fig.add_scatter(x=H["date"], y=H["n"], name="line", row=1, col=1, secondary_y=True)
    fig.add_scatter(x=H["date"], y=[1.0, None, 2.0] * 4, name="list", row=2, col=1)
    fig.add_hline(y=1.0, line=dict(color="#cbd5e1", width=1), row=1, col=1)
    fig.add_annotation(text="later", xref="x domain", yref="y3 domain", x=0.5, y=0.5, showarrow=False)
    fig.update_yaxes(title_text="$bn", row=1, col=1, secondary_y=False)
    fig.update_yaxes(title_text="SPX", row=1, col=1, secondary_y=True, tickformat=",.0f",
                     range=[1.0, 2.0])
    fig.update_yaxes(title_text="MACD", row=2, col=1)
    fig.update_xaxes(rangebreaks=[dict(bounds=["sat", "mon"])], row=2, col=1)
    style(fig, title="two", height=440)
    figs.append(fig)

    fig = subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=H["date"], y=H["v"], name="primary")
    fig.add_scatter(x=H["date"], y=H["n"], name="secondary", secondary_y=True)
    fig.update_yaxes(title_text="A/D", secondary_y=False, tickformat=",")
    fig.update_yaxes(title_text="SPX", secondary_y=True, showgrid=False)
    fig.update_xaxes(rangebreaks=[dict(values=["2026-03-04"])])
    style(fig)
    figs.append(fig)

    fig = subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.7, 0.3])
    fig.add_scatter(x=H["date"], y=H["v"], name="only row 2", row=2, col=1)
    fig.add_hline(y=1.0, row=1, col=1)  # row 1 has nothing: plotly leaves the line out
    style(fig)
    figs.append(fig)
    return figs


def test_figure_gives_what_plotly_graph_objects_gives():
    for ours, theirs in zip(_draw(new=True), _draw(new=False), strict=True):
        assert _json(ours) == _json(theirs)


def test_a_spanning_shape_on_subplots_needs_its_row():
    fig = Figure.subplots(rows=2, cols=1)
    with pytest.raises(ValueError, match="row= and col="):
        fig.add_hline(y=1.0)


def test_to_div_does_not_change_the_figure():
    fig = _draw(new=True)[0]
    assert to_div(fig, "fig-a") == to_div(fig, "fig-a")
    assert fig.data[0]["y"].dtype.kind == "f"  # still the array, not its base64 spec


def _figures(html: str) -> dict[str, tuple[list, dict]]:
    dec = json.JSONDecoder()
    out = {}
    for m in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', html):
        data, end = dec.raw_decode(html, m.end())
        rest = re.match(r"\s*,\s*", html[end:])
        layout, _ = dec.raw_decode(html, end + rest.end())
        out[m.group(1)] = (data, layout)
    return out


def test_every_figure_on_the_pages_is_valid_plotly(sample_home):
    """plotly's validators, skipped while rendering, run here: no unknown property, no bad value."""
    pages = [sample_home.page(), sample_home.reports / "index.html"]
    seen = 0
    for page in pages:
        for div, (data, layout) in _figures(page.read_text(encoding="utf-8")).items():
            try:
                go.Figure(data=data, layout=layout)
            except ValueError as e:
                raise AssertionError(f"{page.name} {div}: {e}") from None
            seen += 1
    assert seen >= 15
