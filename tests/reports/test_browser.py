"""A real browser: headless Chromium opens a sample night's report, the index and the tearsheet
from file://, with no console errors, no network, every chart drawn as plotly SVG, and nothing
wider than a laptop screen. Screenshots are kept under the test's tmp dir."""

from __future__ import annotations

import pytest

from reports import sections
from reports.render import tearsheet_path

pytestmark = pytest.mark.browser

LAPTOP_WIDTH = 1280

# Facts the page reports about itself once loaded (the DOM, not the HTML source).
PROBE = """(() => {
  const cw = document.documentElement.clientWidth;
  const clipped = e => { for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o !== 'visible') return true; } return false; };
  return {
    plotly: typeof Plotly === 'undefined' ? null : Plotly.version,
    figures: [...document.querySelectorAll('div.figure[data-figure]')].map(f => ({
      id: f.dataset.figure,
      svg: f.querySelectorAll('.js-plotly-plot svg.main-svg').length,
      traces: f.querySelectorAll('.js-plotly-plot g.trace, .js-plotly-plot g.barlayer .point').length,
      width: Math.round(f.getBoundingClientRect().width)})),
    sections: [...document.querySelectorAll('main > section.card')].map(s => s.id),
    too_wide: [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > cw + 1 && !clipped(e))
      .slice(0, 5).map(e => e.tagName + '.' + e.className),
    width: document.documentElement.scrollWidth, viewport: cw,
  };
})()"""


def _local(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file://", "data:", "about:"))]


def test_night_report_renders_every_chart_without_errors(chromium, sample_home, tmp_path):
    rep = chromium.open(sample_home.page().as_uri(), screenshot=tmp_path / "night.png",
                        probe=PROBE, settle_s=1.0)
    assert rep.errors == [], rep.errors
    assert _local(rep.requests) == [], "the page reached for the network"
    f = rep.facts
    assert f["plotly"], "plotly.min.js did not load from assets/"
    assert f["sections"] == list(sections.ORDER)
    assert len(f["figures"]) >= 14
    blank = [x["id"] for x in f["figures"] if x["svg"] == 0 or x["traces"] == 0]
    assert blank == [], f"charts without plotly SVG or traces: {blank}"
    assert f["width"] <= f["viewport"] == LAPTOP_WIDTH, f"wider than a laptop: {f['too_wide']}"
    assert rep.screenshot.stat().st_size > 100_000


def test_index_renders_with_its_score_chart(chromium, sample_home, tmp_path):
    rep = chromium.open((sample_home.reports / "index.html").as_uri(),
                        screenshot=tmp_path / "index.png", probe=PROBE)
    assert rep.errors == [], rep.errors
    assert _local(rep.requests) == []
    assert [x["id"] for x in rep.facts["figures"] if x["svg"]] == ["fig-index-score"]
    assert rep.facts["width"] <= LAPTOP_WIDTH


def test_tearsheet_opens_offline(chromium, sample_home, tmp_path):
    ts = tearsheet_path(sample_home.reports, sample_home.as_of)
    rep = chromium.open(ts.as_uri(), screenshot=tmp_path / "tearsheet.png",
                        probe="({svgs: document.querySelectorAll('svg').length})")
    assert _local(rep.requests) == [], "the tearsheet reached for the network"
    assert rep.failed_requests == [] and rep.exceptions == []
    # 15 sample sessions are under the 60 a tearsheet needs: the page says so (no annualised figure)
    assert "No tearsheet yet" in ts.read_text(encoding="utf-8")
