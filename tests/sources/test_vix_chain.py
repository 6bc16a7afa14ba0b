"""VIX and VIXW option chains (CBOE quotedata) go through the chain reader with underlying VIX."""

from __future__ import annotations

from datetime import date

from sources.formats import detect, parse_file


def test_vix_and_vixw_roots_share_the_vix_underlying(fixtures):
    path = fixtures / "cboe_quotedata" / "vix_quotedata.csv"
    assert detect(path.read_bytes(), str(path)).name == "cboe_quotedata"
    p = parse_file(path)
    assert p.fatal is None and p.rejects.is_empty()
    assert p.meta["spot"] == 13.85 and p.meta["underlyings"] == ["VIX"]
    assert set(p.rows["underlying"]) == {"VIX"}
    assert sorted(set(p.rows["root"])) == ["VIX", "VIXW"]
    weekly = p.rows.filter(root="VIXW", strike=13.0, right="C").row(0, named=True)
    assert (weekly["expiry"], weekly["open_interest"], weekly["line"]) == (date(2024, 1, 10), 5400, 5)
    monthly = p.rows.filter(root="VIX", strike=20.0, right="P").row(0, named=True)
    assert (monthly["expiry"], monthly["bid"], monthly["open_interest"]) == (date(2024, 1, 17), 6.1, 25000)
    assert p.rows.height == 8 and set(p.rows["quote_date"]) == {date(2024, 1, 8)}
