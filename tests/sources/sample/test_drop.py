"""Drops are deterministic and readable by the pipeline's own readers."""

from __future__ import annotations

from datetime import date

import pytest

from sources.cboe_index import parse as parse_index
from sources.sample import SampleMarket, write_bootstrap, write_drop
from sources.sample import market as market_module

from .conftest import DAY


def _bytes(paths):
    return {p.name: p.read_bytes() for p in paths}


def test_same_seed_same_bytes(drop, tmp_path):
    _, paths = drop
    market_module._SHARED.clear()  # a fresh simulation, not the shared one
    again = write_drop(SampleMarket(seed=7), DAY, tmp_path)
    assert _bytes(paths) == _bytes(again)


def test_other_seed_other_bytes(drop, tmp_path):
    _, paths = drop
    other = write_drop(SampleMarket(seed=8), DAY, tmp_path, sources=["spx_chain"])
    assert _bytes(other)["spx_quotedata.csv"] != _bytes(paths)["spx_quotedata.csv"]


def test_a_day_is_the_same_whatever_was_simulated_before(tmp_path):
    m = SampleMarket(seed=7)
    m.path(date(2016, 1, 4), date(2027, 6, 30))
    for d in m.sessions(date(2025, 6, 2), date(2025, 7, 2))[::5]:
        write_drop(m, d, tmp_path / "warm")  # fills every writer's caches
    a = write_drop(m, date(2025, 7, 3), tmp_path / "a")
    market_module._SHARED.clear()
    b = write_drop(SampleMarket(seed=7), date(2025, 7, 3), tmp_path / "b")
    assert _bytes(a) == _bytes(b)


def test_markets_of_one_seed_share_the_simulation():
    assert SampleMarket(5)._sim is SampleMarket(5)._sim
    assert SampleMarket(5)._sim is not SampleMarket(6)._sim


def test_index_increments_read_back(drop, market):
    out, _ = drop
    for sym in ("SPX", "VIX", "VIX9D", "VIX3M"):
        path = out / f"{sym}_History.csv"
        p = parse_index(path.read_bytes(), str(path))
        assert p.rejects.height == 0 and p.fatal is None
        assert p.rows.height == 10 and p.rows["date"].max() == DAY
        assert set(p.rows["symbol"]) == {sym}
    text = (out / "VIX_History.csv").read_text()
    assert text.startswith("DATE,OPEN,HIGH,LOW,CLOSE\n11/10/2026,")
    assert text.split("\n")[1].count(".") == 4 and len(text.split("\n")[1].split(",")[1].split(".")[1]) == 6
    spx = parse_index((out / "SPX_History.csv").read_bytes(), "SPX_History.csv").rows
    assert spx["close"][-1] == pytest.approx(market.state(DAY)["spx_close"])


def test_bootstrap_index_history_covers_years_before(market, tmp_path):
    paths = write_bootstrap(market, date(2026, 1, 5), tmp_path, years=2.0, sources=["cboe_index"])
    p = parse_index((tmp_path / "VIX_History.csv").read_bytes(), "VIX_History.csv")
    assert p.rejects.height == 0
    assert p.rows["date"].max() == date(2026, 1, 2)
    assert p.rows["date"].min() <= date(2024, 1, 8)
    assert len(paths) == 4


def test_non_session_is_refused(market, tmp_path):
    with pytest.raises(ValueError, match="not an XNYS session"):
        write_drop(market, date(2026, 11, 26), tmp_path)  # Thanksgiving


def test_the_origin_session_and_the_first_bootstrap_are_readable(market, tmp_path):
    from sources.formats import parse_file
    from sources.sample import ORIGIN

    assert write_bootstrap(market, ORIGIN, tmp_path / "none") == []
    paths = write_drop(market, ORIGIN, tmp_path / "d") + write_bootstrap(market, date(2016, 1, 6), tmp_path / "b")
    for p in paths:
        parsed = parse_file(p)
        assert parsed.fatal is None and parsed.rejects.height == 0, p.name
