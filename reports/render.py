"""Render one self-contained HTML page per night, plus index.html, from warehouse tables.

Jinja2 with autoescape; plotly.min.js stored once beside the pages (no CDN, opens from file://).
Formatting only: every number shown is a stored value, and carries data-source/data-value.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2
import polars as pl

from reports import sections
from reports.figures import (
    COLORS,
    PLOTLY_ASSET,
    Figure,
    install_plotly_js,
    style,
    to_div,
    trading_days,
)
from reports.formatting import _bn, _num, _pct, fmt, tone
from warehouse.db import Warehouse

TITLES = {
    "headline": "Tonight",
    "gamma": "Dealer gamma",
    "options": "Options",
    "breadth": "Breadth",
    "fundamentals": "Fundamentals",
    "funding": "Funding",
    "volatility": "Volatility",
    "events": "Events",
    "backtest": "Backtest",
    "quality": "Data quality",
    "lineage": "Lineage",
}
REGIME_TONE = {"calm": "ok", "crowded": "warn", "unwinding": "bad", "recovery": "info"}


@functools.cache
def environment() -> jinja2.Environment:
    """One Jinja environment per process: it keeps the compiled templates (compiling the page's
    14 templates took ~0.4 s, every page)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(bn=_bn, num=_num, pct=_pct, fmt=fmt)
    env.globals.update(fmt=fmt, tone=tone, regime_tone=REGIME_TONE, titles=TITLES)
    return env


@dataclass(frozen=True)
class Rendered:
    night: Path
    index: Path


def night_path(reports_dir: Path, as_of: date) -> Path:
    return reports_dir / f"{as_of.isoformat()}.html"


def tearsheet_path(reports_dir: Path, as_of: date) -> Path:
    """The night's quantstats tearsheet, beside its page."""
    return reports_dir / f"{as_of.isoformat()}-tearsheet.html"


def _write(out: Path, html: str) -> Path:
    tmp = out.with_suffix(".part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out


def render_night(wh: Warehouse, as_of: date, reports_dir: Path, *, preset: str = "default",
                 run: dict | None = None, stale: dict[str, str] | None = None,
                 banners: list[dict] | None = None) -> Path:
    """Write <reports_dir>/<as_of>.html from the tables as they stand."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    install_plotly_js(reports_dir)
    run = {"run_id": "", "flow_run_id": "", "code_version": "", **(run or {})}
    ts = tearsheet_path(reports_dir, as_of)
    ctx = sections.Context(wh=wh, as_of=as_of, reports_dir=reports_dir, preset=preset,
                           run=run, stale=stale or {},
                           tearsheet=ts.name if ts.exists() else None)
    built = [(name, mod.build(ctx)) for name, mod in sections.modules()]
    nights = _nights(wh, preset)
    prev_night = max((d for d in nights if d < as_of), default=None)
    next_night = min((d for d in nights if d > as_of), default=None)
    html = environment().get_template("night.html.j2").render(
        as_of=as_of,
        as_of_weekday=as_of.strftime("%A"),
        sections=built,
        nav=[(name, TITLES.get(name, name.title())) for name, _ in built],
        titles=TITLES,
        stale=ctx.stale,
        banners=banners or [],
        run=run,
        plotly_src=PLOTLY_ASSET,
        prev_night=prev_night,
        next_night=next_night,
        tearsheet=ctx.tearsheet,
        research=(reports_dir / "research.html").exists(),
    )
    return _write(night_path(reports_dir, as_of), html)


def _nights(wh: Warehouse, preset: str) -> list[date]:
    return wh.sql("select distinct date from core.gamma_daily where preset = ? order by 1",
                  [preset])["date"].to_list()


# Index columns: (key, label, css class). Values come from _index_rows, formatted there.
INDEX_COLUMNS = [
    {"key": "date", "label": "night", "cls": "l"},
    {"key": "regime", "label": "regime", "cls": "l"},
    {"key": "score", "label": "unwind score", "cls": ""},
    {"key": "structure", "label": "recommendation", "cls": "l"},
    {"key": "spot", "label": "SPX", "cls": ""},
    {"key": "spot_gex", "label": "net spot GEX", "cls": ""},
    {"key": "vix", "label": "VIX", "cls": ""},
]


def _index_rows(wh: Warehouse, preset: str) -> pl.DataFrame:
    """One row per night: gamma (always), signal, VIX and recommendation when those tables hold it."""
    tables = set(wh.tables())
    sel = ["g.date", "g.spot", "g.net_gex_usd_per_pct"]
    joins = []
    if "core.signals_daily" in tables:
        sel += ["s.regime", "s.unwind_score"]
        joins.append("left join core.signals_daily s on s.date = g.date")
    if "core.vol_daily" in tables:
        sel += ["v.vix"]
        joins.append("left join core.vol_daily v on v.date = g.date")
    if "core.recommendations" in tables:
        sel += ["r.structure", "r.status"]
        joins.append("left join core.recommendations r on r.as_of = g.date")
    return wh.sql(f"select {', '.join(sel)} from core.gamma_daily g {' '.join(joins)} "
                  "where g.underlying = 'SPX' and g.preset = ? order by g.date desc", [preset])


def _index_chart(rows: pl.DataFrame) -> str | None:
    if "unwind_score" not in rows.columns or rows["unwind_score"].null_count() == rows.height:
        return None
    r = rows.sort("date")
    fig = Figure()
    colors = {"calm": "#86b89f", "crowded": "#e0b15a", "unwinding": "#d9776c", "recovery": "#7f9bd1"}
    fig.add_bar(x=r["date"], y=r["unwind_score"], name="unwind score",
                marker_color=[colors.get(x or "", COLORS["muted"]) for x in r["regime"]],
                customdata=r["regime"], hovertemplate="score %{y:.0f} · %{customdata}<extra></extra>")
    fig.add_scatter(x=r["date"], y=r["spot"], name="SPX", yaxis="y2", mode="lines",
                    line=dict(color=COLORS["spot"], width=1.5), hovertemplate="SPX %{y:,.0f}<extra></extra>")
    fig.update_layout(yaxis=dict(title="score", range=[0, 100]),
                      yaxis2=dict(title="SPX", overlaying="y", side="right", showgrid=False, tickformat=",.0f"),
                      bargap=0.15)
    style(fig, title="Unwind score by night (bar colour = regime) and SPX", height=260)
    trading_days(fig, r["date"].to_list())
    return to_div(fig, "fig-index-score")


def render_index(wh: Warehouse, reports_dir: Path, preset: str = "default") -> Path:
    """index.html: every night that has a page, newest first, with its regime and score."""
    rows = _index_rows(wh, preset)
    have = {p.stem for p in reports_dir.glob("*.html") if len(p.stem) == 10 and p.stem[:4].isdigit()}
    rows = rows.filter(pl.col("date").map_elements(lambda d: d.isoformat() in have,
                                                   return_dtype=pl.Boolean)) if rows.height else rows
    nights = []
    for r in rows.iter_rows(named=True):
        d = r["date"]
        nights.append({
            "date": d.isoformat(), "weekday": d.strftime("%a"),
            "regime": r.get("regime"), "score": fmt(r.get("unwind_score"), "num0"),
            "score_value": r.get("unwind_score"),
            "structure": (r.get("structure") or "").replace("+", " + ").replace("_", " ")
            if r.get("status") in (None, "ok") else (r.get("status") or "").replace("_", " "),
            "spot": fmt(r["spot"], "num2"), "spot_gex": _bn(r["net_gex_usd_per_pct"]),
            "spot_gex_tone": tone(r["net_gex_usd_per_pct"]), "vix": fmt(r.get("vix"), "num2"),
            "tearsheet": tearsheet_path(reports_dir, d).name
            if tearsheet_path(reports_dir, d).exists() else None,
        })
    install_plotly_js(reports_dir)
    html = environment().get_template("index.html.j2").render(
        nights=nights, columns=INDEX_COLUMNS, run={"code_version": ""},
        chart=_index_chart(rows) if rows.height else None, plotly_src=PLOTLY_ASSET,
        research=(reports_dir / "research.html").exists())
    return _write(reports_dir / "index.html", html)
