"""The SPX chain reads like a real CBOE quotedata export and carries the crowding signal in GEX."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from sources.cboe_chain import parse
from sources.sample.chains import spot_gex, spx_chain
from sources.sample.expiries import spx_expiries

from .conftest import DAY


def _parsed(drop):
    out, _ = drop
    path = out / "spx_quotedata.csv"
    return path, parse(path.read_bytes(), str(path))


def test_parses_with_zero_rejects(drop):
    path, p = _parsed(drop)
    assert p.fatal is None
    assert p.rejects.height == 0
    assert p.meta["quote_date"] == DAY
    assert p.meta["underlyings"] == ["SPX"]
    lines = path.read_text().count("\n")
    assert 3000 <= lines <= 5600  # grows with the index level: strikes are in points


def test_preamble_is_byte_exact_cboe(drop):
    out, _ = drop
    head = (out / "spx_quotedata.csv").read_text().split("\n")[:4]
    assert head[0] == ""
    assert head[1].startswith("S&P 500 INDEX,Last: ") and ",Change:  " in head[1]
    assert head[2].startswith('"Date: November 23, 2026 at 3:45 PM EST",Bid: ')
    assert head[2].endswith(",Size: 1*1,Volume: 0")
    assert head[3].startswith("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,")


def test_expiries_0dte_and_shared_monthly_strikes(drop):
    _, p = _parsed(drop)
    r = p.rows
    assert r["expiry"].n_unique() >= 30
    zero = r.filter(pl.col("expiry") == DAY)
    assert zero.height > 0 and set(zero["root"]) == {"SPXW"}
    monthly = date(2026, 12, 18)
    spx = set(r.filter((pl.col("expiry") == monthly) & (pl.col("root") == "SPX"))["strike"])
    spxw = set(r.filter((pl.col("expiry") == monthly) & (pl.col("root") == "SPXW"))["strike"])
    assert spx and spx == spxw
    assert (r["expired"] == False).all()  # noqa: E712


def test_vendor_quirks_present(drop):
    _, p = _parsed(drop)
    r = p.rows
    assert r.filter((pl.col("iv") == 0) & (pl.col("open_interest") > 0)).height > 0
    assert r.filter((pl.col("iv") > 0) & (pl.col("gamma") == 0)).height > 100
    # OI concentrates at round strikes: 100 >> 50 >> 25 > 5
    r = r.with_columns(k=pl.col("strike").cast(pl.Int64))
    mean = lambda f: r.filter(f)["open_interest"].mean()  # noqa: E731
    o100 = mean(pl.col("k") % 100 == 0)
    o50 = mean((pl.col("k") % 50 == 0) & (pl.col("k") % 100 != 0))
    o25 = mean((pl.col("k") % 25 == 0) & (pl.col("k") % 50 != 0))
    o5 = mean(pl.col("k") % 25 != 0)
    assert o100 > o50 > o25 > o5


def test_quotes_are_consistent(drop):
    _, p = _parsed(drop)
    r = p.rows
    assert (r["ask"] >= r["bid"]).all() and (r["bid"] >= 0).all()
    ticks = (r["ask"] * 100).round().cast(pl.Int64)
    assert ((ticks % 5) == 0).all()
    calls, puts = r.filter(pl.col("right") == "C"), r.filter(pl.col("right") == "P")
    assert calls["delta"].min() >= 0 and puts["delta"].max() <= 0


def test_monthly_listing_rules():
    # Good Friday 2027-03-26 is not a 3rd Friday; June 2026's 3rd Friday (19th) is Juneteenth.
    rows = spx_expiries(date(2026, 5, 1))
    assert (date(2026, 6, 18), "SPX", "monthly") in rows
    assert all(e.weekday() < 5 for e, _, _ in rows)


def test_net_gex_negative_when_crowded_positive_when_calm(market):
    days = market.sessions(date(2024, 6, 1), date(2026, 11, 20))[::9]
    crowd, net = [], []
    for d in days:
        g = spot_gex(spx_chain(market, d))
        assert 2e9 < g["call"] < 2e11  # of the order of real SPX books ($bn per 1 %)
        crowd.append(market.state(d)["crowding_oi"])
        net.append(g["net"])
    crowd, net = np.array(crowd), np.array(net)
    assert np.corrcoef(crowd, net)[0, 1] < -0.5
    assert np.median(net[crowd > 0.6]) < 0 < np.median(net[crowd < 0.35])


def test_numbers_print_like_cboe(drop):
    """Every numeric field is a plain decimal: no float noise (163.20000000000002), no exponent,
    no trailing ".0", at most 4 decimals (2 for prices); strikes always with 2 decimals."""
    import re

    out, _ = drop
    for name in ("spx_quotedata.csv", "vix_quotedata.csv"):
        body = (out / name).read_text().splitlines()[4:]
        plain = re.compile(r"^-?(0|[1-9]\d*)(\.\d*[1-9])?$")
        for row in body[::7]:
            f = row.split(",")
            nums = f[2:11] + f[13:22]
            assert all(plain.match(x) for x in nums), row
            prices = f[2:6] + f[13:17]
            assert all(len(x.split(".")[1]) <= 2 for x in prices if "." in x), row
            assert all(len(x.split(".")[1]) <= 4 for x in nums if "." in x), row
            assert re.match(r"^\d+\.\d\d$", f[11]), row
