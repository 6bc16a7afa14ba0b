"""The nightly page and the index as files: every section in order, deterministic figure ids,
no CDN, plotly stored once, the index's regime and score, the tearsheet, the Prefect artifact."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import numpy as np
import polars as pl
import pytest

from reports import figures, sections
from reports.render import environment, render_index, render_night, tearsheet_path
from warehouse.db import Warehouse

RUN = {"run_id": "test-run", "flow_run_id": "", "code_version": "test"}


class Tags(HTMLParser):
    """Start tags with their attributes, in document order."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str | None = None, **attrs) -> list[dict]:
        return [a for t, a in self.tags if (tag is None or t == tag)
                and all(k in a and (v is True or a[k] == v) for k, v in attrs.items())]


@pytest.fixture(scope="module")
def night(sample_home):
    html = sample_home.page().read_text(encoding="utf-8")
    return html, Tags(html)


def test_every_section_is_on_the_page_in_order(night):
    _, tags = night
    ids = [a["id"] for a in tags.find("section") if a.get("class", "").startswith("card")]
    assert ids == list(sections.ORDER)
    # every section had data on the sample night: none fell back to the "no data" card
    assert not [a for a in tags.find("section") if "stale" in a.get("class", "")]


def test_every_chart_has_a_fixed_unique_id(night):
    html, tags = night
    figs = [a["data-figure"] for a in tags.find("div", **{"data-figure": True})]
    expected = {"fig-gamma-profile", "fig-gamma-by-strike", "fig-gamma-history",
                "fig-breadth-ad-line", "fig-breadth-mcclellan", "fig-funding-apr", "fig-funding-z",
                "fig-vol-term-structure", "fig-vol-vx-curve", "fig-vol-ratios", "fig-vol-iv-rv",
                "fig-backtest-equity", "fig-backtest-pnl", "fig-backtest-capital"}
    assert expected <= set(figs)
    assert len(figs) == len(set(figs))
    for f in figs:
        assert f'id="{f}"' in html and f'Plotly.newPlot(\n                        "{f}"' in html or \
            re.search(rf'Plotly\.newPlot\(\s*"{f}"', html)


def test_rendering_twice_gives_the_same_bytes(sample_home, tmp_path):
    # the first render starts cold (no compiled templates, plotly template or subplot grids kept)
    environment.cache_clear()
    figures._template_dict.cache_clear()
    figures._subplot_grid.cache_clear()
    with Warehouse.open(sample_home.warehouse, read_only=True) as wh:
        a = render_night(wh, sample_home.as_of, tmp_path / "a", run=RUN).read_bytes()
        b = render_night(wh, sample_home.as_of, tmp_path / "b", run=RUN).read_bytes()
    assert a == b


def test_the_page_needs_no_network_and_stores_plotly_once(sample_home, night):
    html, tags = night
    remote = re.compile(r"^(https?:)?//")
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")):
        assert not [a[attr] for a in tags.find(tag) if attr in a and remote.match(a[attr])]
    assert [a["src"] for a in tags.find("script") if "src" in a] == ["assets/plotly.min.js"]
    assert (sample_home.reports / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert len(html) < 1_000_000  # the 4.7 MB library is referenced, never inlined
    assert not [p for p in sample_home.reports.rglob("*.js") if p.name != "plotly.min.js"]


def test_the_index_lists_every_night_with_regime_and_score(sample_home):
    html = (sample_home.reports / "index.html").read_text(encoding="utf-8")
    pages = sorted(p.stem for p in sample_home.reports.glob("????-??-??.html"))
    assert len(pages) >= 2
    with Warehouse.open(sample_home.warehouse, read_only=True) as wh:
        sig = {r["date"].isoformat(): r for r in wh.sql(
            "select date, regime, unwind_score from core.signals_daily").iter_rows(named=True)}
    for d in pages:
        row = re.search(rf'<tr>\s*<td class="l"><a href="{d}\.html">.*?</tr>', html, re.S)
        assert row, d
        s = sig[d]
        assert f">{s['regime']}</span>" in row.group(0)
        assert f"<td>{s['unwind_score']:.0f}</td>" in row.group(0)
    assert 'id="fig-index-score"' in html
    # newest first
    assert html.index(f'href="{pages[-1]}.html"') < html.index(f'href="{pages[0]}.html"')


def test_a_short_history_gets_a_tearsheet_that_says_why(sample_home, night):
    # the sample home holds 15 sessions: quantstats would annualise them, so the page says why
    html, tags = night
    ts = tearsheet_path(sample_home.reports, sample_home.as_of)
    assert tags.find("a", href=ts.name)
    body = ts.read_text(encoding="utf-8")
    assert "No tearsheet yet" in body and "it waits for 60 sessions" in body


def test_tearsheet_is_written_offline_from_the_metrics_rows(tmp_path):
    from reports.tearsheet import write_tearsheet

    wh = Warehouse.memory()
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(70)]
    rng = np.random.default_rng(7)
    rows = pl.DataFrame({"strategy": [s for s in ("alvh", "plain_ic", "spx") for _ in days],
                         "date": days * 3, "daily_return": rng.normal(0.0003, 0.004, 210)})
    wh.append("core.backtest_daily", rows)
    ts = write_tearsheet(wh, days[-1], tmp_path)
    assert ts is not None and ts.stat().st_size > 50_000
    t = Tags(ts.read_text(encoding="utf-8"))
    remote = re.compile(r"^(https?:)?//")
    assert not [a for tag in ("script", "img", "iframe") for a in t.find(tag) if remote.match(a.get("src", ""))]
    assert not [a for a in t.find("link") if remote.match(a.get("href", ""))]
    body = ts.read_text(encoding="utf-8")
    assert "ALVH" in body and "SPX" in body and "Plain IC" in body


def test_every_section_survives_an_empty_warehouse(tmp_path):
    wh = Warehouse.memory()
    ctx = sections.Context(wh=wh, as_of=date(2026, 3, 2), reports_dir=tmp_path)
    built = {name: mod.build(ctx) for name, mod in sections.modules()}  # nothing raises
    # stable schema: every section keeps its shape, says why it is empty, and holds no row
    assert [n for n, b in built.items() if b is None] == []
    assert {n: bool(b.get("reason")) for n, b in built.items() if n != "quality"} == dict.fromkeys(
        [n for n in sections.ORDER if n != "quality"], True)
    assert "no SPX chain for 2026-03-02" in built["gamma"]["reason"] and built["gamma"]["by_expiry"] == []
    bt = built["backtest"]
    assert bt["metrics"] == {} and bt["trades"] == [] and [k for k, _ in bt["books"]] == ["alvh", "plain_ic", "spx"]
    assert "no statistics" in bt["reason"]


def test_an_empty_warehouse_renders_every_section_with_dashes_and_why(tmp_path):
    wh = Warehouse.memory()
    page = render_night(wh, date(2026, 3, 2), tmp_path, run=RUN)
    html = page.read_text(encoding="utf-8")
    assert "No data for this section" not in html
    for name in sections.ORDER:
        body = re.search(rf'<section class="card" id="{name}">(.*?)</section>', html, re.S)
        assert body and re.search(r'class="muted small why" data-reason="[^"]+">– : ', body.group(1)), name
    assert re.search(r'<section class="card" id="backtest">.*?no statistics, no trades.*?'
                     r'<td class="l">max drawdown, USD</td>', html, re.S)
    assert render_index(wh, tmp_path).exists()


def test_prefect_artifact_has_the_headline_and_the_report_path(sample_home):
    from flows.nightly import NightSummary, _headline_markdown

    s = NightSummary(sample_home.as_of, report=sample_home.page())
    with Warehouse.open(sample_home.warehouse, read_only=True) as wh:
        md = _headline_markdown(s, wh)
        regime = wh.scalar("select regime from core.signals_daily where date = ?", [sample_home.as_of])
    assert f"# ALVH night {sample_home.as_of}" in md
    assert f"Regime {regime}" in md and "unwind score" in md
    assert "Recommendation:" in md or "No recommendation:" in md
    assert "ALVH backtest: total return" in md and "annualised figures need 60 sessions" in md
    assert f"Report: `{sample_home.page()}`" in md
    assert "Tearsheet: `" in md
