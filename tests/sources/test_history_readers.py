"""History readers (issue 16): DataShop EOD chains, SqueezeMetrics DIX, Cboe strategy indexes.

Fixtures in the vendor layouts first, then conformance on the real files (skipped when absent).
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from sources.base import SourceError
from sources.datashop_chain import parse as parse_datashop
from sources.dix import parse as parse_dix
from sources.formats import detect, parse_file


def test_datashop_fixture_bom_crlf_leading_space_column_and_osi_root(fixtures):
    f = fixtures / "datashop_eod_chain" / "SPX_2018_eod.csv"
    p = parse_file(f)
    assert p.format == "datashop_eod_chain" and p.table == "raw.option_quotes" and p.fatal is None
    assert p.partition_by == ("quote_date", "root")
    assert p.rows.select("quote_date", "root", "underlying", "strike", "right", "spot", "line").rows() == [
        (date(2018, 1, 2), "SPXW", "SPX", 2700.0, "C", 2695.79, 2),
        (date(2018, 1, 2), "SPXW", "SPX", 2700.0, "P", 2695.79, 3),
        (date(2018, 1, 2), "SPXW", "SPX", 1200.0, "P", 2695.79, 4),
        (date(2018, 1, 3), "SPXW", "SPX", 2700.0, "C", 2713.06, 5),
    ]
    # 16:15 New York on 2018-01-02 (EST) is 21:15 UTC
    assert p.rows["quote_ts"][0] == datetime(2018, 1, 2, 21, 15)
    assert p.rows["open_interest"].to_list() == [5100, 6200, 800, 5300]
    # the vendor's 0.3 placeholder IV on an unpriced contract (gamma 0) reads as missing
    assert p.rows["iv"].to_list() == [0.1031, 0.1035, None, 0.0987]
    assert p.meta["iv_placeholders"] == 1
    assert p.rejects.select("line", "reason").rows() == [
        (6, "strike 2750 does not match option symbol SPXW180131P02700000"),
        (7, "bad option symbol SPXW180131X02700000"),
        (8, "bad quote date 13/03/2018"),
        (9, "last: abc is not a number"),
        (10, "duplicate (quote_date, root, expiry, strike, right): first seen on line 5"),
    ]


def test_datashop_vendor_camelcase_header_and_padded_osi_symbol():
    text = ("UnderlyingSymbol,UnderlyingPrice,Exchange,OptionSymbol,OptionExt,Type,Expiration,DataDate,"
            "Strike,Last,Bid,Ask,Volume,OpenInterest,IV,Delta,Gamma,Theta,Vega,AKA\n"
            "SPX,4500,*,SPX   230317P04000000,,put,03/17/2023,02/15/2023,4000,5,4.9,5.2,10,100,0.2,-0.1,0.001,0,0,x\n")
    p = parse_datashop(text.encode(), "x.csv")
    assert p.rows.select("root", "expiry", "strike", "right", "option_symbol").row(0) == (
        "SPX", date(2023, 3, 17), 4000.0, "P", "SPX230317P04000000")


def test_datashop_header_without_chain_columns_is_refused():
    with pytest.raises(SourceError, match="header lacks column"):
        parse_datashop(b"underlying,underlying_last,optionroot\nSPX,1,2\n", "bad.csv")


def test_dix_fixture_units_and_refusals(fixtures):
    p = parse_file(fixtures / "squeezemetrics_dix" / "DIX.csv")
    assert p.format == "squeezemetrics_dix" and p.table == "raw.dix_gex"
    assert p.rows.select("date", "price", "dix", "gex_usd", "line").rows() == [
        (date(2011, 5, 2), 1361.22, 0.3788, 1897312571.49, 2),
        (date(2011, 5, 3), 1356.62, 0.3834, -859730656.13, 3),
        (date(2011, 5, 5), 1335.10, 0.4012, None, 5),
    ]
    assert p.rejects.select("line", "reason").rows() == [
        (4, "dix 45.1 outside [0, 1] (a fraction, not a percent)"),
        (6, "price: bad is not a number"),
    ]


def test_dix_truncated_last_row_is_fatal():
    p = parse_dix(b"date,price,dix,gex\n2011-05-02,1361.2,0.37,1e9\n2011-05-03,1356", "DIX.csv")
    assert p.fatal is not None and "truncated" in str(p.fatal)


def test_close_only_strategy_index_and_sparse_rows_are_kept_as_given():
    # PUT before 2007 has isolated rows years apart: the reader keeps them (a gap is not an error)
    p = parse_file_bytes(b"DATE,PUT\n03/04/1991,100.000000\n08/07/1991,104.120000\n"
                         b"01/03/2007,800.010000\n", "PUT_History.csv")
    assert p.rows.select("symbol", "date", "close", "open").rows() == [
        ("PUT", date(1991, 3, 4), 100.0, None), ("PUT", date(1991, 8, 7), 104.12, None),
        ("PUT", date(2007, 1, 3), 800.01, None)]


def parse_file_bytes(data: bytes, name: str):
    return detect(data, name).parse(data, name)


# -- conformance on the real files -----------------------------------------------------------

HIST = "history"


def test_real_datashop_january_2018(realdata):
    p = parse_file(realdata / HIST / "optopsy_SPX_2018-01.csv")
    assert p.fatal is None and p.rejects.is_empty()
    assert p.rows.height == 7588 and len(p.meta["quote_dates"]) == 21
    assert set(p.rows["root"]) == {"SPXW"} and set(p.rows["underlying"]) == {"SPX"}
    assert p.rows.group_by("right").len().sort("right").rows() == [("C", 3794), ("P", 3794)]


def test_real_dix_and_cboe_strategy_indexes(realdata):
    d = parse_file(realdata / HIST / "squeezemetrics_DIX.csv")
    assert d.rows.height == 3850 and d.rejects.is_empty()
    assert d.rows["dix"].min() > 0.3 and d.rows["dix"].max() < 0.6
    assert d.rows["gex_usd"].min() < 0 < d.rows["gex_usd"].max()
    expect = {"CNDR_History_1986_2015.csv": ("CNDR", 7444), "PUT_History.csv": ("PUT", 4957),
              "PPUT_History.csv": ("PPUT", 10119), "BXM_History.csv": ("BXM", 6146),
              "cboe_2026-09-27/SKEW_History.csv": ("SKEW", 9235),
              "cboe_2026-09-27/VVIX_History.csv": ("VVIX", 5112)}
    for name, (sym, n) in expect.items():
        p = parse_file(realdata / HIST / name)
        assert (p.meta["symbol"], p.rows.height, p.rejects.height) == (sym, n, 0), name
    put = parse_file(realdata / HIST / "PUT_History.csv").rows
    assert put.filter(pl.col("date") < date(2007, 1, 3)).height == 7
