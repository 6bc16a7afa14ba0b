"""Traceability: every number on a sample night's page carries the table.column it was read from
(data-source), the stored value (data-value) and, for multi-row tables, its row's grain (data-key);
each must be found, equal, in the warehouse. The headline is held to it number by number."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser

import pytest

from warehouse.db import Warehouse, q

DATE_COLUMNS = ("as_of", "date", "quote_date", "trade_date")


class Numbers(HTMLParser):
    """Elements with data-source (leaf elements: their text is the shown number), with the
    section they sit in."""

    def __init__(self, html: str):
        super().__init__()
        self.section: str | None = None
        self.found: list[dict] = []
        self._cur: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "id" in a:
            self.section = a["id"]
        if "data-source" in a:
            self._cur = {"section": self.section, "source": a["data-source"],
                         "value": a.get("data-value"), "key": a.get("data-key"), "text": ""}
            self.found.append(self._cur)

    def handle_endtag(self, tag):
        self._cur = None

    def handle_data(self, data):
        if self._cur is not None:
            self._cur["text"] += data


def _matches(shown: str | None, stored) -> bool:
    if shown in (None, ""):
        return stored is None
    if stored is None:
        return shown in ("None", "")
    if isinstance(stored, bool):
        return shown == str(stored)
    if isinstance(stored, float):
        try:
            v = float(shown)
        except ValueError:
            return False
        return v == stored or (math.isnan(v) and math.isnan(stored))
    if isinstance(stored, int):
        return shown.lstrip("-").isdigit() and int(shown) == stored
    return shown == str(stored)


@pytest.fixture(scope="module")
def numbers(sample_home):
    return Numbers(sample_home.page().read_text(encoding="utf-8")).found


def _grain(key: str) -> dict:
    """data-key: JSON (reports.sections.key) or the `col=value;col=value` form."""
    if key.lstrip().startswith("{"):
        return json.loads(key)
    return dict(part.split("=", 1) for part in key.split(";") if part)


def test_headline_numbers_carry_their_source(numbers):
    head = [n for n in numbers if n["section"] == "headline" and n["value"] is not None]
    assert len(head) >= 8, "the headline shows at least regime, score, spot, GEX and the condor"
    assert {n["source"].rsplit(".", 1)[0] for n in head} >= {"core.signals_daily",
                                                             "core.recommendations"}
    assert all(n["text"].strip() for n in head)


def test_every_number_on_the_page_is_in_the_table_it_names(sample_home, numbers):
    assert len(numbers) > 80
    numbers = [n for n in numbers if n["value"] is not None]  # containers cite a source only
    misses = []
    with Warehouse.open(sample_home.warehouse, read_only=True) as wh:
        tables = set(wh.tables())
        for n in numbers:
            table, column = n["source"].rsplit(".", 1)
            assert table in tables, n
            cols = wh.columns(table)
            assert column in cols, n
            grain = _grain(n["key"]) if n["key"] else {}
            dcol = next((c for c in DATE_COLUMNS if c in cols), None)
            if dcol and dcol not in grain:  # a key without the night's date: add it
                grain[dcol] = sample_home.as_of.isoformat()
            where = " and ".join(f"{q(k)} = ?" for k in grain) or "true"
            rows = wh.sql(f"select {q(column)} as v from {table} where {where}", list(grain.values()))
            if n["key"]:
                assert rows.height == 1, f"data-key must name one row: {n}"
            if not any(_matches(n["value"], v) for v in rows["v"].to_list()):
                misses.append(f"{n['section']}: {n['source']} = {n['value']!r} ({n['text'].strip()!r}) "
                              f"not in {rows['v'].to_list()[:5]} for {grain}")
    assert not misses, "\n".join(misses)


def test_shown_text_agrees_with_the_stored_value_for_the_gamma_kpis(numbers):
    """A spot check of formatting: the net spot GEX tile shows the stored USD in $bn."""
    tile = next(n for n in numbers if n["section"] == "gamma"
                and n["source"] == "core.gamma_daily.net_gex_usd_per_pct")
    shown = tile["text"].strip().replace("\u2212", "-").replace(" bn", "").replace(",", "")
    assert float(shown) == pytest.approx(float(tile["value"]) / 1e9, abs=0.006)
