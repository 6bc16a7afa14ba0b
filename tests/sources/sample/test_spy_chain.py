"""The sample SPY chain: a clean CBOE quotedata export of root SPY on the SPX path (/10, same
snapshot), PM-settled expiries of SPX's dates without LEAPs, from its own random stream."""

from __future__ import annotations

from sources.cboe_chain import parse
from sources.sample import SampleMarket, write_drop
from sources.sample.chains import SPY_PER_SPX, spx_chain, spy_chain
from sources.sample.expiries import spx_expiries

from .conftest import DAY


def test_parses_with_zero_rejects_as_spy_on_the_spx_snapshot(drop, market):
    out, _ = drop
    path = out / "spy_quotedata.csv"
    p = parse(path.read_bytes(), str(path))
    assert p.fatal is None and p.rejects.height == 0
    assert p.meta["quote_date"] == DAY and p.meta["underlyings"] == ["SPY"]
    assert path.read_text().split("\n")[1].startswith("SPDR S&P 500 ETF Trust,Last: ")
    rows = p.rows
    assert set(rows["root"]) == {"SPY"}
    assert rows["spot"][0] == round(spx_chain(market, DAY).spot * SPY_PER_SPX, 2)
    assert (rows["strike"] % 1 == 0.5).any()  # half-point strikes near the money
    spx_dates = {e for e, _, kind in spx_expiries(DAY) if kind != "leap"}
    assert set(rows["expiry"]) <= spx_dates and rows["expiry"].min() == DAY  # 0DTE, PM
    assert rows["open_interest"].sum() > 0 and (rows["iv"] > 0).all()


def test_deterministic_and_leaves_spx_and_vix_untouched(tmp_path, market):
    a = spy_chain(SampleMarket(seed=7), DAY).text()
    assert a == spy_chain(market, DAY).text()
    assert a != spy_chain(SampleMarket(seed=8), DAY).text()
    # the SPX and VIX files of a drop are the same bytes with or without the SPY chain
    both = write_drop(market, DAY, tmp_path / "all", sources=["cboe_chain"])
    alone = write_drop(market, DAY, tmp_path / "no_spy", sources=["spx_chain", "vix_chain"])
    files = {p.name: p.read_bytes() for p in both}
    assert set(files) == {"spx_quotedata.csv", "vix_quotedata.csv", "spy_quotedata.csv"}
    for p in alone:
        assert files[p.name] == p.read_bytes()
