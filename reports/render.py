"""Render one self-contained HTML page per night, plus index.html, from warehouse tables.

Jinja2 with autoescape; plotly.min.js stored once beside the pages (no CDN, opens from file://).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2

from reports import sections
from reports.figures import PLOTLY_ASSET, install_plotly_js
from warehouse.db import Warehouse

TITLES = {
    "headline": "Tonight",
    "gamma": "Dealer gamma",
    "breadth": "Breadth",
    "funding": "Funding",
    "volatility": "Volatility",
    "events": "Events calendar",
    "backtest": "Backtest",
    "quality": "Data quality",
    "lineage": "Lineage",
}


def _bn(v: float | None, digits: int = 2) -> str:
    """USD to a signed $bn string (−19.16 bn), the unit traders quote GEX in."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v / 1e9:+,.{digits}f} bn".replace("-", "\u2212")


def _num(v: float | None, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:,.{digits}f}".replace("-", "\u2212")


def _pct(v: float | None, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v * 100:+.{digits}f} %".replace("-", "\u2212")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(bn=_bn, num=_num, pct=_pct)
    return env


@dataclass(frozen=True)
class Rendered:
    night: Path
    index: Path


def night_path(reports_dir: Path, as_of: date) -> Path:
    return reports_dir / f"{as_of.isoformat()}.html"


def render_night(wh: Warehouse, as_of: date, reports_dir: Path, *, preset: str = "default",
                 run: dict | None = None, stale: dict[str, str] | None = None,
                 banners: list[dict] | None = None) -> Path:
    """Write <reports_dir>/<as_of>.html from the tables as they stand."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    install_plotly_js(reports_dir)
    run = {"run_id": "", "flow_run_id": "", "code_version": "", **(run or {})}
    ctx = sections.Context(wh=wh, as_of=as_of, reports_dir=reports_dir, preset=preset,
                           run=run, stale=stale or {})
    built = [(name, mod.build(ctx)) for name, mod in sections.modules()]
    nights = _nights(wh, preset)
    prev_night = max((d for d in nights if d < as_of), default=None)
    next_night = min((d for d in nights if d > as_of), default=None)
    html = environment().get_template("night.html.j2").render(
        as_of=as_of,
        as_of_weekday=as_of.strftime("%A"),
        sections=built,
        titles=TITLES,
        stale=ctx.stale,
        banners=banners or [],
        run=run,
        plotly_src=PLOTLY_ASSET,
        prev_night=prev_night,
        next_night=next_night,
    )
    out = night_path(reports_dir, as_of)
    tmp = out.with_suffix(".part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out


def _nights(wh: Warehouse, preset: str) -> list[date]:
    return wh.sql("select distinct date from core.gamma_daily where preset = ? order by 1",
                  [preset])["date"].to_list()


# Index columns: (key, label, css class). Sections that add nightly headline figures extend this.
INDEX_COLUMNS = [
    {"key": "date", "label": "night", "cls": "l"},
    {"key": "spot", "label": "SPX", "cls": ""},
    {"key": "spot_gex", "label": "net spot GEX", "cls": ""},
]


def render_index(wh: Warehouse, reports_dir: Path, preset: str = "default") -> Path:
    """index.html: every night that has a page, newest first."""
    rows = wh.sql("select date, spot, spot_gex_usd from core.gamma_daily where underlying = 'SPX' "
                  "and preset = ? order by date desc", [preset])
    have = {p.stem for p in reports_dir.glob("*.html") if p.stem[:4].isdigit()}
    nights = [
        {"date": r["date"].isoformat(), "spot": _num(r["spot"]), "spot_gex": _bn(r["spot_gex_usd"])}
        for r in rows.iter_rows(named=True) if r["date"].isoformat() in have
    ]
    html = environment().get_template("index.html.j2").render(
        nights=nights, columns=INDEX_COLUMNS, run={"code_version": ""})
    out = reports_dir / "index.html"
    out.write_text(html, encoding="utf-8")
    return out
