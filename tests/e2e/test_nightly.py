"""End to end: the nightly flow on sample days, real Prefect runs, a real DuckDB file, the report.

The home is the test session's reference home (tests/conftest.py): `nightly` on an empty home for
2026-03-05, then for each of DAYS in turn, built once and shared with the backfill and reliability
tests; this module works on its own copy."""

from __future__ import annotations

import re
from datetime import date

import pytest

from flows.nightly import nightly
from warehouse.db import Warehouse

pytestmark = pytest.mark.e2e

DAYS = [date(2026, 3, 6), date(2026, 3, 9)]  # Friday, (weekend), Monday: after the base home's night
TABLES = ("raw.option_quotes", "raw.index_bars", "core.gamma_daily", "core.gamma_by_strike",
          "core.gamma_profile", "audit.quarantine")


@pytest.fixture(scope="module")
def built(prefect_harness, reference_home, copy_home, tmp_path_factory):
    home = copy_home(reference_home(DAYS), tmp_path_factory.mktemp("night") / "home")
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        runs = wh.sql("select as_of, status from audit.runs where flow = 'nightly' order by as_of")
    return home, runs


def test_every_night_completes_and_writes_its_report(built):
    home, runs = built
    nights = [date(2026, 3, 5), *DAYS]  # the base home's night (on an empty home), then DAYS
    assert runs.rows() == [(d, "ok") for d in nights]
    for d in nights:
        assert (home / "reports" / f"{d}.html").exists()
    assert (home / "reports" / "index.html").exists()
    assert (home / "reports" / "assets" / "plotly.min.js").exists()


def test_report_shows_the_spot_gex_stored_in_core_gamma_daily(built):
    home, _ = built
    day = DAYS[-1]
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        gex = wh.scalar("select net_gex_usd_per_pct from core.gamma_daily where date = ? and underlying = 'SPX'",
                        [day])
    html = (home / "reports" / f"{day}.html").read_text()
    m = re.search(r'data-source="core.gamma_daily.net_gex_usd_per_pct" data-value="([^"]+)"', html)
    assert m and float(m.group(1)) == gex
    shown = f"{gex / 1e9:+,.2f} bn".replace("-", "\u2212")
    assert shown in html


def test_report_is_self_contained_and_offline(built):
    home, _ = built
    html = (home / "reports" / f"{DAYS[-1]}.html").read_text()
    assert "https://" not in html.split("<body>")[0]  # no CDN in the head
    assert '<script src="assets/plotly.min.js">' in html


def test_rerunning_a_night_changes_nothing(built):
    home, _ = built
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        before = {t: wh.checksum(t) for t in TABLES}
        files = wh.scalar("select count(*) from audit.files")
    again = nightly(as_of=DAYS[-1], home=home)
    assert again.status == "ok" and again.rows == 0  # every file already landed: a no-op
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        assert {t: wh.checksum(t) for t in TABLES} == before
        assert wh.scalar("select count(*) from audit.files") == files
        assert wh.scalar("select count(*) from audit.runs where flow = 'nightly'") == len(DAYS) + 2


def test_a_weekend_is_skipped_with_a_clear_status(prefect_harness, tmp_path):
    s = nightly(as_of=date(2026, 3, 7), home=tmp_path)
    assert s.status == "skipped" and not (tmp_path / "warehouse.duckdb").exists()
