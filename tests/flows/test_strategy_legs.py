"""alvh.toml changes the trade itself: the strikes of the stored legs and of `alvh show`, not only
the parameters the recommendation step receives. A worked example on one hand-written SPX chain.

The chain: strikes 6000 -/+ 25 i (i = 1..48) with |delta| = 0.50 - 0.01 i and a calm, low score
(no widening), so the short strike is the one whose |delta| is nearest `short_delta` and the long
one `wing_width_pts` beyond it:
  defaults (0.16, 50 pts):          i = 34 -> puts 5150 / 5100, calls 6850 / 6900
  alvh.toml (0.08, 75 pts):         i = 42 -> puts 4950 / 4875, calls 7050 / 7125
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import flows.build as build
from flows.cli import app
from flows.settings import load_settings
from warehouse.db import Warehouse

D, EXPIRY, SPOT = date(2026, 11, 23), date(2026, 12, 7), 6000.0


def _chain() -> pl.DataFrame:
    rows = []
    for i in range(1, 49):
        d = round(0.5 - 0.01 * i, 4)
        price = round(200 * d ** 3 + 0.05, 2)
        for right, strike, delta in (("P", SPOT - 25 * i, -d), ("C", SPOT + 25 * i, d)):
            rows.append({"quote_date": D, "root": "SPXW", "expiry": EXPIRY, "strike": strike,
                         "right": right, "underlying": "SPX", "quote_ts": datetime(2026, 11, 23, 21),
                         "spot": SPOT, "bid": price, "ask": price + 0.05, "iv": 0.15, "delta": delta,
                         "expired": False})
    return pl.DataFrame(rows)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("ALVH_HOME", str(h))
    monkeypatch.chdir(tmp_path)  # no ./alvh.toml of the repo's working directory
    monkeypatch.setattr(build, "nights_trust", lambda wh, dates: {d: (True, "") for d in dates})
    with Warehouse.open(h / "warehouse.duckdb") as wh:
        wh.append("raw.option_quotes", _chain())
        wh.append("core.signals_daily", pl.DataFrame([{
            "date": D, "regime": "calm", "regime_sessions": 3, "regime_reason": "held",
            "gamma_score_pts": 4.0, "funding_score_pts": 2.0, "breadth_score_pts": 2.0,
            "volatility_score_pts": 2.0, "events_score_pts": 0.0, "unwind_score": 10.0,
            "components_available": 4, "components_missing": "events"}]))
    return h


def _build_and_show(home: Path) -> tuple[list[tuple], list[tuple]]:
    """Build the night's recommendation with the settings in effect: its stored condor legs, and
    the condor rows of `alvh show`'s legs table, both as (C/P, side, strike)."""
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        build.build_recommendations.fn(wh, [D], load_settings())
        legs = wh.execute('select "right", side, strike from core.recommendation_legs '
                          "where as_of = ? and layer = 'condor' order by leg_no", [D])
    res = CliRunner().invoke(app, ["show", "--as-of", D.isoformat()])
    assert res.exit_code == 0, res.output
    # layer | side | qty | root | expiry | strike | C/P | price | delta
    cells = [[c.strip() for c in ln.split("│")] for ln in res.output.splitlines() if ln.startswith("condor")]
    return legs, [(c[6], c[1], float(c[5])) for c in cells]


def test_alvh_toml_moves_the_condor_strikes_against_the_defaults(home):
    defaults = [("P", "buy", 5100.0), ("P", "sell", 5150.0), ("C", "sell", 6850.0), ("C", "buy", 6900.0)]
    assert _build_and_show(home) == (defaults, defaults)
    (home / "alvh.toml").write_text("[strategy]\nshort_delta = 0.08\nwing_width_pts = 75\n")
    from_file = [("P", "buy", 4875.0), ("P", "sell", 4950.0), ("C", "sell", 7050.0), ("C", "buy", 7125.0)]
    assert _build_and_show(home) == (from_file, from_file)  # stored, and what the terminal shows
