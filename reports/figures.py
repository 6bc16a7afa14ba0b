"""Plotly helpers shared by report sections: one calm look, trading-day axes, deterministic HTML,
plotly.min.js stored once beside the reports (no CDN).

Figures only draw what tables hold; no new numbers are computed here.

`Figure` is a plotly figure kept as plain dicts. It has the few `plotly.graph_objects.Figure`
methods the sections use (add_scatter/add_bar, update_layout, update_xaxes/yaxes with row/col/
secondary_y, add_vline/hline/hrect, add_annotation) with plotly's semantics (nested updates,
magic underscores, a string title is `{"text": ...}`, None means unset, axis-spanning shapes and
their annotations, make_subplots grids), and serialises like `go.Figure.to_html` (arrays as
plotly's typed-array specs, the same div and script). It skips plotly's per-property validators
and template copies, which took ~0.1-0.2 s a figure (most of a page's ~3.5 s). Checked in
tests/reports/test_figures.py: the same calls through go.Figure give the same JSON, and every
figure on a rendered page passes go.Figure's validation.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import plotly.io as pio
import polars as pl
from _plotly_utils.basevalidators import copy_to_readonly_numpy_array
from _plotly_utils.utils import convert_to_base64
from plotly.basedatatypes import BaseFigure
from plotly.shapeannotation import axis_spanning_shape_annotation

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


@functools.cache
def _template_dict(name: str) -> dict:
    # The JSON plotly.io.templates[name] is built from: it serialises back to the same values
    # (tests/reports/test_figures.py), without the ~0.2 s of validating it.
    path = resources.files("plotly") / "package_data" / "templates" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _template(name: str) -> dict:
    """A named plotly template as the dict a figure's layout.template serialises to (read once
    per process; each figure gets its own copy)."""
    return copy.deepcopy(_template_dict(name))


@functools.cache
def _subplot_grid(key: str) -> tuple[dict, dict]:
    """make_subplots' axes (layout without template) and grid: (row, col) -> [(xaxis, yaxis)
    primary, secondary], built once per distinct set of arguments (`key`: them as JSON)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(**json.loads(key))
    layout = fig.to_dict()["layout"]
    layout.pop("template", None)
    grid = {(r + 1, c + 1): [ref.layout_keys for ref in refs]
            for r, row in enumerate(fig._grid_ref) for c, refs in enumerate(row) if refs}
    return layout, grid


def _ref(axis_key: str) -> str:
    return axis_key.replace("axis", "")  # "xaxis2" -> "x2"


# Property names that hold an underscore (paper_bgcolor, error_x ...): never split.
_UNDERSCORED = BaseFigure._valid_underscore_properties


def _split(key: str) -> list[str]:
    """plotly's magic-underscore path of a keyword: marker_color -> [marker, color]."""
    for under, hyphen in _UNDERSCORED.items():
        key = key.replace(under, hyphen)
    return [p.replace("-", "_") for p in key.split("_")]


def _value(k: str, v: Any) -> Any:
    """A property value as plotly stores it: arrays (polars series) as read-only numpy arrays,
    a string title as {"text": ...}, dicts copied with their None entries dropped."""
    if isinstance(v, pl.Series):
        return copy_to_readonly_numpy_array(v)
    if k == "title" and isinstance(v, str):
        return {"text": v}
    if isinstance(v, dict):
        return _merge({}, v)
    if isinstance(v, list):
        return [_merge({}, x) if isinstance(x, dict) else x for x in v]
    return v


def _merge(dst: dict, src: dict) -> dict:
    """plotly's update: dicts merge into dicts, anything else replaces; keywords follow magic
    underscores (marker_color -> marker.color); None means unset."""
    for k, v in src.items():
        if v is None:
            continue
        *path, last = _split(k)
        d = dst
        for p in path:
            if not isinstance(d.get(p), dict):
                d[p] = {}
            d = d[p]
        if isinstance(v, dict) and isinstance(d.get(last), dict):
            _merge(d[last], v)
        else:
            d[last] = _value(last, v)
    return dst


def _copy(obj: Any) -> Any:
    """Dicts and lists copied, arrays (read-only) shared."""
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy(v) for v in obj]
    return obj


class Figure:
    """A plotly figure as plain dicts (see the module docstring)."""

    def __init__(self) -> None:
        self.data: list[dict] = []
        self.layout: dict = {}
        self._grid: dict | None = None  # (row, col) -> [(xaxis, yaxis), ...] for subplots

    @classmethod
    def subplots(cls, **kwargs) -> Figure:
        """plotly.subplots.make_subplots(**kwargs): the same axes, domains and grid."""
        layout, grid = _subplot_grid(json.dumps(kwargs, sort_keys=True))
        fig = cls()
        fig.layout = copy.deepcopy(layout)
        fig._grid = grid
        return fig

    # -- traces ----------------------------------------------------------------------------
    def add_trace(self, type_: str, row: int | None = None, col: int | None = None,
                  secondary_y: bool | None = None, **props) -> Figure:
        trace = _merge({}, props)
        if secondary_y is not None and row is None:
            row = col = 1
        if row is not None:
            xaxis, yaxis = self._cell(row, col)[1 if secondary_y else 0]
            trace["xaxis"], trace["yaxis"] = _ref(xaxis), _ref(yaxis)
        trace["type"] = type_
        self.data.append(trace)
        return self

    def add_scatter(self, **kwargs) -> Figure:
        return self.add_trace("scatter", **kwargs)

    def add_bar(self, **kwargs) -> Figure:
        return self.add_trace("bar", **kwargs)

    # -- layout ----------------------------------------------------------------------------
    def update_layout(self, **props) -> Figure:
        template = props.pop("template", None)
        if template is not None:
            self.layout["template"] = _template(template) if isinstance(template, str) else template
        _merge(self.layout, props)
        return self

    def _cell(self, row: int, col: int) -> list[tuple[str, str]]:
        if self._grid is None:
            raise ValueError("row/col need a figure made by Figure.subplots")
        return self._grid[(row, col)]

    def _axes(self, letter: str, row: int | None, col: int | None,
              secondary_y: bool | None) -> list[str]:
        """The layout axis keys plotly's update_xaxes/update_yaxes select."""
        prefix = letter + "axis"
        keys = {prefix, *(k for k in self.layout if k.startswith(prefix))}
        if row is not None or col is not None or secondary_y is not None:
            where: dict[str, tuple[int, int, bool]] = {}
            for (r, c), refs in (self._grid or {}).items():
                for i, pair in enumerate(refs):
                    for k in pair:
                        if k.startswith(prefix):
                            where[k] = (r, c, i == 1)
            keys = {k for k in keys if k in where
                    and (row is None or where[k][0] == row) and (col is None or where[k][1] == col)
                    and (secondary_y is None or where[k][2] == secondary_y)}
        return sorted(keys, key=lambda k: int(k[len(prefix):] or 1))

    def update_xaxes(self, row: int | None = None, col: int | None = None, **props) -> Figure:
        for k in self._axes("x", row, col, None):
            _merge(self.layout.setdefault(k, {}), props)
        return self

    def update_yaxes(self, row: int | None = None, col: int | None = None,
                     secondary_y: bool | None = None, **props) -> Figure:
        for k in self._axes("y", row, col, secondary_y):
            _merge(self.layout.setdefault(k, {}), props)
        return self

    # -- shapes and annotations --------------------------------------------------------------
    def add_annotation(self, **props) -> Figure:
        self.layout.setdefault("annotations", []).append(_merge({}, props))
        return self

    def _not_empty(self, xref: str, yref: str) -> bool:
        """plotly's exclude_empty_subplots: a trace, shape or annotation on these axes."""
        objs = [(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in self.data]
        for kind in ("shapes", "annotations"):
            objs += [(o.get("xref", "x"), o.get("yref", "y")) for o in self.layout.get(kind, [])]
        return (xref, yref) in objs

    def _spanning(self, kind: str, shape: dict, row: int | None, col: int | None,
                  kwargs: dict) -> Figure:
        """add_vline/add_hline/add_hrect: the shape, its annotation_* label, refs to ' domain'."""
        ann_kw = {k: v for k, v in kwargs.items() if k.startswith("annotation_")}
        shape_kw = {k: v for k, v in kwargs.items() if not k.startswith("annotation_")}
        ann = axis_spanning_shape_annotation(None, kind, shape, ann_kw)
        if self._grid is not None:
            if row is None:  # plotly would draw it on every subplot: say which one
                raise ValueError(f"add_{kind} on a subplot figure needs row= and col=")
            xaxis, yaxis = self._cell(row, col)[0]
            xref, yref = _ref(xaxis), _ref(yaxis)
            if not self._not_empty(xref, yref):
                return self
        else:
            xref, yref = "x", "y"
        span = "yref" if kind in ("vline", "vrect") else "xref"
        new = _merge(dict(shape), shape_kw)
        new.setdefault("xref", xref)
        new.setdefault("yref", yref)
        new[span] += " domain"
        self.layout.setdefault("shapes", []).append(new)
        if ann is not None:
            ann = _merge({}, ann)
            ann.setdefault("xref", xref)
            ann.setdefault("yref", yref)
            ann[span] += " domain"
            self.layout.setdefault("annotations", []).append(ann)
        return self

    def add_vline(self, x, row: int | None = None, col: int | None = None, **kwargs) -> Figure:
        return self._spanning("vline", dict(type="line", x0=x, x1=x, y0=0, y1=1), row, col, kwargs)

    def add_hline(self, y, row: int | None = None, col: int | None = None, **kwargs) -> Figure:
        return self._spanning("hline", dict(type="line", x0=0, x1=1, y0=y, y1=y), row, col, kwargs)

    def add_hrect(self, y0, y1, row: int | None = None, col: int | None = None,
                  **kwargs) -> Figure:
        return self._spanning("hrect", dict(type="rect", x0=0, x1=1, y0=y0, y1=y1), row, col,
                              kwargs)

    # -- output ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """{"data", "layout"} as go.Figure.to_dict() gives them (numeric arrays base64-encoded)."""
        layout = _copy(self.layout)
        template = layout.pop("template", None)  # no arrays in it: not walked for every figure
        out = {"data": _copy(self.data), "layout": layout}
        convert_to_base64(out)
        if template is not None:
            layout["template"] = template
        return out


def style(fig: Figure, *, title: str | None = None, height: int | None = None) -> Figure:
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


def trading_days(fig: Figure, dates: Iterable[date], *, rows: Sequence[int] | None = None
                 ) -> Figure:
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
        if trace["type"] == "bar" and trace.get("width") is None:
            trace["width"] = 0.8 * 86_400_000
    return fig


def vline(fig: Figure, x: float, text: str, color: str, *, dash: str = "dot",
          level: int = 0) -> None:
    """A labelled vertical marker (spot, flip, walls) drawn as a shape, not a trace. Labels sit
    inside the plot at the top, one row lower per `level`, so close markers do not collide."""
    fig.add_vline(x=x, line=dict(color=color, width=1.4, dash=dash))
    fig.add_annotation(x=x, y=0.99 - 0.085 * level, yref="paper", text=text, showarrow=False,
                       font=dict(size=11, color=color), bgcolor="rgba(255,255,255,0.9)",
                       yanchor="top", xanchor="left", xshift=3)


CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}


def to_div(fig: Figure, div_id: str) -> str:
    """An HTML fragment for the figure; the div id is fixed so reports are byte-stable."""
    html = pio.to_html(fig.to_dict(), validate=False, full_html=False, include_plotlyjs=False,
                       div_id=div_id, config=dict(CONFIG))
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
