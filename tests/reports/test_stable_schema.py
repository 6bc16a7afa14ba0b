"""Stable report schema (issue 15 item 7): a night without a chain, a one-session home and a home
without a trade keep every section, heading, tile and table column of a full night; each missing
value shows "–" and one line says why.

The variants are copies of the shared sample home's warehouse (tests/reports/conftest.py) with the
rows such a night lacks removed, rendered by the real `render_night`: a few seconds each.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser

import pytest

from reports import sections
from reports.render import render_night
from warehouse.db import Warehouse

RUN = {"run_id": "schema-test", "flow_run_id": "", "code_version": "test"}
DASH = "–"


class Page(HTMLParser):
    """Per section: its title, sub-headings (up to their first ':' or '·', digits masked), tile
    labels, each table's header cells and body rows, and the reason lines."""

    def __init__(self, html: str):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self._sec: dict | None = None
        self._grab: tuple[str, list] | None = None  # (tag, where the text goes)
        self._row: list | None = None
        self._head = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "section" and cls.startswith("card"):
            self._sec = self.sections.setdefault(a["id"], {"class": cls, "h2": [], "h3": [], "tiles": [],
                                                           "tables": [], "reasons": []})
        if self._sec is None:
            return
        s = self._sec
        if tag == "table":
            s["tables"].append({"head": [], "rows": []})
        elif tag == "tr" and s["tables"]:
            self._row, self._head = [], False
        elif tag in ("h2", "h3"):
            self._grab = (tag, s[tag])
        elif tag == "div" and cls == "label":
            self._grab = ("div", s["tiles"])
        elif tag in ("th", "td") and self._row is not None:
            self._head = self._head or tag == "th"
            self._grab = (tag, self._row)
        if "data-reason" in a:
            s["reasons"].append(a["data-reason"])
        if self._grab and self._grab[0] == tag:
            self._grab[1].append("")

    def handle_endtag(self, tag):
        if self._grab and self._grab[0] == tag:
            self._grab = None
        if tag == "tr" and self._row is not None and self._sec is not None:
            t = self._sec["tables"][-1]
            (t["head"] if self._head else t["rows"]).append([c.strip() for c in self._row])
            self._row = None
        if tag == "section":
            self._sec = None

    def handle_data(self, data):
        if self._grab:
            self._grab[1][-1] += data

    def schema(self) -> dict:
        """What must not change from night to night."""
        def stem(text: str) -> str:
            return re.sub(r"\d+", "#", re.split(r"[:·]", " ".join(text.split()))[0]).strip()
        return {name: {"h2": s["h2"], "h3": [stem(h) for h in s["h3"]], "tiles": s["tiles"],
                       "columns": [t["head"] for t in s["tables"]]}
                for name, s in self.sections.items()}


@pytest.fixture(scope="module")
def variant(sample_home, tmp_path_factory):
    """variant(name, edit, night) -> the parsed page of `night` rendered from a copy of the sample
    warehouse after `edit(wh, night)`."""
    def make(name: str, edit, night=None) -> Page:
        night = night or sample_home.as_of
        root = tmp_path_factory.mktemp(name)
        db = root / "warehouse.duckdb"
        shutil.copy(sample_home.warehouse, db)
        with Warehouse.open(db) as wh:
            if edit is not None:
                edit(wh, night)
            page = render_night(wh, night, root / "reports", run=RUN)
        return Page(page.read_text(encoding="utf-8"))
    return make


@pytest.fixture(scope="module")
def full(variant) -> Page:
    return variant("full", None)


def _no_chain(wh: Warehouse, night) -> None:
    """The night's SPX chain never came: no option quotes, hence no gamma, parity or condor."""
    for table, col in (("raw.option_quotes", "quote_date"), ("core.gamma_daily", "date"),
                       ("core.gamma_profile", "date"), ("core.gamma_by_strike", "date"),
                       ("core.gamma_by_expiry", "date"), ("core.parity_daily", "quote_date"),
                       ("core.recommendation_legs", "as_of"), ("core.recommendation_payoff", "as_of")):
        wh.delete(table, f"{col} = ?", [night])
    wh.execute("update core.recommendations set status = 'no_chain', skip_reason = 'no SPX chain for this "
               "night' where as_of = ?", [night])


def _no_trade(wh: Warehouse, night) -> None:
    """Neither book ever entered: no trade rows, no trade statistics."""
    wh.delete("core.backtest_trades", "true")
    wh.execute("update core.backtest_metrics set trades_closed = 0, win_rate = null, avg_trade_pnl_usd = null, "
               "avg_return_on_risk = null")


def _cells(page: Page, section: str, table: int) -> list[list[str]]:
    return page.sections[section]["tables"][table]["rows"]


def test_the_full_night_has_every_section_and_no_reason_line(full):
    assert list(full.sections) == list(sections.ORDER)
    assert all(s["class"] == "card" for s in full.sections.values())
    # the sample night has a chain, a signal and a recommendation: nothing to excuse there
    assert {n: s["reasons"] for n, s in full.sections.items() if n in ("headline", "gamma", "options")} == {
        "headline": [], "gamma": [], "options": []}


def test_a_night_without_a_chain_keeps_the_schema(full, variant, sample_home):
    page = variant("no-chain", _no_chain)
    assert page.schema() == full.schema()
    d = sample_home.as_of
    for name in ("headline", "gamma", "options"):
        assert any(f"no SPX chain for {d}" in r for r in page.sections[name]["reasons"]), name
    by_expiry = _cells(page, "gamma", 0)
    assert by_expiry == [[DASH] * 11]  # the by-expiry table: one row, every cell "–"
    assert _cells(page, "options", 0) == [[DASH] * 14]
    legs = page.sections["headline"]["tables"][1]  # components, then the legs
    assert legs["head"][0][:3] == ["layer", "side", "qty"] and legs["rows"] == [[DASH] * 11]
    assert [len(t["head"][0]) for t in full.sections["gamma"]["tables"]] == [11, 10]  # SPX by expiry, other underlyings


def test_a_one_session_home_keeps_the_schema(full, variant, sample_home):
    first = sample_home.nights[0]
    page = variant("one-session", None, first)
    assert page.schema() == full.schema()
    bt = page.sections["backtest"]
    assert any("60 sessions" in r for r in bt["reasons"])
    stats = {row[0]: row[1:] for row in _cells(page, "backtest", 0)}
    for label in ("CAGR", "volatility (ann.)", "Sharpe", "Sortino", "Calmar", "IRR (money-weighted)"):
        assert stats[label] == [DASH, DASH, DASH], label


def test_a_home_without_a_trade_keeps_the_schema(full, variant):
    page = variant("no-trade", _no_trade)
    assert page.schema() == full.schema()
    assert _cells(page, "backtest", 1) == [[DASH] * 10]  # the trade list: one row of "–"
    assert [h for h in page.sections["backtest"]["h3"] if h.startswith("Trades")] == [
        "Trades · latest 0 of 0 entered to this night"]
    stats = {row[0]: row[1:] for row in _cells(page, "backtest", 0)}
    assert stats["win rate"][:2] == [DASH, DASH] and stats["trades closed"][:2] == ["0", "0"]
